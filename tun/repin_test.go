package tun

import (
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestRepin(t *testing.T) {
	f := newFake()
	f.links["eth1"] = 3
	cfg := baseConfig(t)
	h, err := applyHost(cfg, testSys(f, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	server := netip.MustParseAddr("192.0.2.1")
	if changed, err := h.Repin(server); err != nil || changed {
		t.Fatalf("unchanged path: changed %v, err %v", changed, err)
	}
	// The laptop moved to another interface and gateway.
	f.get = pathInfo{Gw: netip.MustParseAddr("198.51.100.1"), Oif: "eth1", OifIndex: 3}
	changed, err := h.Repin(server)
	if err != nil || !changed {
		t.Fatalf("roamed: changed %v, err %v", changed, err)
	}
	routes := f.dump()
	if !slices.Contains(routes, "192.0.2.1/32 via 198.51.100.1 dev eth1 (server) proto 76 scope universe table 254") ||
		slices.Contains(routes, "192.0.2.1/32 via 203.0.113.65 dev eth0 (server) proto 76 scope universe table 254") {
		t.Errorf("routes after the roam %v", routes)
	}
	if s := h.Summary(); !slices.Contains(s.Routes, "192.0.2.1/32 via 198.51.100.1 dev eth1 (server)") || slices.Contains(s.Routes, "192.0.2.1/32 via 203.0.113.65 dev eth0 (server)") {
		t.Errorf("summary %v", s.Routes)
	}
	j, err := loadJournal(journalPath(cfg.StateDir, "work"))
	if err != nil {
		t.Fatal(err)
	}
	pins := 0
	for _, a := range j.Actions {
		if a.Route != nil && a.Route.Note == "server" {
			pins++
			if a.Route.Oif != "eth1" {
				t.Errorf("journalled pin %s", a.Route)
			}
		}
	}
	if pins != 1 {
		t.Errorf("%d server pins journalled, want 1", pins)
	}
	// The server's name now resolves elsewhere.
	if changed, err := h.Repin(netip.MustParseAddr("192.0.2.9")); err != nil || !changed {
		t.Fatalf("new server address: changed %v, err %v", changed, err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if got := f.dump(); len(got) != 0 {
		t.Errorf("routes left after close: %v", got)
	}
}

func TestRepinOldInterfaceGone(t *testing.T) {
	f := newFake()
	f.links["eth1"] = 3
	h, err := applyHost(baseConfig(t), testSys(f, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	f.removeLink("eth0") // its routes, our pin among them, go with it
	f.get = pathInfo{Gw: netip.MustParseAddr("198.51.100.1"), Oif: "eth1", OifIndex: 3}
	if changed, err := h.Repin(netip.MustParseAddr("192.0.2.1")); err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	if got := f.dump(); !slices.Contains(got, "192.0.2.1/32 via 198.51.100.1 dev eth1 (server) proto 76 scope universe table 254") {
		t.Errorf("routes %v", got)
	}
}

func TestRepinSplitMode(t *testing.T) {
	f := newFake()
	cfg := baseConfig(t)
	cfg.Mode = RouteSplit
	cfg.Routes = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	h, err := applyHost(cfg, testSys(f, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if changed, err := h.Repin(netip.MustParseAddr("192.0.2.1")); err != nil || changed {
		t.Fatalf("split mode pins nothing: changed %v, err %v", changed, err)
	}
}

// --route naming the PPP peer: the kernel made that host route when the
// device got its point-to-point address. It is ours: accepted, not an
// error blaming another VPN.
func TestSplitRouteAlreadyOnOurInterface(t *testing.T) {
	f := newFake()
	cfg := baseConfig(t)
	cfg.Mode = RouteSplit
	cfg.Routes = []netip.Prefix{netip.MustParsePrefix("198.51.100.1/32"), netip.MustParsePrefix("203.0.113.0/24")}
	f.addErr["198.51.100.1/32"] = syscall.EEXIST
	f.get = pathInfo{Oif: "l2tp0", OifIndex: 5}
	h, err := applyHost(cfg, testSys(f, nil, false))
	if err != nil {
		t.Fatalf("a peer route the interface already has: %v", err)
	}
	defer h.Close()
	if s := h.Summary(); !slices.Contains(s.Routes, "198.51.100.1/32 dev l2tp0 (already routed by the interface)") {
		t.Errorf("summary %v", s.Routes)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSplitRouteSomeoneElses(t *testing.T) {
	f := newFake()
	cfg := baseConfig(t)
	cfg.Mode = RouteSplit
	cfg.Routes = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	f.addErr["198.51.100.0/24"] = syscall.EEXIST
	f.get = pathInfo{Gw: netip.MustParseAddr("192.0.2.254"), Oif: "wg0", OifIndex: 9}
	_, err := applyHost(cfg, testSys(f, nil, false))
	if err == nil || !strings.Contains(err.Error(), "already exists via 192.0.2.254 dev wg0, not made by l2tpvpn") {
		t.Fatalf("err %v", err)
	}
}

package tun

import (
	"net/netip"
	"slices"
	"testing"
)

// An IPv6 server in full mode is pinned with a /128 via the underlay's
// (link-local) gateway, more specific than the tunnel's ::/1 and 8000::/1
// (routed or blocked), and the pin goes at exit. The IPv4 half routes are
// added as usual: they never cover an IPv6 server.
func TestPinServerIPv6(t *testing.T) {
	for _, ipv6cp := range []bool{false, true} {
		f := newFake()
		f.get = pathInfo{Gw: netip.MustParseAddr("fe80::1"), Oif: "eth0", OifIndex: 2}
		cfg := baseConfig(t)
		cfg.Server = netip.MustParseAddr("2001:db8:5e::1")
		cfg.IPv6 = ipv6cp
		h, err := applyHost(cfg, testSys(f, nil, false))
		if err != nil {
			t.Fatal(err)
		}
		got := f.dump()
		for _, want := range []string{
			"2001:db8:5e::1/128 via fe80::1 dev eth0 (server) proto 76 scope universe table 254",
			"0.0.0.0/1 dev l2tp0 proto 76 scope link table 254",
		} {
			if !slices.Contains(got, want) {
				t.Errorf("IPV6CP %v: no %q in %v", ipv6cp, want, got)
			}
		}
		if s := h.Summary(); !slices.Contains(s.Routes, "2001:db8:5e::1/128 via fe80::1 dev eth0 (server)") {
			t.Errorf("summary %v", s.Routes)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		if got := f.dump(); len(got) != 0 {
			t.Errorf("routes left after close: %v", got)
		}
	}
	// On-link: no gateway.
	f := newFake()
	f.get = pathInfo{Oif: "eth0", OifIndex: 2}
	cfg := baseConfig(t)
	cfg.Server = netip.MustParseAddr("2001:db8:5e::1")
	h, err := applyHost(cfg, testSys(f, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if got := f.dump(); !slices.Contains(got, "2001:db8:5e::1/128 dev eth0 (server) proto 76 scope universe table 254") {
		t.Errorf("on-link pin: %v", got)
	}
}

// Repin moves an IPv6 server's pin after a roam, and from an IPv4 address
// to an IPv6 one when the name resolves anew.
func TestRepinIPv6(t *testing.T) {
	f := newFake()
	f.links["wlan0"] = 3
	cfg := baseConfig(t)
	h, err := applyHost(cfg, testSys(f, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	f.get = pathInfo{Gw: netip.MustParseAddr("fe80::1"), Oif: "wlan0", OifIndex: 3}
	server := netip.MustParseAddr("2001:db8:5e::1")
	if changed, err := h.Repin(server); err != nil || !changed {
		t.Fatalf("new address: changed %v, err %v", changed, err)
	}
	got := f.dump()
	if !slices.Contains(got, "2001:db8:5e::1/128 via fe80::1 dev wlan0 (server) proto 76 scope universe table 254") ||
		slices.ContainsFunc(got, func(s string) bool { return len(s) > 12 && s[:12] == "192.0.2.1/32" }) {
		t.Errorf("routes %v", got)
	}
	if changed, err := h.Repin(server); err != nil || changed {
		t.Fatalf("same path: changed %v, err %v", changed, err)
	}
	f.get = pathInfo{Gw: netip.MustParseAddr("fe80::2"), Oif: "eth0", OifIndex: 2}
	if changed, err := h.Repin(server); err != nil || !changed {
		t.Fatalf("roam: changed %v, err %v", changed, err)
	}
	if got := f.dump(); !slices.Contains(got, "2001:db8:5e::1/128 via fe80::2 dev eth0 (server) proto 76 scope universe table 254") {
		t.Errorf("after the roam %v", got)
	}
	j, err := loadJournal(journalPath(cfg.StateDir, "work"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range j.Actions {
		if a.Route != nil && a.Route.Note == "server" {
			if err := a.Route.check(); err != nil || a.Route.Family != 6 {
				t.Errorf("journalled pin %+v: %v", a.Route, err)
			}
		}
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if got := f.dump(); len(got) != 0 {
		t.Errorf("routes left after close: %v", got)
	}
}

package tun

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// fakeRoutes is an in-memory main table standing in for netlink.
type fakeRoutes struct {
	mu     sync.Mutex
	links  map[string]int
	table  map[string]routeSpec // by family|dst|table
	get    pathInfo
	getErr error
	addErr map[string]error // by dst
	delErr map[string]error
}

func newFake() *fakeRoutes {
	return &fakeRoutes{
		links:  map[string]int{"lo": 1, "eth0": 2, "l2tp0": 5},
		table:  map[string]routeSpec{},
		get:    pathInfo{Gw: netip.MustParseAddr("203.0.113.65"), Oif: "eth0", OifIndex: 2},
		addErr: map[string]error{},
		delErr: map[string]error{},
	}
}

func routeKey(r routeSpec) string { return fmt.Sprintf("%d|%s|%d", r.Family, r.Dst, r.Table) }

func (f *fakeRoutes) linkIndex(name string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i, ok := f.links[name]; ok {
		return i, nil
	}
	return 0, syscall.ENODEV
}

func (f *fakeRoutes) routeGet(netip.Addr, int) (pathInfo, error) { return f.get, f.getErr }

func (f *fakeRoutes) mainRoute(netip.Addr, int) (pathInfo, error) { return f.get, f.getErr }

func (f *fakeRoutes) routeAdd(r routeSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.addErr[r.Dst]; err != nil {
		return err
	}
	if r.Oif != "" && f.links[r.Oif] != r.OifIndex {
		return syscall.ENODEV
	}
	if _, ok := f.table[routeKey(r)]; ok {
		return syscall.EEXIST
	}
	f.table[routeKey(r)] = r
	return nil
}

func (f *fakeRoutes) routeDel(r routeSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.delErr[r.Dst]; err != nil {
		return err
	}
	if r.Oif != "" && f.links[r.Oif] != r.OifIndex {
		return syscall.ENODEV
	}
	have, ok := f.table[routeKey(r)]
	if !ok || have.Protocol != r.Protocol {
		return syscall.ESRCH
	}
	delete(f.table, routeKey(r))
	return nil
}

// removeLink deletes an interface and the routes through it.
func (f *fakeRoutes) removeLink(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.links, name)
	for k, r := range f.table {
		if r.Oif == name {
			delete(f.table, k)
		}
	}
}

func (f *fakeRoutes) dump() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s []string
	for _, r := range f.table {
		s = append(s, fmt.Sprintf("%s proto %d scope %s table %d", r, r.Protocol, r.Scope, r.Table))
	}
	sort.Strings(s)
	return s
}

// fakeRun records resolvectl invocations.
type fakeRun struct {
	mu    sync.Mutex
	calls []string
	fail  string // a call starting with this fails
}

func (r *fakeRun) run(name string, args ...string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := strings.Join(append([]string{name}, args...), " ")
	r.calls = append(r.calls, c)
	if r.fail != "" && strings.HasPrefix(c, r.fail) {
		return []byte("Failed to set DNS configuration: boom"), errors.New("exit status 1")
	}
	return nil, nil
}

func testSys(f *fakeRoutes, r *fakeRun, resolved bool) hostSys {
	if r == nil {
		r = &fakeRun{}
	}
	return hostSys{routes: f, run: r.run, resolvedRunning: func() bool { return resolved }}
}

func baseConfig(t *testing.T) HostConfig {
	t.Helper()
	dir := t.TempDir()
	return HostConfig{
		Name:       "work",
		Interface:  "l2tp0",
		Server:     netip.MustParseAddr("192.0.2.1"),
		Mode:       RouteFull,
		DNSMode:    DNSOff,
		StateDir:   filepath.Join(dir, "state"),
		ResolvConf: filepath.Join(dir, "resolv.conf"),
	}
}

func TestParseModes(t *testing.T) {
	for _, m := range []RouteMode{RouteFull, RouteSplit, RouteNone} {
		got, err := ParseRouteMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseRouteMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	for _, m := range []DNSMode{DNSAuto, DNSResolved, DNSResolvConf, DNSOff} {
		got, err := ParseDNSMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseDNSMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if got := []string{RouteFull.String(), RouteSplit.String(), RouteNone.String()}; !slices.Equal(got, []string{"full", "split", "none"}) {
		t.Errorf("route mode names %v", got)
	}
	if got := []string{DNSAuto.String(), DNSResolved.String(), DNSResolvConf.String(), DNSOff.String()}; !slices.Equal(got, []string{"auto", "resolved", "resolv.conf", "off"}) {
		t.Errorf("DNS mode names %v", got)
	}
	for _, s := range []string{"", "Full", "default", "resolvconf"} {
		if _, err := ParseRouteMode(s); err == nil || !strings.HasPrefix(err.Error(), "tun: ") {
			t.Errorf("ParseRouteMode(%q) err = %v", s, err)
		}
		if _, err := ParseDNSMode(s); err == nil {
			t.Errorf("ParseDNSMode(%q) accepted", s)
		}
	}
	if s := RouteMode(9).String(); s != "RouteMode(9)" {
		t.Errorf("got %q", s)
	}
}

func TestFullModeBlocksIPv6(t *testing.T) {
	f := newFake()
	cfg := baseConfig(t)
	h, err := applyHost(cfg, testSys(f, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"0.0.0.0/1 dev l2tp0 proto 76 scope link table 254",
		"128.0.0.0/1 dev l2tp0 proto 76 scope link table 254",
		"192.0.2.1/32 via 203.0.113.65 dev eth0 (server) proto 76 scope universe table 254",
		"unreachable 8000::/1 proto 76 scope universe table 254",
		"unreachable ::/1 proto 76 scope universe table 254",
	}
	if got := f.dump(); !slices.Equal(got, want) {
		t.Errorf("routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	s := h.Summary()
	wantRoutes := []string{"192.0.2.1/32 via 203.0.113.65 dev eth0 (server)", "0.0.0.0/1 dev l2tp0",
		"128.0.0.0/1 dev l2tp0", "unreachable ::/1", "unreachable 8000::/1"}
	if s.Mode != "full" || s.IPv6 != "blocked (no IPV6CP)" || !slices.Equal(s.Routes, wantRoutes) || s.DNSVia != "" {
		t.Errorf("summary %+v", s)
	}
	fi, err := os.Stat(journalPath(cfg.StateDir, "work"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("journal: %v %v", fi, err)
	}
	if fi, err := os.Stat(cfg.StateDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir: %v %v", fi, err)
	}
	j, err := loadJournal(journalPath(cfg.StateDir, "work"))
	if err != nil || len(j.Actions) != 5 || j.Actions[0].Route.Note != "server" {
		t.Fatalf("journal %+v, %v", j, err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if got := f.dump(); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
	if _, err := os.Stat(journalPath(cfg.StateDir, "work")); !os.IsNotExist(err) {
		t.Errorf("journal not removed: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestFullModeRoutesIPv6(t *testing.T) {
	f := newFake()
	cfg := baseConfig(t)
	cfg.IPv6 = true
	h, err := applyHost(cfg, testSys(f, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	want := []string{
		"0.0.0.0/1 dev l2tp0 proto 76 scope link table 254",
		"128.0.0.0/1 dev l2tp0 proto 76 scope link table 254",
		"192.0.2.1/32 via 203.0.113.65 dev eth0 (server) proto 76 scope universe table 254",
		"8000::/1 dev l2tp0 proto 76 scope universe table 254",
		"::/1 dev l2tp0 proto 76 scope universe table 254",
	}
	if got := f.dump(); !slices.Equal(got, want) {
		t.Errorf("routes:\n%s", strings.Join(got, "\n"))
	}
	if s := h.Summary(); s.IPv6 != "routed through the tunnel" {
		t.Errorf("ipv6 %q", s.IPv6)
	}
}

func TestFullModeIPv6Disabled(t *testing.T) {
	f := newFake()
	f.addErr["::/1"] = syscall.EAFNOSUPPORT
	cfg := baseConfig(t)
	h, err := applyHost(cfg, testSys(f, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if s := h.Summary(); s.IPv6 != "not changed" || len(s.Routes) != 3 {
		t.Errorf("summary %+v", s)
	}
	j, _ := loadJournal(journalPath(cfg.StateDir, "work"))
	if len(j.Actions) != 3 {
		t.Errorf("journal has %d actions, want 3", len(j.Actions))
	}
}

func TestPinServer(t *testing.T) {
	t.Run("on-link", func(t *testing.T) {
		f := newFake()
		f.get = pathInfo{Oif: "eth0", OifIndex: 2}
		h, err := applyHost(baseConfig(t), testSys(f, nil, false))
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		if got := f.dump(); !slices.Contains(got, "192.0.2.1/32 dev eth0 (server) proto 76 scope link table 254") {
			t.Errorf("routes %v", got)
		}
	})
	t.Run("exists", func(t *testing.T) {
		f := newFake()
		theirs := routeSpec{Family: 4, Dst: "192.0.2.1/32", Gw: "203.0.113.1", Oif: "eth0", OifIndex: 2,
			Type: "unicast", Protocol: 3, Table: 254, Scope: "universe"}
		f.table[routeKey(theirs)] = theirs
		cfg := baseConfig(t)
		h, err := applyHost(cfg, testSys(f, nil, false))
		if err != nil {
			t.Fatal(err)
		}
		j, _ := loadJournal(journalPath(cfg.StateDir, "work"))
		for _, a := range j.Actions {
			if a.Route.Dst == "192.0.2.1/32" {
				t.Errorf("pre-existing server route journalled")
			}
		}
		if s := h.Summary(); s.Routes[0] != "192.0.2.1/32 via 203.0.113.65 dev eth0 (server, already present)" {
			t.Errorf("summary %q", s.Routes[0])
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		if got := f.dump(); len(got) != 1 || !strings.Contains(got[0], "proto 3") {
			t.Errorf("routes after close %v", got)
		}
	})
	t.Run("through-tunnel", func(t *testing.T) {
		f := newFake()
		f.get = pathInfo{Oif: "l2tp0", OifIndex: 5}
		if _, err := applyHost(baseConfig(t), testSys(f, nil, false)); err == nil {
			t.Fatal("accepted a server route through the tunnel")
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		f := newFake()
		f.getErr = syscall.ENETUNREACH
		cfg := baseConfig(t)
		_, err := applyHost(cfg, testSys(f, nil, false))
		if err == nil || !strings.Contains(err.Error(), "no route to the VPN server 192.0.2.1") {
			t.Fatalf("err %v", err)
		}
		if _, err := os.Stat(journalPath(cfg.StateDir, "work")); !os.IsNotExist(err) {
			t.Errorf("journal left: %v", err)
		}
	})
}

func TestSplitMode(t *testing.T) {
	f := newFake()
	cfg := baseConfig(t)
	cfg.Mode = RouteSplit
	cfg.Routes = []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.2.3.4/24"),
		netip.MustParsePrefix("2001:db8::/32")}
	h, err := applyHost(cfg, testSys(f, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"10.1.0.0/16 dev l2tp0 proto 76 scope link table 254",
		"10.2.3.0/24 dev l2tp0 proto 76 scope link table 254",
		"2001:db8::/32 dev l2tp0 proto 76 scope universe table 254",
	}
	if got := f.dump(); !slices.Equal(got, want) {
		t.Errorf("routes:\n%s", strings.Join(got, "\n"))
	}
	if s := h.Summary(); s.Mode != "split" || s.IPv6 != "not changed" || len(s.Routes) != 3 {
		t.Errorf("summary %+v", s)
	}
	h.Close()
	if len(f.dump()) != 0 {
		t.Error("routes left")
	}

	cfg.Routes = append(cfg.Routes, netip.MustParsePrefix("192.0.0.0/8"))
	_, err = applyHost(cfg, testSys(f, nil, false))
	if err == nil || !strings.Contains(err.Error(), "contains the VPN server 192.0.2.1") {
		t.Fatalf("err %v", err)
	}
	if len(f.dump()) != 0 {
		t.Error("routes added before refusing")
	}
}

func TestNoneMode(t *testing.T) {
	f := newFake()
	cfg := baseConfig(t)
	cfg.Mode = RouteNone
	cfg.Server = netip.Addr{}
	h, err := applyHost(cfg, testSys(f, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.dump()) != 0 || len(h.Summary().Routes) != 0 {
		t.Error("none mode added routes")
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigChecks(t *testing.T) {
	for name, mod := range map[string]func(*HostConfig){
		"empty name":    func(c *HostConfig) { c.Name = "" },
		"slash":         func(c *HostConfig) { c.Name = "a/b" },
		"long name":     func(c *HostConfig) { c.Name = strings.Repeat("a", 33) },
		"dotdot":        func(c *HostConfig) { c.Name = ".." },
		"no server":     func(c *HostConfig) { c.Server = netip.Addr{} },
		"no interface":  func(c *HostConfig) { c.Interface = "" },
		"bad mode":      func(c *HostConfig) { c.Mode = 7 },
		"bad dns mode":  func(c *HostConfig) { c.DNSMode = 7 },
		"bad dns":       func(c *HostConfig) { c.DNS = []netip.Addr{{}} },
		"option domain": func(c *HostConfig) { c.Domains = []string{"--help"} },
		"space domain":  func(c *HostConfig) { c.Domains = []string{"a b"} },
	} {
		cfg := baseConfig(t)
		mod(&cfg)
		if _, err := applyHost(cfg, testSys(newFake(), nil, false)); err == nil || !strings.HasPrefix(err.Error(), "tun: ") {
			t.Errorf("%s: err %v", name, err)
		}
	}
	cfg := baseConfig(t)
	cfg.Interface = "nosuch0"
	if _, err := applyHost(cfg, testSys(newFake(), nil, false)); err == nil {
		t.Error("missing interface accepted")
	}
}

func TestApplyFailureUndoes(t *testing.T) {
	f := newFake()
	f.addErr["128.0.0.0/1"] = syscall.EPERM
	cfg := baseConfig(t)
	_, err := applyHost(cfg, testSys(f, nil, false))
	if err == nil || !strings.Contains(err.Error(), "tun: add route 128.0.0.0/1 dev l2tp0") {
		t.Fatalf("err %v", err)
	}
	if got := f.dump(); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
	if names, _ := Journals(cfg.StateDir); len(names) != 0 {
		t.Errorf("journals left: %v", names)
	}

	// Another full-tunnel connection owns the /1 routes.
	f = newFake()
	other := routeSpec{Family: 4, Dst: "0.0.0.0/1", Oif: "eth0", OifIndex: 2, Type: "unicast", Protocol: 76, Table: 254, Scope: "link"}
	f.table[routeKey(other)] = other
	_, err = applyHost(cfg, testSys(f, nil, false))
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("err %v", err)
	}
	if got := f.dump(); len(got) != 1 {
		t.Errorf("routes %v", got)
	}
}

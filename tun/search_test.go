package tun

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
)

// Search domains (from the server's DHCP answer) go in front of the
// original search list in every mode, and are restored with the file.
func TestResolvConfSearch(t *testing.T) {
	for _, tc := range []struct {
		mode   RouteMode
		search string
	}{
		{RouteFull, "search corp.example home.example\n"},
		{RouteSplit, "search lab.example corp.example home.example\n"},
	} {
		cfg := dnsConfig(t, tc.mode)
		cfg.Domains = []string{"lab.example"}
		cfg.Search = []string{"corp.example"}
		os.WriteFile(cfg.ResolvConf, []byte(origResolv), 0o644)
		h, err := applyHost(cfg, testSys(newFake(), nil, false))
		if err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, cfg.ResolvConf); !strings.Contains(got, tc.search) {
			t.Errorf("%v: resolv.conf:\n%s\nwant %q", tc.mode, got, tc.search)
		}
		if s := h.Summary(); !slices.Equal(s.Search, cfg.Search) {
			t.Errorf("%v: summary %+v", tc.mode, s)
		}
		// Still there after the DNS servers change on a reconnect.
		if err := h.UpdateDNS([]netip.Addr{netip.MustParseAddr("10.0.0.1")}); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, cfg.ResolvConf); !strings.Contains(got, tc.search) {
			t.Errorf("%v: after UpdateDNS:\n%s", tc.mode, got)
		}
		h.Close()
		if got := readFile(t, cfg.ResolvConf); got != origResolv {
			t.Errorf("%v: not restored: %q", tc.mode, got)
		}
	}
}

func TestResolvedSearch(t *testing.T) {
	for _, tc := range []struct {
		mode    RouteMode
		domains []string
		calls   []string
	}{
		{RouteFull, nil, []string{"resolvectl dns l2tp0 10.0.0.53 10.0.0.54", "resolvectl domain l2tp0 ~. corp.example"}},
		{RouteSplit, []string{"lab.example"}, []string{"resolvectl dns l2tp0 10.0.0.53 10.0.0.54",
			"resolvectl domain l2tp0 ~lab.example corp.example", "resolvectl default-route l2tp0 no"}},
		// A search domain alone does not take the default route away.
		{RouteSplit, nil, []string{"resolvectl dns l2tp0 10.0.0.53 10.0.0.54", "resolvectl domain l2tp0 corp.example"}},
	} {
		cfg := dnsConfig(t, tc.mode)
		cfg.DNSMode = DNSAuto
		cfg.Domains, cfg.Search = tc.domains, []string{"corp.example"}
		run := &fakeRun{}
		h, err := applyHost(cfg, testSys(newFake(), run, true))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(run.calls, tc.calls) {
			t.Errorf("%v %v: calls:\n%s", tc.mode, tc.domains, strings.Join(run.calls, "\n"))
		}
		if s := h.Summary(); !slices.Equal(s.Search, cfg.Search) {
			t.Errorf("summary %+v", s)
		}
		h.Close()
	}
}

func TestSearchDomainChecked(t *testing.T) {
	cfg := dnsConfig(t, RouteSplit)
	cfg.Search = []string{"a\nnameserver 1.2.3.4"}
	if _, err := applyHost(cfg, testSys(newFake(), nil, false)); err == nil {
		t.Fatal("a search domain with a newline accepted")
	}
}

// AddRoutes: pushed routes after a reconnect join the split routes, are
// journalled and go at Close; a prefix holding the server is refused.
func TestAddRoutes(t *testing.T) {
	cfg := baseConfig(t)
	cfg.Mode = RouteSplit
	cfg.Routes = []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}
	f := newFake()
	h, err := applyHost(cfg, testSys(f, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddRoutes([]netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("203.0.113.64/26")}); err != nil {
		t.Fatal(err)
	}
	if len(f.table) != 2 || len(h.Summary().Routes) != 2 {
		t.Fatalf("table %v, summary %v", f.table, h.Summary().Routes)
	}
	if err := h.AddRoutes([]netip.Prefix{netip.MustParsePrefix("192.0.0.0/8")}); err == nil {
		t.Fatal("a route holding the server accepted")
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if len(f.table) != 0 {
		t.Fatalf("left behind: %v", f.table)
	}
}

//go:build hostroot

// Root-only tests of ApplyHost against the kernel, each in a fresh network
// namespace (never the machine's own tables or /etc/resolv.conf):
//
//	go test -tags hostroot ./tun/
package tun

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/internal/rootns"
)

// withNetns runs f on this goroutine's thread switched into a new named
// namespace with an "uplink" (veth up0, default routes via a gateway) and
// a persistent TUN device l2tp0 (no process attached).
func withNetns(t *testing.T, name string, f func(ns string)) {
	t.Helper()
	rootns.Enter(t, name)
	for _, c := range []string{
		"link set lo up",
		"link add up0 type veth peer name up0p",
		"link set up0p up",
		"addr add 203.0.113.10/24 dev up0",
		"addr add 2001:db8:1::10/64 dev up0 nodad",
		"link set up0 up",
		"route add default via 203.0.113.65 dev up0",
		"-6 route add default via 2001:db8:1::1 dev up0",
		"tuntap add l2tp0 mode tun",
		"addr add 10.99.0.2 peer 10.99.0.1 dev l2tp0",
		"link set l2tp0 up",
	} {
		ipn(t, name, c)
	}
	f(name)
}

func ipn(t *testing.T, ns, args string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, strings.Fields(args)...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns, args, err, out)
	}
	return string(out)
}

func tables(t *testing.T, ns string) string {
	return ipn(t, ns, "route show table all") + "----\n" + ipn(t, ns, "-6 route show table all")
}

func rootConfig(t *testing.T, ipv6 bool) HostConfig {
	dir := t.TempDir()
	rc := filepath.Join(dir, "resolv.conf")
	os.WriteFile(rc, []byte("nameserver 203.0.113.65\n"), 0o644)
	return HostConfig{Name: "roottest", Interface: "l2tp0", Server: netip.MustParseAddr("192.0.2.1"), Mode: RouteFull,
		IPv6: ipv6, DNS: []netip.Addr{netip.MustParseAddr("10.99.0.53")}, DNSMode: DNSResolvConf,
		StateDir: filepath.Join(dir, "state"), ResolvConf: rc}
}

func requireLines(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
}

func TestRootFullClose(t *testing.T) {
	for _, ipv6 := range []bool{false, true} {
		t.Run(fmt.Sprint("ipv6=", ipv6), func(t *testing.T) {
			withNetns(t, "l2v-h1", func(ns string) {
				before := tables(t, ns)
				cfg := rootConfig(t, ipv6)
				h, err := ApplyHost(cfg)
				if err != nil {
					t.Fatal(err)
				}
				v4 := ipn(t, ns, "route")
				requireLines(t, v4,
					"0.0.0.0/1 dev l2tp0 proto 76 scope link",
					"128.0.0.0/1 dev l2tp0 proto 76 scope link",
					"192.0.2.1 via 203.0.113.65 dev up0 proto 76")
				v6 := ipn(t, ns, "-6 route")
				if ipv6 {
					requireLines(t, v6, "::/1 dev l2tp0 proto 76", "8000::/1 dev l2tp0 proto 76")
				} else {
					requireLines(t, v6, "unreachable ::/1 dev lo proto 76", "unreachable 8000::/1 dev lo proto 76")
				}
				t.Logf("ip route:\n%sip -6 route:\n%s", v4, v6)
				t.Logf("summary: %+v", h.Summary())
				if err := h.Close(); err != nil {
					t.Fatal(err)
				}
				if after := tables(t, ns); after != before {
					t.Errorf("tables differ after Close:\nbefore:\n%s\nafter:\n%s", before, after)
				}
				if b, _ := os.ReadFile(cfg.ResolvConf); string(b) != "nameserver 203.0.113.65\n" {
					t.Errorf("resolv.conf %q", b)
				}
			})
		})
	}
}

func TestRootCrashCleanup(t *testing.T) {
	withNetns(t, "l2v-h2", func(ns string) {
		before := tables(t, ns)
		cfg := rootConfig(t, false)
		if _, err := ApplyHost(cfg); err != nil {
			t.Fatal(err)
		}
		// Crash: no Close.
		undone, err := Cleanup(cfg.StateDir, cfg.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("undone:\n%s", strings.Join(undone, "\n"))
		if after := tables(t, ns); after != before {
			t.Errorf("tables differ after Cleanup:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if names, _ := Journals(cfg.StateDir); len(names) != 0 {
			t.Errorf("journals left %v", names)
		}
	})
}

// TestRootCrashInterfaceGone: the TUN device went away with the process.
func TestRootCrashInterfaceGone(t *testing.T) {
	withNetns(t, "l2v-h3", func(ns string) {
		cfg := rootConfig(t, true)
		if _, err := ApplyHost(cfg); err != nil {
			t.Fatal(err)
		}
		ipn(t, ns, "link del l2tp0")
		undone, err := Cleanup(cfg.StateDir, cfg.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("undone:\n%s", strings.Join(undone, "\n"))
		if all := tables(t, ns); strings.Contains(all, "proto 76") {
			t.Errorf("routes of ours left:\n%s", all)
		}
	})
}

// TestRootIPv6Disabled: full mode on a host with IPv6 turned off.
func TestRootIPv6Disabled(t *testing.T) {
	withNetns(t, "l2v-h4", func(ns string) {
		out, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-w", "net.ipv6.conf.all.disable_ipv6=1",
			"net.ipv6.conf.default.disable_ipv6=1", "net.ipv6.conf.lo.disable_ipv6=1").CombinedOutput()
		if err != nil {
			t.Skipf("cannot disable IPv6: %v %s", err, out)
		}
		before := tables(t, ns)
		cfg := rootConfig(t, false)
		h, err := ApplyHost(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("summary: %+v\n%s", h.Summary(), tables(t, ns))
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		if after := tables(t, ns); after != before {
			t.Errorf("tables differ:\n%s\n%s", before, after)
		}
	})
}

//go:build integration

package integration

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// seDHCP is the se lab's DhcpSet (scripts/lab/se.vpncmd) with a domain and
// a pushed route, or as the lab has it.
func seDHCP(domain, pushRoute string) []string {
	return []string{"vpncmd", "se", "DhcpSet", "/START:198.51.100.10", "/END:198.51.100.100", "/MASK:255.255.255.0",
		"/EXPIRE:7200", "/GW:198.51.100.1", "/DNS:198.51.100.1", "/DNS2:none", "/DOMAIN:" + domain, "/LOG:yes",
		"/PUSHROUTE:" + pushRoute}
}

// Issue 12, acceptance 1: a DHCPINFORM against SoftEther (dhcp-inform auto
// picks it by its L2TP vendor name). In split mode the pushed classless
// route is routed through the tunnel device and gone after disconnect; the
// domain reaches the namespace's resolv.conf and is restored; the
// class-based route (198.51.100.0/24) is on the device only with
// class-route on.
func TestDHCPInformSoftEther(t *testing.T) {
	labSE.up(t)
	script(t, nil, seDHCP("corp.example", "203.0.113.64/255.255.255.192/198.51.100.1")...)
	t.Cleanup(func() { script(t, nil, seDHCP("none", "none")...) })
	resolv := "/etc/netns/" + labSE.clientNS + "/resolv.conf"
	orig, err := os.ReadFile(resolv)
	if err != nil {
		t.Fatal(err)
	}
	routes := func() string {
		out, err := inNS(labSE.clientNS, "ip", "-4", "route", "show")
		if err != nil {
			t.Fatalf("ip route: %v\n%s", err, out)
		}
		return out
	}
	onDev := func(table, prefix string) bool {
		for _, l := range strings.Split(table, "\n") {
			if strings.HasPrefix(l, prefix+" ") && strings.Contains(l, "dev l2v-tun0") {
				return true
			}
		}
		return false
	}
	for _, classRoute := range []bool{false, true} {
		name := "class-route=false"
		if classRoute {
			name = "class-route=true"
		}
		t.Run(name, func(t *testing.T) {
			args := ipsecArgs("--auth", "mschapv2", "--dns", "resolv.conf", "--dhcp-inform", "auto")
			if classRoute {
				args = append(args, "--class-route")
			}
			c := startClient(t, labSE, pskEnv, args...)
			ev := c.waitEvent("ppp.dhcp", 45*time.Second)
			if ev.Server != "198.51.100.1" || ev.Domain != "corp.example" || !slices.Contains(ev.Routes, "203.0.113.64/26 via 198.51.100.1") ||
				!slices.Equal(ev.DNS, []string{"198.51.100.1"}) {
				t.Fatalf("ppp.dhcp event: %+v", ev)
			}
			c.waitEvent("up", 30*time.Second)
			table := routes()
			if !onDev(table, "203.0.113.64/26") {
				t.Errorf("the pushed route is not on the tunnel device:\n%s", table)
			}
			if !onDev(table, "203.0.113.10") { // the --route startClient adds
				t.Errorf("the configured route is not on the tunnel device:\n%s", table)
			}
			if got := onDev(table, "198.51.100.0/24"); got != classRoute {
				t.Errorf("class-based route on the device: %v, want %v:\n%s", got, classRoute, table)
			}
			b, err := os.ReadFile(resolv)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "\nsearch corp.example ") && !strings.Contains(string(b), "\nsearch corp.example\n") {
				t.Errorf("the domain is not in %s:\n%s", resolv, b)
			}
			c.disconnect()
			table = routes()
			if strings.Contains(table, "203.0.113.64/26") || strings.Contains(table, "198.51.100.0/24") || strings.Contains(table, "l2v-tun0") {
				t.Errorf("routes left after disconnect:\n%s", table)
			}
			if b, _ := os.ReadFile(resolv); string(b) != string(orig) {
				t.Errorf("%s not restored:\n%s\nwant:\n%s", resolv, b, orig)
			}
		})
	}
}

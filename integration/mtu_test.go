//go:build integration

package integration

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMTULoweredUnderlay: the underlay link carries only 1400 bytes (both
// ends of the veth, as behind PPPoE or another tunnel). The client derives
// its MTU from that and the real encapsulation overhead: DF pings of the
// exact maximum size pass, one byte more is refused locally, TCP completes
// both ways, and no outer packet is fragmented.
func TestMTULoweredUnderlay(t *testing.T) {
	mtuLoweredUnderlay(t, []labCase{
		{"L2TPNSPlain", labL2TPNS, nil, []string{"--auth", "chap"}},
		{"SoftEtherIPsecTransport", labSE, pskEnv, ipsecArgs("--auth", "mschapv2")},
	})
}

// TestStrongSwanMTULoweredUnderlay is TestMTULoweredUnderlay's strongSwan
// case, a test of its own so that it runs with the other sw lab tests.
func TestStrongSwanMTULoweredUnderlay(t *testing.T) {
	mtuLoweredUnderlay(t, []labCase{
		{"StrongSwanIPsecTunnel", labSW, pskEnv, ipsecArgs("--auth", "chap", "--esp-mode", "tunnel")},
	})
}

// labCase is one lab and the client's environment and arguments for it.
type labCase struct {
	name string
	l    lab
	env  []string
	args []string
}

func mtuLoweredUnderlay(t *testing.T, cases []labCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.l
			l.up(t)
			for _, args := range [][]string{
				{"-n", l.clientNS, "link", "set", l.clientNS + "0", "mtu", "1400"},
				{"-n", l.serverNS, "link", "set", strings.Replace(l.clientNS, "-c", "-s", 1) + "0", "mtu", "1400"},
			} {
				if out, err := inNS(l.clientNS, append([]string{"ip"}, args...)...); err != nil {
					t.Fatalf("ip %v: %v\n%s", args, err, out)
				}
			}
			fragCounter(t, l.clientNS, l.clientNS+"0")
			xfer := ""
			if l.name != "se" { // SoftEther's SecureNAT: ping only (see LAB.md)
				xfer = l.transferServer(t)
			}
			c := startClient(t, l, tc.env, tc.args...)
			up := c.waitEvent("up", 30*time.Second)
			if up.MTU >= 1400-28 || up.MTU < 1200 {
				t.Fatalf("MTU %d on a 1400-byte underlay", up.MTU)
			}
			// The largest DF ping that fits: MTU - 20 (IPv4) - 8 (ICMP).
			max := up.MTU - 28
			if out, err := inNS(l.clientNS, "ping", "-c", "3", "-W", "2", "-M", "do", "-s", strconv.Itoa(max), l.service); err != nil {
				t.Fatalf("DF ping of %d bytes (MTU %d): %v\n%s", max, up.MTU, err, out)
			}
			out, err := inNS(l.clientNS, "ping", "-c", "1", "-W", "2", "-M", "do", "-s", strconv.Itoa(max+1), l.service)
			if err == nil || !strings.Contains(out, "message too long") {
				t.Errorf("DF ping of %d bytes should be refused locally: %v\n%s", max+1, err, out)
			}
			if xfer != "" {
				transfer(t, l, xfer, 10<<20, 2*time.Minute)
			}
			down := c.disconnect()
			if n := fragments(t, l.clientNS); n != 0 {
				t.Errorf("%d outer IPv4 fragments left the client", n)
			}
			t.Logf("MTU %d on a 1400-byte underlay; DF ping %d passes, %d refused; mss_clamped %d", up.MTU, max, max+1, mssClamped(down))
		})
	}
}

// fragCounter counts outgoing IPv4 fragments (MF set or an offset) on veth.
func fragCounter(t *testing.T, ns, veth string) {
	t.Helper()
	nftTable(t, ns, "l2v-frag", fmt.Sprintf(`
	counter frags { }
	chain out {
		type filter hook output priority 0;
		oifname "%s" ip frag-off & 0x3fff != 0 counter name frags
	}`, veth))
}

var packetsRE = regexp.MustCompile(`packets (\d+)`)

func fragments(t *testing.T, ns string) int {
	t.Helper()
	out, err := inNS(ns, "nft", "list", "counter", "inet", "l2v-frag", "frags")
	if err != nil {
		t.Fatalf("nft list counter: %v\n%s", err, out)
	}
	m := packetsRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("nft counter: %q", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func mssClamped(ev event) uint64 {
	if ev.Stats == nil {
		return 0
	}
	return ev.Stats.MSSClamped
}

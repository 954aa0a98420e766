package ike

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

var (
	testLocal6  = netip.MustParseAddr("2001:db8:5e::2")
	testRemote6 = netip.MustParseAddr("2001:db8:5e::1")
)

// TestNewSessionAddressFamilies: IPv6 endpoints are accepted, as are
// IPv4-mapped ones (taken as IPv4); mixed families and missing addresses
// are refused.
func TestNewSessionAddressFamilies(t *testing.T) {
	base := Config{PSK: secret.FromString("x"), IKE: DefaultIKEProposals(), ESP: DefaultESPProposals(),
		Send: func([]byte, bool) error { return nil }}
	cases := []struct {
		local, remote string
		ok            bool
	}{
		{"192.0.2.2", "192.0.2.1", true},
		{"2001:db8::2", "2001:db8::1", true},
		{"::ffff:192.0.2.2", "192.0.2.1", true},
		{"192.0.2.2", "2001:db8::1", false},
		{"2001:db8::2", "::ffff:192.0.2.1", false},
		{"", "2001:db8::1", false},
	}
	for _, c := range cases {
		cfg := base
		cfg.Local, _ = netip.ParseAddr(c.local)
		cfg.Remote, _ = netip.ParseAddr(c.remote)
		s, err := NewSession(cfg)
		if (err == nil) != c.ok {
			t.Errorf("NewSession(%s, %s): %v, want ok %v", c.local, c.remote, err, c.ok)
		}
		if err == nil && (s.cfg.Local.Is4In6() || s.cfg.Remote.Is4In6()) {
			t.Errorf("NewSession(%s, %s) kept an IPv4-mapped address", c.local, c.remote)
		}
	}
}

// TestNATDHashIPv6 checks the NAT-D hash of an IPv6 endpoint against RFC
// 3947 section 3.2 computed by hand: HASH(CKY-I | CKY-R | IP | Port) with
// the 16 address bytes.
func TestNATDHashIPv6(t *testing.T) {
	ckyI := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	ckyR := [8]byte{9, 10, 11, 12, 13, 14, 15, 16}
	var in []byte
	in = append(in, ckyI[:]...)
	in = append(in, ckyR[:]...)
	in = append(in, 0x20, 0x01, 0x0d, 0xb8, 0, 0x5e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)
	in = binary.BigEndian.AppendUint16(in, 4500)
	want := sha1.Sum(in)
	if got := natdHash(HashSHA1, ckyI, ckyR, testRemote6, 4500); !bytes.Equal(got, want[:]) {
		t.Fatalf("NAT-D of [%s]:4500\n got % x\nwant % x", testRemote6, got, want)
	}
}

// TestSessionIPv6 runs Main Mode and Quick Mode between IPv6 endpoints in
// both modes: the NAT-D hashes cover the 16-byte addresses, the traffic
// selectors are ID_IPV6_ADDR of each end with UDP 1701, and transport
// mode's NAT-OA payloads carry the IPv6 addresses (ID type 5).
func TestSessionIPv6(t *testing.T) {
	for _, mode := range []esp.Mode{esp.Transport, esp.Tunnel} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"),
					Mode: mode, DPDDelay: -1, Local: testLocal6, Remote: testRemote6}, respConfig{})
				p1 := h.event(Phase1Up, time.Second)
				up := h.event(ChildUp, time.Second)
				if p1.Phase1.PeerID != "ip:"+testRemote6.String() {
					t.Errorf("peer ID %q, want %s", p1.Phase1.PeerID, testRemote6)
				}
				checkInterop(t, h.r, up.Child)
				h.r.lock(func() {
					sa := h.r.order[0]
					if len(sa.natd) != 2 || !bytes.Equal(sa.natd[0].Hash, testNATD(sa.prop.Hash, sa.ckyI, sa.ckyR, testRemote6, 500)) {
						t.Error("first NAT-D is not the hash of the server's IPv6 address and port 500")
					}
					q := h.r.children[0]
					if len(q.ids) != 2 {
						t.Fatalf("traffic selectors %v", q.ids)
					}
					for i, want := range []netip.Addr{testLocal6, testRemote6} {
						if q.ids[i].IDType != IDIPv6Addr || !sameID(q.ids[i], want, 17, L2TPPort) {
							t.Errorf("traffic selector %d: %v, want ID_IPV6_ADDR %s udp/1701", i, q.ids[i], want)
						}
					}
					if mode == esp.Transport {
						if len(q.natoa) != 2 || q.natoa[0].Addr != testLocal6 || q.natoa[1].Addr != testRemote6 {
							t.Errorf("NAT-OA %v, want %s and %s", q.natoa, testLocal6, testRemote6)
						}
					}
				})
			})
		})
	}
	if b := (&NATOA{Addr: testLocal6}).AppendBody(nil); len(b) != 20 || IDType(b[0]) != IDIPv6Addr {
		t.Errorf("NAT-OA body % x, want ID type %d and 16 address bytes", b, IDIPv6Addr)
	}
}

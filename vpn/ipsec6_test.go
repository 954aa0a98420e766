package vpn

import (
	"bytes"
	"log/slog"
	"net/netip"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

var (
	client6 = netip.MustParseAddr("2001:db8:5e::2")
	server6 = netip.MustParseAddr("2001:db8:5e::1")
)

// ipsecConn6 is a connection with the IPsec state of one side of an IPv6 connection whose
// SAs come from fixed keys (no IKE runs): 0x1001 carries server → client,
// 0x2002 client → server.
func ipsecConn6(t *testing.T, mode esp.Mode, local, server netip.Addr, in, out uint32) *Conn {
	t.Helper()
	tr := esp.Transform{Enc: esp.AESGCM16}
	sa := func(spi uint32) *esp.SA {
		s, err := esp.NewSA(spi, tr, bytes.Repeat([]byte{byte(spi)}, 36), mode, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	session, err := ike.NewSession(ike.Config{PSK: secret.FromString("unused"), IKE: ike.DefaultIKEProposals(),
		ESP: ike.DefaultESPProposals(), Local: local, Remote: server, Send: func([]byte, bool) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	p := newIPsecPath(local, server, mode)
	p.session = session
	p.out.Store(sa(out))
	inbound := []*esp.SA{sa(in)}
	p.in.Store(&inbound)
	return &Conn{log: slog.New(slog.DiscardHandler), ipsec: p}
}

// TestIPsecIPv6 seals L2TP datagrams over an IPv6 underlay and opens them
// as the server would. Transport mode: next header UDP, with the mandatory
// UDP checksum (RFC 8200 section 8.1) over the IPv6 pseudo header of the
// SA's endpoints. Tunnel mode: next header 41, an inner IPv6 header from us
// to the server (the traffic selectors are the endpoints), then the UDP
// header with its checksum. What the server seals, decap opens, with no
// allocation per packet; the MTU overhead counts the IPv6 headers.
func TestIPsecIPv6(t *testing.T) {
	for _, mode := range []esp.Mode{esp.Transport, esp.Tunnel} {
		t.Run(mode.String(), func(t *testing.T) {
			c := ipsecConn6(t, mode, client6, server6, 0x1001, 0x2002)
			srv := ipsecConn6(t, mode, server6, client6, 0x2002, 0x1001)
			msg := []byte{0x00, 0x02, 0, 11, 0, 12, 0xff, 0x03, 0x00, 0x21, 0x45, 0, 0, 1, 2, 3, 4}
			buf := make([]byte, txHeadroom+len(msg)+64)
			copy(buf[txHeadroom:], msg)
			pkt, err := c.seal(buf, txHeadroom, len(msg))
			if err != nil {
				t.Fatal(err)
			}
			srvIn := (*srv.ipsec.in.Load())[0]
			payload, next, err := srvIn.Open(bytes.Clone(pkt))
			if err != nil {
				t.Fatal(err)
			}
			udp := payload
			if mode == esp.Tunnel {
				if next != 41 {
					t.Fatalf("tunnel mode next header %d, want 41 (IPv6)", next)
				}
				inner, ok := esp.ParseIPv6UDP(payload, client6)
				if !ok || netip.AddrFrom16([16]byte(payload[24:40])) != server6 || payload[7] == 0 {
					t.Fatalf("inner IPv6 header % x", payload[:min(len(payload), esp.IPv6HeaderLen)])
				}
				udp = inner
			} else if next != 17 {
				t.Fatalf("transport mode next header %d, want 17 (UDP)", next)
			}
			h, l2tpMsg, err := esp.ParseUDP(udp)
			if err != nil || h.SrcPort != l2tpPort || h.DstPort != l2tpPort || !bytes.Equal(l2tpMsg, msg) {
				t.Fatalf("inner UDP %+v %v, message % x", h, err, l2tpMsg)
			}
			if h.Checksum == 0 || !esp.VerifyUDPChecksum(udp, client6, server6) {
				t.Fatalf("inner UDP checksum %#04x does not verify over the IPv6 pseudo header", h.Checksum)
			}

			// The server's datagrams, sealed afresh each time.
			sbuf := make([]byte, txHeadroom+len(msg)+64)
			bad := 0
			allocs := testing.AllocsPerRun(100, func() {
				copy(sbuf[txHeadroom:], msg)
				d, err := srv.seal(sbuf, txHeadroom, len(msg))
				if err != nil {
					bad++
					return
				}
				got, port := c.decap(d)
				if !bytes.Equal(got, msg) || port != l2tpPort {
					bad++
				}
			})
			if bad != 0 {
				t.Fatalf("%d of the server's datagrams not opened", bad)
			}
			if allocs != 0 {
				t.Errorf("seal + decap over IPv6 allocates %v times per packet, want 0", allocs)
			}

			// An inner packet of the wrong family is dropped.
			if mode == esp.Tunnel {
				v4 := ipsecConn6(t, mode, netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.1"), 0x1001, 0x2002)
				v4srv := ipsecConn6(t, mode, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), 0x2002, 0x1001)
				copy(sbuf[txHeadroom:], msg)
				d, err := v4srv.seal(sbuf, txHeadroom, len(msg))
				if err != nil {
					t.Fatal(err)
				}
				// The IPv6 client's SA (same keys and SPI) opens it, and
				// refuses the inner IPv4 packet; the IPv4 client takes it.
				if got, _ := c.decap(bytes.Clone(d)); got != nil {
					t.Error("an inner IPv4 packet accepted over an IPv6 underlay")
				}
				if got, _ := v4.decap(d); !bytes.Equal(got, msg) {
					t.Error("the IPv4 client refused its own server's packet")
				}
			}

			// Overhead: the outer IPv6 header is 20 bytes longer, and so is
			// the inner one in tunnel mode.
			v4 := ipsecConn6(t, mode, netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.1"), 0x1001, 0x2002)
			want := 20
			if mode == esp.Tunnel {
				want = 40
			}
			if d := c.ipsec.overhead() - v4.ipsec.overhead(); d != want {
				t.Errorf("IPv6 overhead exceeds IPv4's by %d, want %d", d, want)
			}
			if d := c.ipsec.sealHeadroom(c.ipsec.out.Load()) - v4.ipsec.sealHeadroom(v4.ipsec.out.Load()); d != want-20 {
				t.Errorf("IPv6 seal headroom exceeds IPv4's by %d, want %d", d, want-20)
			}
		})
	}
}

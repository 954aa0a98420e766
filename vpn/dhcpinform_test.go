package vpn

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/dhcp"
	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/tun"
)

// seACKOptions is SoftEther's DHCPACK options (see dhcp's golden test).
const seACKOptions = "3501053604c63364010f0c636f72702e6578616d706c650104ffffff000304c63364010604c633640179091acb007140c6336401f9091acb007140c6336401ff"

// ackFor builds the server's answer to the DHCPINFORM req (an IPv4
// packet): unicast from 198.51.100.1:67 to the request's source, the UDP
// checksum left out (0, RFC 768).
func ackFor(t *testing.T, req []byte) []byte {
	t.Helper()
	opts := must(hexDecode(seACKOptions))
	bp := make([]byte, 240+len(opts))
	bp[0], bp[1], bp[2] = 2, 1, 6
	copy(bp[4:8], req[28+4:28+8]) // xid
	copy(bp[12:16], req[12:16])
	copy(bp[236:], []byte{99, 130, 83, 99})
	copy(bp[240:], opts)
	p := make([]byte, 28+len(bp))
	p[0], p[8], p[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	copy(p[12:16], []byte{198, 51, 100, 1})
	copy(p[16:20], req[12:16])
	var s uint32
	for i := 0; i < 20; i += 2 {
		s += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	binary.BigEndian.PutUint16(p[10:], ^uint16(s))
	binary.BigEndian.PutUint16(p[20:], 67)
	binary.BigEndian.PutUint16(p[22:], 68)
	binary.BigEndian.PutUint16(p[24:], uint16(8+len(bp)))
	copy(p[28:], bp)
	return p
}

func hexDecode(s string) ([]byte, error) {
	b := make([]byte, len(s)/2)
	for i := range b {
		var v byte
		for _, c := range s[2*i : 2*i+2] {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= byte(c - '0')
			default:
				v |= byte(c-'a') + 10
			}
		}
		b[i] = v
	}
	return b, nil
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// dhcpConn is a connection with a socket to a fake server on loopback and
// our session ids 11/12 (the server's 21/22).
func dhcpConn(t *testing.T, vendor string) (*Conn, *net.UDPConn) {
	t.Helper()
	srv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); udp.Close() })
	sock, err := newBatchConn(udp, udpBatch)
	if err != nil {
		t.Fatal(err)
	}
	c := &Conn{cfg: Config{Name: "office", DHCPInterval: 200 * time.Millisecond}, log: slog.New(slog.DiscardHandler), sock: sock,
		tunnel: l2tp.NewTunnel(l2tp.Config{}, func([]byte) error { return nil })}
	c.info.Tunnel.PeerVendor = vendor
	peer := srv.LocalAddr().(*net.UDPAddr).AddrPort()
	c.peer.Store(&peer)
	c.localTunnel.Store16(11)
	c.localSession.Store16(12)
	c.peerTunnel.Store16(21)
	c.peerSession.Store16(22)
	return c, srv
}

// l2tpData wraps an IPv4 packet as the server sends it: L2TP data header
// (no length, no sequence) for tunnel 11 session 12, PPP IPv4.
func l2tpData(pkt []byte) []byte {
	return append([]byte{0x00, 0x02, 0, 11, 0, 12, 0xff, 0x03, 0x00, 0x21}, pkt...)
}

// The exchange against a fake SoftEther: our INFORM leaves through the
// session as PPP IPv4; its first copy is lost, the retry is answered; the
// answer arrives through receive() before the device exists, and is
// recorded, reported and turned into split routes and search domains.
func TestDHCPInformExchange(t *testing.T) {
	c, srv := dhcpConn(t, "L2TP")
	var events []Event
	c.cfg.OnEvent = func(ev Event) { events = append(events, ev) }
	client := netip.MustParseAddr("198.51.100.10")
	go func() {
		buf := make([]byte, 2048)
		for i := 0; ; i++ {
			n, _, err := srv.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			d := buf[:n]
			// L2TP data header for the server's ids, PPP IPv4.
			if n < 10 || binary.BigEndian.Uint16(d[2:]) != 21 || binary.BigEndian.Uint16(d[4:]) != 22 || d[8] != 0 || d[9] != 0x21 {
				t.Errorf("not PPP IPv4 in our session: % x", d[:min(n, 16)])
				return
			}
			req := d[10:]
			if i == 0 { // lost
				continue
			}
			ack := l2tpData(ackFor(t, req))
			c.receive(ack, len(ack), srv.LocalAddr().(*net.UDPAddr).AddrPort())
		}
	}()
	start := time.Now()
	c.runDHCP(context.Background(), ppp.IPInfo{Local: client, Peer: netip.MustParseAddr("198.51.100.1")})
	if c.info.DHCP == nil {
		t.Fatal("no answer recorded")
	}
	if el := time.Since(start); el < c.cfg.DHCPInterval {
		t.Errorf("answered after %v: the first try was not lost?", el)
	}
	d := c.info.DHCP
	if d.Server != "198.51.100.1" || d.Domain != "corp.example" || !slices.Equal(d.Routes, []string{"203.0.113.64/26 via 198.51.100.1"}) ||
		!slices.Equal(d.DNS, []string{"198.51.100.1"}) {
		t.Fatalf("%+v", d)
	}
	if len(events) != 1 || events[0].Event != EventDHCP || events[0].Domain != "corp.example" || len(events[0].Routes) != 1 {
		t.Fatalf("events %+v", events)
	}
	if c.dhcpWait.Load() != nil {
		t.Fatal("still intercepting after the exchange")
	}
	c.info.IP = client
	c.info.Server = netip.MustParseAddrPort("192.0.2.1:1701")
	cfg := Config{Routing: tun.RouteSplit, Routes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	if got := cfg.extraRoutes(c.info, c.log); !slices.Equal(got, []netip.Prefix{netip.MustParsePrefix("203.0.113.64/26")}) {
		t.Fatalf("split routes %v", got)
	}
	if s := d.search(); !slices.Equal(s, []string{"corp.example"}) {
		t.Fatalf("search %v", s)
	}
	env := strings.Join(hookEnv("up", "office", c.info, tun.HostSummary{}, 0), "\n")
	for _, want := range []string{"L2TPVPN_DHCP_ROUTES=203.0.113.64/26 via 198.51.100.1", "L2TPVPN_DHCP_DOMAIN=corp.example", "L2TPVPN_DHCP_SERVER=198.51.100.1"} {
		if !strings.Contains(env, want) {
			t.Errorf("hook environment lacks %q:\n%s", want, env)
		}
	}
}

// A server that never answers costs DHCPTries × DHCPInterval, no more.
func TestDHCPInformNoAnswer(t *testing.T) {
	c, _ := dhcpConn(t, "Microsoft")
	c.cfg.DHCPTries, c.cfg.DHCPInterval = 2, 50*time.Millisecond
	start := time.Now()
	c.runDHCP(context.Background(), ppp.IPInfo{Local: netip.MustParseAddr("198.51.100.10")})
	if el := time.Since(start); el > time.Second || c.info.DHCP != nil {
		t.Fatalf("took %v, info %+v", el, c.info.DHCP)
	}
}

func TestDHCPWanted(t *testing.T) {
	for _, tc := range []struct {
		mode   DHCPInform
		vendor string
		want   bool
	}{
		{DHCPInformAuto, "L2TP", true},           // SoftEther
		{DHCPInformAuto, "Microsoft", true},      // Windows RRAS
		{DHCPInformAuto, "xelerance.com", false}, // xl2tpd
		{DHCPInformAuto, "", false},              // l2tpns sends none
		{DHCPInformOn, "", true},
		{DHCPInformOff, "L2TP", false},
	} {
		c := &Conn{cfg: Config{DHCPInform: tc.mode}}
		c.info.Tunnel.PeerVendor = tc.vendor
		if got := c.dhcpWanted(); got != tc.want {
			t.Errorf("%v %q: %v", tc.mode, tc.vendor, got)
		}
	}
	for _, s := range []string{"auto", "on", "off"} {
		if m, err := ParseDHCPInform(s); err != nil || m.String() != s {
			t.Errorf("%s: %v %v", s, m, err)
		}
	}
	if _, err := ParseDHCPInform("yes"); err == nil || !strings.HasPrefix(err.Error(), "vpn: ") {
		t.Errorf("yes: %v", err)
	}
}

func TestExtraRoutes(t *testing.T) {
	pfx := netip.MustParsePrefix
	info := Info{IP: netip.MustParseAddr("198.51.100.10"), Server: netip.MustParseAddrPort("192.0.2.1:1701"),
		DHCP: &DHCPInfo{prefixes: []netip.Prefix{pfx("203.0.113.64/26"), pfx("192.0.0.0/8"), pfx("0.0.0.0/0"), pfx("10.0.0.0/8")}}}
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name string
		cfg  Config
		want []netip.Prefix
	}{
		{"split", Config{Routing: tun.RouteSplit, Routes: []netip.Prefix{pfx("10.0.0.0/8")}}, []netip.Prefix{pfx("203.0.113.64/26")}},
		{"split, class route", Config{Routing: tun.RouteSplit, ClassRoute: true}, []netip.Prefix{pfx("203.0.113.64/26"), pfx("10.0.0.0/8"), pfx("198.51.100.0/24")}},
		{"split, no server routes", Config{Routing: tun.RouteSplit, IgnoreServerRoutes: true}, nil},
		{"full: shown only", Config{Routing: tun.RouteFull, ClassRoute: true}, nil},
	} {
		if got := tc.cfg.extraRoutes(info, log); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Outside an exchange, IP packets pass dhcpInput without an allocation;
// during one, only answers to our address are taken.
func TestDHCPInput(t *testing.T) {
	c := &Conn{}
	client := netip.MustParseAddr("198.51.100.10")
	req := dhcp.NewInform(client, [6]byte{}, 0)
	ack := ackFor(t, req.Append(nil))
	if n := testing.AllocsPerRun(100, func() { c.dhcpInput(ppp.ProtoIPv4, ack) }); n != 0 || c.dhcpInput(ppp.ProtoIPv4, ack) {
		t.Fatalf("without an exchange: taken, or %v allocations", n)
	}
	w := &dhcpWait{client: client, ch: make(chan []byte, 1)}
	c.dhcpWait.Store(w)
	if c.dhcpInput(ppp.ProtoIPv6, ack) || c.dhcpInput(ppp.ProtoIPv4, req.Append(nil)) {
		t.Fatal("took a packet that is no answer")
	}
	if !c.dhcpInput(ppp.ProtoIPv4, ack) || !c.dhcpInput(ppp.ProtoIPv4, ack) {
		t.Fatal("answer not taken")
	}
	if got := <-w.ch; !slices.Equal(got, ack) || &got[0] == &ack[0] {
		t.Fatal("not a copy of the answer")
	}
}

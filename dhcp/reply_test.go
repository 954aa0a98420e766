package dhcp

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// softEtherACK is the options part (BOOTP payload from offset 240, after
// the magic cookie) of the DHCPACK SoftEther VPN Server 4.x sent to a
// DHCPINFORM from 198.51.100.10 in the se lab, after
//
//	DhcpSet ... /DOMAIN:corp.example /PUSHROUTE:"203.0.113.64/255.255.255.192/198.51.100.1"
//
// It came unicast from 198.51.100.1:67 to 198.51.100.10:68. Options: 53=5
// (ACK), 54=198.51.100.1, 15="corp.example", 1=255.255.255.0,
// 3=198.51.100.1, 6=198.51.100.1, 121 and 249 = 203.0.113.64/26 via
// 198.51.100.1, end.
const softEtherACK = "3501053604c63364010f0c636f72702e6578616d706c650104ffffff000304c63364010604c633640179091acb007140c6336401f9091acb007140c6336401ff"

var (
	seServer = netip.MustParseAddr("198.51.100.1")
	seClient = netip.MustParseAddr("198.51.100.10")
)

func TestGoldenSoftEtherACK(t *testing.T) {
	const xid = 0x1234abcd
	pkt := buildReply(t, seServer, seClient, xid, mustHex(t, softEtherACK))
	if !IsReply(pkt, seClient) {
		t.Fatal("IsReply: false")
	}
	r, err := ParseReply(pkt, xid, seClient)
	if err != nil {
		t.Fatal(err)
	}
	gw := seServer
	want := Reply{
		From: seServer, Server: seServer, SubnetMask: netip.MustParseAddr("255.255.255.0"),
		Routers: []netip.Addr{gw}, DNS: []netip.Addr{gw}, Domain: "corp.example",
		Routes:       []Route{{Dst: netip.MustParsePrefix("203.0.113.64/26"), Gateway: gw}},
		RoutesOption: 121,
	}
	if !equalReply(r, want) {
		t.Fatalf("got  %+v\nwant %+v", r, want)
	}
	// Nothing aliases the packet.
	clear(pkt)
	if !equalReply(r, want) {
		t.Fatalf("the reply changed with the packet: %+v", r)
	}
}

func equalReply(a, b Reply) bool {
	return a.From == b.From && a.Server == b.Server && a.SubnetMask == b.SubnetMask &&
		slices.Equal(a.Routers, b.Routers) && slices.Equal(a.DNS, b.DNS) && slices.Equal(a.WINS, b.WINS) &&
		a.Domain == b.Domain && slices.Equal(a.Search, b.Search) && slices.Equal(a.Routes, b.Routes) &&
		a.RoutesOption == b.RoutesOption && slices.Equal(a.Warnings, b.Warnings)
}

func TestReplyTruncated(t *testing.T) {
	pkt := buildReply(t, seServer, seClient, 7, mustHex(t, softEtherACK))
	for n := range len(pkt) {
		if _, err := ParseReply(pkt[:n], 7, seClient); err == nil {
			t.Fatalf("prefix of %d bytes: no error", n)
		}
	}
}

func TestReplyNotOurs(t *testing.T) {
	opts := mustHex(t, softEtherACK)
	other := netip.MustParseAddr("198.51.100.11")
	for _, tc := range []struct {
		name string
		pkt  []byte
		want error
	}{
		{"other xid", buildReply(t, seServer, seClient, 8, opts), ErrNotReply},
		{"to another address", buildReply(t, seServer, other, 7, opts), ErrNotReply},
		{"NAK", buildReply(t, seServer, seClient, 7, []byte{53, 1, 6, 255}), ErrNAK},
		{"OFFER", buildReply(t, seServer, seClient, 7, []byte{53, 1, 2, 255}), ErrNotReply},
		{"BOOTP, no message type", buildReply(t, seServer, seClient, 7, []byte{1, 4, 255, 255, 255, 0, 255}), ErrNotReply},
		{"other ports", wrapUDP(seServer, seClient, 53, 68, make([]byte, 300)), ErrNotReply},
		{"option truncated", buildReply(t, seServer, seClient, 7, []byte{53, 1, 5, 15, 20, 'a'}), ErrMalformed},
	} {
		if _, err := ParseReply(tc.pkt, 7, seClient); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestReplyBroadcast(t *testing.T) {
	pkt := buildReply(t, seServer, netip.MustParseAddr("255.255.255.255"), 7, mustHex(t, softEtherACK))
	if !IsReply(pkt, seClient) {
		t.Fatal("IsReply: false for a broadcast reply")
	}
	if _, err := ParseReply(pkt, 7, seClient); err != nil {
		t.Fatal(err)
	}
}

func TestReplyChecksums(t *testing.T) {
	good := buildReply(t, seServer, seClient, 7, mustHex(t, softEtherACK))
	ip := slices.Clone(good)
	ip[10] ^= 1
	if _, err := ParseReply(ip, 7, seClient); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad IPv4 checksum: %v", err)
	}
	udp := slices.Clone(good)
	udp[len(udp)-2] ^= 0x40 // inside the options
	if _, err := ParseReply(udp, 7, seClient); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad UDP checksum: %v", err)
	}
	// A zero UDP checksum means none was computed (RFC 768).
	none := slices.Clone(good)
	binary.BigEndian.PutUint16(none[ipHeaderLen+6:], 0)
	if _, err := ParseReply(none, 7, seClient); err != nil {
		t.Errorf("no UDP checksum: %v", err)
	}
}

func TestReplyRouteOptions(t *testing.T) {
	r121 := []byte{121, 6, 8, 10, 192, 0, 2, 1}
	r249 := []byte{249, 8, 24, 172, 16, 5, 192, 0, 2, 1}
	bad121 := []byte{121, 2, 33, 0}
	ack := []byte{53, 1, 5}
	for _, tc := range []struct {
		name   string
		opts   []byte
		routes string
		from   int
		warn   bool
	}{
		{"121 only", cat(ack, r121), "10.0.0.0/8 via 192.0.2.1", 121, false},
		{"249 only", cat(ack, r249), "172.16.5.0/24 via 192.0.2.1", 249, false},
		{"121 wins", cat(ack, r249, r121), "10.0.0.0/8 via 192.0.2.1", 121, false},
		{"bad 121, 249 used", cat(ack, bad121, r249), "172.16.5.0/24 via 192.0.2.1", 249, true},
		{"none", ack, "", 0, false},
	} {
		r, err := ParseReply(buildReply(t, seServer, seClient, 1, cat(tc.opts, []byte{255})), 1, seClient)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, rt := range r.Routes {
			got = append(got, rt.String())
		}
		if strings.Join(got, ",") != tc.routes || r.RoutesOption != tc.from || (len(r.Warnings) > 0) != tc.warn {
			t.Errorf("%s: %v from %d, warnings %q", tc.name, got, r.RoutesOption, r.Warnings)
		}
	}
}

func cat(bs ...[]byte) []byte { return slices.Concat(bs...) }

// RFC 3396: an option split over several instances is their concatenation;
// option 52 puts more options into file and sname.
func TestReplyLongOptionsAndOverload(t *testing.T) {
	search := AppendSearchList(nil, []string{"eng.example.com", "corp.example"})
	opts := cat([]byte{53, 1, 5, 52, 1, 3, 119, 5}, search[:5], []byte{6, 4, 192, 0, 2, 53}, []byte{119, byte(len(search) - 5)}, search[5:], []byte{255})
	pkt := buildReply(t, seServer, seClient, 1, opts)
	bp := pkt[ipHeaderLen+udpHeaderLen:]
	// file (108..236) then sname (44..108).
	copy(bp[108:], []byte{15, 4, 'c', 'o', 'r', 'p', 255})
	copy(bp[44:], []byte{44, 4, 192, 0, 2, 137, 255})
	pkt = wrapUDP(seServer, seClient, 67, 68, bp)
	r, err := ParseReply(pkt, 1, seClient)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Search, []string{"eng.example.com", "corp.example"}) || r.Domain != "corp" ||
		len(r.DNS) != 1 || len(r.WINS) != 1 || r.WINS[0] != netip.MustParseAddr("192.0.2.137") || r.Warnings != nil {
		t.Fatalf("%+v", r)
	}
}

// What a server sends ends up in resolv.conf: only valid domains pass.
func TestReplyBadDomains(t *testing.T) {
	evil := []byte("corp.example\nnameserver 203.0.113.9")
	opts := cat([]byte{53, 1, 5, 15, byte(len(evil))}, evil, []byte{119, 7, 5, 'a', ' ', 'b', 'c', 'd', 0},
		[]byte{6, 3, 1, 2, 3}, []byte{54, 2, 1, 2}, []byte{255})
	r, err := ParseReply(buildReply(t, seServer, seClient, 1, opts), 1, seClient)
	if err != nil {
		t.Fatal(err)
	}
	if r.Domain != "" || r.Search != nil || r.DNS != nil || r.Server != seServer || len(r.Warnings) != 4 {
		t.Fatalf("%+v", r)
	}
	for _, w := range r.Warnings {
		if strings.Contains(w, "\n") {
			t.Errorf("warning %q quotes the raw newline", w)
		}
	}
	// A C string with its NUL and a final dot are fine.
	r, err = ParseReply(buildReply(t, seServer, seClient, 1, cat([]byte{53, 1, 5, 15, 6}, []byte("corp.\x00"), []byte{255})), 1, seClient)
	if err != nil || r.Domain != "corp" || r.Warnings != nil {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestIsReply(t *testing.T) {
	good := buildReply(t, seServer, seClient, 7, mustHex(t, softEtherACK))
	frag := slices.Clone(good)
	frag[6] = 0x20 // MF
	for _, tc := range []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"reply", good, true},
		{"to another address", buildReply(t, seServer, netip.MustParseAddr("198.51.100.11"), 7, nil), false},
		{"DNS", wrapUDP(seServer, seClient, 53, 68, nil), false},
		{"fragment", frag, false},
		{"short", good[:27], false},
		{"IPv6", append([]byte{0x60}, good[1:]...), false},
		{"TCP", append(append([]byte{}, good[:9]...), append([]byte{6}, good[10:]...)...), false},
	} {
		if got := IsReply(tc.pkt, seClient); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
	if n := testing.AllocsPerRun(100, func() { IsReply(good, seClient) }); n != 0 {
		t.Fatalf("IsReply allocates %v times", n)
	}
}

package vpn

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Server strings with IPv6 addresses: bare, bracketed, bracketed with a
// port; a port after a bare address needs brackets; zones are refused.
func TestSplitServerIPv6(t *testing.T) {
	ok := map[string][2]string{
		"2001:db8::1":          {"2001:db8::1", "1701"},
		"[2001:db8::1]":        {"2001:db8::1", "1701"},
		"[2001:db8::1]:1702":   {"2001:db8::1", "1702"},
		"2001:db8::1:1702":     {"2001:db8::1:1702", "1701"}, // the last group is the address's
		"[192.0.2.1]:1701":     {"192.0.2.1", "1701"},
		"vpn.example.com:1702": {"vpn.example.com", "1702"},
		"[::ffff:192.0.2.1]":   {"::ffff:192.0.2.1", "1701"},
	}
	for s, want := range ok {
		if got, err := splitServer(s); err != nil || got != want {
			t.Errorf("splitServer(%q) = %q, %v; want %q", s, got, err, want)
		}
	}
	bad := map[string]string{
		"2001:db8::g":         "not a valid IPv6 address",
		"[2001:db8::1":        "not a valid IPv6 address",
		"[2001:db8::1]:0":     "bad port",
		"[fe80::1%eth0]:1701": "zone",
		"[]":                  "no host",
		"[vpn]x":              "not a valid host name",
		"192.0.2.300":         "not a valid IPv4 address",
	}
	for s, want := range bad {
		if _, err := splitServer(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("splitServer(%q): %v, want an error with %q", s, err, want)
		}
	}
	// An address given as the server needs no lookup; its string form, as
	// events show it, has the brackets.
	for _, s := range []string{"[2001:db8::1]", "2001:db8::1", "[2001:db8::1]:1701"} {
		r, err := newResolver(s, "")
		if err != nil {
			t.Fatal(err)
		}
		a, err := r.resolve(context.Background(), "")
		if err != nil || a.String() != "[2001:db8::1]:1701" {
			t.Errorf("%q resolves to %v, %v", s, a, err)
		}
	}
}

// fakeDNS answers A and AAAA questions from records, over a stream
// connection (two-byte length prefix, RFC 1035 section 4.2.2), as
// net.Resolver's Dial hook wants. It records the query types asked.
type fakeDNS struct {
	records map[uint16][]netip.Addr // by type: 1 A, 28 AAAA
	mu      sync.Mutex
	asked   []uint16
}

func (f *fakeDNS) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		c, s := net.Pipe()
		go f.serve(s)
		return c, nil
	}}
}

func (f *fakeDNS) serve(c net.Conn) {
	defer c.Close()
	for {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, q); err != nil || len(q) < 12 {
			return
		}
		// The question: labels up to the root, then type and class.
		i := 12
		for i < len(q) && q[i] != 0 {
			i += int(q[i]) + 1
		}
		if i+5 > len(q) {
			return
		}
		qtype := binary.BigEndian.Uint16(q[i+1:])
		question := q[12 : i+5]
		f.mu.Lock()
		f.asked = append(f.asked, qtype)
		f.mu.Unlock()
		answers := f.records[qtype]
		r := binary.BigEndian.AppendUint16(nil, binary.BigEndian.Uint16(q)) // ID
		r = append(r, 0x85, 0x80)                                           // response, authoritative, RD, RA
		r = append(r, 0, 1)                                                 // one question
		r = binary.BigEndian.AppendUint16(r, uint16(len(answers)))
		r = append(r, 0, 0, 0, 0)
		r = append(r, question...)
		for _, a := range answers {
			r = append(r, 0xc0, 12) // the question's name
			r = binary.BigEndian.AppendUint16(r, qtype)
			r = append(r, 0, 1, 0, 0, 0, 60) // class IN, TTL 60
			r = binary.BigEndian.AppendUint16(r, uint16(a.BitLen()/8))
			r = append(r, a.AsSlice()...)
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(r)))
		if _, err := c.Write(append(out, r...)); err != nil {
			return
		}
	}
}

// TestResolveAAAA: a server name with only an AAAA record resolves to its
// IPv6 address (the lookup asks for both families).
func TestResolveAAAA(t *testing.T) {
	dns := &fakeDNS{records: map[uint16][]netip.Addr{28: {netip.MustParseAddr("2001:db8:5e::1")}}}
	r, err := newResolver("vpn6.l2tpvpn.example.:1701", "/nonexistent")
	if err != nil {
		t.Fatal(err)
	}
	r.res = dns.resolver()
	r.routable = func(netip.Addr) bool { return true }
	a, err := r.resolve(context.Background(), "")
	if err != nil || a != netip.MustParseAddrPort("[2001:db8:5e::1]:1701") {
		t.Fatalf("resolve = %v, %v; want [2001:db8:5e::1]:1701", a, err)
	}
	dns.mu.Lock()
	defer dns.mu.Unlock()
	if !slices.Contains(dns.asked, 28) {
		t.Errorf("query types asked %v, want AAAA (28) among them", dns.asked)
	}
}

// TestResolvePick: among A and AAAA records the resolver's order decides,
// except that an address of a family without a route is skipped; the last
// address that worked wins while the name still has it.
func TestResolvePick(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	dns := &fakeDNS{records: map[uint16][]netip.Addr{1: {v4}, 28: {v6}}}
	only := func(family netip.Addr) func(netip.Addr) bool {
		return func(a netip.Addr) bool { return a.Is4() == family.Is4() }
	}
	r := &resolver{host: "both.l2tpvpn.example.", port: 1701, res: dns.resolver()}
	for _, c := range []struct {
		name     string
		routable func(netip.Addr) bool
		want     netip.Addr
	}{
		{"IPv4-only host", only(v4), v4},
		{"IPv6-only host", only(v6), v6},
		{"no route at all: the first", func(netip.Addr) bool { return false }, netip.Addr{}},
	} {
		r.routable = c.routable
		a, err := r.resolve(context.Background(), "")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.want.IsValid() && a.Addr() != c.want {
			t.Errorf("%s: %v, want %v", c.name, a, c.want)
		}
	}
	// The resolver's order, with both routable, is kept.
	r.routable = func(netip.Addr) bool { return true }
	order, err := dns.resolver().LookupNetIP(context.Background(), "ip", r.host)
	if err != nil || len(order) != 2 {
		t.Fatalf("lookup: %v %v", order, err)
	}
	if a, _ := r.resolve(context.Background(), ""); a.Addr() != order[0].Unmap() {
		t.Errorf("both routable: %v, want the resolver's first, %v", a, order[0])
	}
	r.lastGood = netip.AddrPortFrom(order[1].Unmap(), 1701)
	if a, _ := r.resolve(context.Background(), ""); a != r.lastGood {
		t.Errorf("last good %v not kept: %v", r.lastGood, a)
	}
	// Mapped addresses from the pick are plain IPv4.
	if got := (&resolver{routable: func(netip.Addr) bool { return true }}).pick([]netip.Addr{netip.MustParseAddr("::ffff:192.0.2.9")}); got != netip.MustParseAddr("192.0.2.9") {
		t.Errorf("pick of a mapped address: %v", got)
	}
}

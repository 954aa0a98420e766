package dhcp

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

// FuzzParseReply checks the reply decoder on any packet: it never panics,
// fails only with the package's sentinels, accepts only what IsReply lets
// through, returns only valid domains, and nothing it returns aliases the
// packet.
func FuzzParseReply(f *testing.F) {
	client := seClient
	f.Add(buildReply(f, seServer, client, 1, mustHex(f, softEtherACK)))
	f.Add(buildReply(f, seServer, client, 1, []byte{53, 1, 5, 52, 1, 3, 119, 3, 1, 'a', 0, 255}))
	f.Add(buildReply(f, seServer, client, 1, []byte{53, 1, 6, 255}))
	m := NewInform(client, HWAddrFor("x"), 1400)
	f.Add(m.Append(nil))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		r, err := ParseReply(pkt, 1, client)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotReply) && !errors.Is(err, ErrNAK) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if !IsReply(pkt, client) {
			t.Fatal("parsed a reply IsReply turns away")
		}
		if r.Domain != "" && !ValidDomain(r.Domain) {
			t.Fatalf("domain %q", r.Domain)
		}
		for _, s := range r.Search {
			if !ValidDomain(s) {
				t.Fatalf("search %q", s)
			}
		}
		if r.RoutesOption != 0 && r.RoutesOption != OptClasslessRoutes && r.RoutesOption != OptMSClasslessRoute {
			t.Fatalf("routes from option %d", r.RoutesOption)
		}
		before := slices.Clone(r.Routes)
		clear(pkt)
		if !slices.Equal(before, r.Routes) {
			t.Fatal("routes alias the packet")
		}
	})
}

// FuzzParseClasslessRoutes: routes decode to masked IPv4 prefixes and
// re-encode to the same bytes when the input had no bits beyond a width.
func FuzzParseClasslessRoutes(f *testing.F) {
	f.Add([]byte{0, 192, 0, 2, 1})
	f.Add([]byte{25, 10, 229, 0, 128, 10, 0, 0, 1, 32, 1, 2, 3, 4, 0, 0, 0, 0})
	f.Add([]byte{33})
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := ParseClasslessRoutes(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || rs != nil {
				t.Fatalf("%v %v", rs, err)
			}
			return
		}
		for _, r := range rs {
			if !r.Dst.Addr().Is4() || r.Dst != r.Dst.Masked() || !r.Gateway.Is4() {
				t.Fatalf("route %v", r)
			}
		}
		again, err := ParseClasslessRoutes(AppendClasslessRoutes(nil, rs))
		if err != nil || !slices.Equal(again, rs) {
			t.Fatalf("%v -> %v %v", rs, again, err)
		}
	})
}

// FuzzParseSearchList: no input loops or panics; the valid names
// re-encode and decode to themselves.
func FuzzParseSearchList(f *testing.F) {
	f.Add([]byte{3, 'e', 'n', 'g', 5, 'a', 'p', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 9, 'm', 'a', 'r', 'k', 'e', 't', 'i', 'n', 'g', 0xc0, 0x04})
	f.Add([]byte{1, 'a', 0xc0, 0x04, 0xc0, 0x00})
	f.Add([]byte{0xc0, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		names, err := ParseSearchList(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || names != nil {
				t.Fatalf("%q %v", names, err)
			}
			return
		}
		var valid []string
		for _, n := range names {
			if len(n) > maxNameLen {
				t.Fatalf("name of %d characters", len(n))
			}
			if ValidDomain(n) {
				valid = append(valid, n)
			}
		}
		again, err := ParseSearchList(AppendSearchList(nil, valid))
		if err != nil || !slices.Equal(again, valid) {
			t.Fatalf("%q -> %q %v", valid, again, err)
		}
	})
}

// FuzzIsReply: the data path's test never panics and agrees with the
// decoder on the addressing it looks at.
func FuzzIsReply(f *testing.F) {
	f.Add(buildReply(f, seServer, seClient, 1, mustHex(f, softEtherACK)), []byte{198, 51, 100, 10})
	f.Fuzz(func(t *testing.T, pkt []byte, a []byte) {
		addr, ok := netip.AddrFromSlice(a)
		if !ok || !addr.Is4() {
			return
		}
		if IsReply(pkt, addr) {
			return
		}
		if _, err := ParseReply(pkt, 1, addr); err == nil {
			t.Fatal("ParseReply accepted what IsReply refused")
		}
	})
}

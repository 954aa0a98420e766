package proxy

import (
	"net/netip"
	"testing"
)

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte{5, 1, 0, 1, 10, 1, 2, 3, 0, 22})
	f.Add(append(append([]byte{5, 1, 0, 3, 8}, "git.corp"...), 0, 80))
	f.Add(append([]byte{5, 3, 0, 4}, make([]byte, 18)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, dst, err := parseRequest(b)
		if err != nil {
			return
		}
		// A request that parses re-encodes to the same bytes (domain
		// names aside, which appendAddr does not write).
		if dst.ip.IsValid() {
			re := appendAddr([]byte{socksVersion, cmd, b[2]}, netip.AddrPortFrom(dst.ip, dst.port))
			if b[3] == atypIPv4 && string(re) != string(b) {
				t.Errorf("re-encoded % x, want % x", re, b)
			}
		} else if dst.host == "" {
			t.Error("no address and no host")
		}
	})
}

func FuzzParseUDPHeader(f *testing.F) {
	f.Add(append(appendAddr([]byte{0, 0, 0}, netip.MustParseAddrPort("10.0.0.1:53")), "payload"...))
	f.Add([]byte{0, 0, 0, 3, 3, 'a', 'b', 'c', 0, 53})
	f.Add([]byte{0, 0, 1, 1, 1, 1, 1, 1, 0, 53})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, payload, err := parseUDPHeader(b)
		if err == nil && len(payload) > len(b) {
			t.Error("payload longer than the datagram")
		}
	})
}

func FuzzParseForward(f *testing.F) {
	f.Add("tcp:127.0.0.1:5432=10.1.2.3:5432")
	f.Add("udp:5353=dns.internal:53")
	f.Add("tcp:[::1]:1=[fd00::1]:2")
	f.Fuzz(func(t *testing.T, s string) {
		fw, err := ParseForward(s)
		if err != nil {
			return
		}
		again, err := ParseForward(fw.String())
		if err != nil || again != fw {
			t.Errorf("%q: String %q parses to %+v, %v", s, fw.String(), again, err)
		}
	})
}

func FuzzParseReverse(f *testing.F) {
	f.Add("tcp:8080=127.0.0.1:3000")
	f.Add("udp:53=5353")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReverse(s)
		if err != nil {
			return
		}
		again, err := ParseReverse(r.String())
		if err != nil || again != r {
			t.Errorf("%q: String %q parses to %+v, %v", s, r.String(), again, err)
		}
	})
}

func FuzzParseCheck(f *testing.F) {
	f.Add("tcp://10.1.2.3:22")
	f.Add("icmp://10.1.2.1")
	f.Add("dns://git.internal")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCheck(s)
		if err != nil {
			return
		}
		again, err := ParseCheck(c.String())
		if err != nil || again != c {
			t.Errorf("%q: String %q parses to %+v, %v", s, c.String(), again, err)
		}
	})
}

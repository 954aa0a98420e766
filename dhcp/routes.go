package dhcp

// Classless static routes: RFC 3442 (option 121), also sent by Windows
// servers as option 249 in the same format; and the classful network of an
// address (RFC 791 section 2.3, as Windows' "class-based route").

import (
	"fmt"
	"net/netip"

	"golang.org/x/crypto/cryptobyte"
)

// Route is one classless static route.
type Route struct {
	Dst netip.Prefix
	// Gateway is the router; 0.0.0.0 means the destination is on the link
	// (through the tunnel interface itself).
	Gateway netip.Addr
}

func (r Route) String() string {
	return r.Dst.String() + " via " + r.Gateway.String()
}

// ParseClasslessRoutes decodes the data of option 121 or 249 (RFC 3442
// section 3): a list of (width, significant octets of the destination,
// router). A width above 32, or data ending inside a route, is malformed;
// bits of the destination beyond the width are cleared.
func ParseClasslessRoutes(b []byte) ([]Route, error) {
	s := cryptobyte.String(b)
	var rs []Route
	for !s.Empty() {
		var width uint8
		if !s.ReadUint8(&width) || width > 32 {
			return nil, fmt.Errorf("%w: classless route: width %d above 32", ErrMalformed, width)
		}
		// "The significant portion of the subnet number": ceil(width/8)
		// octets (RFC 3442 section 3).
		var dst [4]byte
		var sig, gw []byte
		if !s.ReadBytes(&sig, int(width+7)/8) || !s.ReadBytes(&gw, 4) {
			return nil, fmt.Errorf("%w: classless route: truncated", ErrMalformed)
		}
		copy(dst[:], sig)
		p := netip.PrefixFrom(netip.AddrFrom4(dst), int(width)).Masked()
		rs = append(rs, Route{Dst: p, Gateway: netip.AddrFrom4([4]byte(gw))})
	}
	return rs, nil
}

// AppendClasslessRoutes appends rs in the format of option 121 (RFC 3442
// section 3). Routes must hold IPv4 prefixes and gateways.
func AppendClasslessRoutes(b []byte, rs []Route) []byte {
	for _, r := range rs {
		w := r.Dst.Bits()
		a := r.Dst.Masked().Addr().As4()
		gw := r.Gateway.As4()
		b = append(b, byte(w))
		b = append(b, a[:(w+7)/8]...)
		b = append(b, gw[:]...)
	}
	return b
}

// ClassfulPrefix is the classful network of IPv4 address a (RFC 791
// section 2.3: class A /8, B /16, C /24); false for class D and E, and for
// addresses that are not IPv4.
func ClassfulPrefix(a netip.Addr) (netip.Prefix, bool) {
	if !a.Is4() {
		return netip.Prefix{}, false
	}
	first := a.As4()[0]
	bits := 0
	switch {
	case first < 128:
		bits = 8
	case first < 192:
		bits = 16
	case first < 224:
		bits = 24
	default:
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, bits).Masked(), true
}

package dhcp

// The server's answer to a DHCPINFORM: a DHCPACK (RFC 2131 section 4.3.5)
// in a UDP datagram from port 67 to port 68, unicast to ciaddr (or
// broadcast), inside an IPv4 packet received through the tunnel.

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// Reply is what a DHCPACK told us. Every field is a copy.
type Reply struct {
	From       netip.Addr // the IP source
	Server     netip.Addr // Server Identifier (option 54); else From
	SubnetMask netip.Addr // option 1
	Routers    []netip.Addr
	DNS        []netip.Addr
	WINS       []netip.Addr
	Domain     string   // option 15, valid (ValidDomain) or empty
	Search     []string // option 119, the valid names
	Routes     []Route  // option 121, else 249
	// RoutesOption is the option Routes came from: 121, 249, or 0.
	RoutesOption int
	// Warnings name options that were present but unusable and skipped
	// (malformed, or a domain with characters a resolver must not get).
	Warnings []string
}

// IsReply is the data path's cheap test, allocation-free: does IPv4 packet
// pkt carry UDP from port 67 to port 68, addressed to client or to the
// limited broadcast address? Fragments do not count.
func IsReply(pkt []byte, client netip.Addr) bool {
	if len(pkt) < ipHeaderLen+udpHeaderLen || pkt[0]>>4 != 4 || pkt[9] != 17 {
		return false
	}
	ihl := int(pkt[0]&0x0f) * 4
	if ihl < ipHeaderLen || len(pkt) < ihl+udpHeaderLen || binary.BigEndian.Uint16(pkt[6:])&0x3fff != 0 {
		return false
	}
	dst := [4]byte(pkt[16:20])
	if dst != client.As4() && dst != [4]byte{255, 255, 255, 255} {
		return false
	}
	u := pkt[ihl:]
	return binary.BigEndian.Uint16(u[0:]) == ServerPort && binary.BigEndian.Uint16(u[2:]) == ClientPort
}

// ParseReply decodes IPv4 packet pkt as the DHCPACK answering the request
// with transaction id xid sent from client. It returns ErrNotReply (wrapped)
// for a well-formed packet that is no such answer, ErrNAK for a DHCPNAK, and
// ErrMalformed for a packet that does not decode. Options that are present
// but unusable do not fail the reply: they are skipped and named in
// Reply.Warnings.
func ParseReply(pkt []byte, xid uint32, client netip.Addr) (Reply, error) {
	from, payload, err := parseIPv4UDP(pkt, client)
	if err != nil {
		return Reply{}, err
	}
	opts, gotXID, err := parseMessage(payload)
	if err != nil {
		return Reply{}, err
	}
	if gotXID != xid {
		return Reply{}, fmt.Errorf("%w: transaction id %08x, ours is %08x", ErrNotReply, gotXID, xid)
	}
	mt := opts[OptMessageType]
	switch {
	case len(mt) != 1:
		return Reply{}, fmt.Errorf("%w: no DHCP message type (a BOOTP reply?)", ErrNotReply)
	case mt[0] == MsgNak:
		return Reply{}, ErrNAK
	case mt[0] != MsgAck:
		return Reply{}, fmt.Errorf("%w: message type %d, not DHCPACK", ErrNotReply, mt[0])
	}
	return decodeOptions(&opts, from), nil
}

// parseIPv4UDP checks the IPv4 header (RFC 791) and the UDP header (RFC
// 768) of a reply to client and returns the source and the UDP payload.
func parseIPv4UDP(pkt []byte, client netip.Addr) (netip.Addr, []byte, error) {
	if len(pkt) < ipHeaderLen || pkt[0]>>4 != 4 {
		return netip.Addr{}, nil, fmt.Errorf("%w: not an IPv4 packet", ErrMalformed)
	}
	ihl := int(pkt[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(pkt[2:]))
	if ihl < ipHeaderLen || total < ihl || total > len(pkt) {
		return netip.Addr{}, nil, fmt.Errorf("%w: IPv4 header length %d, total length %d in %d bytes", ErrMalformed, ihl, total, len(pkt))
	}
	if checksum(pkt[:ihl], 0) != 0 {
		return netip.Addr{}, nil, fmt.Errorf("%w: IPv4 header checksum", ErrMalformed)
	}
	if binary.BigEndian.Uint16(pkt[6:])&0x3fff != 0 {
		return netip.Addr{}, nil, fmt.Errorf("%w: a fragment", ErrNotReply)
	}
	src, dst := [4]byte(pkt[12:16]), [4]byte(pkt[16:20])
	if pkt[9] != 17 || (dst != client.As4() && dst != [4]byte{255, 255, 255, 255}) {
		return netip.Addr{}, nil, fmt.Errorf("%w: not UDP to %s", ErrNotReply, client)
	}
	u := pkt[ihl:total]
	if len(u) < udpHeaderLen {
		return netip.Addr{}, nil, fmt.Errorf("%w: UDP header truncated", ErrMalformed)
	}
	ulen := int(binary.BigEndian.Uint16(u[4:]))
	if ulen < udpHeaderLen || ulen > len(u) {
		return netip.Addr{}, nil, fmt.Errorf("%w: UDP length %d in %d bytes", ErrMalformed, ulen, len(u))
	}
	u = u[:ulen]
	if binary.BigEndian.Uint16(u[0:]) != ServerPort || binary.BigEndian.Uint16(u[2:]) != ClientPort {
		return netip.Addr{}, nil, fmt.Errorf("%w: UDP ports %d to %d", ErrNotReply, binary.BigEndian.Uint16(u[0:]), binary.BigEndian.Uint16(u[2:]))
	}
	if binary.BigEndian.Uint16(u[6:]) != 0 && checksum(u, pseudoSum(u, src, dst)) != 0 {
		return netip.Addr{}, nil, fmt.Errorf("%w: UDP checksum", ErrMalformed)
	}
	return netip.AddrFrom4(src), u[udpHeaderLen:], nil
}

// options holds each option's data, the instances of one code
// concatenated (RFC 3396 section 5).
type options [256][]byte

// parseMessage decodes a BOOTREPLY (RFC 2131 section 2) and its options,
// with the file and sname fields when option 52 says they hold options
// (RFC 2132 section 9.3; in the order options, file, sname: RFC 3396
// section 5).
func parseMessage(b []byte) (options, uint32, error) {
	var opts options
	if len(b) < bootpFixedLen {
		return opts, 0, fmt.Errorf("%w: BOOTP message of %d bytes", ErrMalformed, len(b))
	}
	if b[0] != 2 {
		return opts, 0, fmt.Errorf("%w: BOOTP op %d, not a reply", ErrNotReply, b[0])
	}
	xid := binary.BigEndian.Uint32(b[4:])
	if [4]byte(b[236:240]) != magicCookie {
		return opts, 0, fmt.Errorf("%w: no DHCP magic cookie", ErrNotReply)
	}
	if err := collectOptions(b[bootpFixedLen:], &opts); err != nil {
		return opts, 0, err
	}
	if ov := opts[OptOverload]; len(ov) == 1 {
		if ov[0]&1 != 0 {
			if err := collectOptions(b[108:236], &opts); err != nil {
				return opts, 0, err
			}
		}
		if ov[0]&2 != 0 {
			if err := collectOptions(b[44:108], &opts); err != nil {
				return opts, 0, err
			}
		}
	}
	return opts, xid, nil
}

// collectOptions reads code, length, data triples (RFC 2132 section 2) up
// to the End option or the end of b, appending each one's data to opts.
func collectOptions(b []byte, opts *options) error {
	s := cryptobyte.String(b)
	for !s.Empty() {
		var code uint8
		s.ReadUint8(&code)
		switch code {
		case OptPad:
			continue
		case OptEnd:
			return nil
		}
		var data cryptobyte.String
		if !s.ReadUint8LengthPrefixed(&data) {
			return fmt.Errorf("%w: option %d truncated", ErrMalformed, code)
		}
		if opts[code] == nil { // present, even when empty
			opts[code] = make([]byte, 0, len(data))
		}
		opts[code] = append(opts[code], data...)
	}
	return nil
}

// decodeOptions turns the collected options into a Reply.
func decodeOptions(o *options, from netip.Addr) Reply {
	r := Reply{From: from, Server: from}
	warn := func(code int, why string) {
		r.Warnings = append(r.Warnings, fmt.Sprintf("option %d: %s", code, why))
	}
	addr := func(code int) (netip.Addr, bool) {
		a, ok := netip.AddrFromSlice(o[code])
		if d := o[code]; d != nil && (!ok || !a.Is4()) {
			warn(code, fmt.Sprintf("%d bytes, not an IPv4 address", len(d)))
			return netip.Addr{}, false
		}
		return a, ok
	}
	if a, ok := addr(OptServerID); ok {
		r.Server = a
	}
	if a, ok := addr(OptSubnetMask); ok {
		r.SubnetMask = a
	}
	addrs := func(code int) []netip.Addr {
		d := o[code]
		if d == nil {
			return nil
		}
		if len(d) == 0 || len(d)%4 != 0 {
			warn(code, fmt.Sprintf("%d bytes, not a list of IPv4 addresses", len(d)))
			return nil
		}
		var as []netip.Addr
		for i := 0; i < len(d); i += 4 {
			as = append(as, netip.AddrFrom4([4]byte(d[i:i+4])))
		}
		return as
	}
	r.Routers, r.DNS, r.WINS = addrs(OptRouter), addrs(OptDNS), addrs(OptWINS)
	if d := o[OptDomainName]; d != nil {
		if s := domainName(d); ValidDomain(s) {
			r.Domain = s
		} else {
			warn(OptDomainName, fmt.Sprintf("%q is not a valid domain", s))
		}
	}
	if d := o[OptSearch]; d != nil {
		names, err := ParseSearchList(d)
		if err != nil {
			warn(OptSearch, err.Error())
		}
		for _, n := range names {
			switch {
			case !ValidDomain(n):
				warn(OptSearch, fmt.Sprintf("%q is not a valid domain", n))
			case !slices.Contains(r.Search, n):
				r.Search = append(r.Search, n)
			}
		}
	}
	// Option 121 wins over 249 when a server sends both (Windows sends
	// 249, RFC 3442 servers 121; SoftEther both with the same routes).
	for _, code := range []int{OptClasslessRoutes, OptMSClasslessRoute} {
		d := o[code]
		if d == nil {
			continue
		}
		rs, err := ParseClasslessRoutes(d)
		if err != nil {
			warn(code, err.Error())
			continue
		}
		r.Routes, r.RoutesOption = rs, code
		break
	}
	return r
}

package dhcp

// The DHCPINFORM request (RFC 2131 section 3.4 and 4.4.3) as one IPv4
// packet: IPv4 header (RFC 791), UDP header (RFC 768) and the BOOTP message
// (RFC 2131 section 2, figure 1) with its options (RFC 2132).

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
)

// Ports (RFC 2131 section 4.1).
const (
	ServerPort = 67
	ClientPort = 68
)

// Option codes (RFC 2132 unless noted).
const (
	OptPad              = 0
	OptSubnetMask       = 1
	OptRouter           = 3
	OptDNS              = 6
	OptDomainName       = 15
	OptWINS             = 44 // NetBIOS over TCP/IP name servers
	OptOverload         = 52
	OptMessageType      = 53
	OptServerID         = 54
	OptParamRequest     = 55
	OptMaxSize          = 57
	OptClientID         = 61
	OptSearch           = 119 // RFC 3397
	OptClasslessRoutes  = 121 // RFC 3442
	OptMSClasslessRoute = 249 // Microsoft's code for the same format
	OptEnd              = 255
)

// Message types, option 53 (RFC 2132 section 9.6).
const (
	MsgAck    = 5
	MsgNak    = 6
	MsgInform = 8
)

const (
	ipHeaderLen  = 20
	udpHeaderLen = 8
	// bootpFixedLen is the fixed part of a BOOTP message up to and
	// including the magic cookie (RFC 2131 section 3).
	bootpFixedLen = 236 + 4
	// bootpMinLen: BOOTP relays and old servers expect messages of at
	// least 300 octets (RFC 1542 section 2.1); the options are padded.
	bootpMinLen = 300
	minMaxSize  = 576 // RFC 2132 section 9.10
)

var magicCookie = [4]byte{99, 130, 83, 99}

// requested is the Parameter Request List (option 55): subnet mask,
// router, DNS, domain name, WINS, search list, classless routes (both
// codes, as Windows asks).
var requested = []byte{OptSubnetMask, OptRouter, OptDNS, OptDomainName, OptWINS, OptSearch,
	OptClasslessRoutes, OptMSClasslessRoute}

// Inform is a DHCPINFORM request.
type Inform struct {
	Client  netip.Addr // our IPv4 address: the IP source and ciaddr
	XID     uint32     // transaction id; a reply must carry it
	HWAddr  [6]byte    // chaddr, and the client identifier (type 1, RFC 2132 9.14)
	MaxSize uint16     // Maximum DHCP Message Size (option 57); 0 leaves it out
}

// NewInform makes a request from client with a random transaction id.
// maxSize is the largest reply we take (our MTU); below 576 it is left out.
func NewInform(client netip.Addr, hw [6]byte, maxSize int) Inform {
	var x [4]byte
	rand.Read(x[:])
	m := Inform{Client: client, XID: binary.BigEndian.Uint32(x[:]), HWAddr: hw}
	if maxSize >= minMaxSize {
		m.MaxSize = uint16(min(maxSize, 0xffff))
	}
	return m
}

// HWAddrFor is a made-up hardware address that stays the same for the same
// id (a connection name): a PPP link has none, but chaddr and the client
// identifier should be stable so that the server can recognise us. It is a
// locally administered unicast MAC (RFC 7042 section 2.1).
func HWAddrFor(id string) [6]byte {
	sum := sha256.Sum256([]byte("l2tpvpn dhcp client id\x00" + id))
	var hw [6]byte
	copy(hw[:], sum[:])
	hw[0] = hw[0]&^0x01 | 0x02
	return hw
}

func (m *Inform) optionsLen() int {
	n := 3 + 2 + 7 + 2 + len(requested) + 1 // 53, 61, 55, end
	if m.MaxSize != 0 {
		n += 4
	}
	return n
}

func (m *Inform) bootpLen() int { return max(bootpFixedLen+m.optionsLen(), bootpMinLen) }

// Len is the length of the IPv4 packet Append writes.
func (m *Inform) Len() int { return ipHeaderLen + udpHeaderLen + m.bootpLen() }

// Append appends the request to b as an IPv4 packet from Client port 68 to
// 255.255.255.255 port 67 (RFC 2131 section 4.4.3: a DHCPINFORM is
// broadcast), with correct IPv4 and UDP checksums.
func (m *Inform) Append(b []byte) []byte {
	start := len(b)
	total := m.Len()
	b = append(b, make([]byte, total)...)
	p := b[start:]
	src := m.Client.As4()
	dst := [4]byte{255, 255, 255, 255}

	// IPv4 header (RFC 791 section 3.1): no options, TTL 64, UDP.
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(total))
	binary.BigEndian.PutUint16(p[4:], uint16(m.XID)) // identification
	p[8], p[9] = 64, 17
	copy(p[12:16], src[:])
	copy(p[16:20], dst[:])
	binary.BigEndian.PutUint16(p[10:], checksum(p[:ipHeaderLen], 0))

	// BOOTP (RFC 2131 section 2): op BOOTREQUEST, htype Ethernet, hlen 6,
	// ciaddr our address (section 4.4.3); yiaddr, siaddr, giaddr zero.
	bp := p[ipHeaderLen+udpHeaderLen:]
	bp[0], bp[1], bp[2] = 1, 1, 6
	binary.BigEndian.PutUint32(bp[4:], m.XID)
	copy(bp[12:16], src[:])
	copy(bp[28:34], m.HWAddr[:])
	copy(bp[236:240], magicCookie[:])
	o := bp[bootpFixedLen:bootpFixedLen]
	o = append(o, OptMessageType, 1, MsgInform)
	o = append(o, OptClientID, 7, 1)
	o = append(o, m.HWAddr[:]...)
	o = append(o, OptParamRequest, byte(len(requested)))
	o = append(o, requested...)
	if m.MaxSize != 0 {
		o = append(o, OptMaxSize, 2, byte(m.MaxSize>>8), byte(m.MaxSize))
	}
	o = append(o, OptEnd)
	_ = o // written in place; the rest stays zero (pad)

	// UDP header (RFC 768) with the checksum over the pseudo-header.
	u := p[ipHeaderLen:]
	binary.BigEndian.PutUint16(u[0:], ClientPort)
	binary.BigEndian.PutUint16(u[2:], ServerPort)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	binary.BigEndian.PutUint16(u[6:], udpChecksum(u, src, dst))
	return b
}

// checksum is the Internet checksum (RFC 1071) of b, starting from the
// partial sum initial.
func checksum(b []byte, initial uint32) uint16 {
	s := initial
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// udpChecksum is the UDP checksum of segment u, whose checksum field is
// zero, over the IPv4 pseudo-header (RFC 768). A computed 0 is sent as
// 0xffff.
func udpChecksum(u []byte, src, dst [4]byte) uint16 {
	c := checksum(u, pseudoSum(u, src, dst))
	if c == 0 {
		return 0xffff
	}
	return c
}

// pseudoSum is the partial sum of the IPv4 pseudo-header of UDP segment u.
func pseudoSum(u []byte, src, dst [4]byte) uint32 {
	s := uint32(src[0])<<8 | uint32(src[1])
	s += uint32(src[2])<<8 | uint32(src[3])
	s += uint32(dst[0])<<8 | uint32(dst[1])
	s += uint32(dst[2])<<8 | uint32(dst[3])
	return s + 17 + uint32(len(u))
}

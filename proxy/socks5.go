package proxy

// SOCKS version 5, RFC 1928, with username/password authentication,
// RFC 1929.

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

const socksVersion = 0x05

// Authentication methods (RFC 1928 section 3).
const (
	methodNone         = 0x00
	methodUserPass     = 0x02
	methodNoAcceptable = 0xff
	userPassVersion    = 0x01 // RFC 1929 section 2
)

// Commands (RFC 1928 section 4).
const (
	cmdConnect      = 0x01
	cmdBind         = 0x02
	cmdUDPAssociate = 0x03
)

// Address types (RFC 1928 section 5).
const (
	atypIPv4   = 0x01
	atypDomain = 0x03
	atypIPv6   = 0x04
)

// maxRequestLen is the longest request: VER CMD RSV ATYP, a 255-byte
// domain name with its length byte, and the port.
const maxRequestLen = 4 + 1 + 255 + 2

// socksAddr is a destination: an IP address, or a domain name to resolve
// through the tunnel (host, when ip is invalid).
type socksAddr struct {
	ip   netip.Addr
	host string
	port uint16
}

// hostname is the host part to resolve or dial.
func (a socksAddr) hostname() string {
	if a.ip.IsValid() {
		return a.ip.String()
	}
	return a.host
}

func (a socksAddr) String() string {
	return net.JoinHostPort(a.hostname(), fmt.Sprint(a.port))
}

// parseAddr reads ATYP, DST.ADDR and DST.PORT (RFC 1928 section 5).
func parseAddr(s *cryptobyte.String) (socksAddr, error) {
	var a socksAddr
	var atyp uint8
	if !s.ReadUint8(&atyp) {
		return a, errSOCKSMalformed
	}
	switch atyp {
	case atypIPv4:
		var b []byte
		if !s.ReadBytes(&b, 4) {
			return a, errSOCKSMalformed
		}
		a.ip = netip.AddrFrom4([4]byte(b))
	case atypIPv6:
		var b []byte
		if !s.ReadBytes(&b, 16) {
			return a, errSOCKSMalformed
		}
		a.ip = netip.AddrFrom16([16]byte(b)).Unmap()
	case atypDomain:
		var name cryptobyte.String
		if !s.ReadUint8LengthPrefixed(&name) || len(name) == 0 {
			return a, errSOCKSMalformed
		}
		a.host = string(name)
	default:
		return a, errSOCKSAddrType
	}
	if !s.ReadUint16(&a.port) {
		return a, errSOCKSMalformed
	}
	return a, nil
}

// parseRequest decodes a whole request, VER CMD RSV ATYP DST.ADDR DST.PORT
// (RFC 1928 section 4). Trailing bytes are an error.
func parseRequest(b []byte) (cmd byte, dst socksAddr, err error) {
	s := cryptobyte.String(b)
	var ver, rsv uint8
	if !s.ReadUint8(&ver) || !s.ReadUint8(&cmd) || !s.ReadUint8(&rsv) || ver != socksVersion {
		return 0, dst, errSOCKSMalformed
	}
	dst, err = parseAddr(&s)
	if err != nil {
		return cmd, dst, err
	}
	if !s.Empty() {
		return cmd, dst, errSOCKSMalformed
	}
	return cmd, dst, nil
}

// readRequest reads one request from r into buf (maxRequestLen bytes) and
// returns its bytes: the fixed part decides how much address follows.
func readRequest(r io.Reader, buf []byte) ([]byte, error) {
	if _, err := io.ReadFull(r, buf[:5]); err != nil {
		return nil, err
	}
	var n int
	switch buf[3] {
	case atypIPv4:
		n = 4 + 4 + 2
	case atypIPv6:
		n = 4 + 16 + 2
	case atypDomain:
		n = 4 + 1 + int(buf[4]) + 2
	default:
		return nil, errSOCKSAddrType
	}
	if _, err := io.ReadFull(r, buf[5:n]); err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// appendAddr appends ATYP, the address and the port of ap.
func appendAddr(b []byte, ap netip.AddrPort) []byte {
	a := ap.Addr().Unmap()
	if a.Is4() {
		a4 := a.As4()
		b = append(b, atypIPv4)
		b = append(b, a4[:]...)
	} else {
		b = append(b, atypIPv6)
		a16 := a.As16()
		b = append(b, a16[:]...)
	}
	return append(b, byte(ap.Port()>>8), byte(ap.Port()))
}

// reply writes VER REP RSV ATYP BND.ADDR BND.PORT (RFC 1928 section 6).
func socksReply(w io.Writer, rep byte, bnd netip.AddrPort) error {
	if !bnd.IsValid() {
		bnd = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	}
	b := appendAddr([]byte{socksVersion, rep, 0}, bnd)
	_, err := w.Write(b)
	return err
}

// addrPortOf is the netip form of a net.Addr from a TCP or UDP socket.
func addrPortOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	if a == nil {
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// serveSOCKS runs one SOCKS5 client on c (br reads c). slot says whether c
// holds a slot of MaxConns; without one the request is refused once it is
// read. c has a read deadline for the negotiation.
func (p *Proxy) serveSOCKS(c net.Conn, br *bufio.Reader, slot bool) {
	client := c.RemoteAddr().String()
	ok, err := p.socksAuth(c, br)
	if err != nil {
		p.log.Debug("proxy: socks5 negotiation", "client", client, "err", err)
		return
	}
	if !ok {
		return
	}
	var buf [maxRequestLen]byte
	b, err := readRequest(br, buf[:])
	var cmd byte
	var dst socksAddr
	if err == nil {
		cmd, dst, err = parseRequest(b)
	}
	if err != nil {
		rep := byte(repGeneralFailure)
		if errors.Is(err, errSOCKSAddrType) {
			rep = repAddrTypeUnsupport
		}
		p.refuse(ReasonBadRequest, "proto", "socks5", "client", client, "err", err)
		_ = socksReply(c, rep, netip.AddrPort{})
		return
	}
	if cmd != cmdConnect && cmd != cmdUDPAssociate {
		p.refuse(ReasonBadRequest, "proto", "socks5", "client", client, "err", fmt.Sprintf("command %#x not supported", cmd))
		_ = socksReply(c, repCommandUnsupported, netip.AddrPort{})
		return
	}
	if !slot {
		p.refuse(ReasonLimit, "proto", "socks5", "client", client, "max", p.cfg.MaxConns)
		_ = socksReply(c, repGeneralFailure, netip.AddrPort{})
		return
	}
	g := p.current()
	if g == nil {
		p.refuse(ReasonNotConnected, "proto", "socks5", "client", client)
		_ = socksReply(c, repNetworkUnreachable, netip.AddrPort{})
		return
	}
	if cmd == cmdUDPAssociate {
		p.socksUDP(g, c, br, dst)
		return
	}
	ctx, cancel := context.WithTimeout(g.ctx, p.cfg.DialTimeout)
	remote, err := dialHostPort(ctx, g.n, "tcp", dst.hostname(), dst.port)
	cancel()
	if err != nil {
		rep, _ := errorKind(err)
		if dst.ip.Is6() && !g.n.LocalAddr().Is6() {
			rep = repAddrTypeUnsupport
		}
		reason := ReasonDial
		var re *resolveError
		if errors.As(err, &re) {
			reason = ReasonResolve
		}
		p.refuse(reason, "proto", "socks5", "client", client, "dst", dst.String(), "err", describe(err))
		_ = socksReply(c, rep, netip.AddrPort{})
		return
	}
	if err := socksReply(c, repSucceeded, addrPortOf(remote.LocalAddr())); err != nil {
		_ = remote.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	p.log.Debug("proxy: socks5 connect", "client", client, "dst", dst.String())
	p.splice(g.ctx, &readerConn{Conn: c, r: br}, remote, true)
}

// socksAuth does the method negotiation (RFC 1928 section 3) and, when a
// user is configured, the username/password sub-negotiation (RFC 1929).
// ok is false when the client was refused (the refusal is counted here).
func (p *Proxy) socksAuth(c net.Conn, br *bufio.Reader) (ok bool, err error) {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return false, err
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(br, methods); err != nil {
		return false, err
	}
	want := byte(methodNone)
	if p.cfg.User != "" {
		want = methodUserPass
	}
	offered := false
	for _, m := range methods {
		offered = offered || m == want
	}
	if !offered {
		p.refuse(ReasonAuth, "proto", "socks5", "client", c.RemoteAddr().String(), "err", "client offers no acceptable authentication method")
		_, _ = c.Write([]byte{socksVersion, methodNoAcceptable})
		return false, nil
	}
	if _, err := c.Write([]byte{socksVersion, want}); err != nil {
		return false, err
	}
	if want == methodNone {
		return true, nil
	}
	// RFC 1929 section 2: VER ULEN UNAME PLEN PASSWD.
	var v [2]byte
	if _, err := io.ReadFull(br, v[:]); err != nil {
		return false, err
	}
	user := make([]byte, v[1])
	if _, err := io.ReadFull(br, user); err != nil {
		return false, err
	}
	var plen [1]byte
	if _, err := io.ReadFull(br, plen[:]); err != nil {
		return false, err
	}
	pass := make([]byte, plen[0])
	if _, err := io.ReadFull(br, pass); err != nil {
		return false, err
	}
	good := v[0] == userPassVersion && p.credentialsOK(string(user), pass)
	clear(pass)
	if !good {
		p.refuse(ReasonAuth, "proto", "socks5", "client", c.RemoteAddr().String(), "err", "wrong user name or password")
		_, _ = c.Write([]byte{userPassVersion, 0x01})
		return false, nil
	}
	_, err = c.Write([]byte{userPassVersion, 0x00})
	return err == nil, err
}

// credentialsOK compares in constant time (per field).
func (p *Proxy) credentialsOK(user string, pass []byte) bool {
	want := p.cfg.Password.Bytes()
	defer clear(want)
	u := subtle.ConstantTimeCompare([]byte(user), []byte(p.cfg.User))
	pw := subtle.ConstantTimeCompare(pass, want)
	return u&pw == 1
}

// Package datapath is the fast path shared by the client (vpn) and the
// server: batched UDP I/O with recvmmsg/sendmmsg and UDP GSO.
//
// golang.org/x/net/ipv4's ReadBatch would do the batching, but it returns
// each datagram's source as a freshly allocated *net.UDPAddr, which breaks
// the zero-allocation rule of the data path; wireguard's conn.StdNetBind
// builds on it and allocates the same way. UDP keeps every mmsghdr, iovec,
// sockaddr and control buffer in arrays allocated once per socket and
// reports sources as netip.AddrPort values, so a steady-state batch
// allocates nothing.
package datapath

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr from <sys/socket.h>, generated per GOARCH by
// x/sys/unix (64 bytes on 64-bit, 32 on 32-bit linux). The iovec and
// msghdr lengths are set with SetLen, SetIovlen and SetControllen.
type mmsghdr = unix.Mmsghdr

// ControlLen is the room for the control messages of one received
// datagram (IP_PKTINFO and friends), see Control.
const ControlLen = 64

// UDP is one UDP socket read by one goroutine and written by one goroutine
// at a time per direction (the receive and send state are separate).
// Writes of single datagrams from other goroutines go through the
// *net.UDPConn itself, which is safe for concurrent use.
//
// The socket is IPv4 or IPv6 (IPV6_V6ONLY), as its peers are. Every name
// buffer is a sockaddr_in6, which also holds a sockaddr_in: the kernel
// writes the family it has, and a send names the destination with the
// family of the socket.
type UDP struct {
	conn *net.UDPConn
	rc   syscall.RawConn
	v6   bool // an AF_INET6 socket

	// receive state, owned by the single reader
	rhdrs  []mmsghdr
	riov   []unix.Iovec
	rnames []unix.RawSockaddrInet6
	rctl   []byte // ControlLen per datagram
	rcount int
	rn     int
	rerr   error
	rfn    func(fd uintptr) bool

	// send state, owned by the single batch writer
	shdrs  []mmsghdr
	siov   []unix.Iovec // one per datagram; a GSO message takes several
	spkts  []int        // datagrams per message
	sctl   []byte       // gsoCtlLen per message
	sname  unix.RawSockaddrInet6
	scount int        // messages to send
	sdone  int        // messages sent or skipped
	ssent  int        // datagrams in the messages sent
	serr   unix.Errno // the message at sdone failed
	sfn    func(fd uintptr) bool
	gso    bool // UDP_SEGMENT: runs of equal-sized datagrams go as one

	gro *groState // UDP_GRO is on: see gro_linux.go
}

// NewUDP prepares conn for batches of up to batch datagrams each way.
// UDP GSO is used when the kernel has it (Linux 4.18).
func NewUDP(conn *net.UDPConn, batch int) (*UDP, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	var family int
	var serr, gsoErr error
	if err := rc.Control(func(fd uintptr) {
		family, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
		_, gsoErr = unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, fmt.Errorf("udp: socket family: %w", serr)
	}
	u := &UDP{
		conn:   conn,
		rc:     rc,
		v6:     family == unix.AF_INET6,
		rhdrs:  make([]mmsghdr, batch),
		riov:   make([]unix.Iovec, batch),
		rnames: make([]unix.RawSockaddrInet6, batch),
		rctl:   make([]byte, batch*ControlLen),
		shdrs:  make([]mmsghdr, batch),
		siov:   make([]unix.Iovec, batch),
		spkts:  make([]int, batch),
		sctl:   make([]byte, batch*gsoCtlLen),
		gso:    gsoErr == nil,
	}
	namelen := uint32(unix.SizeofSockaddrInet4)
	if u.v6 {
		namelen = unix.SizeofSockaddrInet6
	}
	for i := range u.rhdrs {
		u.rhdrs[i].Hdr.Iov = &u.riov[i]
		u.rhdrs[i].Hdr.SetIovlen(1)
		u.rhdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&u.rnames[i]))
		u.rhdrs[i].Hdr.Control = &u.rctl[i*ControlLen]
	}
	for i := range u.shdrs {
		u.shdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&u.sname))
		u.shdrs[i].Hdr.Namelen = namelen
	}
	u.rfn = u.recv
	u.sfn = u.send
	return u, nil
}

// Conn is the socket.
func (u *UDP) Conn() *net.UDPConn { return u.conn }

// RawConn is the socket's syscall.RawConn.
func (u *UDP) RawConn() syscall.RawConn { return u.rc }

// IPv6 says whether the socket is AF_INET6.
func (u *UDP) IPv6() bool { return u.v6 }

// GSO says whether sends coalesce runs of equal-sized datagrams (UDP
// GSO); it turns off for good when the kernel refuses one.
func (u *UDP) GSO() bool { return u.gso }

// SetGSO turns UDP GSO off (or on again, if the kernel has it).
func (u *UDP) SetGSO(on bool) { u.gso = on }

// ReadBatch receives up to len(bufs) datagrams (at least one; it blocks
// until one arrives). Datagram i is bufs[i][:sizes[i]] from from[i]; a
// size of -1 is a datagram larger than its buffer (truncated: drop it).
func (u *UDP) ReadBatch(bufs [][]byte, sizes []int, from []netip.AddrPort) (int, error) {
	if u.gro != nil {
		return u.readGRO(bufs, sizes, from)
	}
	return u.read(bufs, sizes, from)
}

// read is ReadBatch with one datagram per buffer.
func (u *UDP) read(bufs [][]byte, sizes []int, from []netip.AddrPort) (int, error) {
	n := min(len(bufs), len(u.rhdrs))
	for i := 0; i < n; i++ {
		u.riov[i].Base = &bufs[i][0]
		u.riov[i].SetLen(len(bufs[i]))
		u.rhdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		u.rhdrs[i].Hdr.SetControllen(ControlLen)
		u.rhdrs[i].Hdr.Flags = 0
	}
	u.rcount = n
	u.rn, u.rerr = 0, nil
	if err := u.rc.Read(u.rfn); err != nil {
		return 0, err
	}
	if u.rerr != nil {
		return 0, u.rerr
	}
	for i := 0; i < u.rn; i++ {
		sizes[i] = int(u.rhdrs[i].Len)
		if u.rhdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
			sizes[i] = -1
		}
		from[i] = sockaddrAddrPort(&u.rnames[i])
	}
	return u.rn, nil
}

// Control is the control messages the kernel gave datagram i of the last
// ReadBatch (e.g. IP_PKTINFO when the socket asked for it); it aliases the
// socket's buffer until the next ReadBatch.
func (u *UDP) Control(i int) []byte {
	if u.gro != nil {
		i = u.gro.ctlOf[i]
	}
	return u.rctl[i*ControlLen : i*ControlLen+int(u.rhdrs[i].Hdr.Controllen)]
}

func (u *UDP) recv(fd uintptr) bool {
	r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&u.rhdrs[0])),
		uintptr(u.rcount), unix.MSG_WAITFORONE, 0, 0)
	switch {
	case e == unix.EAGAIN || e == unix.EINTR:
		return false
	case e != 0:
		u.rerr = fmt.Errorf("recvmmsg: %w", e)
	default:
		u.rn = int(r)
	}
	return true
}

// ErrFamily is a destination of the other address family than the
// socket's.
var ErrFamily = errors.New("udp: the destination's address family differs from the socket's (IPv4 and IPv6 need a socket each)")

// setName writes dst into the send name buffer, as a sockaddr_in on an
// IPv4 socket and a sockaddr_in6 on an IPv6 one.
func (u *UDP) setName(dst netip.AddrPort) error {
	a := dst.Addr()
	if u.v6 {
		if !a.Is6() || a.Is4In6() || a.Zone() != "" {
			return ErrFamily
		}
		u.sname = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&u.sname.Port))[:], dst.Port())
		return nil
	}
	a = a.Unmap()
	if !a.Is4() {
		return ErrFamily
	}
	sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&u.sname))
	*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.As4()}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], dst.Port())
	return nil
}

// sockaddrAddrPort reads the address the kernel wrote into a name buffer:
// a sockaddr_in or a sockaddr_in6 (the family field is at the same place).
func sockaddrAddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), port)
	}
	return netip.AddrPort{}
}

// SetBuffers asks for size bytes of receive and send buffer: the force
// variants first (root or CAP_NET_ADMIN may go past the sysctl limits),
// else the plain ones, which the kernel caps at net.core.rmem_max and
// wmem_max.
func (u *UDP) SetBuffers(size int) {
	u.rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) != nil {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, size)
		}
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, size) != nil {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, size)
		}
	})
}

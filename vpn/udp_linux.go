package vpn

// Batched UDP I/O with recvmmsg/sendmmsg.
//
// golang.org/x/net/ipv4's ReadBatch would do the batching, but it returns each
// datagram's source as a freshly allocated *net.UDPAddr, which breaks the
// zero-allocation rule of the data path. This file keeps every mmsghdr, iovec
// and sockaddr in arrays allocated once per socket and reports sources as
// netip.AddrPort values, so a steady-state batch allocates nothing.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr from <sys/socket.h>: a struct msghdr followed by
// the unsigned int msg_len, padded to the pointer alignment, which makes it 64
// bytes on 64-bit and 32 bytes on 32-bit linux (arm, 386, mips). x/sys/unix
// generates it per GOARCH from the C headers; a hand-written copy with the
// 64-bit padding builds everywhere but is 36 bytes on 32-bit, so the kernel,
// striding by 32, reads and writes the wrong headers from the second one on.
// The iovec and msghdr lengths (size_t on 64-bit, 32 bits on 32-bit) are set
// with SetLen and SetIovlen; sockaddr_in is 16 bytes and sockaddr_in6 28
// everywhere. TestMmsghdrLayout pins the sizes per GOARCH.
type mmsghdr = unix.Mmsghdr

// batchConn is one UDP socket read by one goroutine and written by one
// goroutine at a time per direction (the receive and send state are separate).
// Control-plane writes go through writeTo, which is safe for concurrent use
// because it uses the plain socket call.
//
// The socket is IPv4 or IPv6 (IPV6_V6ONLY, see listenUDP), as the server's
// address is. Every name buffer is a sockaddr_in6, which also holds a
// sockaddr_in: the kernel writes the family it has, and a send names the
// destination with the family of the socket.
type batchConn struct {
	conn *net.UDPConn
	rc   syscall.RawConn
	v6   bool // an AF_INET6 socket

	// receive state, owned by the single reader
	rhdrs  []mmsghdr
	riov   []unix.Iovec
	rnames []unix.RawSockaddrInet6
	rcount int
	rn     int
	rerr   error
	rfn    func(fd uintptr) bool

	// send state, owned by the single batch writer
	shdrs  []mmsghdr
	siov   []unix.Iovec
	sname  unix.RawSockaddrInet6
	scount int
	sdone  int
	serr   error
	sfn    func(fd uintptr) bool
}

func newBatchConn(conn *net.UDPConn, batch int) (*batchConn, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	var family int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		family, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, fmt.Errorf("udp: socket family: %w", serr)
	}
	b := &batchConn{
		conn:   conn,
		rc:     rc,
		v6:     family == unix.AF_INET6,
		rhdrs:  make([]mmsghdr, batch),
		riov:   make([]unix.Iovec, batch),
		rnames: make([]unix.RawSockaddrInet6, batch),
		shdrs:  make([]mmsghdr, batch),
		siov:   make([]unix.Iovec, batch),
	}
	namelen := uint32(unix.SizeofSockaddrInet4)
	if b.v6 {
		namelen = unix.SizeofSockaddrInet6
	}
	for i := range b.rhdrs {
		b.rhdrs[i].Hdr.Iov = &b.riov[i]
		b.rhdrs[i].Hdr.SetIovlen(1)
		b.rhdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.rnames[i]))
	}
	for i := range b.shdrs {
		b.shdrs[i].Hdr.Iov = &b.siov[i]
		b.shdrs[i].Hdr.SetIovlen(1)
		b.shdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.sname))
		b.shdrs[i].Hdr.Namelen = namelen
	}
	b.rfn = b.recv
	b.sfn = b.send
	return b, nil
}

// readBatch receives up to len(bufs) datagrams (at least one; it blocks until
// one arrives). Datagram i is bufs[i][:sizes[i]] from from[i].
func (b *batchConn) readBatch(bufs [][]byte, sizes []int, from []netip.AddrPort) (int, error) {
	n := min(len(bufs), len(b.rhdrs))
	for i := 0; i < n; i++ {
		b.riov[i].Base = &bufs[i][0]
		b.riov[i].SetLen(len(bufs[i]))
		b.rhdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		b.rhdrs[i].Hdr.Flags = 0
	}
	b.rcount = n
	b.rn, b.rerr = 0, nil
	if err := b.rc.Read(b.rfn); err != nil {
		return 0, err
	}
	if b.rerr != nil {
		return 0, b.rerr
	}
	for i := 0; i < b.rn; i++ {
		sizes[i] = int(b.rhdrs[i].Len)
		if b.rhdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
			sizes[i] = -1 // larger than the buffer: the caller drops it
		}
		from[i] = sockaddrAddrPort(&b.rnames[i])

	}
	return b.rn, nil
}

func (b *batchConn) recv(fd uintptr) bool {
	r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.rhdrs[0])),
		uintptr(b.rcount), unix.MSG_WAITFORONE, 0, 0)
	switch {
	case e == unix.EAGAIN || e == unix.EINTR:
		return false
	case e != 0:
		b.rerr = fmt.Errorf("recvmmsg: %w", e)
	default:
		b.rn = int(r)
	}
	return true
}

// writeBatch sends every packet in pkts to dst, in chunks of the socket's
// batch size. It returns how many were sent and the first error; datagrams
// the kernel refused are counted by the caller as send errors.
func (b *batchConn) writeBatch(pkts [][]byte, dst netip.AddrPort) (int, error) {
	if err := b.setName(dst); err != nil {
		return 0, err
	}
	sent := 0
	var firstErr error
	for len(pkts) > 0 {
		n := min(len(pkts), len(b.shdrs))
		for i := 0; i < n; i++ {
			b.siov[i].Base = &pkts[i][0]
			b.siov[i].SetLen(len(pkts[i]))
		}
		b.scount, b.sdone, b.serr = n, 0, nil
		for b.sdone < b.scount {
			if err := b.rc.Write(b.sfn); err != nil {
				return sent + b.sdone, err
			}
			if b.serr != nil {
				if firstErr == nil {
					firstErr = b.serr
				}
				b.serr = nil
				sent-- // the skipped datagram was not sent
			}
		}
		sent += n
		pkts = pkts[n:]
	}
	return sent, firstErr
}

// errFamily is a destination of the other address family than the socket's.
var errFamily = errors.New("udp: the destination's address family differs from the socket's (IPv4 and IPv6 need a socket each)")

// setName writes dst into the send name buffer, as a sockaddr_in on an
// IPv4 socket and a sockaddr_in6 on an IPv6 one.
func (b *batchConn) setName(dst netip.AddrPort) error {
	a := dst.Addr()
	if b.v6 {
		if !a.Is6() || a.Is4In6() || a.Zone() != "" {
			return errFamily
		}
		b.sname = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&b.sname.Port))[:], dst.Port())
		return nil
	}
	a = a.Unmap()
	if !a.Is4() {
		return errFamily
	}
	sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&b.sname))
	*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.As4()}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], dst.Port())
	return nil
}

// sockaddrAddrPort reads the address the kernel wrote into a name buffer: a
// sockaddr_in or a sockaddr_in6 (the family field is at the same place).
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

func (b *batchConn) send(fd uintptr) bool {
	r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.shdrs[b.sdone])),
		uintptr(b.scount-b.sdone), 0, 0, 0)
	switch {
	case e == unix.EAGAIN || e == unix.EINTR:
		return false
	case e != 0:
		// Skip the datagram that failed (e.g. ECONNREFUSED from an ICMP
		// error) so one bad send does not stall the batch.
		b.serr = fmt.Errorf("sendmmsg: %w", e)
		b.sdone++
	default:
		b.sdone += int(r)
	}
	return true
}

// setRecvErr has the kernel report ICMP errors for what this socket sends
// (IP_RECVERR, or IPV6_RECVERR for ICMPv6 on an IPv6 socket), or stop doing
// so: while on, the next receive (or send) fails once after an error, and
// readErr says more.
func (b *batchConn) setRecvErr(on bool) error {
	v := 0
	if on {
		v = 1
	}
	var serr error
	if err := b.rc.Control(func(fd uintptr) {
		if b.v6 {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVERR, v)
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVERR, v)
		}
	}); err != nil {
		return err
	}
	return serr
}

// readErr takes one error off the socket's error queue: the destination of
// the datagram the error is about and its errno. ok is false when the queue
// is empty. Control path only: it allocates.
func (b *batchConn) readErr() (dst netip.AddrPort, errno syscall.Errno, ok bool) {
	buf := make([]byte, 512)
	oob := make([]byte, 512)
	b.rc.Control(func(fd uintptr) {
		_, oobn, _, from, err := unix.Recvmsg(int(fd), buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if err != nil {
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return
		}
		for _, m := range msgs {
			// struct sock_extended_err starts with the errno (u32).
			v4 := m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_RECVERR
			v6 := m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_RECVERR
			if (v4 || v6) && len(m.Data) >= 4 {
				errno = syscall.Errno(binary.NativeEndian.Uint32(m.Data))
				ok = true
			}
		}
		switch sa := from.(type) {
		case *unix.SockaddrInet4:
			dst = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
		case *unix.SockaddrInet6:
			dst = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
		}
	})
	return dst, errno, ok
}

// writeTo sends one datagram; safe for concurrent use (control messages).
func (b *batchConn) writeTo(p []byte, dst netip.AddrPort) error {
	_, err := b.conn.WriteToUDPAddrPort(p, dst)
	return err
}

// listenUDP opens the connection's socket on port (0: any) for a server at
// server: an AF_INET socket for an IPv4 server, an AF_INET6 one with
// IPV6_V6ONLY for an IPv6 server (no IPv4-mapped addresses ever reach the
// data path; each family has its own socket options: IP_RECVERR or
// IPV6_RECVERR).
func listenUDP(server netip.Addr, port int) (*net.UDPConn, error) {
	if server.Unmap().Is4() {
		return net.ListenUDP("udp4", &net.UDPAddr{Port: port})
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp6", net.JoinHostPort("::", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// sockaddr is dst as the socket call of its family wants it.
func sockaddr(dst netip.AddrPort) unix.Sockaddr {
	if a := dst.Addr().Unmap(); a.Is4() {
		return &unix.SockaddrInet4{Port: int(dst.Port()), Addr: a.As4()}
	}
	return &unix.SockaddrInet6{Port: int(dst.Port()), Addr: dst.Addr().As16()}
}

package vpn

// Batched UDP I/O: recvmmsg/sendmmsg with UDP GSO, from package datapath
// (shared with the server); this file adds what only the client needs:
// ICMP errors, the socket's family and the plain control-path send.

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"github.com/l2tpvpn/l2tpvpn/datapath"
	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr from <sys/socket.h> (see datapath);
// TestMmsghdrLayout pins its size per GOARCH.
type mmsghdr = unix.Mmsghdr

// batchConn is one UDP socket read by one goroutine and written by one
// goroutine at a time per direction (datapath.UDP). Control-plane writes go
// through writeTo, which is safe for concurrent use because it uses the
// plain socket call.
type batchConn struct {
	udp  *datapath.UDP
	conn *net.UDPConn
	rc   syscall.RawConn
	v6   bool // an AF_INET6 socket
}

// sockBuffer is the receive and send buffer asked for: a burst of a few
// GSO messages or a full receive batch waits in it.
const sockBuffer = 4 << 20

func newBatchConn(conn *net.UDPConn, batch int) (*batchConn, error) {
	u, err := datapath.NewUDP(conn, batch)
	if err != nil {
		return nil, err
	}
	u.SetBuffers(sockBuffer)
	u.EnableGRO() // where the kernel has it: the server's GSO runs arrive as runs
	return &batchConn{udp: u, conn: conn, rc: u.RawConn(), v6: u.IPv6()}, nil
}

// readBatch receives up to len(bufs) datagrams (at least one; it blocks until
// one arrives). Datagram i is bufs[i][:sizes[i]] from from[i].
func (b *batchConn) readBatch(bufs [][]byte, sizes []int, from []netip.AddrPort) (int, error) {
	return b.udp.ReadBatch(bufs, sizes, from)
}

// writeBatch sends every packet in pkts to dst. It returns how many were
// sent and the first error; datagrams the kernel refused are counted by the
// caller as send errors.
func (b *batchConn) writeBatch(pkts [][]byte, dst netip.AddrPort) (int, error) {
	return b.udp.WriteBatch(pkts, dst)
}

// errFamily is a destination of the other address family than the socket's.
var errFamily = datapath.ErrFamily

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

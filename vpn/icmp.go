package vpn

// ICMP errors during set-up. A host where nothing listens on the port we
// send to answers at once with ICMP port unreachable; waiting for the
// protocol's retransmissions to run out (23 s for IKE or L2TP) would hide
// that answer. During set-up the socket asks for such errors (IP_RECVERR):
// the receive call then fails, and the error queue says which destination
// the refused datagram had and why. An error from the server ends the
// attempt with a message that names the likely mistake. Once the
// connection is up the reports are switched off (a pending one would fail a
// send), and DPD, HELLO and LCP echo decide.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/l2tpvpn/l2tpvpn/ike"
)

// icmpError is an ICMP error for a datagram we sent to dst.
type icmpError struct {
	dst   netip.AddrPort
	errno syscall.Errno
}

func (e icmpError) Error() string {
	return fmt.Sprintf("%s: %v", e.dst, e.errno)
}

// isICMPError says whether a receive error is an ICMP error the kernel
// reported for an earlier send (IP_RECVERR). EMSGSIZE is a path MTU report:
// it is taken off the queue but ends nothing.
func isICMPError(err error) bool {
	return unreachableErrno(err) || errors.Is(err, unix.EMSGSIZE)
}

// unreachableErrno says whether err says the destination cannot be reached.
func unreachableErrno(err error) bool {
	return errors.Is(err, unix.ECONNREFUSED) || errors.Is(err, unix.EHOSTUNREACH) ||
		errors.Is(err, unix.ENETUNREACH) || errors.Is(err, unix.EHOSTDOWN)
}

// drainICMP takes every queued ICMP error off the socket and reports those
// for the server while the connection is being set up.
func (c *Conn) drainICMP() {
	for {
		dst, errno, ok := c.sock.readErr()
		if !ok {
			return
		}
		if c.up.Load() || c.charon != nil || dst.Addr() != c.peer.Load().Addr() || !unreachableErrno(errno) {
			c.log.Debug("icmp error", "dst", dst, "err", errno)
			continue
		}
		select {
		case c.icmp <- icmpError{dst, errno}:
		default:
		}
	}
}

// unreachable turns an ICMP error from the server during set-up into the
// attempt's failure.
func (c *Conn) unreachable(ctx context.Context, e icmpError) error {
	host := e.dst.Addr().String()
	if e.errno != unix.ECONNREFUSED {
		return &Error{Phase: "socket", Reason: ReasonUnreachable,
			Err:  fmt.Errorf("the network reports %s unreachable (%v)", host, e.errno),
			Hint: "check the server address and the network path to it"}
	}
	port := e.dst.Port()
	if c.ipsec != nil {
		return &Error{Phase: "ike", Reason: ReasonUnreachable,
			Err:  fmt.Errorf("nothing listens on UDP %d at %s (the host answered port unreachable)", port, host),
			Hint: "is it a plain L2TP server? try --ipsec off"}
	}
	err := &Error{Phase: "l2tp tunnel", Reason: ReasonUnreachable,
		Err:  fmt.Errorf("nothing listens on UDP %d at %s (the host answered port unreachable)", port, host),
		Hint: "is the L2TP server running, on this port?"}
	if speaksIKE(ctx, e.dst.Addr(), c.ikePort()) {
		err.Hint = "this server speaks IKE: it wants L2TP/IPsec; give the PSK and leave IPsec on (--ipsec on, the default)"
	}
	return err
}

// ikePort is the server's IKE port.
func (c *Conn) ikePort() uint16 {
	if c.cfg.ports != nil {
		return c.cfg.ports.ike
	}
	return ikePort
}

// probeTimeout bounds the IKE probe after a refused plain-L2TP attempt.
const probeTimeout = time.Second

// speaksIKE asks server:port whether it speaks IKEv1 (ike.ProbeRequest).
func speaksIKE(ctx context.Context, server netip.Addr, port uint16) bool {
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(server.Unmap(), port)))
	if err != nil {
		return false
	}
	defer conn.Close()
	var cky [8]byte
	rand.Read(cky[:])
	if _, err := conn.Write(ike.ProbeRequest(cky)); err != nil {
		return false
	}
	deadline := time.Now().Add(probeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetReadDeadline(deadline)
	buf := make([]byte, 2048)
	for {
		n, err := conn.Read(buf) // a connected socket sees port unreachable as an error
		if err != nil {
			return false
		}
		if ike.IsProbeAnswer(buf[:n], cky) {
			return true
		}
	}
}

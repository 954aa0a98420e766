package vpn

import (
	"context"
	"time"
)

// supervise waits for the connection to end, by Close or by a failure, and
// tears it down.
func (c *Conn) supervise() {
	var cause error
	var ipsecDone <-chan struct{}
	if c.ipsec != nil {
		ipsecDone = c.ipsec.loop.Done()
	}
	select {
	case <-c.closeReq:
	case err := <-c.failReq:
		cause = err
		if _, ok := cause.(*Error); !ok {
			cause = &Error{Phase: "network", Reason: ReasonLinkLost, Err: err}
		}
	case <-ipsecDone:
		e := ikeError(c.ipsec.loop.Err()).(*Error)
		e.Reason = ReasonLinkLost
		cause = e
	case <-c.charonDone():
		cause = c.charonLost()
	case <-c.tunnelLoop.Done():
		cause = linkLost("l2tp tunnel", c.tunnelLoop.Err())
	case <-c.linkLoop.Done():
		cause = linkLost("ppp", c.linkLoop.Err())
	case <-c.tunnel.SessionDone():
		cause = linkLost("l2tp session", c.tunnel.SessionErr())
	}
	if cause != nil && c.lost != nil {
		c.lost(cause) // goodbyes to a dead server can take seconds
	}
	c.teardown(cause)
}

// teardown undoes everything in reverse order: PPP Terminate, L2TP CDN and
// StopCCN, IKE Delete, socket. cause is the reason the connection ends (nil
// for a requested disconnect). The device belongs to the client.
func (c *Conn) teardown(cause error) {
	if cause == nil {
		c.log.Info("disconnecting")
	}
	// Known dead: nothing sent now would reach the server's L2TP, so no
	// goodbyes are waited for.
	sessionGone := c.tunnel != nil && isClosed(c.tunnel.SessionDone())
	// Without IPsec (IKE failed: the server lost our SAs or stopped
	// answering) nothing we send reaches the server's L2TP.
	ipsecGone := c.ipsec != nil && c.ipsec.loop.ended() || c.charon != nil && isClosed(c.charon.Done())
	linkDead := isLinkDead(cause)
	if c.linkLoop != nil && (sessionGone || ipsecGone || linkDead || c.tunnelLoop.ended()) {
		// No session to carry an LCP Terminate-Request: just stop.
		c.linkCancel()
	} else if c.linkLoop != nil && !c.linkLoop.ended() {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		if err := c.link.Close(ctx); err != nil {
			c.log.Debug("ppp close", "err", err)
		}
		cancel()
	}
	// Without an established tunnel the server has nothing to tear down
	// (it never told us its tunnel id): stopping the loop is enough.
	if c.tunnel != nil && c.tunnelUp.Load() && !ipsecGone && !linkDead && !c.tunnelLoop.ended() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := c.tunnel.Close(ctx); err != nil {
			c.log.Debug("l2tp close", "err", err)
		}
		cancel()
	}
	c.stopIPsec()  // Delete payloads for the child and ISAKMP SAs
	c.stopCharon() // charon terminates them, and we unload what we loaded
	c.closing.Store(true)
	if c.cancel != nil {
		c.cancel()
	}
	if c.sock != nil {
		c.sock.conn.Close()
	}
	c.wg.Wait()
	c.err = cause
	if cause != nil {
		c.log.Info("connection ended", "reason", ReasonOf(cause), "err", cause)
	}
	close(c.done)
}

// isLinkDead says whether cause means the path to the server is gone (the
// network changed under us, the data path failed), so goodbyes would only
// be retransmitted into nothing.
func isLinkDead(cause error) bool {
	e, ok := cause.(*Error)
	return ok && e.Phase == "network"
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

package server

// One client: an L2TP session that is up, its PPP link as the
// authenticator, its pool address and its route on the TUN device.

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
)

type client struct {
	s     *Server
	sess  *l2tp.LNSSession
	link  *ppp.ServerLink
	t     *transport    // nil: plain L2TP
	inner atomic.Uint32 // the client's address (IPv4, big-endian), for the data path; 0 until assigned
	outer netip.AddrPort

	mu       sync.Mutex
	addr     netip.Addr // from the pool, once authenticated
	name     string
	auth     string
	since    time.Time
	unroute  func() error
	closing  bool
	done     chan struct{}
	downOnce sync.Once

	bytesIn, bytesOut atomic.Uint64
}

// sessionUp is the LNS's OnSession: take an address, start the PPP link.
func (s *Server) sessionUp(sess *l2tp.LNSSession) {
	pk := sess.Peer()
	c := &client{s: s, sess: sess, outer: pk.Addr, done: make(chan struct{})}
	if pk.Conn != 0 {
		s.mu.RLock()
		c.t = s.trans[pk.Conn]
		s.mu.RUnlock()
	}
	auth := s.opt.Auth
	if c.t == nil && !s.opt.AllowPAPPlain {
		auth = withoutPAP(auth)
	}
	c.link = ppp.NewServerLink(ppp.ServerConfig{
		Auth: auth, Lookup: c.lookup, Name: s.opt.HostName, MRU: s.opt.MRU,
		LocalIP: s.opt.ServerIP, AssignIP: c.assign, DNS: s.opt.DNS, WINS: s.opt.WINS,
		Logger: s.log.With("layer", "ppp", "peer", pk.Addr.String()), OnEvent: c.pppEvent,
	}, c.sendPPP)
	s.mu.Lock()
	s.bySess[sess] = c
	early := s.takeEarly(sess)
	s.mu.Unlock()
	go func() {
		err := c.link.Run(s.ctx)
		c.down(err)
	}()
	rx := &rxBatch{}
	for _, d := range early { // the link queues them for Run
		buf := make([]byte, rxHeadroom+len(d))
		copy(buf[rxHeadroom:], d)
		s.receiveL2TP(rx, buf, buf[rxHeadroom:], pk, c.t)
	}
	s.flushRx(rx)
}

// withoutPAP drops PAP: over plain L2TP it would send the password in the
// clear, which needs allow-pap-plain.
func withoutPAP(m []ppp.AuthMethod) []ppp.AuthMethod {
	var out []ppp.AuthMethod
	for _, a := range m {
		if a != ppp.AuthPAP {
			out = append(out, a)
		}
	}
	return out
}

// lookup is the link's credential lookup.
func (c *client) lookup(user string) (ppp.Credential, bool) {
	cred, _, ok := c.s.opt.Lookup(user)
	return cred, ok
}

// assign takes the client's address once it has authenticated: the user's
// fixed address, or one from the pool (the one it had before when free).
func (c *client) assign(user string) (netip.Addr, error) {
	_, fixed, _ := c.s.opt.Lookup(user)
	key := user
	if c.s.opt.UserKey != nil {
		key = c.s.opt.UserKey(user)
	}
	addr, err := c.s.opt.Pool.Acquire(key, fixed)
	if err != nil {
		c.s.log.Warn("no address for the client", "user", user, "err", err)
		return netip.Addr{}, err
	}
	c.mu.Lock()
	c.addr = addr
	c.mu.Unlock()
	c.inner.Store(binary.BigEndian.Uint32(addr.AsSlice()))
	return addr, nil
}

// sessionDown is the LNS's OnSessionDown.
func (s *Server) sessionDown(sess *l2tp.LNSSession, reason error) {
	s.mu.RLock()
	c := s.bySess[sess]
	s.mu.RUnlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	c.closing = true // the session is gone: no CDN from us
	c.mu.Unlock()
	go c.link.Close(context.Background(), "L2TP session closed")
}

// sendPPP sends a PPP control frame (protocol + information) in the
// session's L2TP data channel.
func (c *client) sendPPP(frame []byte) error {
	const hdr = l2tp.DataHeaderSeqLen
	buf := make([]byte, sealHeadroom+hdr+2+len(frame)+64)
	end := sealHeadroom + hdr
	buf[end], buf[end+1] = 0xff, 0x03
	copy(buf[end+2:], frame)
	start := c.sess.PutHeader(buf, end)
	if start < 0 {
		return errors.New("server: no room for the L2TP header")
	}
	return c.s.sendOver(c.sess.Peer(), buf, start, end+2+len(frame)-start)
}

// pppEvent follows the link: routed while IPCP is up.
func (c *client) pppEvent(ev ppp.ServerEvent) {
	s := c.s
	switch ev.Kind {
	case "auth.ok":
		c.mu.Lock()
		c.name, c.auth = ev.Info.User, ev.Info.Auth.String()
		c.mu.Unlock()
	case "auth.failed":
		s.log.Info("authentication failed", "peer", c.outer, "user", ev.Info.User, "err", ev.Err)
	case "ipcp.up":
		addr := c.address()
		unroute, err := s.dev.AddRoute(netip.PrefixFrom(addr, 32))
		if err != nil {
			s.log.Warn("cannot route to the client", "addr", addr, "err", err)
			go c.close("no route to the client")
			return
		}
		c.mu.Lock()
		c.unroute, c.since = unroute, time.Now()
		c.mu.Unlock()
		s.mu.Lock()
		s.byAddr[addr] = c
		s.mu.Unlock()
		info := c.info()
		s.log.Info("client up", "user", info.User, "outer", info.Outer, "inner", info.Inner, "ipsec", info.IPsec)
		s.emit(Event{Event: "client.up", User: info.User, Outer: info.Outer, Inner: info.Inner, IPsec: info.IPsec, Auth: info.Auth})
	case "ipcp.down":
		c.unrouteNow()
	}
}

func (c *client) unrouteNow() {
	addr := c.address()
	c.s.mu.Lock()
	if c.s.byAddr[addr] == c {
		delete(c.s.byAddr, addr)
	}
	c.s.mu.Unlock()
	c.mu.Lock()
	unroute := c.unroute
	c.unroute = nil
	c.mu.Unlock()
	if unroute != nil {
		unroute()
	}
}

// down runs once when the PPP link has ended: unroute, free the address,
// end the L2TP session (unless it ended first), report.
func (c *client) down(err error) {
	c.downOnce.Do(func() {
		s := c.s
		c.unrouteNow()
		s.mu.Lock()
		delete(s.bySess, c.sess)
		s.mu.Unlock()
		c.mu.Lock()
		addr := c.addr
		c.mu.Unlock()
		if addr.IsValid() {
			s.opt.Pool.Release(addr)
		}
		c.mu.Lock()
		closing := c.closing
		c.closing = true
		c.mu.Unlock()
		if !closing {
			s.lns.CloseSession(c.sess, l2tp.Result{Code: 3, Message: "PPP link ended"})
		}
		info := c.info()
		reason := "closed"
		var perr *ppp.ServerAuthError
		switch {
		case errors.As(err, &perr):
			reason = "auth"
		case errors.Is(err, ppp.ErrClientTerminated):
			reason = "client"
		case err != nil:
			reason = "error"
		}
		ev := Event{Event: "client.down", User: info.User, Outer: info.Outer, Inner: info.Inner, Reason: reason}
		if err != nil {
			ev.Error = err.Error()
		}
		if !info.Since.IsZero() || reason == "auth" {
			s.emit(ev)
		}
		s.log.Info("client down", "user", info.User, "outer", info.Outer, "reason", reason, "err", err)
		close(c.done)
	})
}

// close ends the client from our side (Terminate-Request, then CDN).
func (c *client) close(why string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.link.Close(ctx, why)
	select {
	case <-c.done:
	case <-ctx.Done():
	}
}

func (c *client) address() netip.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

func (c *client) user() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.name
}

func (c *client) info() ClientInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := ClientInfo{User: c.name, Outer: c.outer.String(), Auth: c.auth, Since: c.since,
		BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load()}
	if c.addr.IsValid() {
		i.Inner = c.addr.String()
	}
	if c.t != nil {
		i.IPsec = c.t.alg
		i.Outer = c.t.peer.String()
	}
	return i
}

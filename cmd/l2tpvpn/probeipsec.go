package main

// L2TP and PPP's LCP through one pair the PSK probe kept: the SCCRP the
// server sends through IPsec (its L2TP server, often another than the one on
// plain UDP 1701), and the authentication methods PPP asks for. The L2TP
// side is our own LAC (l2tp.Tunnel: SCCRQ, SCCRP, SCCCN, ICRQ, ICRP, ICCN,
// and CDN plus StopCCN on Close); PPP is ppp.AuthProbe, LCP only: no
// password and no CHAP response is ever sent. L2TP datagrams are framed by
// esp.Inner (UDP 1701 to 1701; in tunnel mode an inner IP header too) and
// sealed by the pair's outbound SA, as a connection's are.

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
)

// probeESP carries L2TP over the kept pair.
type probeESP struct {
	child         *ike.ChildSA
	local, server netip.Addr
	send          func([]byte) error // to port 4500, paced
	recv          func([]byte)       // an L2TP datagram from the server
	mu            sync.Mutex         // one Seal at a time
}

// inner is the framing of the pair's L2TP datagrams: 1701 to 1701.
func (e *probeESP) inner() esp.Inner {
	return esp.Inner{Mode: e.child.Mode, Local: e.local, Peer: e.server, LocalPort: esp.L2TPPort, PeerPort: esp.L2TPPort}
}

// seal sends one L2TP datagram through IPsec.
func (e *probeESP) seal(d []byte) error {
	sa := e.child.Out
	in := e.inner()
	off := sa.Headroom() + in.Len()
	buf := make([]byte, off+len(d)+sa.Tailroom()+16)
	copy(buf[off:], d)
	start, nh, err := in.Frame(buf, off, len(d))
	if err != nil {
		return err
	}
	e.mu.Lock()
	pkt, err := sa.Seal(buf, start, off+len(d)-start, nh)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	return e.send(pkt)
}

// input opens an ESP packet from the server and hands the L2TP datagram
// inside to recv.
func (e *probeESP) input(d []byte) {
	if _, spi := esp.Classify(d); spi != e.child.In.SPI() {
		return
	}
	payload, next, err := e.child.In.Open(d)
	if err != nil {
		return
	}
	in := e.inner()
	if msg, _, ok := in.Unframe(payload, next); ok {
		e.recv(msg)
	}
}

// throughIPsec keeps a pair of transform prop and runs L2TP and LCP over
// it; what it finds goes to rep. A failure of L2TP or PPP is recorded, not
// returned: IPsec's findings stand.
func (p *pskProbe) throughIPsec(ctx context.Context, prop ike.ESPProposal, rep *probeReport) error {
	r, err := p.ph2.QuickMode(ctx, prop, true)
	if err != nil {
		return err
	}
	if r.Outcome != ike.Phase1Accepted || r.Child == nil {
		rep.L2TPIPsec = &probeL2TPReply{Answer: "none", Error: "the Quick Mode for L2TP failed: " + r.Reason, AVPs: []string{}}
		return nil
	}
	defer p.ph2.DeleteChild(context.Background(), r.Child)
	// Bound L2TP and PPP: set-up, the methods (at most 5 answers) and
	// teardown, each message with its timeout.
	bound := 20*p.st.Timeout + time.Duration(float64(20*time.Second)/p.st.Rate)
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()

	frames := make(chan []byte, 16)
	var mu sync.Mutex // guards reply and gotReply
	var reply l2tp.ProbeReply
	var gotReply bool
	var tunnel *l2tp.Tunnel
	e := &probeESP{child: r.Child, local: p.link.Local, server: p.link.Server,
		send: func(b []byte) error {
			if err := p.pace.Wait(ctx); err != nil {
				return err
			}
			return p.link.Send4500(b)
		},
		recv: func(msg []byte) {
			h, payload, err := l2tp.ParseHeader(msg)
			if err != nil {
				return
			}
			if h.Control {
				if rr, ok := l2tp.ParseProbeReply(msg, h.TunnelID); ok && rr.Type == l2tp.SCCRP {
					mu.Lock()
					if !gotReply {
						reply, gotReply = rr, true
					}
					mu.Unlock()
				}
				tunnel.Input(append([]byte(nil), msg...))
				return
			}
			select {
			case frames <- append([]byte(nil), payload...):
			default:
			}
		}}
	tunnel = l2tp.NewTunnel(l2tp.Config{HostName: "l2tpvpn-probe", RetransmitTimeout: p.st.Timeout, MaxRetransmits: 2,
		HelloInterval: -1, Logger: slog.New(slog.DiscardHandler)}, e.seal)
	p.path.Store(e)
	defer p.path.Store(nil)
	tctx, tcancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { tunnel.Run(tctx) })
	defer func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 3*p.st.Timeout)
		tunnel.Close(cctx) // CDN and StopCCN
		ccancel()
		tcancel()
		wg.Wait()
	}()

	l := &probeL2TPReply{Answer: "none", AVPs: []string{}}
	rep.L2TPIPsec = l
	ti, err := tunnel.Establish(ctx)
	mu.Lock()
	rr, got := reply, gotReply
	mu.Unlock()
	if got {
		l.Answer, l.HostName, l.Vendor, l.Firmware, l.TunnelAuth, l.AVPs = "SCCRP", rr.HostName, rr.Vendor,
			rr.Firmware, rr.Challenge, rr.AVPs
	}
	if err != nil {
		l.Error = err.Error()
		return nil
	}
	if !got {
		l.Answer, l.HostName, l.Vendor, l.Firmware = "SCCRP", ti.PeerHostName, ti.PeerVendor, ti.PeerFirmware
	}
	si, err := tunnel.OpenSession(ctx)
	if err != nil {
		l.Error = "session: " + err.Error()
		return nil
	}
	auth := &probePPPAuth{Methods: []string{}}
	rep.PPPAuth = auth
	sendPPP := func(fs [][]byte) {
		for _, f := range fs {
			b := make([]byte, l2tp.DataHeaderLen+len(f))
			l2tp.PutDataHeader(b, ti.PeerID, si.PeerID)
			copy(b[l2tp.DataHeaderLen:], f)
			if err := e.seal(b); err != nil && auth.Error == "" {
				auth.Error = err.Error()
			}
		}
	}
	var mb [4]byte
	cryptorand.Read(mb[:])
	ap := ppp.NewAuthProbe(binary.BigEndian.Uint32(mb[:]) | 1)
	sendPPP([][]byte{ap.Request()})
	t := time.NewTimer(p.st.Timeout)
	defer t.Stop()
	for !ap.Done() {
		select {
		case f := <-frames:
			sendPPP(ap.Input(f))
			t.Reset(p.st.Timeout)
		case <-t.C:
			sendPPP(ap.Timeout())
			t.Reset(p.st.Timeout)
		case <-tunnel.SessionDone():
			if !ap.Done() && len(ap.Offers()) == 0 {
				auth.Error = fmt.Sprintf("the server closed the session before LCP said anything: %v", tunnel.SessionErr())
			}
			return p.finishAuth(ap, auth)
		case <-ctx.Done():
			if len(ap.Offers()) == 0 && !ap.NoAuth() {
				auth.Error = "no LCP answer from the server in time"
			}
			return p.finishAuth(ap, auth)
		}
	}
	sendPPP([][]byte{ap.Terminate()})
	return p.finishAuth(ap, auth)
}

// finishAuth copies the AuthProbe's findings into the report.
func (p *pskProbe) finishAuth(ap *ppp.AuthProbe, auth *probePPPAuth) error {
	for _, o := range ap.Offers() {
		auth.Methods = append(auth.Methods, o.Name)
	}
	auth.NoAuth = ap.NoAuth()
	return nil
}

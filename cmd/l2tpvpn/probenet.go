package main

// The network half of l2tpvpn probe: UDP sockets to the server's ports 500,
// 4500 and 1701, driving ike.Phase1Probe and the l2tp probe messages. The
// phases run one after another, so the rate limit holds for the whole probe.

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

// probeSettings are probe's flags.
type probeSettings struct {
	Timeout time.Duration // per message
	Rate    float64       // messages per second
	L2TP    uint16        // the L2TP port
	// PSK, when set, probes phase 2, L2TP through IPsec and PPP
	// (probepsk.go) in ESPMode.
	PSK     secret.Secret
	ESPMode esp.Mode
	// Progress gets a line when the probe waits for longer than its
	// messages' timeouts; nil: nowhere.
	Progress io.Writer
}

// halfOpenWait is how long the probe waits before it tries the Main Mode
// with the key again, when the server answered the sweep but not that:
// strongSwan ignores new exchanges from an address that holds 5 half-open
// ones, and expires each 30 s after it began (HALF_OPEN_IKE_SA_TIMEOUT).
const halfOpenWait = 32 * time.Second

// udpPeer is a connected UDP socket with a reader feeding input.
type udpPeer struct {
	conn *net.UDPConn
	done chan struct{}
}

func dialPeer(addr netip.AddrPort, input func([]byte)) (*udpPeer, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	p := &udpPeer{conn: c, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 65536)
		for {
			n, err := c.Read(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				input(buf[:n])
			} // ICMP port unreachable shows as an error: keep reading
		}
	}()
	return p, nil
}

// write sends b. A connected UDP socket reports an earlier ICMP error
// (port or host unreachable) on the next call: that only says the port does
// not answer, so the write is tried once more and such an error is then
// ignored.
func (p *udpPeer) write(b []byte) error {
	var err error
	for range 2 {
		if _, err = p.conn.Write(b); err == nil {
			return nil
		}
		if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.EHOSTUNREACH) && !errors.Is(err, syscall.ENETUNREACH) {
			return err
		}
	}
	return nil
}

func (p *udpPeer) close() {
	p.conn.Close()
	<-p.done
}

// netProbe probes server over the network.
func netProbe(ctx context.Context, server netip.Addr, st probeSettings) (*probeReport, error) {
	rep := &probeReport{Server: server.String(), Rate: st.Rate}
	gap := time.Duration(float64(time.Second) / st.Rate * 1.02) // as ike.Phase1Probe paces
	pause := func() {
		t := time.NewTimer(gap)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}

	// UDP 500: does IKE answer, and which proposals does it take?
	p500 := &ike.Phase1Probe{Timeout: st.Timeout, Rate: st.Rate}
	c500, err := dialPeer(netip.AddrPortFrom(server, 500), p500.Input)
	if err != nil {
		return nil, err
	}
	defer c500.close()
	p500.Send = c500.write
	if la, ok := c500.conn.LocalAddr().(*net.UDPAddr); ok {
		rep.LocalAddr = la.AddrPort().Addr().Unmap().String()
	}
	hello, ok, err := p500.Hello(ctx, 2)
	if err != nil {
		return nil, err
	}
	rep.UDP500 = ok
	rep.Sent += p500.Sent()

	// UDP 4500: IKE with the non-ESP marker (RFC 3948 2.2).
	pause()
	p4500 := &ike.Phase1Probe{Timeout: st.Timeout, Rate: st.Rate}
	c4500, err := dialPeer(netip.AddrPortFrom(server, 4500), func(b []byte) {
		if len(b) > 4 && binary.BigEndian.Uint32(b) == 0 {
			p4500.Input(b[4:])
		}
	})
	if err != nil {
		return nil, err
	}
	defer c4500.close()
	p4500.Send = func(b []byte) error {
		return c4500.write(append(make([]byte, 4, 4+len(b)), b...))
	}
	hello4500, ok4500, err := p4500.Hello(ctx, 2)
	if err != nil {
		return nil, err
	}
	rep.UDP4500 = ok4500
	rep.Sent += p4500.Sent()
	if !ok && ok4500 {
		hello = hello4500
	}

	// The sweep, on whichever port answered.
	if sweep := map[bool]*ike.Phase1Probe{true: p500, false: p4500}[ok]; ok || ok4500 {
		pause()
		before := sweep.Sent()
		res, err := sweep.Run(ctx)
		rep.Sent += sweep.Sent() - before
		if err != nil {
			return nil, err
		}
		rep.addPhase1(res, hello)
		if first, ok := firstAccepted(res); ok && !st.PSK.IsZero() {
			pause()
			err := netPSK(ctx, server, first, st, rep)
			if errors.Is(err, ike.ErrNoResponse) && len(rep.IKEAccepted) > 1 {
				if st.Progress != nil {
					fmt.Fprintf(st.Progress, "l2tpvpn: probe: the server answered the sweep but not the Main Mode with the key: "+
						"it may still hold the sweep's half-open exchanges; trying again in %v\n", halfOpenWait)
				}
				t := time.NewTimer(halfOpenWait)
				select {
				case <-t.C:
					if err = netPSK(ctx, server, first, st, rep); err == nil || errors.Is(err, errPSKRefused) {
						rep.Notes = append(rep.Notes, fmt.Sprintf("the Main Mode with the key got no answer right after the sweep "+
							"and an answer %v later: the server limits half-open exchanges from one address", halfOpenWait))
					}
				case <-ctx.Done():
					t.Stop()
					return nil, ctx.Err()
				}
			}
			if err != nil && !errors.Is(err, errPSKRefused) {
				if ctx.Err() != nil {
					return nil, err
				}
				rep.pskUntested(err)
			}
		}
	}

	// UDP 1701: plain L2TP.
	pause()
	if err := probeL2TP(ctx, netip.AddrPortFrom(server, st.L2TP), st, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// addPhase1 records the sweep's results and what the answers say about
// the server.
func (rep *probeReport) addPhase1(res []ike.Phase1Result, hello []byte) {
	rep.IKEProbed = len(res)
	var vendors [][]byte
	for _, r := range res {
		switch r.Outcome {
		case ike.Phase1Accepted:
			rep.IKEAccepted = append(rep.IKEAccepted, r.Proposal.String())
			if vendors == nil {
				vendors = r.Vendors
			}
		case ike.Phase1Refused:
			rep.IKERefused++
		default:
			rep.IKENoAnswer++
		}
	}
	if vendors == nil && hello != nil {
		var r ike.Phase1Result
		if m, err := ike.Parse(hello); err == nil {
			for _, p := range m.Payloads {
				if v, ok := p.(*ike.VendorID); ok {
					r.Vendors = append(r.Vendors, v.Data)
				}
			}
		}
		vendors = r.Vendors
	}
	for _, v := range vendors {
		name, fam := ike.DescribeVendorID(v)
		rep.Vendors = append(rep.Vendors, probeVendor{ID: hex.EncodeToString(v), Name: name, Family: fam})
	}
	rep.Family, rep.FamilyHint = ike.VendorFamily(vendors)
	rep.FamilyFrom = "IKE vendor IDs"
	if rep.Family == "" {
		rep.FamilyFrom = ""
	}
	rep.NATT = ike.NATTSupport(vendors)
	if rep.IKENoAnswer > 0 && (len(rep.IKEAccepted) > 0 || rep.IKERefused > 0) {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d proposals got no answer although the server answered others: "+
			"it may drop what it refuses, or limit half-open exchanges from one address (strongSwan ignores "+
			"new ones after 5 by default); those %d are unknown, not refused", rep.IKENoAnswer, rep.IKENoAnswer))
	}
}

// firstAccepted is the first accepted proposal of the sweep, in our order
// of preference.
func firstAccepted(res []ike.Phase1Result) (ike.IKEProposal, bool) {
	for _, r := range res {
		if r.Outcome == ike.Phase1Accepted {
			return r.Proposal, true
		}
	}
	return ike.IKEProposal{}, false
}

// netPSK runs the PSK half over fresh sockets to the server's ports 500
// and 4500.
func netPSK(ctx context.Context, server netip.Addr, prop ike.IKEProposal, st probeSettings, rep *probeReport) error {
	p := &pskProbe{}
	c500, err := dialPeer(netip.AddrPortFrom(server, 500), func(b []byte) { p.input500(b) })
	if err != nil {
		return err
	}
	defer c500.close()
	c4500, err := dialPeer(netip.AddrPortFrom(server, 4500), func(b []byte) { p.input4500(b) })
	if err != nil {
		return err
	}
	defer c4500.close()
	local := server
	if la, ok := c500.conn.LocalAddr().(*net.UDPAddr); ok {
		local = la.AddrPort().Addr().Unmap()
	}
	link := &pskLink{Local: local, Server: server, Send500: c500.write, Send4500: c4500.write}
	return runPSK(ctx, link, prop, st, p, rep)
}

// probeL2TP sends an SCCRQ (twice at most) and reads the answer; an SCCRP
// gets a StopCCN so the server frees the tunnel.
func probeL2TP(ctx context.Context, addr netip.AddrPort, st probeSettings, rep *probeReport) error {
	var idb [2]byte
	cryptorand.Read(idb[:])
	localID := binary.BigEndian.Uint16(idb[:]) | 1
	replies := make(chan l2tp.ProbeReply, 1)
	c, err := dialPeer(addr, func(b []byte) {
		if r, ok := l2tp.ParseProbeReply(b, localID); ok {
			select {
			case replies <- r:
			default:
			}
		}
	})
	if err != nil {
		return err
	}
	defer c.close()
	gap := time.Duration(float64(time.Second) / st.Rate * 1.02)
	for try := range 2 {
		if try > 0 {
			time.Sleep(gap)
		}
		if err := c.write(l2tp.ProbeSCCRQ(localID, "l2tpvpn-probe")); err != nil {
			return err
		}
		rep.Sent++
		t := time.NewTimer(st.Timeout)
		select {
		case r := <-replies:
			t.Stop()
			rep.UDP1701 = true
			rep.L2TP = &probeL2TPReply{Answer: r.Type.String(), HostName: r.HostName, Vendor: r.Vendor,
				Firmware: r.Firmware, TunnelAuth: r.Challenge, AVPs: r.AVPs}
			if r.Result != nil {
				rep.L2TP.Result = r.Result.Code
				rep.L2TP.ResultMessage = r.Result.Message
			}
			if r.Type == l2tp.SCCRP && r.PeerID != 0 {
				time.Sleep(gap)
				if err := c.write(l2tp.ProbeStopCCN(localID, r)); err == nil {
					rep.Sent++
				}
			}
			return nil
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	return nil
}

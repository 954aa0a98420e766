package l2tp

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// rawLAC is a hand-driven LAC for what our Tunnel never sends: several
// sessions in one tunnel, wrong answers, silence.
type rawLAC struct {
	t      *testing.T
	n      *lnsNet
	p      *lnsPeer
	id     uint16 // our (the LAC's) tunnel ID
	lnsID  uint16 // the LNS's, from its SCCRP
	ns, nr uint16
}

func (n *lnsNet) raw(key PeerKey, id uint16) *rawLAC {
	p := &lnsPeer{key: key, raw: make(chan Message, 64), data: make(chan []byte, 64)}
	n.mu.Lock()
	n.peers[key] = p
	n.mu.Unlock()
	return &rawLAC{t: n.t, n: n, p: p, id: id}
}

// send sends m with our next Ns and current Nr.
func (r *rawLAC) send(m Message) {
	r.t.Helper()
	m.Header.TunnelID = r.lnsID
	m.Header.Ns, m.Header.Nr = r.ns, r.nr
	if m.Type != ZLB || len(m.AVPs) > 0 {
		r.ns++
	}
	r.n.toLNS(r.p.key, m.Append(nil))
	synctest.Wait()
}

func (r *rawLAC) zlb() { r.send(NewMessage(ZLB, 0, 0)) }

// next returns the next message from the LNS within d, ZLBs included.
func (r *rawLAC) next(d time.Duration) (Message, bool) {
	select {
	case m := <-r.p.raw:
		if len(m.AVPs) > 0 && m.Header.Ns == r.nr {
			r.nr++
		}
		return m, true
	case <-time.After(d):
		return Message{}, false
	}
}

// expect returns the next non-ZLB message, which must be of type typ.
func (r *rawLAC) expect(typ MessageType) Message {
	r.t.Helper()
	for {
		m, ok := r.next(2 * time.Minute)
		if !ok {
			r.t.Fatalf("expected %s, the LNS sent nothing", typ)
		}
		if m.Type == ZLB {
			continue
		}
		if m.Type != typ {
			r.t.Fatalf("expected %s, got %s %+v", typ, m.Type, m.AVPs)
		}
		if m.Header.TunnelID != r.id {
			r.t.Errorf("%s to tunnel %d, want %d", typ, m.Header.TunnelID, r.id)
		}
		return m
	}
}

func (r *rawLAC) sccrq(extra ...AVP) Message {
	m := NewMessage(SCCRQ, 0, 0)
	m.Add(
		Uint16AVP(AVPProtocolVersion, true, 0x0100),
		BytesAVP(AVPHostName, true, []byte("raw-lac")),
		Uint32AVP(AVPFramingCapabilities, true, FramingSync),
		Uint16AVP(AVPAssignedTunnelID, true, r.id),
	)
	m.Add(extra...)
	return m
}

// establish runs SCCRQ → SCCRP → SCCCN.
func (r *rawLAC) establish() {
	r.t.Helper()
	r.send(r.sccrq())
	rp := r.expect(SCCRP)
	r.lnsID = avpU16(r.t, &rp, AVPAssignedTunnelID)
	r.send(NewMessage(SCCCN, 0, 0))
}

// call runs ICRQ → ICRP → ICCN for our session sid and returns the LNS's.
func (r *rawLAC) call(sid uint16) *LNSSession {
	r.t.Helper()
	rq := NewMessage(ICRQ, 0, 0)
	rq.Add(Uint16AVP(AVPAssignedSessionID, true, sid), BytesAVP(AVPCallSerialNumber, true, []byte{0, 0, 0, 1}))
	r.send(rq)
	rp := r.expect(ICRP)
	lsid := avpU16(r.t, &rp, AVPAssignedSessionID)
	if rp.Header.SessionID != sid || lsid == 0 {
		r.t.Fatalf("ICRP %+v", rp.Header)
	}
	cn := NewMessage(ICCN, 0, lsid)
	cn.Add(Uint32AVP(AVPTxConnectSpeed, true, 1e6), Uint32AVP(AVPFramingType, true, FramingSync))
	r.send(cn)
	s := r.n.nextUp()
	if s.SessionID != lsid || s.PeerSessionID != sid || s.PeerHostName != "raw-lac" {
		r.t.Fatalf("OnSession %+v", s)
	}
	return s
}

func (r *rawLAC) icrq(sid uint16, extra ...AVP) {
	rq := NewMessage(ICRQ, 0, 0)
	rq.Add(Uint16AVP(AVPAssignedSessionID, true, sid))
	rq.Add(extra...)
	r.send(rq)
}

// Two sessions in one tunnel; the LAC clears one with CDN and the tunnel
// with StopCCN, and the LNS reports each result code.
func TestLNSTwoSessionsOneTunnel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{})
		r := n.raw(peerKey("203.0.113.5:1701", 0), 0x1111)
		r.establish()
		s1, s2 := r.call(0x21), r.call(0x22)
		if s1.SessionID == s2.SessionID || s1.TunnelID != s2.TunnelID {
			t.Fatalf("sessions %v %v", s1, s2)
		}
		for i, s := range []*LNSSession{s1, s2} {
			pkt := make([]byte, DataHeaderLen+1)
			PutDataHeader(pkt, s.TunnelID, s.SessionID)
			pkt[DataHeaderLen] = byte(i)
			n.lns.Input(r.p.key, pkt)
			if got := <-n.rx; got[0] != byte(i) {
				t.Errorf("session %d: OnData %x", i, got)
			}
		}

		cdn := NewMessage(CDN, 0, s1.SessionID)
		cdn.Add(Result{Code: 1}.AVP(), Uint16AVP(AVPAssignedSessionID, true, 0x21))
		r.send(cdn)
		var re *ResultError
		if d := n.nextDown(); d.s != s1 || !errors.As(d.reason, &re) || re.Message != CDN || re.Result != 1 ||
			d.reason.Error() != "l2tp: client disconnected the session (CDN): lost carrier (result 1)" {
			t.Errorf("OnSessionDown %v: %v", d.s, d.reason)
		}
		stop := NewMessage(StopCCN, 0, 0)
		stop.Add(Uint16AVP(AVPAssignedTunnelID, true, r.id), Result{Code: 6, Message: "reboot"}.AVP())
		r.send(stop)
		if d := n.nextDown(); d.s != s2 || !errors.As(d.reason, &re) || re.Message != StopCCN || re.Result != 6 || re.Text != "reboot" ||
			!contains(d.reason.Error(), "client closed the tunnel") {
			t.Errorf("OnSessionDown %v: %v", d.s, d.reason)
		}
		if m, ok := r.next(time.Second); !ok || m.Type != ZLB || m.Header.Nr != r.ns {
			t.Errorf("StopCCN acknowledged with %s [Nr=%d], want ZLB [Nr=%d]", m.Type, m.Header.Nr, r.ns)
		}
		n.tunnelsGone()
	})
}

// The LAC's answer to the LNS's challenge in its SCCCN is checked (5.1.1).
func TestLNSChallengeResponseChecked(t *testing.T) {
	for _, tt := range []struct {
		name string
		resp func(challenge []byte) []AVP
		ok   bool
	}{
		{"right", func(c []byte) []AVP {
			r := ChallengeResponse(SCCCN, testSecret, c)
			return []AVP{BytesAVP(AVPChallengeResponse, true, r[:])}
		}, true},
		{"wrong id", func(c []byte) []AVP {
			r := ChallengeResponse(SCCRP, testSecret, c)
			return []AVP{BytesAVP(AVPChallengeResponse, true, r[:])}
		}, false},
		{"missing", func([]byte) []AVP { return nil }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := newLNSNet(t, LNSConfig{Config: Config{Secret: secretOf(testSecret)}})
				r := n.raw(peerKey("203.0.113.5:1701", 0), 0x1111)
				r.send(r.sccrq())
				rp := r.expect(SCCRP)
				r.lnsID = avpU16(t, &rp, AVPAssignedTunnelID)
				ch, ok := rp.Find(AVPChallenge)
				if !ok || len(ch.Value) != 16 {
					t.Fatalf("SCCRP Challenge %+v", ch)
				}
				if _, ok := rp.Find(AVPChallengeResponse); ok {
					t.Error("Challenge Response without a challenge")
				}
				cn := NewMessage(SCCCN, 0, 0)
				cn.Add(tt.resp(ch.Value)...)
				r.send(cn)
				if tt.ok {
					r.call(0x21)
					return
				}
				stop := r.expect(StopCCN)
				if res := resultOf(t, &stop); res.Code != 4 || avpU16(t, &stop, AVPAssignedTunnelID) != r.lnsID {
					t.Errorf("StopCCN %+v", res)
				}
				r.zlb()
				n.tunnelsGone()
			})
		})
	}
}

// A tunnel without SCCCN and a session without ICCN are cleared after
// SetupTimeout.
func TestLNSHalfOpenExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{SetupTimeout: 10 * time.Second})
		r := n.raw(peerKey("203.0.113.5:1701", 0), 0x1111)
		start := time.Now()
		r.send(r.sccrq())
		rp := r.expect(SCCRP)
		r.lnsID = avpU16(t, &rp, AVPAssignedTunnelID)
		r.zlb()
		stop := r.expect(StopCCN)
		if d := time.Since(start); d != 10*time.Second {
			t.Errorf("StopCCN after %v", d)
		}
		if res := resultOf(t, &stop); res.Code != 2 {
			t.Errorf("StopCCN %+v", res)
		}
		n.tunnelsGone() // unacknowledged: gone after the retransmissions

		r2 := n.raw(peerKey("203.0.113.6:1701", 0), 0x2222)
		r2.establish()
		start = time.Now()
		r2.icrq(0x21)
		r2.expect(ICRP)
		r2.zlb()
		cdn := r2.expect(CDN)
		if d := time.Since(start); d != 10*time.Second || resultOf(t, &cdn).Code != 10 || cdn.Header.SessionID != 0x21 {
			t.Errorf("CDN after %v: %+v", d, cdn)
		}
		synctest.Wait()
		if st := n.lns.Stats(); st.Tunnels != 1 || st.Sessions != 0 {
			t.Errorf("Stats %+v", st)
		}
		n.noDown() // never up, never down
	})
}

// Limits: a tunnel over MaxTunnels gets a stateless StopCCN (2/4); a session
// over MaxSessionsPerTunnel a CDN (4).
func TestLNSLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{MaxTunnels: 1, MaxSessionsPerTunnel: 1})
		r := n.raw(peerKey("203.0.113.5:1701", 0), 0x1111)
		r.establish()
		r.call(0x21)
		r.icrq(0x22)
		cdn := r.expect(CDN)
		if res := resultOf(t, &cdn); res.Code != 4 || cdn.Header.SessionID != 0x22 || avpU16(t, &cdn, AVPAssignedSessionID) == 0 {
			t.Errorf("CDN %+v %+v", cdn.Header, res)
		}

		p := n.client(peerKey("203.0.113.6:1701", 0), Config{})
		_, err := p.tun.Establish(t.Context())
		var re *ResultError
		if !errors.As(err, &re) || re.Message != StopCCN || re.Result != 2 || re.ErrorCode != 4 {
			t.Errorf("Establish over the limit: %v", err)
		}
		if st := n.lns.Stats(); st.Refused != 2 || st.Tunnels != 1 || st.Sessions != 1 {
			t.Errorf("Stats %+v", st)
		}
	})
}

// A retransmitted SCCRQ is the same tunnel: re-acknowledged, not a second one.
func TestLNSDuplicateSCCRQ(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{})
		r := n.raw(peerKey("203.0.113.5:1701", 0), 0x1111)
		rq := r.sccrq()
		r.send(rq)
		r.expect(SCCRP)
		r.ns = 0
		r.nr = 0
		r.send(rq)
		if m, ok := r.next(time.Second); !ok || m.Type != ZLB || m.Header.Nr != 1 {
			t.Errorf("duplicate SCCRQ answered with %s %+v", m.Type, m.Header)
		}
		if st := n.lns.Stats(); st.Tunnels != 1 {
			t.Errorf("Stats %+v", st)
		}
	})
}

// What the LNS refuses or ignores in the control channel, as the LAC does.
func TestLNSRefusals(t *testing.T) {
	vendorAVP := AVP{Vendor: 9, Type: 1, Value: []byte{1}}
	for _, tt := range []struct {
		name string
		run  func(t *testing.T, n *lnsNet, r *rawLAC)
	}{
		{"protocol version 2.0", func(t *testing.T, n *lnsNet, r *rawLAC) {
			m := NewMessage(SCCRQ, 0, 0)
			m.Add(Uint16AVP(AVPProtocolVersion, true, 0x0200), Uint16AVP(AVPAssignedTunnelID, true, r.id))
			r.send(m)
			stop := r.expect(StopCCN)
			if res := resultOf(t, &stop); res.Code != 5 || res.ErrorCode != 0x0100 {
				t.Errorf("StopCCN %+v", res)
			}
		}},
		{"challenge without a secret", func(t *testing.T, n *lnsNet, r *rawLAC) {
			r.send(r.sccrq(BytesAVP(AVPChallenge, true, []byte("0123456789abcdef"))))
			stop := r.expect(StopCCN)
			if res := resultOf(t, &stop); res.Code != 4 {
				t.Errorf("StopCCN %+v", res)
			}
		}},
		{"unknown mandatory AVP in ICRQ", func(t *testing.T, n *lnsNet, r *rawLAC) {
			r.establish()
			r.icrq(0x21, AVP{Mandatory: true, Vendor: 9, Type: 1})
			cdn := r.expect(CDN)
			if res := resultOf(t, &cdn); res.Code != 2 || res.ErrorCode != 8 || cdn.Header.SessionID != 0x21 {
				t.Errorf("CDN %+v", res)
			}
		}},
		{"unknown mandatory message type", func(t *testing.T, n *lnsNet, r *rawLAC) {
			r.establish()
			r.send(NewMessage(MessageType(99), 0, 0))
			stop := r.expect(StopCCN)
			if res := resultOf(t, &stop); res.Code != 2 || res.ErrorCode != 8 {
				t.Errorf("StopCCN %+v", res)
			}
		}},
		{"ignored: unknown optional AVP and message, SLI, WEN", func(t *testing.T, n *lnsNet, r *rawLAC) {
			r.send(r.sccrq(vendorAVP))
			rp := r.expect(SCCRP)
			r.lnsID = avpU16(t, &rp, AVPAssignedTunnelID)
			r.send(NewMessage(SCCCN, 0, 0))
			m := Message{Header: Header{}, Type: 99, AVPs: []AVP{Uint16AVP(AVPMessageType, false, 99)}}
			r.send(m)
			s := r.call(0x21)
			sli := NewMessage(SLI, 0, s.SessionID)
			sli.Add(BytesAVP(AVPACCM, true, make([]byte, 10)))
			r.send(sli)
			wen := NewMessage(WEN, 0, s.SessionID)
			wen.Add(vendorAVP)
			r.send(wen)
			n.noDown()
			if st, _ := n.lns.TunnelStats(s.TunnelID); st.UnknownIgnored != 3 {
				t.Errorf("TunnelStats %+v", st)
			}
		}},
		{"ICRQ before SCCCN", func(t *testing.T, n *lnsNet, r *rawLAC) {
			r.send(r.sccrq())
			rp := r.expect(SCCRP)
			r.lnsID = avpU16(t, &rp, AVPAssignedTunnelID)
			r.icrq(0x21)
			cdn := r.expect(CDN)
			if res := resultOf(t, &cdn); res.Code != 2 || res.ErrorCode != 1 {
				t.Errorf("CDN %+v", res)
			}
		}},
		{"SCCRP to the LNS", func(t *testing.T, n *lnsNet, r *rawLAC) {
			r.establish()
			r.send(NewMessage(SCCRP, 0, 0))
			stop := r.expect(StopCCN)
			if res := resultOf(t, &stop); res.Code != 7 {
				t.Errorf("StopCCN %+v", res)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := newLNSNet(t, LNSConfig{})
				tt.run(t, n, n.raw(peerKey("203.0.113.5:1701", 0), 0x1111))
			})
		})
	}
}

// Undecodable datagrams and messages for tunnels that are not the peer's are
// dropped and counted.
func TestLNSMalformed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{})
		r := n.raw(peerKey("203.0.113.5:1701", 0), 0x1111)
		r.establish()
		key := r.p.key
		noID := NewMessage(SCCRQ, 0, 0)
		noID.Add(Uint16AVP(AVPProtocolVersion, true, 0x0100))
		rq := NewMessage(SCCRQ, 0, 0)
		badAVP := rq.Append(nil)
		badAVP = append(badAVP, 0x80, 0x03, 0, 0, 0, 9) // AVP length 3
		badAVP[3] = byte(len(badAVP))
		for _, b := range [][]byte{nil, {0xc8}, {0x00, 0x03, 0, 1, 0, 1}, noID.Append(nil), badAVP} {
			n.lns.Input(key, b)
		}
		if st := n.lns.Stats(); st.Malformed != 5 {
			t.Errorf("Stats %+v", st)
		}
		// Our tunnel ID from another peer; an unknown tunnel ID; a StopCCN
		// to tunnel 0 for a tunnel of another peer.
		hello := NewMessage(HELLO, r.lnsID, 0)
		n.lns.Input(peerKey("203.0.113.99:1701", 0), hello.Append(nil))
		hello.Header.TunnelID = r.lnsID + 1
		n.lns.Input(key, hello.Append(nil))
		stop := NewMessage(StopCCN, 0, 0)
		stop.Add(Uint16AVP(AVPAssignedTunnelID, true, r.id))
		n.lns.Input(peerKey("203.0.113.99:1701", 0), stop.Append(nil))
		synctest.Wait()
		if st := n.lns.Stats(); st.UnknownTunnel != 3 || st.Tunnels != 1 {
			t.Errorf("Stats %+v", st)
		}
		// Data for no session.
		pkt := make([]byte, DataHeaderLen)
		PutDataHeader(pkt, r.lnsID, 7)
		n.lns.Input(key, pkt)
		if st := n.lns.Stats(); st.DataDropped != 1 {
			t.Errorf("Stats %+v", st)
		}
	})
}

func secretOf(b []byte) secret.Secret { return secret.New(b) }

// MaxTunnelsPerPeer: a peer over it is refused, another peer is not.
func TestLNSTunnelsPerPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{MaxTunnelsPerPeer: 1})
		r := n.raw(peerKey("203.0.113.5:1701", 0), 0x1111)
		r.establish()
		second := &rawLAC{t: t, n: n, p: r.p, id: 0x2222}
		second.send(second.sccrq())
		stop := second.expect(StopCCN)
		if res := resultOf(t, &stop); res.Code != 2 || res.ErrorCode != 4 || stop.Header.Nr != 1 {
			t.Errorf("StopCCN %+v %+v", stop.Header, res)
		}
		other := n.raw(peerKey("203.0.113.6:1701", 0), 0x1111)
		other.establish()
		other.call(0x21)
		if st := n.lns.Stats(); st.Tunnels != 2 || st.Refused != 1 {
			t.Errorf("Stats %+v", st)
		}
	})
}

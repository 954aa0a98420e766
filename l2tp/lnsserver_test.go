package l2tp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// lnsNet connects our own LAC (Tunnel) to an LNS inside a synctest bubble
// through the real wire bytes: every datagram either way is encoded, can be
// inspected or dropped, and is decoded by the receiver.
type lnsNet struct {
	t   *testing.T
	lns *LNS
	run chan error

	mu    sync.Mutex
	peers map[PeerKey]*lnsPeer
	drop  func(toLNS bool, m *Message) bool // true drops the datagram
	log   []netMsg                          // control messages seen, both ways

	ups   chan *LNSSession
	downs chan sessionDown
	rx    chan []byte // PPP frames OnData got, copied
}

type netMsg struct {
	toLNS bool
	peer  PeerKey
	m     Message
}

type sessionDown struct {
	s      *LNSSession
	reason error
}

// lnsPeer is one LAC: our Tunnel, or a raw one the test drives (tun nil).
type lnsPeer struct {
	key    PeerKey
	tun    *Tunnel
	runErr chan error
	cancel context.CancelFunc
	raw    chan Message // control messages to a raw LAC
	data   chan []byte  // data messages from the LNS, copied
}

func peerKey(s string, conn uint64) PeerKey {
	return PeerKey{Addr: netip.MustParseAddrPort(s), Conn: conn}
}

// newLNSNet starts an LNS with cfg (Send and the callbacks are the net's).
func newLNSNet(t *testing.T, cfg LNSConfig) *lnsNet {
	n := &lnsNet{t: t, run: make(chan error, 1), peers: make(map[PeerKey]*lnsPeer),
		ups: make(chan *LNSSession, 16), downs: make(chan sessionDown, 16), rx: make(chan []byte, 64)}
	if cfg.HostName == "" {
		cfg.HostName = "test-lns"
	}
	cfg.Send = n.fromLNS
	cfg.OnSession = func(s *LNSSession) { n.ups <- s }
	cfg.OnSessionDown = func(s *LNSSession, reason error) { n.downs <- sessionDown{s, reason} }
	cfg.OnData = func(s *LNSSession, frame []byte) {
		select {
		case n.rx <- bytes.Clone(frame):
		default:
		}
	}
	n.lns = NewLNS(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { n.run <- n.lns.Run(ctx) }()
	t.Cleanup(func() {
		n.mu.Lock()
		for _, p := range n.peers {
			if p.cancel != nil {
				p.cancel()
			}
		}
		n.mu.Unlock()
		cancel()
		<-n.run
	})
	return n
}

// fromLNS is the LNS's Send.
func (n *lnsNet) fromLNS(peer PeerKey, b []byte) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.peers[peer]
	if p == nil {
		n.t.Errorf("LNS sent to unknown peer %v", peer)
		return nil
	}
	h, _, err := ParseHeader(b)
	if err != nil {
		n.t.Errorf("LNS sent an undecodable datagram %x: %v", b, err)
		return nil
	}
	if !h.Control {
		select {
		case p.data <- bytes.Clone(b):
		default:
		}
		return nil
	}
	m, err := ParseMessage(bytes.Clone(b), nil)
	if err != nil {
		n.t.Errorf("LNS sent an undecodable control message %x: %v", b, err)
		return nil
	}
	n.log = append(n.log, netMsg{false, peer, m})
	if n.drop != nil && n.drop(false, &m) {
		return nil
	}
	if p.tun != nil {
		p.tun.Input(b)
	} else {
		p.raw <- m
	}
	return nil
}

// toLNS carries a LAC's control message to the LNS.
func (n *lnsNet) toLNS(peer PeerKey, b []byte) {
	m, err := ParseMessage(bytes.Clone(b), nil)
	n.mu.Lock()
	if err == nil {
		n.log = append(n.log, netMsg{true, peer, m})
		if n.drop != nil && n.drop(true, &m) {
			n.mu.Unlock()
			return
		}
	}
	n.mu.Unlock()
	n.lns.Input(peer, b)
}

// dropFirst drops the first control message of type typ in one direction.
func (n *lnsNet) dropFirst(toLNS bool, typ MessageType) {
	n.mu.Lock()
	defer n.mu.Unlock()
	done := false
	n.drop = func(dir bool, m *Message) bool {
		if !done && dir == toLNS && m.Type == typ {
			done = true
			return true
		}
		return false
	}
}

// count counts the control messages of type typ seen in one direction.
func (n *lnsNet) count(toLNS bool, typ MessageType) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, e := range n.log {
		if e.toLNS == toLNS && e.m.Type == typ {
			c++
		}
	}
	return c
}

// lastFrom returns the last control message of type typ the LNS sent to peer.
func (n *lnsNet) lastFrom(peer PeerKey, typ MessageType) (Message, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := len(n.log) - 1; i >= 0; i-- {
		if e := n.log[i]; !e.toLNS && e.peer == peer && e.m.Type == typ {
			return e.m, true
		}
	}
	return Message{}, false
}

// client starts our LAC at peer with cfg.
func (n *lnsNet) client(peer PeerKey, cfg Config) *lnsPeer {
	p := &lnsPeer{key: peer, runErr: make(chan error, 1), data: make(chan []byte, 64)}
	p.tun = NewTunnel(cfg, func(b []byte) error { n.toLNS(peer, b); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	n.mu.Lock()
	n.peers[peer] = p
	n.mu.Unlock()
	go func() { p.runErr <- p.tun.Run(ctx) }()
	return p
}

// up establishes the tunnel and opens the session; the LNS's OnSession must
// follow.
func (n *lnsNet) up(p *lnsPeer) (TunnelInfo, SessionInfo, *LNSSession) {
	n.t.Helper()
	ti, err := p.tun.Establish(context.Background())
	if err != nil {
		n.t.Fatalf("Establish: %v", err)
	}
	si, err := p.tun.OpenSession(context.Background())
	if err != nil {
		n.t.Fatalf("OpenSession: %v", err)
	}
	s := n.nextUp()
	if s.PeerTunnelID != ti.LocalID || s.TunnelID != ti.PeerID || s.PeerSessionID != si.LocalID || s.SessionID != si.PeerID || s.Peer() != p.key {
		n.t.Fatalf("OnSession %+v does not match the LAC's %+v %+v", s, ti, si)
	}
	return ti, si, s
}

func (n *lnsNet) nextUp() *LNSSession {
	n.t.Helper()
	select {
	case s := <-n.ups:
		return s
	case <-time.After(time.Minute):
		n.t.Fatal("no OnSession")
		return nil
	}
}

func (n *lnsNet) nextDown() sessionDown {
	n.t.Helper()
	select {
	case d := <-n.downs:
		return d
	case <-time.After(2 * time.Minute):
		n.t.Fatal("no OnSessionDown")
		return sessionDown{}
	}
}

func (n *lnsNet) noDown() {
	n.t.Helper()
	synctest.Wait()
	select {
	case d := <-n.downs:
		n.t.Fatalf("unexpected OnSessionDown %v: %v", d.s, d.reason)
	default:
	}
}

// runResult waits for the LAC's Run.
func (p *lnsPeer) runResult(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.runErr:
		return err
	case <-time.After(2 * time.Minute):
		t.Fatal("the LAC's Run did not return")
		return nil
	}
}

// tunnelsGone waits until the LNS has no tunnel left.
func (n *lnsNet) tunnelsGone() {
	n.t.Helper()
	for range 120 {
		synctest.Wait()
		if n.lns.Stats().Tunnels == 0 {
			return
		}
		wait(time.Second) // fake time
	}
	n.t.Fatalf("LNS still has tunnels: %+v", n.lns.Stats())
}

// lacData frames a PPP frame as our LAC's data path does.
func lacData(ti TunnelInfo, si SessionInfo, seq *DataSequence, frame []byte) []byte {
	buf := make([]byte, DataHeaderSeqLen+len(frame))
	copy(buf[DataHeaderSeqLen:], frame)
	start := seq.PutHeader(buf, DataHeaderSeqLen, ti.PeerID, si.PeerID)
	return buf[start:]
}

func TestLNSTunnelSessionDataClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{Config: Config{VendorName: "lns-vendor", ReceiveWindow: 8}})
		p := n.client(peerKey("192.0.2.10:1701", 1), Config{HostName: "lac-1", VendorName: "lac-vendor"})
		ti, si, s := n.up(p)
		if ti.PeerHostName != "test-lns" || ti.PeerVendor != "lns-vendor" || ti.PeerWindow != 8 || ti.PeerProtocolVersion != 0x0100 || ti.Authenticated {
			t.Errorf("LAC's TunnelInfo %+v", ti)
		}
		if s.PeerHostName != "lac-1" || s.PeerVendor != "lac-vendor" || s.TunnelAuthenticated {
			t.Errorf("LNSSession %+v", s)
		}
		if n.lns.DataSession(s.TunnelID, s.SessionID) != s {
			t.Error("DataSession does not find the session")
		}

		// LAC → LNS data, through Input and OnData.
		var seq DataSequence
		n.lns.Input(p.key, lacData(ti, si, &seq, []byte{0xff, 0x03, 0x00, 0x21, 1, 2, 3}))
		if got := <-n.rx; !bytes.Equal(got, []byte{0xff, 0x03, 0x00, 0x21, 1, 2, 3}) {
			t.Errorf("OnData got %x", got)
		}
		// The same from another peer is dropped.
		n.lns.Input(peerKey("192.0.2.99:1701", 1), lacData(ti, si, &seq, []byte{1}))
		if st := n.lns.Stats(); st.DataReceived != 1 || st.DataDropped != 1 {
			t.Errorf("Stats %+v", st)
		}

		// LNS → LAC data: framed in place, decoded as our LAC's data path does.
		buf := make([]byte, 64)
		copy(buf[16:], "ppp-frame")
		start := s.PutHeader(buf, 16)
		if err := n.lns.cfg.Send(s.Peer(), buf[start:16+9]); err != nil {
			t.Fatal(err)
		}
		d := <-p.data
		h, payload, err := ParseHeader(d)
		if err != nil || h.TunnelID != ti.LocalID || h.SessionID != si.LocalID || string(payload) != "ppp-frame" {
			t.Errorf("data to the LAC: %+v %q %v", h, payload, err)
		}

		// The LAC closes: CDN (result 3) and StopCCN (result 1).
		if err := p.tun.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
		down := n.nextDown()
		var re *ResultError
		if down.s != s || !errors.As(down.reason, &re) || re.Message != CDN || re.Result != 3 {
			t.Errorf("OnSessionDown %v: %v", down.s, down.reason)
		}
		n.tunnelsGone()
		if n.lns.DataSession(s.TunnelID, s.SessionID) != nil {
			t.Error("DataSession finds a closed session")
		}
		if err := p.runResult(t); err != nil {
			t.Errorf("LAC Run: %v", err)
		}
		if st := n.lns.Stats(); st.Sessions != 0 || st.Malformed != 0 || st.UnknownTunnel != 0 {
			t.Errorf("Stats %+v", st)
		}
	})
}

func TestLNSTunnelAuth(t *testing.T) {
	key := []byte("shared tunnel secret")
	other := []byte("another secret")
	for _, tt := range []struct {
		name      string
		lac, lns  []byte
		wantErr   string // substring of the LAC's Establish error; "" means up
		wantAuth  bool
		lnsReason error // why the LNS's tunnel ended
	}{
		{name: "both", lac: key, lns: key, wantAuth: true},
		{name: "lns only", lns: key, wantErr: "requires a tunnel secret"},
		{name: "lac only", lac: key, wantErr: "not authorized"},
		{name: "wrong secret", lac: other, lns: key, wantErr: "tunnel secrets differ"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := newLNSNet(t, LNSConfig{Config: Config{Secret: secret.New(tt.lns)}})
				p := n.client(peerKey("192.0.2.10:1701", 1), Config{Secret: secret.New(tt.lac)})
				if tt.wantErr == "" {
					ti, _, s := n.up(p)
					if ti.Authenticated != tt.wantAuth || s.TunnelAuthenticated != tt.wantAuth {
						t.Errorf("authenticated: LAC %v, LNS %v", ti.Authenticated, s.TunnelAuthenticated)
					}
					return
				}
				_, err := p.tun.Establish(context.Background())
				if err == nil || !errors.Is(err, ErrTunnelAuth) || !contains(err.Error(), tt.wantErr) {
					t.Errorf("Establish: %v", err)
				}
				n.tunnelsGone()
				if n.count(false, SCCCN) != 0 || n.lns.Stats().Sessions != 0 {
					t.Error("tunnel came up")
				}
			})
		})
	}
}

func contains(s, sub string) bool { return bytes.Contains([]byte(s), []byte(sub)) }

// Two LACs, one of them with two tunnels: IDs are unique, data goes to the
// right session, closing one leaves the others.
func TestLNSManyTunnels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{})
		// Two tunnels behind one NAT address, told apart by port; one more
		// from the same address through another transport (Conn).
		peers := []*lnsPeer{
			n.client(peerKey("198.51.100.7:1701", 1), Config{HostName: "a"}),
			n.client(peerKey("198.51.100.7:4500", 1), Config{HostName: "b"}),
			n.client(peerKey("198.51.100.7:4500", 2), Config{HostName: "c"}),
		}
		var tis []TunnelInfo
		var sis []SessionInfo
		var ss []*LNSSession
		for _, p := range peers {
			ti, si, s := n.up(p)
			tis, sis, ss = append(tis, ti), append(sis, si), append(ss, s)
		}
		if ss[0].TunnelID == ss[1].TunnelID || ss[1].TunnelID == ss[2].TunnelID || ss[0].TunnelID == ss[2].TunnelID {
			t.Errorf("tunnel IDs not unique: %d %d %d", ss[0].TunnelID, ss[1].TunnelID, ss[2].TunnelID)
		}
		if st := n.lns.Stats(); st.Tunnels != 3 || st.Sessions != 3 {
			t.Errorf("Stats %+v", st)
		}
		for i, p := range peers {
			var seq DataSequence
			n.lns.Input(p.key, lacData(tis[i], sis[i], &seq, []byte{byte(i)}))
			if got := <-n.rx; !bytes.Equal(got, []byte{byte(i)}) {
				t.Errorf("peer %d: OnData %x", i, got)
			}
		}
		// A peer cannot use another's tunnel ID.
		var seq DataSequence
		n.lns.Input(peers[0].key, lacData(tis[1], sis[1], &seq, []byte{9}))
		if s, _ := n.lns.Data(peers[0].key, lacData(tis[1], sis[1], &seq, []byte{9})); s != nil {
			t.Error("Data accepted another peer's session")
		}
		if st := n.lns.Stats(); st.DataDropped != 2 {
			t.Errorf("Stats %+v", st)
		}
		if err := peers[1].tun.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d := n.nextDown(); d.s != ss[1] {
			t.Errorf("OnSessionDown for %v, want %v", d.s, ss[1])
		}
		n.noDown()
		synctest.Wait()
		if st := n.lns.Stats(); st.Tunnels != 2 || st.Sessions != 2 {
			t.Errorf("Stats %+v", st)
		}
	})
}

// Debug logging on the LNS names challenges and responses but never prints
// the secret.
func TestLNSLogNoSecret(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		n := newLNSNet(t, LNSConfig{Config: Config{Secret: secret.New(testSecret), Logger: log}})
		ok := n.client(peerKey("192.0.2.10:1701", 1), Config{Secret: secret.New(testSecret)})
		n.up(ok)
		bad := n.client(peerKey("192.0.2.11:1701", 1), Config{Secret: secret.FromString("wrong")})
		if _, err := bad.tun.Establish(context.Background()); !errors.Is(err, ErrTunnelAuth) {
			t.Errorf("Establish: %v", err)
		}
		ok.tun.Close(context.Background())
		n.nextDown()
		n.tunnelsGone()
		out := logs.String()
		for _, want := range []string{"received SCCRQ", "sending SCCRP", "challenge-response", "tunnel established", "session established", "authenticated=true"} {
			if !contains(out, want) {
				t.Errorf("log lacks %q", want)
			}
		}
		if contains(out, string(testSecret)) {
			t.Error("the secret is in the log")
		}
	})
}

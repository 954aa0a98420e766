package l2tp

// The LNS role of RFC 2661: many LACs, many tunnels per LAC, many sessions
// per tunnel, driven by a supervisor that owns the sockets.
//
//	lns := l2tp.NewLNS(l2tp.LNSConfig{Send: send, OnSession: up, OnSessionDown: down, OnData: ppp})
//	go lns.Run(ctx)                  // returns when ctx ends and every tunnel is gone
//	lns.Input(peer, datagram)        // every received L2TP datagram, control or data
//	s.PutHeader(buf, frame)          // outgoing PPP: L2TP data header into the headroom
//	lns.CloseSession(s, res) / lns.CloseTunnel(tunnelID, res)   // CDN / StopCCN
//
// A PeerKey names the transport a datagram came through (address and port,
// plus a number the supervisor picks, e.g. to tell an ESP SA from plain UDP);
// replies go out through LNSConfig.Send to the same key.
//
// Concurrency: each tunnel is the same control loop as the LAC's Tunnel (one
// goroutine owning its transport, state machines and timers, loop.go,
// transport.go), playing the LNS's half of the handshakes (lns_tunnel.go,
// lns_session.go). The LNS itself only routes: a mutex guards the tunnel
// table, which Input consults to hand control messages to a tunnel's loop
// (copied, never blocking); a separate RWMutex guards the table of sessions
// that are up, which the data path reads without allocating. Input, Data,
// CloseSession, CloseTunnel and Stats are safe from any goroutine. The
// callbacks run on the tunnel's loop goroutine (OnData on the caller's of
// Input): they must not block for long; they may call the LNS's methods.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// PeerKey identifies the transport of a tunnel's peer. It is comparable and
// opaque to the LNS: Addr is the peer's address and port as the supervisor
// sees it, Conn anything the supervisor needs to tell transports apart (an ESP
// SA, a socket). Messages for a tunnel are accepted only from its PeerKey.
type PeerKey struct {
	Addr netip.AddrPort
	Conn uint64
}

// LNSConfig configures an LNS. The embedded Config gives our Host Name,
// Vendor Name, Firmware Revision, Receive Window, tunnel secret (Secret: when
// set, every tunnel must authenticate, RFC 2661 5.1.1, and we answer the
// LAC's challenge), HELLO interval, retransmission, logger and randomness
// (Rand must be safe for concurrent use; crypto/rand is). Zero limits get the
// defaults named in their comments.
type LNSConfig struct {
	Config

	// Send transmits one whole L2TP datagram to peer. It must not keep b
	// after it returns; an error counts as a lost datagram. Required.
	Send func(peer PeerKey, b []byte) error

	// OnSession is called when a session is up (ICCN received); the
	// session's data is accepted from then on. OnSessionDown is called once
	// for every session OnSession saw, when it ends, with why: a
	// *ResultError for the LAC's CDN or StopCCN, a *LocalCloseError for ours,
	// or the tunnel's error (ErrTimeout, ErrTunnelAuth, ...). Both optional.
	OnSession     func(s *LNSSession)
	OnSessionDown func(s *LNSSession, reason error)

	// OnData gets the PPP frame of each data message Input accepts for a
	// session that is up. frame aliases Input's b. Optional (use Data
	// instead).
	OnData func(s *LNSSession, frame []byte)

	MaxTunnels           int           // tunnels at once; default 1024
	MaxTunnelsPerPeer    int           // tunnels at once per PeerKey; default 16
	MaxSessions          int           // sessions at once, all tunnels; default 4096
	MaxSessionsPerTunnel int           // default 256
	SetupTimeout         time.Duration // a tunnel without SCCCN, a session without ICCN, after this is cleared; default 30s
}

// LNS defaults.
const (
	DefaultMaxTunnels           = 1024
	DefaultMaxTunnelsPerPeer    = 16
	DefaultMaxSessions          = 4096
	DefaultMaxSessionsPerTunnel = 256
	DefaultSetupTimeout         = 30 * time.Second
)

func (c LNSConfig) withDefaults() LNSConfig {
	c.Config = c.Config.withDefaults()
	if c.MaxTunnels <= 0 {
		c.MaxTunnels = DefaultMaxTunnels
	}
	if c.MaxTunnelsPerPeer <= 0 {
		c.MaxTunnelsPerPeer = DefaultMaxTunnelsPerPeer
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.MaxSessionsPerTunnel <= 0 {
		c.MaxSessionsPerTunnel = DefaultMaxSessionsPerTunnel
	}
	if c.SetupTimeout <= 0 {
		c.SetupTimeout = DefaultSetupTimeout
	}
	if c.Send == nil {
		c.Send = func(PeerKey, []byte) error { return errors.New("l2tp: lns: no Send func configured") }
	}
	return c
}

// LNSStats counts what the LNS did with datagrams before they reached a
// tunnel or session. Per-tunnel control counters are in TunnelStats.
type LNSStats struct {
	Tunnels, Sessions uint64 // now
	Malformed         uint64 // undecodable datagrams, dropped
	UnknownTunnel     uint64 // control messages for no tunnel of this peer, dropped
	Refused           uint64 // SCCRQs and ICRQs refused for a limit
	DataReceived      uint64 // data messages delivered
	DataDropped       uint64 // data messages for no session that is up (or from another peer), or late
	InputDropped      uint64 // a tunnel's queue was full
}

type lnsCounters struct {
	sessions                             atomic.Int64
	malformed, unknownTunnel, refused    atomic.Uint64
	dataReceived, dataDropped, inputDrop atomic.Uint64
}

// tunnelKey finds a tunnel by its LAC's Assigned Tunnel ID, for a
// retransmitted SCCRQ (5.8) and messages sent to tunnel 0.
type tunnelKey struct {
	peer PeerKey
	id   uint16
}

// LNS is the server side of L2TPv2. See the top of this file.
type LNS struct {
	cfg LNSConfig
	st  lnsCounters

	ctx    context.Context // the tunnels' loops run in it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	tunnels map[uint16]*lnsTunnel // by our tunnel ID
	byPeer  map[tunnelKey]*lnsTunnel
	perPeer map[PeerKey]int

	dataMu sync.RWMutex
	data   map[uint32]*LNSSession // sessions that are up, by our tunnel ID << 16 | our session ID
}

// NewLNS returns an LNS. Its tunnels run until Run's context ends.
func NewLNS(cfg LNSConfig) *LNS {
	ctx, cancel := context.WithCancel(context.Background())
	return &LNS{
		cfg:     cfg.withDefaults(),
		ctx:     ctx,
		cancel:  cancel,
		tunnels: make(map[uint16]*lnsTunnel),
		byPeer:  make(map[tunnelKey]*lnsTunnel),
		perPeer: make(map[PeerKey]int),
		data:    make(map[uint32]*LNSSession),
	}
}

// Run waits for ctx to end, then stops every tunnel at once (no StopCCN:
// CloseAll first for a polite shutdown) and returns ctx.Err() when
// all are gone. Input drops everything afterwards.
func (n *LNS) Run(ctx context.Context) error {
	<-ctx.Done()
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.cancel()
	n.wg.Wait()
	return ctx.Err()
}

// Stats returns the LNS's counters. Safe from any goroutine.
func (n *LNS) Stats() LNSStats {
	n.mu.Lock()
	tunnels := len(n.tunnels)
	n.mu.Unlock()
	return LNSStats{
		Tunnels:       uint64(tunnels),
		Sessions:      uint64(n.st.sessions.Load()),
		Malformed:     n.st.malformed.Load(),
		UnknownTunnel: n.st.unknownTunnel.Load(),
		Refused:       n.st.refused.Load(),
		DataReceived:  n.st.dataReceived.Load(),
		DataDropped:   n.st.dataDropped.Load(),
		InputDropped:  n.st.inputDrop.Load(),
	}
}

// TunnelStats returns the control counters of our tunnel id.
func (n *LNS) TunnelStats(id uint16) (Stats, bool) {
	n.mu.Lock()
	lt := n.tunnels[id]
	n.mu.Unlock()
	if lt == nil {
		return Stats{}, false
	}
	return lt.t.Stats(), true
}

// Input takes one datagram received from peer: the whole L2TP message,
// header included. Data messages go to OnData (without allocating); control
// messages to their tunnel's loop, a new one for a new SCCRQ. Anything
// undecodable or not meant for a tunnel of peer is dropped and counted.
func (n *LNS) Input(peer PeerKey, b []byte) {
	h, payload, err := ParseHeader(b)
	if err != nil {
		n.st.malformed.Add(1)
		return
	}
	if !h.Control {
		if s := n.dataSession(peer, &h); s != nil && n.cfg.OnData != nil {
			n.cfg.OnData(s, payload)
		}
		return
	}
	n.control(peer, &h, b)
}

// Data decodes a data message from peer and returns its session and PPP
// frame (aliasing b), or nil if it is not a data message for a session of
// peer that is up, or arrived late on a sequenced session (RFC 2661 5.4). A
// control message gives nil too: hand it to Input.
// It marks the tunnel alive for HELLO. It does not allocate.
func (n *LNS) Data(peer PeerKey, b []byte) (*LNSSession, []byte) {
	h, payload, err := ParseHeader(b)
	if err != nil {
		n.st.malformed.Add(1)
		return nil, nil
	}
	if h.Control {
		return nil, nil
	}
	if s := n.dataSession(peer, &h); s != nil {
		return s, payload
	}
	return nil, nil
}

// DataSession returns the session that is up with our tunnel and session
// IDs, or nil. It does not allocate.
func (n *LNS) DataSession(tunnelID, sessionID uint16) *LNSSession {
	n.dataMu.RLock()
	s := n.data[uint32(tunnelID)<<16|uint32(sessionID)]
	n.dataMu.RUnlock()
	return s
}

func (n *LNS) dataSession(peer PeerKey, h *Header) *LNSSession {
	s := n.DataSession(h.TunnelID, h.SessionID)
	if s == nil || s.peer != peer || !s.seq.Received(h) {
		n.st.dataDropped.Add(1)
		return nil
	}
	s.tunnel.t.DataReceived()
	n.st.dataReceived.Add(1)
	return s
}

// control routes a control message to its tunnel, starting one for a new
// SCCRQ.
func (n *LNS) control(peer PeerKey, h *Header, b []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	if h.TunnelID != 0 {
		lt := n.tunnels[h.TunnelID]
		if lt == nil || lt.peer != peer {
			n.st.unknownTunnel.Add(1)
			return
		}
		n.enqueue(lt, b)
		return
	}
	// Tunnel 0: an SCCRQ, or a message from a LAC that never learned our ID
	// (5.3), found by its own Assigned Tunnel ID.
	m, err := ParseMessage(b, n.cfg.Secret.Bytes())
	if err != nil {
		n.st.malformed.Add(1)
		return
	}
	id, err := findUint16(&m, AVPAssignedTunnelID)
	if err != nil || id == 0 {
		if m.Type == SCCRQ {
			n.st.malformed.Add(1)
		} else {
			n.st.unknownTunnel.Add(1)
		}
		return
	}
	if lt := n.byPeer[tunnelKey{peer, id}]; lt != nil {
		n.enqueue(lt, b) // a retransmitted SCCRQ: the transport re-acks it
		return
	}
	if m.Type != SCCRQ {
		n.st.unknownTunnel.Add(1)
		return
	}
	if len(n.tunnels) >= n.cfg.MaxTunnels || n.perPeer[peer] >= n.cfg.MaxTunnelsPerPeer {
		n.st.refused.Add(1)
		n.refuseSCCRQ(peer, &m, id)
		return
	}
	lt, err := n.newTunnel(peer, id)
	if err != nil {
		n.cfg.Logger.Warn("l2tp: lns: cannot start a tunnel", "peer", peer.Addr, "err", err)
		return
	}
	n.enqueue(lt, b)
}

func (n *LNS) enqueue(lt *lnsTunnel, b []byte) {
	if !lt.t.Input(b) {
		n.st.inputDrop.Add(1)
	}
}

// refuseSCCRQ answers an SCCRQ we have no room for with a StopCCN (result 2,
// error 4: insufficient resources) and keeps no state: the LAC acknowledges
// it into the void and gives up at once instead of retransmitting.
func (n *LNS) refuseSCCRQ(peer PeerKey, rq *Message, peerID uint16) {
	m := NewMessage(StopCCN, peerID, 0)
	m.Header.Ns, m.Header.Nr = 0, rq.Header.Ns+1
	m.Add(Result{Code: 2, ErrorCode: 4, Message: "too many tunnels"}.AVP())
	n.cfg.Logger.Info("refusing tunnel: limit reached", "peer", peer.Addr, "tunnels", len(n.tunnels))
	_ = n.cfg.Send(peer, m.Append(nil))
}

// randomID returns a random ID that is neither 0 nor in use.
func randomID(r io.Reader, inUse func(uint16) bool) (uint16, error) {
	var b [2]byte
	for range 64 {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, fmt.Errorf("l2tp: reading random bytes: %w", err)
		}
		if id := binary.BigEndian.Uint16(b[:]); id != 0 && !inUse(id) {
			return id, nil
		}
	}
	return 0, errors.New("l2tp: the random source keeps returning IDs that are zero or in use")
}

// newTunnel starts the loop of a new tunnel; n.mu is held.
func (n *LNS) newTunnel(peer PeerKey, peerID uint16) (*lnsTunnel, error) {
	id, err := randomID(n.cfg.Rand, func(id uint16) bool { return n.tunnels[id] != nil })
	if err != nil {
		return nil, err
	}
	cfg := n.cfg.Config
	cfg.Logger = cfg.Logger.With(slog.String("peer", peer.Addr.String()), slog.Int("tunnel", int(id)))
	lt := &lnsTunnel{lns: n, peer: peer, localID: id, peerID: peerID}
	lt.t = NewTunnel(cfg, func(b []byte) error { return n.cfg.Send(peer, b) })
	lt.t.lns = lt
	n.tunnels[id] = lt
	n.byPeer[tunnelKey{peer, peerID}] = lt
	n.perPeer[peer]++
	n.wg.Add(1)
	go n.runTunnel(lt)
	return lt, nil
}

// runTunnel runs a tunnel's loop and forgets the tunnel when it ends.
func (n *LNS) runTunnel(lt *lnsTunnel) {
	defer n.wg.Done()
	expire := time.AfterFunc(n.cfg.SetupTimeout, lt.setupExpired)
	lt.t.Run(n.ctx)
	expire.Stop()
	n.mu.Lock()
	delete(n.tunnels, lt.localID)
	delete(n.byPeer, tunnelKey{lt.peer, lt.peerID})
	if n.perPeer[lt.peer]--; n.perPeer[lt.peer] <= 0 {
		delete(n.perPeer, lt.peer)
	}
	n.mu.Unlock()
}

// CloseTunnel clears our tunnel id: a CDN (result 3) for each session, then
// a StopCCN with res (RFC 2661 4.4.2: 1 general request, 6 shutting down,
// ...), retransmitted until acknowledged. It returns at once; false if there
// is no such tunnel.
func (n *LNS) CloseTunnel(id uint16, res Result) bool {
	n.mu.Lock()
	lt := n.tunnels[id]
	n.mu.Unlock()
	if lt == nil {
		return false
	}
	lt.do(func(l *loop) { l.lnsCloseTunnel(res) })
	return true
}

// CloseAll clears every tunnel as CloseTunnel does (res 6, shutting down,
// for a server that stops): call it, wait for OnSessionDown or a grace
// period, then end Run's context.
func (n *LNS) CloseAll(res Result) {
	n.mu.Lock()
	ids := make([]uint16, 0, len(n.tunnels))
	for id := range n.tunnels {
		ids = append(ids, id)
	}
	n.mu.Unlock()
	for _, id := range ids {
		n.CloseTunnel(id, res)
	}
}

// CloseSession clears s with a CDN carrying res (RFC 2661 4.4.2: 3
// administrative, ...). OnSessionDown follows with a *LocalCloseError. It
// returns at once.
func (n *LNS) CloseSession(s *LNSSession, res Result) {
	s.tunnel.do(func(l *loop) { l.lnsCloseSession(s, res) })
}

// LocalCloseError is the reason OnSessionDown gives for a session we
// cleared: by CloseSession or CloseTunnel, or because the LAC broke the
// protocol. It matches ErrClosed.
type LocalCloseError struct {
	Message MessageType // CDN or StopCCN
	Result  Result
}

func (e *LocalCloseError) Error() string {
	return fmt.Sprintf("l2tp: lns: cleared by us (%s, result %d, error %d)", e.Message, e.Result.Code, e.Result.ErrorCode)
}

// Is makes a LocalCloseError match ErrClosed.
func (e *LocalCloseError) Is(target error) bool { return target == ErrClosed }

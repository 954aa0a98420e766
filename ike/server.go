package ike

// Responder is the IKEv1 responder of `l2tpvpn serve`: Main Mode with a
// pre-shared key and Quick Mode for many clients at once, with NAT traversal
// (RFC 3947 and its drafts), dead peer detection (RFC 3706) both ways,
// deletes both ways, child SA rekeys started by either side and
// INITIAL-CONTACT. It
// shares the codec, keying, proposal and hash code of the initiator
// (Session); only the straight-line handshakes are its own:
//
//	server.go        the API, dispatch, timers (this file)
//	server_mm.go     Main Mode, responder side
//	server_qm.go     Quick Mode, responder side, and the child SAs
//	server_rekey.go  Quick Mode, initiator side: our rekeys of child SAs
//	server_info.go   informational exchanges: DPD, Delete, notifications
//	server_peer.go   peers: up, rekeyed, gone, INITIAL-CONTACT, status
//
// The API a supervisor drives:
//
//	r, err := NewResponder(ResponderConfig{PSK: ..., Send: ..., OnChildSA: ..., ForceEncap: true})
//	go r.Run(ctx)                  // timers; or call Tick(now) yourself
//	r.Input(from, local, natt, b)  // every IKE datagram from 500, or 4500 without the non-ESP marker
//	r.Alive(peer)                  // an authenticated ESP packet came from peer: postpones DPD
//	r.Peers()                      // status snapshot
//	r.Disconnect(peer)             // administrative disconnect (deletes sent)
//	r.Close()                      // deletes everything, as at shutdown
//
// A peer is one client, named by the address and port its IKE messages come
// from after the float to 4500: clients behind one NAT differ by port. Its
// ISAKMP SAs are found by their cookies; a phase 1 rekey from the same
// address and identity joins the same peer.
//
// Concurrency: every method is safe for concurrent use; one mutex guards
// all state. The callbacks (Send, OnChildSA, OnChildDeleted, OnPeerGone)
// run after the mutex is released, on the goroutine of the call that caused
// them (Input, Tick, Disconnect, Close), in order; they may call back into
// the Responder.

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

// Defaults of ResponderConfig.
const (
	DefaultMaxPeers       = 4096
	DefaultMaxHalfOpen    = 1024
	DefaultHalfOpenExpiry = 30 * time.Second
)

// ResponderConfig configures a Responder.
type ResponderConfig struct {
	// PSK is the pre-shared key of every client. PSKFor, if set, chooses
	// it by the client's address instead (false: refuse the client). Main
	// Mode encrypts the client's identity with a key made from the PSK, so
	// the key cannot be chosen by that identity.
	PSK    secret.Secret
	PSKFor func(peer netip.AddrPort) (secret.Secret, bool)
	// IKE and ESP are the acceptable proposals; the first transform the
	// client offers that is in the list is chosen. Nil means
	// DefaultIKEProposals / DefaultESPProposals (which include the legacy
	// 3des-sha1-modp1024). ESP groups are ignored: a client that asks for
	// PFS gets it with any supported group.
	IKE []IKEProposal
	ESP []ESPProposal
	// Modes are the acceptable ESP modes; nil means transport and tunnel.
	Modes []esp.Mode
	// LocalID is our phase 1 identity; zero means the local address the
	// client sent to.
	LocalID ID
	// IKELifetime and ESPLifetime are the longest lifetimes accepted; a
	// client asking for more is told ours (RESPONDER-LIFETIME). Zero means
	// DefaultIKELifetime, DefaultESPLifetime.
	IKELifetime, ESPLifetime time.Duration
	// ESPRekeyMargin is how long before a child SA expires we replace it
	// with a Quick Mode of our own, less up to 5% of its lifetime of random
	// jitter, unless the client replaced it first (server_rekey.go). Zero
	// means 10% of the lifetime (we start at 85-90% of it); it is capped
	// at half the lifetime. Negative: we never start a Quick Mode, and a
	// pair the client does not replace in time is deleted when it expires.
	ESPRekeyMargin time.Duration
	// ForceEncap makes every client UDP-encapsulate ESP (RFC 3948, port
	// 4500), for a server that cannot receive raw ESP (IP protocol 50):
	// our Main Mode 4 makes a client believe it is behind a NAT (the NAT-D
	// hash of its address does not match), so it floats to port 4500 and
	// asks for UDP-Transport or UDP-Tunnel, and Quick Modes asking for
	// plain Transport or Tunnel are refused (NO-PROPOSAL-CHOSEN). A client
	// without NAT traversal (RFC 3947 or its drafts) cannot get a child SA;
	// that is logged once per peer.
	ForceEncap bool
	// DPDDelay is the idle time after which we ask a client that supports
	// DPD whether it is alive; Retransmits R-U-THEREs later without an
	// answer the peer is gone. Zero means DefaultDPDDelay, negative
	// disables our probes (theirs are always answered).
	DPDDelay time.Duration
	// RetransmitTimeout (doubling up to 8 s) and Retransmits govern the
	// messages we send that await an answer: R-U-THERE, Quick Mode 2 and
	// the Quick Mode 1 of our rekeys.
	RetransmitTimeout time.Duration
	Retransmits       int
	// MaxPeers caps the established peers and MaxHalfOpen the Main Modes
	// in progress; HalfOpenExpiry is how long a Main Mode may take.
	MaxPeers, MaxHalfOpen int
	HalfOpenExpiry        time.Duration

	// Send transmits one ISAKMP message to a client: natt says from our
	// port 4500, with the non-ESP marker the caller prepends.
	Send func(to netip.AddrPort, natt bool, b []byte) error
	// OnChildSA hands over a new child SA pair; OnChildDeleted withdraws
	// one (deleted by either side, expired, or its peer gone). OnPeerGone
	// reports a peer that is gone, with why; its children were withdrawn
	// first. Any may be nil.
	OnChildSA      func(ResponderChild)
	OnChildDeleted func(ResponderChild)
	OnPeerGone     func(peer netip.AddrPort, reason string)

	// Now is the clock (time.Now if nil); Rand the randomness for cookies,
	// nonces, SPIs and DH (crypto/rand if nil); Logger gets one Info line
	// per phase and one Debug line per message (nil: discard).
	Now    func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
}

// ResponderStats counts what a Responder dropped or refused.
type ResponderStats struct {
	Malformed       uint64 // not an ISAKMP message we can read
	UnknownSA       uint64 // for no SA we know, or not valid in its state
	NoProposal      uint64 // refused: no acceptable proposal
	AuthFailed      uint64 // Main Mode 5 that did not decrypt or verify
	HalfOpenExpired uint64 // Main Modes not finished in time
	OverLimit       uint64 // refused by MaxPeers / MaxHalfOpen
}

// Responder is the IKEv1 responder; see the top of this file.
type Responder struct {
	cfg  ResponderConfig
	log  *slog.Logger
	rand io.Reader
	now  func() time.Time
	wake chan struct{}

	mu       sync.Mutex
	sas      map[[16]byte]*rSA // every ISAKMP SA, by its cookies
	halfOpen int
	peers    map[netip.AddrPort]*rpeer
	spis     map[uint32]bool // our inbound SPIs, unique server-wide
	stats    ResponderStats
	actions  []func() // callbacks to run once mu is released
	closed   bool
}

// rSA is one ISAKMP SA at the responder.
type rSA struct {
	ikeSA
	from, local netip.AddrPort // where the client's messages come from, and to
	natt        bool           // they come on port 4500
	natT        bool           // NAT-T negotiated (RFC 3947 or a draft)
	natPeer     bool           // NAT-D: the client is behind a NAT
	natUs       bool           // NAT-D: we are
	longerLife  bool           // the client asked for more than IKELifetime
	peer        *rpeer         // set once established
	qm          map[uint32]*rqm
}

// NewResponder checks cfg and returns a Responder.
func NewResponder(cfg ResponderConfig) (*Responder, error) {
	if cfg.PSK.IsZero() && cfg.PSKFor == nil {
		return nil, errors.New("ike: responder: no pre-shared key")
	}
	if cfg.Send == nil {
		return nil, errors.New("ike: responder: no Send function")
	}
	if cfg.IKE == nil {
		cfg.IKE = DefaultIKEProposals()
	}
	if cfg.ESP == nil {
		cfg.ESP = DefaultESPProposals()
	}
	if len(cfg.IKE) == 0 || len(cfg.ESP) == 0 {
		return nil, errors.New("ike: responder: no proposals")
	}
	if cfg.Modes == nil {
		cfg.Modes = []esp.Mode{esp.Transport, esp.Tunnel}
	}
	if cfg.IKELifetime <= 0 {
		cfg.IKELifetime = DefaultIKELifetime
	}
	if cfg.ESPLifetime <= 0 {
		cfg.ESPLifetime = DefaultESPLifetime
	}
	if cfg.DPDDelay == 0 {
		cfg.DPDDelay = DefaultDPDDelay
	}
	if cfg.RetransmitTimeout <= 0 {
		cfg.RetransmitTimeout = DefaultRetransmitTimeout
	}
	if cfg.Retransmits <= 0 {
		cfg.Retransmits = DefaultRetransmits
	}
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = DefaultMaxPeers
	}
	if cfg.MaxHalfOpen <= 0 {
		cfg.MaxHalfOpen = DefaultMaxHalfOpen
	}
	if cfg.HalfOpenExpiry <= 0 {
		cfg.HalfOpenExpiry = DefaultHalfOpenExpiry
	}
	r := &Responder{cfg: cfg, log: cfg.Logger, rand: cfg.Rand, now: cfg.Now, wake: make(chan struct{}, 1),
		sas: map[[16]byte]*rSA{}, peers: map[netip.AddrPort]*rpeer{}, spis: map[uint32]bool{}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.rand == nil {
		r.rand = cryptorand.Reader
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r, nil
}

// Input takes one received IKE datagram: from is the client's address and
// port, local ours, natt says it came on port 4500 (the non-ESP marker
// already stripped). b is not retained. Malformed or unexpected input is
// dropped and counted (Stats), never answered with more than it carried.
func (r *Responder) Input(from, local netip.AddrPort, natt bool, b []byte) {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	r.do(func(now time.Time) { r.input(from, local, natt, b, now) })
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Alive records an authenticated ESP packet from peer, which postpones
// dead peer detection.
func (r *Responder) Alive(peer netip.AddrPort) {
	r.do(func(now time.Time) {
		if p := r.peers[peer]; p != nil {
			p.lastRx = now
		}
	})
}

// Stats returns the counters of dropped and refused input.
func (r *Responder) Stats() ResponderStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Run calls Tick whenever it is due (and after each Input) until ctx is
// cancelled. It uses real timers: with an injected clock that does not
// follow time.Now, call Tick instead.
func (r *Responder) Run(ctx context.Context) error {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		now := r.now()
		t.Reset(r.Tick(now).Sub(now))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-r.wake:
		}
	}
}

// Tick runs the timers that are due at now (expiries, retransmissions, DPD,
// half-open Main Modes) and returns when it must run next.
func (r *Responder) Tick(now time.Time) time.Time {
	next := now.Add(time.Hour)
	r.do(func(time.Time) { next = r.tick(now, next) })
	return next
}

// do runs f under the lock, then the callbacks it queued.
func (r *Responder) do(f func(now time.Time)) {
	r.mu.Lock()
	f(r.now())
	acts := r.actions
	r.actions = nil
	r.mu.Unlock()
	for _, a := range acts {
		a()
	}
}

// later queues a callback to run once the lock is released.
func (r *Responder) later(f func()) { r.actions = append(r.actions, f) }

// sendTo queues a message to a client.
func (r *Responder) sendTo(to netip.AddrPort, natt bool, b []byte, what string) {
	r.log.Debug("ike: sending "+what, "peer", to)
	r.later(func() {
		if err := r.cfg.Send(to, natt, b); err != nil {
			r.log.Debug("ike: send failed", "peer", to, "message", what, "err", err)
		}
	})
}

func (r *Responder) input(from, local netip.AddrPort, natt bool, b []byte, now time.Time) {
	if r.closed {
		return
	}
	if isFragment(b) {
		// We do not announce IKE fragmentation, so a client must not send
		// fragments.
		r.stats.Malformed++
		r.log.Debug("ike: dropping an IKE fragment (not negotiated)", "peer", from)
		return
	}
	m, err := Parse(b)
	if err != nil {
		r.stats.Malformed++
		r.log.Debug("ike: dropping malformed message", "peer", from, "err", err)
		return
	}
	raw := b[:m.Header.Length]
	h := m.Header
	if h.ResponderCookie == ([8]byte{}) {
		if h.Exchange != ExchangeIDProt || h.Flags&FlagEncryption != 0 || h.MessageID != 0 {
			r.stats.UnknownSA++
			r.log.Debug("ike: dropping a message without responder cookie", "peer", from, "exchange", h.Exchange)
			return
		}
		r.mainMode1(from, local, natt, m, raw, now)
		return
	}
	sa := r.sas[cookieKey(h.InitiatorCookie, h.ResponderCookie)]
	if sa == nil {
		r.stats.UnknownSA++
		r.log.Debug("ike: dropping a message for an unknown SA", "peer", from, "exchange", h.Exchange)
		return
	}
	switch h.Exchange {
	case ExchangeIDProt:
		r.mainMode(sa, from, local, natt, m, raw, now)
	case ExchangeQuickMode:
		r.quickMode(sa, from, natt, m, raw, now)
	case ExchangeInformational:
		r.informational(sa, from, natt, m, now)
	default:
		r.stats.UnknownSA++
		r.log.Debug("ike: ignoring exchange", "peer", from, "exchange", h.Exchange)
	}
}

func cookieKey(ckyI, ckyR [8]byte) (k [16]byte) {
	copy(k[:8], ckyI[:])
	copy(k[8:], ckyR[:])
	return k
}

// tick is Tick under the lock.
func (r *Responder) tick(now, next time.Time) time.Time {
	earlier := func(t time.Time) {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	for k, sa := range r.sas {
		if sa.established {
			continue
		}
		if !now.Before(sa.abandonAt) {
			r.log.Info("ike: a client did not finish its main mode", "peer", sa.from, "state", sa.state)
			r.stats.HalfOpenExpired++
			delete(r.sas, k)
			r.halfOpen--
			continue
		}
		earlier(sa.abandonAt)
	}
	for _, p := range r.peers {
		r.peerTick(p, now, earlier)
	}
	return next
}

// retransmit sends p again or, after the configured tries, gives up
// (giveUp true).
func (r *Responder) retransmit(to netip.AddrPort, p *pending, now time.Time) (giveUp bool) {
	if p.tries >= r.cfg.Retransmits {
		return true
	}
	p.tries++
	t := r.cfg.RetransmitTimeout << p.tries
	if t > retransmitCap || t <= 0 {
		t = retransmitCap
	}
	p.deadline = now.Add(t)
	r.sendTo(to, p.natt, p.msg, p.what+" (again)")
	return false
}

func (r *Responder) randBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(r.rand, b); err != nil {
		panic("ike: randomness source failed: " + err.Error())
	}
	return b
}

// newSPI is a fresh inbound SPI, unique among ours (SPIs 1-255 are
// reserved, RFC 4303 2.1).
func (r *Responder) newSPI() uint32 {
	for {
		v := binary.BigEndian.Uint32(r.randBytes(4))
		if v >= 256 && !r.spis[v] {
			r.spis[v] = true
			return v
		}
	}
}

// newMID is a fresh message ID for an exchange we start under sa.
func (r *Responder) newMID(sa *rSA) uint32 {
	for {
		mid := binary.BigEndian.Uint32(r.randBytes(4))
		if _, used := sa.qm[mid]; mid != 0 && !used {
			return mid
		}
	}
}

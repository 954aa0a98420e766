package server

// The supervisor of `l2tpvpn serve`: it owns the sockets and the TUN
// device and wires the protocol packages' responder roles together:
//
//	UDP 500 ──────────────► ike.Responder ──OnChildSA──► SA table (by SPI)
//	UDP 4500 ─┬ non-ESP marker: IKE ─┘
//	          └ ESP ─► SA table ─► Open ─► UDP/1701 ─┐
//	UDP 1701 (allow-plain-l2tp) ─────────────────────┴► l2tp.LNS ─OnSession─► client:
//	                                                      ppp.ServerLink, pool address,
//	                                                      /32 route on the TUN device
//	data: L2TP data ─► the session's PPP frame ─► IP ─► TUN (source checked)
//	      TUN ─► destination's client ─► PPP + L2TP headers in place ─► Seal ─► UDP
//
// One TUN device carries every client; each gets a /32 route through it
// while its PPP link is up. Transports are the clients' IPsec peers (one per
// IKE peer, stable across rekeys) or plain UDP; the LNS's PeerKey.Conn
// names them (0: plain).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/secret"
	"github.com/l2tpvpn/l2tpvpn/tun"
)

// Options is what the supervisor runs with; cmd builds it from the
// configuration file (config.go) and the users file (users.go).
type Options struct {
	Listen []netip.Addr // addresses to bind 500, 4500 (and 1701); 0.0.0.0 = all

	PSK   secret.Secret // IPsec's pre-shared key; zero: no IPsec
	IKE   []ike.IKEProposal
	ESP   []ike.ESPProposal
	Modes []esp.Mode

	AllowPlain    bool // L2TP without IPsec on UDP 1701
	AllowPAPPlain bool // PAP over plain L2TP (the password in the clear)

	ServerIP  netip.Addr // our PPP address, on the TUN device
	Pool      *Pool
	DNS, WINS []netip.Addr
	MTU       int
	MRU       uint16
	Interface string
	Auth      []ppp.AuthMethod
	// Lookup finds a user's credential and fixed address (zero: from the
	// pool).
	Lookup func(user string) (ppp.Credential, netip.Addr, bool)
	// UserKey names the users-file entry a name the client sent matches
	// (DOMAIN\user and user@realm forms), so the pool gives the same user
	// the same address whatever form it sent; nil: the name as sent.
	UserKey func(user string) string

	L2TPSecret secret.Secret
	HostName   string
	MaxClients int
	DPDDelay   time.Duration
	// IKELifetime and ESPLifetime: see Config; 0: the responder's defaults.
	IKELifetime, ESPLifetime time.Duration

	Logger  *slog.Logger
	OnEvent func(Event)
}

// Event is one thing that happened, for the NDJSON event stream.
type Event struct {
	Event  string    `json:"event"` // serve.up, client.up, client.down, users.reloaded, users.reload-failed, serve.down
	V      int       `json:"v"`     // EventSchema
	Time   time.Time `json:"time"`
	User   string    `json:"user,omitempty"`
	Outer  string    `json:"outer,omitempty"` // the client's address and port as we see it
	Inner  string    `json:"inner,omitempty"` // its tunnel address
	IPsec  string    `json:"ipsec,omitempty"` // the ESP algorithm, "" for plain L2TP
	Auth   string    `json:"auth,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Error  string    `json:"error,omitempty"`
}

// Server is one running `l2tpvpn serve`.
type Server struct {
	opt Options
	log *slog.Logger

	dev   *tun.Device
	ike   *ike.Responder
	lns   *l2tp.LNS
	socks []*sock

	mu        sync.RWMutex
	bySPI     map[uint32]*inSA      // inbound SAs
	trans     map[uint64]*transport // IPsec peers by id
	byPeer    map[netip.AddrPort]*transport
	bySess    map[*l2tp.LNSSession]*client
	byAddr    map[netip.Addr]*client
	via       map[netip.AddrPort]*sock // the socket a client's datagrams arrive on: its replies leave from there
	earlyData []earlyFrame             // data before its session was ready (transport.go)
	nextTID   uint64

	tunWrite sync.Mutex // one writer at a time on the TUN device
	stats    counters

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool
}

// counters are the server's drops by reason.
type counters struct {
	rxMalformed, rxUnknownSPI, rxESPFailed, rxNoSession, rxSpoofed atomic.Uint64
	txNoClient, txErrors                                           atomic.Uint64
	rxPackets, txPackets                                           atomic.Uint64
}

// New checks the options, creates the TUN device and binds the sockets;
// Run then serves. Close undoes everything.
func New(opt Options) (*Server, error) {
	if opt.Pool == nil || !opt.ServerIP.Is4() {
		return nil, errors.New("server: a pool and an IPv4 server address are required")
	}
	if opt.PSK.IsZero() && !opt.AllowPlain {
		return nil, errors.New("server: no psk and allow-plain-l2tp off: no client could connect")
	}
	if opt.Lookup == nil {
		return nil, errors.New("server: no users")
	}
	if len(opt.Listen) == 0 {
		opt.Listen = []netip.Addr{netip.IPv4Unspecified()}
	}
	if opt.MTU == 0 {
		opt.MTU = 1400
	}
	if opt.Interface == "" {
		opt.Interface = "l2tpsrv0"
	}
	if opt.HostName == "" {
		opt.HostName = "l2tpvpn"
	}
	if opt.MaxClients == 0 {
		opt.MaxClients = 256
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opt: opt, log: log, bySPI: map[uint32]*inSA{}, trans: map[uint64]*transport{},
		byPeer: map[netip.AddrPort]*transport{}, bySess: map[*l2tp.LNSSession]*client{}, byAddr: map[netip.Addr]*client{}, via: map[netip.AddrPort]*sock{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	dev, err := tun.Open(tun.Config{Name: opt.Interface, MTU: opt.MTU, Local: opt.ServerIP, Logger: log.With("layer", "tun")})
	if err != nil {
		return nil, fmt.Errorf("server: TUN device %s: %w", opt.Interface, err)
	}
	s.dev = dev
	if err := s.listen(); err != nil {
		s.closeSockets()
		dev.Close()
		return nil, err
	}
	if !opt.PSK.IsZero() {
		r, err := ike.NewResponder(ike.ResponderConfig{PSK: opt.PSK, IKE: opt.IKE, ESP: opt.ESP, Modes: opt.Modes,
			DPDDelay: opt.DPDDelay, MaxPeers: opt.MaxClients, Logger: log.With("layer", "ike"), ForceEncap: true,
			IKELifetime: opt.IKELifetime, ESPLifetime: opt.ESPLifetime,
			Send: s.sendIKE, OnChildSA: s.childUp, OnChildDeleted: s.childDown, OnPeerGone: s.peerGone})
		if err != nil {
			s.closeSockets()
			dev.Close()
			return nil, fmt.Errorf("server: ike: %w", err)
		}
		s.ike = r
	}
	s.lns = l2tp.NewLNS(l2tp.LNSConfig{
		Config: l2tp.Config{HostName: opt.HostName, VendorName: "l2tpvpn", Secret: opt.L2TPSecret, Logger: log.With("layer", "l2tp")},
		Send:   s.sendL2TP, OnSession: s.sessionUp, OnSessionDown: s.sessionDown, MaxSessions: opt.MaxClients,
	})
	return s, nil
}

// Run serves until ctx ends or Close is called, then disconnects every
// client (PPP Terminate, CDN/StopCCN, IKE deletes) and returns.
func (s *Server) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, s.cancel)
	defer stop()
	runCtx, runCancel := context.WithCancel(context.Background())
	defer runCancel()
	var bg sync.WaitGroup
	bg.Add(1)
	go func() { defer bg.Done(); s.lns.Run(runCtx) }()
	if s.ike != nil {
		bg.Add(1)
		go func() { defer bg.Done(); s.ike.Run(runCtx) }()
	}
	for _, k := range s.socks {
		s.wg.Add(1)
		go s.readLoop(k)
	}
	s.wg.Add(1)
	go s.tunLoop()
	s.emit(Event{Event: "serve.up"})
	<-s.ctx.Done()

	// Polite shutdown: every client hears it before the sockets close.
	s.mu.RLock()
	clients := make([]*client, 0, len(s.bySess))
	for _, c := range s.bySess {
		clients = append(clients, c)
	}
	s.mu.RUnlock()
	var cw sync.WaitGroup
	for _, c := range clients {
		cw.Add(1)
		go func() { defer cw.Done(); c.close("server shutting down") }()
	}
	cw.Wait()
	s.lns.CloseAll(l2tp.Result{Code: 6, Message: "server shutting down"})
	if s.ike != nil {
		s.ike.Close()
	}
	shutdown := time.NewTimer(2 * time.Second) // time for the CDNs, StopCCNs and deletes to go out
	<-shutdown.C
	runCancel()
	bg.Wait()
	s.closed.Store(true)
	s.closeSockets()
	s.dev.Close()
	s.wg.Wait()
	s.emit(Event{Event: "serve.down"})
	return nil
}

// Close stops Run.
func (s *Server) Close() { s.cancel() }

// EventSchema is the version of Event's JSON form (its "v").
const EventSchema = 1

func (s *Server) emit(ev Event) {
	ev.Time = time.Now()
	if s.opt.OnEvent != nil {
		s.opt.OnEvent(ev)
	}
}

// ClientInfo is one client in status.
type ClientInfo struct {
	User     string    `json:"user"`
	Outer    string    `json:"outer"`
	Inner    string    `json:"inner"`
	IPsec    string    `json:"ipsec,omitempty"` // the ESP algorithm
	IKE      string    `json:"ike,omitempty"`   // the phase 1 algorithm
	Auth     string    `json:"auth"`
	Since    time.Time `json:"since"`
	BytesIn  uint64    `json:"bytes_in"`
	BytesOut uint64    `json:"bytes_out"`
}

// Clients lists the clients whose PPP link is up.
func (s *Server) Clients() []ClientInfo {
	s.mu.RLock()
	out := make([]ClientInfo, 0, len(s.byAddr))
	for _, c := range s.byAddr {
		out = append(out, c.info())
	}
	s.mu.RUnlock()
	if s.ike != nil {
		ikeOf := map[string]string{}
		for _, p := range s.ike.Peers() {
			ikeOf[p.Addr.String()] = p.IKE.String()
		}
		for i := range out {
			out[i].IKE = ikeOf[out[i].Outer]
		}
	}
	return out
}

// Disconnect ends the clients of user name or tunnel address addr; it
// says how many.
func (s *Server) Disconnect(who string) int {
	a, _ := netip.ParseAddr(who)
	s.mu.RLock()
	var match []*client
	for _, c := range s.bySess {
		if c.user() == who || (a.IsValid() && c.address() == a) {
			match = append(match, c)
		}
	}
	s.mu.RUnlock()
	for _, c := range match {
		go c.close("disconnected by the administrator")
	}
	return len(match)
}

// Stats are the server's counters.
type Stats struct {
	RxPackets    uint64 `json:"rx_packets"`
	TxPackets    uint64 `json:"tx_packets"`
	RxMalformed  uint64 `json:"rx_malformed"`
	RxUnknownSPI uint64 `json:"rx_unknown_spi"`
	RxESPFailed  uint64 `json:"rx_esp_failed"`
	RxNoSession  uint64 `json:"rx_no_session"`
	RxSpoofed    uint64 `json:"rx_spoofed"`
	TxNoClient   uint64 `json:"tx_no_client"`
	TxErrors     uint64 `json:"tx_errors"`
}

func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{RxPackets: c.rxPackets.Load(), TxPackets: c.txPackets.Load(), RxMalformed: c.rxMalformed.Load(),
		RxUnknownSPI: c.rxUnknownSPI.Load(), RxESPFailed: c.rxESPFailed.Load(), RxNoSession: c.rxNoSession.Load(),
		RxSpoofed: c.rxSpoofed.Load(), TxNoClient: c.txNoClient.Load(), TxErrors: c.txErrors.Load()}
}

package vpn

import (
	"fmt"
	"time"
)

// Event names, in the order a connection emits them. The JSON schema
// (version 1) is documented in README.md; fields are only added, never
// renamed, within a schema version.
const (
	EventConnecting = "connecting"
	// IPsec only: the ISAKMP SA is up (again, after a phase 1 rekey), and
	// a child SA pair is installed (rekey true when it replaces one).
	EventIKEPhase1Up      = "ike.phase1.up"
	EventIKEPhase1Rekeyed = "ike.phase1.rekeyed"
	EventIKEPhase2Up      = "ike.phase2.up"
	EventTunnelUp         = "l2tp.tunnel.up"
	EventSessionUp        = "l2tp.session.up"
	EventLCPUp            = "ppp.lcp.up"
	EventAuthOK           = "ppp.auth.ok"
	EventIPUp             = "ppp.ip.up"
	EventIPv6Up           = "ppp.ipv6.up"
	EventDHCP             = "ppp.dhcp" // the answer to our DHCPINFORM: server, routes, domain, search, dns, wins
	EventUp               = "up"
	// EventReconnecting: the link was lost (or an attempt failed) and the
	// client tries again after delay_ms (attempt counts from 1).
	EventReconnecting = "reconnecting"
	EventDisconnect   = "disconnecting"
	// EventHook: an up or down hook printed something or failed (hook,
	// output, error).
	EventHook     = "hook"
	EventDown     = "down"
	SchemaVersion = 1
)

// EventPortRetry: the SCCRQ sent from an ephemeral port got no answer, so
// the attempt is repeated from port 1701 (local-port = auto); error is the
// first attempt's.
const EventPortRetry = "l2tp.port-retry"

// EventAuthWait comes between ppp.lcp.up and ppp.auth.ok when the server
// has not answered our authentication request for a few seconds (it may
// wait for a second factor); Message is AuthWaitLine.
const EventAuthWait = "ppp.auth-wait"

// AuthWaitLine is the progress line of EventAuthWait.
const AuthWaitLine = "waiting for the server to confirm authentication (second factor?)"

// firmwareString renders an L2TP Firmware Revision, "" when absent (0).
func firmwareString(v uint16) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("0x%04x", v)
}

// Event is one step of a connection's life. Only the fields that belong to
// the event are set.
type Event struct {
	Event  string    `json:"event"`
	Schema int       `json:"v"`
	Time   time.Time `json:"time"`

	Server string `json:"server,omitempty"` // server address:port
	Local  string `json:"local,omitempty"`  // our UDP address:port

	TunnelID      uint16 `json:"tunnel_id,omitempty"`
	PeerTunnelID  uint16 `json:"peer_tunnel_id,omitempty"`
	SessionID     uint16 `json:"session_id,omitempty"`
	PeerSessionID uint16 `json:"peer_session_id,omitempty"`
	PeerHost      string `json:"peer_host,omitempty"`
	PeerVendor    string `json:"peer_vendor,omitempty"`
	PeerFirmware  string `json:"peer_firmware,omitempty"` // the SCCRP's Firmware Revision, 0x hex

	Auth string `json:"auth,omitempty"` // pap, chap, mschapv2, none
	MPPE string `json:"mppe,omitempty"` // e.g. "mppe-128 stateless"; empty without MPPE

	IP        string   `json:"ip,omitempty"`
	Peer      string   `json:"peer,omitempty"`
	DNS       []string `json:"dns,omitempty"`
	WINS      []string `json:"wins,omitempty"` // ppp.ip.up, ppp.dhcp: NBNS servers
	MTU       int      `json:"mtu,omitempty"`
	Interface string   `json:"interface,omitempty"`
	Routes    []string `json:"routes,omitempty"`
	IPv6      string   `json:"ipv6,omitempty"` // link-local address

	// ppp.dhcp: the domain and search list the server gave.
	Domain string   `json:"domain,omitempty"`
	Search []string `json:"search,omitempty"`

	// IPsec (ike.* events).
	IKE       string   `json:"ike,omitempty"`        // phase 1 proposal, e.g. aes256-sha256-modp2048
	NATT      string   `json:"nat_t,omitempty"`      // rfc3947 or draft
	PeerID    string   `json:"peer_id,omitempty"`    // the server's phase 1 identity
	LocalID   string   `json:"local_id,omitempty"`   // our phase 1 identity
	Vendors   []string `json:"vendor_ids,omitempty"` // vendor IDs the server sent
	ESP       string   `json:"esp,omitempty"`        // phase 2 proposal, e.g. aes128-sha1
	Mode      string   `json:"mode,omitempty"`       // transport or tunnel
	SPIIn     string   `json:"spi_in,omitempty"`     // hex
	SPIOut    string   `json:"spi_out,omitempty"`    // hex
	LifetimeS int64    `json:"lifetime_s,omitempty"` // negotiated lifetime in seconds
	Rekey     bool     `json:"rekey,omitempty"`      // ike.phase2.up: replaces an earlier pair

	// up: how traffic is routed (full, split, none), what happened to IPv6
	// and how DNS was applied; how many reconnects happened so far.
	Routing    string `json:"routing,omitempty"`
	IPv6Mode   string `json:"ipv6_mode,omitempty"`
	DNSVia     string `json:"dns_via,omitempty"`
	Reconnects int    `json:"reconnects,omitempty"`
	// up in proxy mode: where the proxy listens (routing is then "proxy").
	Proxy string `json:"proxy,omitempty"`

	// reconnecting: attempt number and the wait before it.
	Attempt int   `json:"attempt,omitempty"`
	DelayMS int64 `json:"delay_ms,omitempty"`

	ElapsedMS int64 `json:"elapsed_ms,omitempty"` // since the attempt started

	// hook: which hook (up, down), what it printed (trimmed, at most
	// maxHookOutput bytes), and in error why it failed.
	Hook   string `json:"hook,omitempty"`
	Output string `json:"output,omitempty"`

	Message string `json:"message,omitempty"` // ppp.auth-wait: the progress line

	Reason string `json:"reason,omitempty"` // down, reconnecting: a Reason name
	Error  string `json:"error,omitempty"`  // down, reconnecting, hook: the error text
	Stats  *Stats `json:"stats,omitempty"`  // down: final counters
}

// Stats are the connection's counters.
type Stats struct {
	TxPackets uint64 `json:"tx_packets"`
	TxBytes   uint64 `json:"tx_bytes"`
	RxPackets uint64 `json:"rx_packets"`
	RxBytes   uint64 `json:"rx_bytes"`
	// TxErrors counts IP packets that could not be sent.
	TxErrors uint64 `json:"tx_errors"`
	// RxDropped counts every received datagram or frame that was discarded;
	// the fields below break it down.
	RxDropped      uint64 `json:"rx_dropped"`
	RxMalformed    uint64 `json:"rx_malformed"`     // did not parse as L2TP/PPP
	RxForeign      uint64 `json:"rx_foreign"`       // not from the server's address
	RxWrongSession uint64 `json:"rx_wrong_session"` // data for another tunnel/session
	RxNotReady     uint64 `json:"rx_not_ready"`     // IP before the interface was up
	RxQueueFull    uint64 `json:"rx_queue_full"`    // control queue full
	// RxErrors counts failed receive calls on the socket.
	RxErrors uint64 `json:"rx_errors,omitempty"`
	// MSSClamped counts TCP SYNs (both directions) whose MSS was lowered
	// to fit the tunnel.
	MSSClamped uint64 `json:"mss_clamped"`
	// RxMPPE counts frames dropped by MPPE (undecryptable, out of sync,
	// or IP in the clear while MPPE is on); TxMPPEBlocked IP packets not
	// sent because MPPE was required but not up yet.
	RxMPPE        uint64 `json:"rx_mppe,omitempty"`
	TxMPPEBlocked uint64 `json:"tx_mppe_blocked,omitempty"`
	// L2TP and PPP control-plane counters.
	L2TPMalformed uint64 `json:"l2tp_malformed"`
	PPPMalformed  uint64 `json:"ppp_malformed"`
	// IPsec counters (zero without IPsec). ESP packets dropped: integrity
	// check failed, replayed, unknown SPI, invalid inside (padding, inner
	// headers); NAT keepalives received; child SA rekeys.
	ESPAuthFailed uint64 `json:"esp_auth_failed"`
	ESPReplayed   uint64 `json:"esp_replayed"`
	ESPUnknownSPI uint64 `json:"esp_unknown_spi"`
	ESPInvalid    uint64 `json:"esp_invalid"`
	NATKeepalives uint64 `json:"nat_keepalives_rx"`
	ChildSARekeys uint64 `json:"child_sa_rekeys"`
}

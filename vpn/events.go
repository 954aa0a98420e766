package vpn

import "time"

// Event names, in the order a connection emits them. The JSON schema
// (version 1) is documented in README.md; fields are only added, never
// renamed, within a schema version.
const (
	EventConnecting = "connecting"
	EventTunnelUp   = "l2tp.tunnel.up"
	EventSessionUp  = "l2tp.session.up"
	EventLCPUp      = "ppp.lcp.up"
	EventAuthOK     = "ppp.auth.ok"
	EventIPUp       = "ppp.ip.up"
	EventIPv6Up     = "ppp.ipv6.up"
	EventUp         = "up"
	EventDisconnect = "disconnecting"
	EventDown       = "down"
	SchemaVersion   = 1
)

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

	Auth string `json:"auth,omitempty"` // pap, chap, mschapv2, none

	IP        string   `json:"ip,omitempty"`
	Peer      string   `json:"peer,omitempty"`
	DNS       []string `json:"dns,omitempty"`
	MTU       int      `json:"mtu,omitempty"`
	Interface string   `json:"interface,omitempty"`
	Routes    []string `json:"routes,omitempty"`
	IPv6      string   `json:"ipv6,omitempty"` // link-local address

	ElapsedMS int64 `json:"elapsed_ms,omitempty"` // since connect started

	Reason string `json:"reason,omitempty"` // down: a Reason name
	Error  string `json:"error,omitempty"`  // down: the error text
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
	// L2TP and PPP control-plane counters.
	L2TPMalformed uint64 `json:"l2tp_malformed"`
	PPPMalformed  uint64 `json:"ppp_malformed"`
}

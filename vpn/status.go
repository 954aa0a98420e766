package vpn

import (
	"context"
	"time"

	"github.com/l2tpvpn/l2tpvpn/ike/vici"
)

// Status is a running client as `l2tpvpn status` shows it. It holds no
// secret.
type Status struct {
	Name   string `json:"name"`
	State  string `json:"state"`           // connecting, up, reconnecting, down
	Mode   string `json:"mode"`            // tun or proxy
	Proxy  string `json:"proxy,omitempty"` // proxy mode: where the proxy listens
	Server string `json:"server,omitempty"`
	// WaitingFor is, while connecting or reconnecting, the step the
	// attempt waits for (filled in by the command, from the events).
	WaitingFor string    `json:"waiting_for,omitempty"`
	Local      string    `json:"local,omitempty"`
	Interface  string    `json:"interface,omitempty"`
	IP         string    `json:"ip,omitempty"`
	Peer       string    `json:"peer,omitempty"`
	MTU        int       `json:"mtu,omitempty"`
	Routing    string    `json:"routing,omitempty"`
	Routes     []string  `json:"routes,omitempty"`
	IPv6       string    `json:"ipv6,omitempty"`
	DNS        []string  `json:"dns,omitempty"`
	DNSVia     string    `json:"dns_via,omitempty"`
	Domains    []string  `json:"dns_domains,omitempty"`
	Search     []string  `json:"dns_search,omitempty"` // search domains applied (from DHCP)
	DHCP       *DHCPInfo `json:"dhcp,omitempty"`       // the server's answer to our DHCPINFORM
	Auth       string    `json:"auth,omitempty"`
	MPPE       string    `json:"mppe,omitempty"` // e.g. "mppe-128 stateless"
	IPsec      string    `json:"ipsec"`          // on (built in), strongswan (delegated to charon) or off
	IKE        string    `json:"ike,omitempty"`
	ESP        string    `json:"esp,omitempty"`
	ESPMode    string    `json:"esp_mode,omitempty"`
	NATT       string    `json:"nat_t,omitempty"`
	LocalID    string    `json:"local_id,omitempty"` // our phase 1 identity
	PeerID     string    `json:"peer_id,omitempty"`  // the server's phase 1 identity
	Since      time.Time `json:"since,omitzero"`     // when the current connection came up
	UptimeS    int64     `json:"uptime_s"`
	Reconnect  struct {
		Count   int    `json:"count"`             // successful reconnects
		Attempt int    `json:"attempt,omitempty"` // current attempt while reconnecting
		Last    string `json:"last_error,omitempty"`
	} `json:"reconnects"`
	Stats Stats `json:"stats"`
	// Charon is charon's own view of a delegated connection's SAs, asked
	// for at the time of the status.
	Charon *vici.Status `json:"charon,omitempty"`
	PID    int          `json:"pid,omitempty"` // filled in by the command

	// The L2TP server's SCCRP Host Name, Vendor Name and Firmware Revision
	// (0x hex): they identify the server family. WINS: NBNS servers from
	// IPCP.
	PeerHost     string   `json:"peer_host,omitempty"`
	PeerVendor   string   `json:"peer_vendor,omitempty"`
	PeerFirmware string   `json:"peer_firmware,omitempty"`
	WINS         []string `json:"wins,omitempty"`
}

// Status reports the client's current state.
func (cl *Client) Status() Status {
	st := cl.Stats()
	var charon *vici.Status
	if c := cl.cur.Load(); c != nil && c.charon != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		cs, err := c.CharonStatus(ctx)
		cancel()
		if err != nil {
			cl.log.Debug("status: asking charon", "err", err)
		}
		charon = cs
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	s := Status{Name: cl.cfg.Name, State: cl.state, Stats: st, Auth: authName(cl.info.Auth),
		IKE: cl.alg.ike, ESP: cl.alg.esp, ESPMode: cl.alg.mode, NATT: cl.alg.natt, LocalID: cl.alg.localID, PeerID: cl.alg.peerID, Charon: charon}
	switch {
	case cl.cfg.Strongswan:
		s.IPsec = "strongswan"
	case cl.cfg.IPsec:
		s.IPsec = "on"
	default:
		s.IPsec = "off"
	}
	if c := cl.cur.Load(); c != nil {
		cl.info = c.Info()
	}
	i := cl.info
	if i.Server.IsValid() {
		s.Server, s.Local = i.Server.String(), i.Local.String()
	}
	s.Interface, s.IP, s.Peer, s.MTU = i.Interface, addrString(i.IP), addrString(i.Peer), i.MTU
	s.PeerHost, s.PeerVendor, s.PeerFirmware = i.Tunnel.PeerHostName, i.Tunnel.PeerVendor, firmwareString(i.Tunnel.PeerFirmware)
	s.WINS = addrStrings(i.WINS)
	s.DHCP = i.DHCP
	s.MPPE = i.MPPE
	if cl.host != nil {
		hs := cl.host.Summary()
		s.Routing, s.Routes, s.IPv6, s.DNS, s.DNSVia, s.Domains = hs.Mode, hs.Routes, hs.IPv6, hs.DNS, hs.DNSVia, hs.Domains
		s.Search = hs.Search
	}
	s.Mode, s.Proxy = cl.cfg.Mode.String(), cl.proxyListen()
	if cl.net != nil && cl.cfg.Mode == ModeProxy {
		s.DNS = addrStrings(cl.net.dns) // what the stack resolves with
	}
	if cl.state == StateUp {
		s.Since = cl.since
		s.UptimeS = int64(time.Since(cl.since) / time.Second)
	}
	s.Reconnect.Count, s.Reconnect.Attempt = cl.reconnects, cl.attempt
	if cl.lastErr != nil {
		s.Reconnect.Last = cl.lastErr.Error()
	}
	return s
}

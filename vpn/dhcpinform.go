package vpn

// DHCPINFORM over the PPP link (RFC 2131 section 3.4), as the Windows
// client does once IPCP is up: ask the server for classless static routes,
// the domain and search list, DNS and WINS servers. The request goes
// through the tunnel like any IP packet; the receive loop hands the answer
// over before the device exists (dhcpInput). Set-up waits at most
// DHCPTries × DHCPInterval (3 s by default) and carries on without an
// answer.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/l2tpvpn/l2tpvpn/dhcp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/tun"
)

// DHCPInform says when to send a DHCPINFORM after IPCP.
type DHCPInform int

const (
	// DHCPInformAuto asks servers known to answer: SoftEther (L2TP Vendor
	// Name "L2TP") and Windows RRAS ("Microsoft"). Others (xl2tpd,
	// l2tpns, ...) never answer, and asking would only delay "up".
	DHCPInformAuto DHCPInform = iota
	DHCPInformOn
	DHCPInformOff
)

var dhcpInformNames = [...]string{"auto", "on", "off"}

func (m DHCPInform) String() string {
	if m >= 0 && int(m) < len(dhcpInformNames) {
		return dhcpInformNames[m]
	}
	return fmt.Sprintf("DHCPInform(%d)", int(m))
}

// ParseDHCPInform parses "auto", "on" or "off".
func ParseDHCPInform(s string) (DHCPInform, error) {
	if i := slices.Index(dhcpInformNames[:], s); i >= 0 {
		return DHCPInform(i), nil
	}
	return 0, fmt.Errorf("vpn: dhcp-inform %q: want auto, on or off", s)
}

// dhcpVendors are the L2TP Vendor Names of servers that answer a
// DHCPINFORM: SoftEther VPN Server (its SCCRP says "L2TP") and Windows
// RRAS.
var dhcpVendors = []string{"L2TP", "Microsoft"}

const (
	defaultDHCPTries    = 3
	defaultDHCPInterval = time.Second
)

// DHCPInfo is what the server's DHCPACK said. WINS servers are only shown.
type DHCPInfo struct {
	Server   string   `json:"server"`
	Routes   []string `json:"routes,omitempty"` // as pushed: "PREFIX via GATEWAY"
	Domain   string   `json:"domain,omitempty"`
	Search   []string `json:"search,omitempty"`
	DNS      []string `json:"dns,omitempty"`
	WINS     []string `json:"wins,omitempty"`
	Warnings []string `json:"warnings,omitempty"`

	prefixes []netip.Prefix
	dns      []netip.Addr
}

// search is the search list to apply: the domain, then the search list.
func (d *DHCPInfo) search() []string {
	if d == nil {
		return nil
	}
	s := slices.Clone(d.Search)
	if d.Domain != "" && !slices.Contains(s, d.Domain) {
		s = slices.Insert(s, 0, d.Domain)
	}
	return s
}

// dnsServers are IPCP's servers, else the DHCP answer's.
func (d *DHCPInfo) dnsServers(ipcp []netip.Addr) []netip.Addr {
	if len(ipcp) > 0 || d == nil {
		return ipcp
	}
	return d.dns
}

// dhcpWait is an exchange under way: the receive loop hands it datagrams
// that look like answers.
type dhcpWait struct {
	client netip.Addr
	ch     chan []byte
}

// dhcpInput takes an IPv4 packet from the receive loop if it is a DHCP
// answer while an exchange is under way (copied, non-blocking). Without an
// exchange it costs one atomic load and allocates nothing.
func (c *Conn) dhcpInput(proto ppp.Protocol, pkt []byte) bool {
	w := c.dhcpWait.Load()
	if w == nil || proto != ppp.ProtoIPv4 || !dhcp.IsReply(pkt, w.client) {
		return false
	}
	select {
	case w.ch <- bytes.Clone(pkt):
	default:
		c.stats.drop(&c.stats.rxQueueFull)
	}
	return true
}

// dhcpWanted decides whether to send a DHCPINFORM.
func (c *Conn) dhcpWanted() bool {
	switch c.cfg.DHCPInform {
	case DHCPInformOn:
		return true
	case DHCPInformOff:
		return false
	}
	return slices.Contains(dhcpVendors, strings.TrimRight(c.info.Tunnel.PeerVendor, "\x00"))
}

// runDHCP sends the DHCPINFORM from our address ipi.Local and waits for
// the DHCPACK, trying DHCPTries times DHCPInterval apart; the answer goes
// to c.info.DHCP and the ppp.dhcp event. No answer is not an error.
func (c *Conn) runDHCP(ctx context.Context, ipi ppp.IPInfo) {
	if !c.dhcpWanted() || !ipi.Local.Is4() {
		return
	}
	tries, interval := c.cfg.DHCPTries, c.cfg.DHCPInterval
	if tries <= 0 {
		tries = defaultDHCPTries
	}
	if interval <= 0 {
		interval = defaultDHCPInterval
	}
	m := dhcp.NewInform(ipi.Local, dhcp.HWAddrFor(c.cfg.Name), c.mtu(ipi))
	frame := m.Append([]byte{byte(ppp.ProtoIPv4 >> 8), byte(ppp.ProtoIPv4)})
	w := &dhcpWait{client: ipi.Local, ch: make(chan []byte, 4)}
	c.dhcpWait.Store(w)
	defer c.dhcpWait.Store(nil)
	t := time.NewTimer(interval)
	defer t.Stop()
	for try := 1; try <= tries; try++ {
		c.log.Debug("sending DHCPINFORM", "try", try, "xid", fmt.Sprintf("%08x", m.XID))
		if err := c.sendPPP(frame); err != nil {
			c.log.Debug("sending DHCPINFORM failed", "err", err)
		}
		t.Reset(interval)
	wait:
		for {
			select {
			case pkt := <-w.ch:
				r, err := dhcp.ParseReply(pkt, m.XID, ipi.Local)
				if errors.Is(err, dhcp.ErrNAK) {
					c.log.Info("the server refused the DHCPINFORM (DHCPNAK)")
					return
				}
				if err != nil {
					c.log.Debug("ignoring a DHCP packet", "err", err)
					continue
				}
				c.dhcpAnswer(r)
				return
			case <-t.C:
				break wait
			case <-ctx.Done():
				return
			case <-c.tunnel.SessionDone():
				return
			}
		}
	}
	c.log.Info("no answer to DHCPINFORM; carrying on without it", "tries", tries, "vendor", c.info.Tunnel.PeerVendor)
}

// dhcpAnswer records the answer and reports it.
func (c *Conn) dhcpAnswer(r dhcp.Reply) {
	d := &DHCPInfo{Server: r.Server.String(), Domain: r.Domain, Search: r.Search,
		DNS: addrStrings(r.DNS), WINS: addrStrings(r.WINS), Warnings: r.Warnings, dns: r.DNS}
	for _, rt := range r.Routes {
		d.Routes = append(d.Routes, rt.String())
		d.prefixes = append(d.prefixes, rt.Dst)
	}
	for _, w := range r.Warnings {
		c.log.Warn("ignoring an option of the server's DHCP answer", "why", w)
	}
	c.info.DHCP = d
	c.log.Info("dhcp answer", "server", d.Server, "routes", d.Routes, "domain", d.Domain, "search", d.Search,
		"dns", d.DNS, "wins", d.WINS)
	c.emit(Event{Event: EventDHCP, Server: d.Server, Routes: d.Routes, Domain: d.Domain, Search: d.Search,
		DNS: d.DNS, WINS: d.WINS})
}

// extraRoutes are the routes split mode adds to the configured ones: those
// the server pushed (unless IgnoreServerRoutes) and the classful network
// of our address (ClassRoute). All go through the tunnel interface, whatever
// gateway the server named: on a point-to-point link every gateway is the
// peer. A prefix holding the server's address, the default route and
// duplicates are left out. In other modes the routes are only shown.
func (cfg *Config) extraRoutes(info Info, log *slog.Logger) []netip.Prefix {
	if cfg.Routing != tun.RouteSplit {
		return nil
	}
	var cand []netip.Prefix
	if d := info.DHCP; d != nil && !cfg.IgnoreServerRoutes {
		cand = append(cand, d.prefixes...)
	}
	if cfg.ClassRoute {
		if p, ok := dhcp.ClassfulPrefix(info.IP); ok {
			cand = append(cand, p)
		}
	}
	var out []netip.Prefix
	for _, p := range cand {
		p = p.Masked()
		switch {
		case p.Bits() == 0:
			log.Warn("not routing a pushed default route in split mode", "route", p)
		case info.Server.IsValid() && p.Contains(info.Server.Addr().Unmap()):
			log.Warn("not routing a prefix that holds the server's address: the tunnel would be routed into itself",
				"route", p, "server", info.Server.Addr())
		case slices.Contains(cfg.Routes, p) || slices.Contains(out, p):
		default:
			out = append(out, p)
		}
	}
	return out
}

// routeAdder is a host configuration that can add split routes later
// (*tun.Host).
type routeAdder interface {
	AddRoutes([]netip.Prefix) error
}

// dhcpReconnected applies what changed in the DHCP answer after a
// reconnect: new split routes are added (the old ones stay until the
// end). The search domains stay as first applied.
func (cl *Client) dhcpReconnected(c *Conn) {
	extra := cl.cfg.extraRoutes(c.info, cl.log)
	if ra, ok := cl.host.(routeAdder); ok && len(extra) > 0 {
		if err := ra.AddRoutes(extra); err != nil {
			cl.log.Warn("adding the routes after the reconnect", "err", err)
		}
	}
	if s := c.info.DHCP.search(); !slices.Equal(s, cl.host.Summary().Search) && (len(s) > 0 || len(cl.host.Summary().Search) > 0) {
		cl.log.Info("the server's search domains changed; they apply at the next connect", "search", s)
	}
}

// dhcpEnv is the DHCP part of the hooks' environment.
func dhcpEnv(d *DHCPInfo) []string {
	if d == nil {
		d = &DHCPInfo{}
	}
	return []string{
		"L2TPVPN_DHCP_SERVER=" + d.Server,
		"L2TPVPN_DHCP_ROUTES=" + strings.Join(d.Routes, ","),
		"L2TPVPN_DHCP_DOMAIN=" + d.Domain,
		"L2TPVPN_DHCP_SEARCH=" + strings.Join(d.Search, " "),
		"L2TPVPN_DHCP_DNS=" + strings.Join(d.DNS, " "),
		"L2TPVPN_DHCP_WINS=" + strings.Join(d.WINS, " "),
	}
}

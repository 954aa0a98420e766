// Package vpn is the supervisor of one VPN connection: it opens the socket,
// brings up the L2TP tunnel and session, runs PPP, creates the TUN device and
// moves packets between the two, reports progress as events, and tears
// everything down in reverse order.
//
// Another Go program embeds a connection with Connect:
//
//	c, err := vpn.Connect(ctx, cfg)  // returns once traffic can flow
//	...
//	err = c.Wait()   // until the link is lost for good (reconnects are inside), or
//	c.Close()        // to disconnect cleanly
package vpn

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/secret"
	"github.com/l2tpvpn/l2tpvpn/tun"
)

// Config is everything one connection needs. Zero values take the defaults
// documented on each field.
type Config struct {
	// Server is HOST or HOST:PORT of the L2TP server (port default 1701).
	Server string
	// User and Password are the PPP credentials.
	User     string
	Password secret.Secret
	// Auth lists the PPP authentication methods we allow. nil: MS-CHAPv2
	// and CHAP-MD5, and PAP too with IPsec; PAP sends the password in
	// clear, so without IPsec it must be named here (see authPolicy).
	Auth []ppp.AuthMethod
	// MPPE is the MPPE encryption policy (RFC 3078): allow (the zero
	// value: accept it when the server asks), off or require.
	MPPE ppp.MPPEPolicy
	// L2TPSecret is the L2TP tunnel authentication secret; empty disables it.
	L2TPSecret secret.Secret
	// Interface is the TUN device name (default "l2tp0").
	Interface string
	// MTU of the TUN device; 0 derives it from the peer's MRU and the
	// encapsulation overhead.
	MTU int
	// MRU we ask the server for; 0 lets PPP use its default.
	MRU int
	// Routes are extra prefixes routed into the tunnel.
	Routes []netip.Prefix
	// IPv6 also runs IPV6CP so the link gets an IPv6 link-local address.
	IPv6 bool
	// LocalPort is the UDP source port; 0 picks an ephemeral port.
	LocalPort int
	// PortFallback (local-port = auto): without IPsec, when the SCCRQ sent
	// from an ephemeral port gets no answer at all, try once more from
	// port 1701, which some servers insist on, and keep it for the
	// reconnects. With the built-in IPsec, L2TP inside ESP always uses
	// 1701 (as Windows does; no host port is taken), so there is nothing
	// to fall back to.
	PortFallback bool
	// EchoInterval and EchoFailures tune the LCP keepalive
	// (0 = ppp defaults, negative interval disables).
	EchoInterval time.Duration
	EchoFailures int
	// PPPAuthTimeout bounds the PPP authentication phase, a second
	// factor's approval included (0 = ppp.DefaultAuthTimeout, 60 s).
	PPPAuthTimeout time.Duration
	// HelloInterval is the L2TP HELLO keepalive (0 = default 60 s).
	HelloInterval time.Duration
	// Retransmit tunes L2TP control retransmission: first timeout and the
	// number of retransmissions before the server counts as unreachable.
	RetransmitTimeout time.Duration
	MaxRetransmits    int

	// IPsec runs L2TP inside ESP, negotiated by our own IKEv1 (PSK is then
	// required). Without it L2TP goes to the server in the clear.
	IPsec bool
	// PSK is the IKE pre-shared key (not needed with Cert).
	PSK secret.Secret
	// Cert authenticates phase 1 with our certificate instead of the PSK
	// (RSA or ECDSA signatures; see ike.Config.Cert).
	Cert *ike.Credential
	// LocalID and RemoteID are the phase 1 identities (ike.ParseID); zero:
	// our address (the certificate's DN with Cert), and any.
	LocalID, RemoteID ike.ID
	// IKEFragmentation and IKEFragmentSize control IKE fragmentation.
	IKEFragmentation ike.FragmentMode
	IKEFragmentSize  int
	// Aggressive uses Aggressive Mode (PSK only; exposes a hash of the PSK).
	Aggressive bool
	// PFSAuto: Quick Mode first without PFS, then with the IKE groups.
	PFSAuto bool
	// SHA2Truncbug: HMAC-SHA2-256 in ESP with 96-bit ICVs.
	SHA2Truncbug bool
	// IKEProposals and ESPProposals are offered in order (nil: the ike
	// package defaults).
	IKEProposals []ike.IKEProposal
	ESPProposals []ike.ESPProposal
	// ESPMode is transport (default, what Windows and macOS use) or tunnel.
	ESPMode esp.Mode
	// Lifetimes proposed for the ISAKMP and ESP SAs (0: ike defaults).
	IKELifetime, ESPLifetime time.Duration
	// DPDDelay: idle time before a dead peer detection probe (0: default
	// 30 s, negative: off). NATKeepalive: interval of NAT keepalives
	// (0: default 20 s, negative: off).
	DPDDelay, NATKeepalive time.Duration
	// Strongswan delegates IKE and ESP to strongSwan's charon over its
	// VICI socket (VICISocket, default /var/run/charon.vici) instead of the
	// built-in IKEv1 and ESP. IPsec must be set; L2TP then uses UDP port
	// 1701 (the traffic selector).
	Strongswan bool
	VICISocket string
	// KeyLogDir, if set, receives the IKE and ESP keys in Wireshark's UAT
	// files (esp_sa, ikev1_decryption_table). Debug only.
	KeyLogDir string

	// Name names the connection (status, state files, hooks); default "l2tpvpn".
	Name string
	// Routing is full (default: everything through the tunnel, the server
	// pinned to its current path, IPv6 routed or blocked), split (only
	// Routes) or none.
	Routing tun.RouteMode
	// DNSMode says how the servers from IPCP are applied (default auto:
	// systemd-resolved when it runs, else /etc/resolv.conf); DNSDomains are
	// split-DNS routing domains.
	DNSMode    tun.DNSMode
	DNSDomains []string
	// DHCPInform: ask the server for routes and domains with a DHCPINFORM
	// after IPCP (dhcpinform.go; default auto: servers known to answer),
	// trying DHCPTries times (default 3) DHCPInterval apart (default 1 s).
	// The domain and search list are applied as search domains; in split
	// mode the pushed routes join Routes unless IgnoreServerRoutes, and
	// ClassRoute adds the classful network of our address (as Windows
	// does by default).
	DHCPInform         DHCPInform
	DHCPTries          int
	DHCPInterval       time.Duration
	IgnoreServerRoutes bool
	ClassRoute         bool
	// StateDir keeps what is needed to undo host changes after a crash
	// (default /run/l2tpvpn).
	StateDir string
	// ResolvConf is the resolver file for DNSMode resolv.conf (default
	// /etc/resolv.conf).
	ResolvConf string

	// Reconnect after a link loss, with exponential backoff from
	// ReconnectDelay (default 1 s) up to ReconnectMaxDelay (default 60 s)
	// and ±20% jitter, at most ReconnectAttempts times in a row (0: no limit).
	Reconnect                         bool
	ReconnectAttempts                 int
	ReconnectDelay, ReconnectMaxDelay time.Duration

	// UpHook runs (sh -c) after the tunnel is up, DownHook before it is torn
	// down; both get L2TPVPN_* environment variables. HookTimeout bounds
	// each run (default 30 s).
	UpHook, DownHook string
	HookTimeout      time.Duration
	// HookFailureDisconnect: an up hook that fails (non-zero exit, killed
	// at HookTimeout) ends the connection, as wg-quick's PostUp does: the
	// down hook runs, everything is undone and the client ends with a
	// ReasonHost error (Connect returns it; after a reconnect Wait does).
	// Otherwise a failing hook is only its hook event. A failing down hook
	// changes nothing either way.
	HookFailureDisconnect bool

	// Mode is where the tunnel's IP packets go: a TUN device with routes
	// and DNS (ModeTUN, the default; root), or an in-process network stack
	// (ModeProxy; no root, nothing on the host changes, and Interface,
	// Routes, Routing and the DNS settings do not apply).
	Mode Mode
	// OnNet, in proxy mode, receives the network stack when the first
	// connection comes up (before the up event), a new one when a
	// reconnect changed the address, DNS servers or MTU (the old one is
	// closed), and nil when the client ends. A reconnect that changed
	// nothing keeps the stack, and it is not announced again.
	OnNet func(*Net)
	// ReadyChecks run through each new connection before it is announced
	// up (proxy mode: through the stack; TUN mode: sockets bound to the
	// device); the first that fails ends the client with
	// ReasonReadyCheck. They share one 30 s deadline. Not in ModeNetns.
	ReadyChecks []func(ctx context.Context, n ReadyNet) error
	// ProxyListen is where the proxy listens, for the up event and status
	// only (the command runs the proxy).
	ProxyListen string
	// Device makes the TUN device in namespace mode (ModeNetns).
	Device DeviceProvider

	// Logger receives the log; nil discards it.
	Logger *slog.Logger
	// OnEvent receives every event; it must not block for long.
	OnEvent func(Event)

	// Seams for the package's own tests: the server's IKE ports, a
	// function called right before the receive loop starts, and the
	// client's device and host changes, which need root: openDevice
	// replaces tun.Open and tun.ApplyHost on the first attach, readdress
	// the device's Readdress after a reconnect.
	ports      *serverPorts
	rxStarted  func(*Conn)
	openDevice func(c *Conn, ipi ppp.IPInfo, peer, ll netip.Addr, mtu int) (*tun.Device, hostConfigurer, error)
	readdress  func(local, peer netip.Addr, mtu int) error
	// fallbackPort replaces 1701 as PortFallback's port.
	fallbackPort int
	// sccrqProbe, if set, bounds the wait for the SCCRP (PortFallback's
	// first try from an ephemeral port; the client sets it on the copy it
	// dials with).
	sccrqProbe time.Duration
}

// serverPorts are the server's IKE and NAT-T ports (500 and 4500).
type serverPorts struct{ ike, natt uint16 }

// DefaultStateDir holds the control sockets, logs and undo journals.
const DefaultStateDir = "/run/l2tpvpn"

// Overhead of plain L2TP encapsulation in bytes: outer IPv4 20, UDP 8,
// L2TP data header 6, PPP address/control and protocol 4.
const plainOverhead = 20 + 8 + 6 + 4

func (c *Config) validate() error {
	if c.Server == "" {
		return configError("server", "is required")
	}
	if c.User == "" {
		return configError("user", "is required")
	}
	if c.Password.IsZero() {
		return configError("password", "is required")
	}
	if c.MTU != 0 && (c.MTU < 576 || c.MTU > 1500-plainOverhead) {
		return configError("mtu", fmt.Sprintf("%d is outside 576..%d", c.MTU, 1500-plainOverhead))
	}
	if c.MRU != 0 && (c.MRU < 128 || c.MRU > 1500) {
		return configError("mru", fmt.Sprintf("%d is outside 128..1500", c.MRU))
	}
	if c.LocalPort < 0 || c.LocalPort > 65535 {
		return configError("local-port", fmt.Sprintf("%d is not a port", c.LocalPort))
	}
	if c.Mode == ModeProxy && c.Strongswan {
		return configError("mode", "proxy runs without root, but ipsec = strongswan needs kernel ESP (root): use ipsec = on")
	}
	if c.Mode == ModeNetns && c.Strongswan {
		return configError("mode", "exec --netns runs without root, but ipsec = strongswan needs kernel ESP (root): use ipsec = on")
	}
	if c.Mode == ModeNetns && len(c.ReadyChecks) > 0 {
		return configError("ready-check", "not with exec --netns (the checks would run outside the command's namespace)")
	}
	if c.Mode == ModeNetns && c.Device == nil {
		return configError("mode", "netns needs a device provider (internal)")
	}
	if c.Mode > ModeNetns {
		return configError("mode", fmt.Sprintf("%d is not tun, proxy or netns", c.Mode))
	}
	if c.IPsec {
		if c.PSK.IsZero() && c.Cert == nil {
			return configError("psk", "is required with IPsec (--psk-env or --psk-file), unless cert or pkcs12 is given")
		}
		if c.Aggressive && c.Cert != nil {
			return configError("ike-mode", "aggressive works with a pre-shared key only")
		}
		if c.Strongswan && (c.Cert != nil || c.Aggressive || !c.LocalID.IsZero() || !c.RemoteID.IsZero() || c.PFSAuto || c.SHA2Truncbug) {
			return configError("ipsec", "strongswan: certificates, identities, aggressive mode, pfs auto and sha2-truncbug need the built-in IPsec (ipsec = on)")
		}
		if c.IKEProposals == nil {
			c.IKEProposals = ike.DefaultIKEProposals()
		}
		if c.ESPProposals == nil {
			c.ESPProposals = ike.DefaultESPProposals()
		}
		if c.Strongswan {
			if c.LocalPort != 0 && c.LocalPort != 1701 {
				return configError("local-port", fmt.Sprintf("%d: with ipsec strongswan L2TP uses port 1701 (the traffic selector charon protects)", c.LocalPort))
			}
			if c.KeyLogDir != "" {
				return configError("wireshark-keys", "needs the built-in IPsec (charon keeps its keys)")
			}
		}
		g := c.ESPProposals[0].Group
		for _, p := range c.ESPProposals {
			if p.Group != g {
				return configError("esp", "proposals must all use the same PFS group, or all none (Quick Mode carries one key exchange)")
			}
		}
	}
	if c.Strongswan && !c.IPsec {
		return configError("ipsec", "strongswan needs IPsec on")
	}
	c.authPolicy()
	if c.Name == "" {
		c.Name = "l2tpvpn"
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.ReconnectDelay <= 0 {
		c.ReconnectDelay = time.Second
	}
	if c.ReconnectMaxDelay <= 0 {
		c.ReconnectMaxDelay = time.Minute
	}
	if c.ReconnectMaxDelay < c.ReconnectDelay {
		c.ReconnectMaxDelay = c.ReconnectDelay
	}
	if c.ReconnectAttempts < 0 {
		return configError("reconnect-attempts", "must not be negative (0: no limit)")
	}
	if c.HookTimeout <= 0 {
		c.HookTimeout = 30 * time.Second
	}
	if c.Routing == tun.RouteSplit && len(c.Routes) == 0 {
		return configError("route", "is required with routing split (a list of prefixes)")
	}
	if _, err := splitServer(c.Server); err != nil {
		return configError("server", err.Error())
	}
	return nil
}

// splitServer turns HOST[:PORT] into host and port strings. An IPv6
// address stands alone ("2001:db8::1") or in brackets ("[2001:db8::1]",
// "[2001:db8::1]:1702"); a port after it needs the brackets: in
// "2001:db8::1:1702" the last group belongs to the address.
func splitServer(s string) ([2]string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, "1701"
		if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
			host = s[1 : len(s)-1]
		}
	}
	if host == "" {
		return [2]string{}, fmt.Errorf("%q has no host", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return [2]string{}, fmt.Errorf("%q has a bad port", s)
	}
	// A host meant as an address (digits and dots, or with colons) must be
	// one: otherwise "192.0.2.300" would go to the resolver and fail late
	// and unclearly.
	switch {
	case strings.Contains(host, ":"):
		a, err := netip.ParseAddr(host)
		if err == nil && a.Zone() != "" {
			return [2]string{}, fmt.Errorf("%q: an IPv6 address with a zone (link-local) is not supported", host)
		}
		if err != nil || !a.Is6() {
			return [2]string{}, fmt.Errorf("%q is not a valid IPv6 address (a port after one needs brackets: [ADDRESS]:PORT)", host)
		}
	case strings.ContainsAny(host, "[]%"):
		return [2]string{}, fmt.Errorf("%q is not a valid host name", host)
	case strings.Trim(host, "0123456789.") == "":
		if a, err := netip.ParseAddr(host); err != nil || !a.Is4() {
			return [2]string{}, fmt.Errorf("%q is not a valid IPv4 address", host)
		}
	}
	return [2]string{host, port}, nil
}

// CheckServer reports what makes s unusable as a server (HOST[:PORT])
// before any packet is sent: no host, a bad port, a malformed address.
func CheckServer(s string) error {
	_, err := splitServer(s)
	return err
}

package tun

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
)

// Host configuration: everything the client changes on the host besides the
// TUN device itself — routes, the IPv6 leak block and DNS. ApplyHost makes
// the changes, recording each one in a write-ahead journal (journal.go)
// before making it; Host.Close undoes them in reverse order, and Cleanup
// does the same from the journal after a crash.
//
// Full mode, in the main table, every route with protocol RouteProtocol:
//
//	SERVER/32 via GW dev UPLINK     (the path the host used before, pinned)
//	0.0.0.0/1 dev IFACE scope link
//	128.0.0.0/1 dev IFACE scope link
//	::/1 dev IFACE, 8000::/1 dev IFACE                  (IPV6CP up)
//	unreachable ::/1, unreachable 8000::/1             (no IPV6CP: no leak)
//
// The two halves are more specific than any default route, so the existing
// default stays untouched and restoring is only deleting ours. Split mode
// adds `PREFIX dev IFACE` for each configured prefix; none mode adds nothing.

// RouteMode says which traffic goes through the tunnel.
type RouteMode int

const (
	RouteFull  RouteMode = iota // default route through the tunnel
	RouteSplit                  // only HostConfig.Routes through the tunnel
	RouteNone                   // no routes (only the point-to-point peer)
)

var routeModeNames = [...]string{"full", "split", "none"}

func (m RouteMode) String() string {
	if m >= 0 && int(m) < len(routeModeNames) {
		return routeModeNames[m]
	}
	return fmt.Sprintf("RouteMode(%d)", int(m))
}

// ParseRouteMode parses "full", "split" or "none".
func ParseRouteMode(s string) (RouteMode, error) {
	for i, n := range routeModeNames {
		if s == n {
			return RouteMode(i), nil
		}
	}
	return 0, fmt.Errorf("tun: unknown route mode %q (want full, split or none)", s)
}

// DNSMode says how DNS servers from IPCP are given to the host.
type DNSMode int

const (
	DNSAuto       DNSMode = iota // systemd-resolved if it runs, else resolv.conf
	DNSResolved                  // resolvectl
	DNSResolvConf                // rewrite /etc/resolv.conf, restore at the end
	DNSOff                       // leave DNS alone
)

var dnsModeNames = [...]string{"auto", "resolved", "resolv.conf", "off"}

func (m DNSMode) String() string {
	if m >= 0 && int(m) < len(dnsModeNames) {
		return dnsModeNames[m]
	}
	return fmt.Sprintf("DNSMode(%d)", int(m))
}

// ParseDNSMode parses "auto", "resolved", "resolv.conf" or "off".
func ParseDNSMode(s string) (DNSMode, error) {
	for i, n := range dnsModeNames {
		if s == n {
			return DNSMode(i), nil
		}
	}
	return 0, fmt.Errorf("tun: unknown DNS mode %q (want auto, resolved, resolv.conf or off)", s)
}

// DefaultStateDir is where journals live when HostConfig.StateDir is empty.
const DefaultStateDir = "/run/l2tpvpn"

// HostConfig describes the host changes for one connection.
type HostConfig struct {
	Name       string     // connection name, [A-Za-z0-9._-]{1,32}; names the journal file
	Interface  string     // the TUN interface (exists already)
	Server     netip.Addr // the VPN server's outer address (full mode pins the route to it)
	Mode       RouteMode
	Routes     []netip.Prefix // split mode: prefixes into the tunnel; other modes: ignored
	IPv6       bool           // IPV6CP is up: full mode routes IPv6 into the tunnel, else blocks it
	DNS        []netip.Addr   // from IPCP; empty: DNS untouched
	Domains    []string       // split DNS routing domains
	Search     []string       // search domains (DHCP options 15 and 119), in every mode
	DNSMode    DNSMode
	StateDir   string // journal directory, created 0700 if missing; default DefaultStateDir
	ResolvConf string // default "/etc/resolv.conf"
	Logger     *slog.Logger
	// Run runs an external command (resolvectl); nil runs it with
	// exec.Command(name, args...).CombinedOutput().
	Run func(name string, args ...string) ([]byte, error)
}

// HostSummary is what ApplyHost changed, for status output.
type HostSummary struct {
	Mode    string
	Routes  []string // e.g. "0.0.0.0/1 dev l2tp0", "192.0.2.1/32 via 203.0.113.65 dev eth0 (server)"
	IPv6    string   // "routed through the tunnel", "blocked (no IPV6CP)" or "not changed"
	DNS     []string
	DNSVia  string // "systemd-resolved", the resolv.conf path, or ""
	Domains []string
	Search  []string // search domains applied
}

// hostSys is the outside world: netlink, command execution and the test
// for a running systemd-resolved. Tests replace all three.
type hostSys struct {
	routes          routeBackend
	run             func(name string, args ...string) ([]byte, error)
	resolvedRunning func() bool
}

func defaultSys() hostSys {
	return hostSys{routes: netlinkRoutes{}, run: runCommand, resolvedRunning: resolvedRunning}
}

func runCommand(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}

// Host is the set of host changes made for one connection. Its methods may
// be called from any goroutine.
type Host struct {
	cfg     HostConfig
	sys     hostSys
	log     *slog.Logger
	path    string // journal
	ifIndex int

	mu        sync.Mutex
	j         journal
	closed    bool
	routes    []string
	ipv6      string
	dnsVia    string       // active DNS backend, for the summary
	dnsMode   DNSMode      // DNSResolved or DNSResolvConf once chosen, DNSOff if none
	dns       []netip.Addr // servers currently applied
	domains   []string
	search    []string // search domains applied
	resolvOrg []byte   // original resolv.conf bytes while we own the file
}

// ApplyHost makes the host changes cfg describes (routes, IPv6 block, DNS).
// On error everything done so far is undone and the error says what failed.
func ApplyHost(cfg HostConfig) (*Host, error) {
	return applyHost(cfg, defaultSys())
}

func applyHost(cfg HostConfig, sys hostSys) (*Host, error) {
	if cfg.Run != nil {
		sys.run = cfg.Run
	}
	if cfg.StateDir == "" {
		cfg.StateDir = DefaultStateDir
	}
	if cfg.ResolvConf == "" {
		cfg.ResolvConf = "/etc/resolv.conf"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.Routes = slices.Clone(cfg.Routes)
	cfg.DNS = slices.Clone(cfg.DNS)
	cfg.Domains = slices.Clone(cfg.Domains)
	cfg.Search = slices.Clone(cfg.Search)
	h := &Host{
		cfg:  cfg,
		sys:  sys,
		log:  log.With("interface", cfg.Interface),
		path: journalPath(cfg.StateDir, cfg.Name),
		ipv6: "not changed",
		j:    journal{Version: journalVersion, Name: cfg.Name, Interface: cfg.Interface},
	}
	idx, err := sys.routes.linkIndex(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("tun: interface %s: %w", cfg.Interface, err)
	}
	h.ifIndex = idx
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("tun: state directory: %w", err)
	}
	if _, err := os.Lstat(h.path); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrJournalExists, h.path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("tun: journal: %w", err)
	}
	if err := h.j.save(h.path); err != nil {
		return nil, err
	}
	if err := h.apply(); err != nil {
		if _, uerr := undoAll(&h.j, h.path, h.sys, h.log); uerr != nil {
			err = errors.Join(err, uerr)
		}
		return nil, err
	}
	h.log.Info("host network configured", "mode", cfg.Mode, "routes", len(h.routes), "ipv6", h.ipv6,
		"dns", h.dnsVia)
	return h, nil
}

func (c *HostConfig) check() error {
	if !validName(c.Name) {
		return fmt.Errorf("tun: bad connection name %q (want 1 to 32 of A-Z a-z 0-9 . _ -)", c.Name)
	}
	if !validInterfaceName(c.Interface) {
		return fmt.Errorf("tun: bad interface name %q", c.Interface)
	}
	switch c.Mode {
	case RouteFull:
		if !c.Server.IsValid() || c.Server.IsUnspecified() {
			return errors.New("tun: full route mode needs the VPN server address")
		}
	case RouteSplit:
		for _, p := range c.Routes {
			if !p.IsValid() {
				return fmt.Errorf("tun: invalid split route %v", p)
			}
			if c.Server.IsValid() && p.Masked().Contains(c.Server.Unmap()) {
				return fmt.Errorf("tun: split route %s contains the VPN server %s; the tunnel would carry its own packets", p, c.Server)
			}
		}
	case RouteNone:
	default:
		return fmt.Errorf("tun: unknown route mode %d", int(c.Mode))
	}
	if c.DNSMode < DNSAuto || c.DNSMode > DNSOff {
		return fmt.Errorf("tun: unknown DNS mode %d", int(c.DNSMode))
	}
	for _, a := range c.DNS {
		if !a.IsValid() || a.IsUnspecified() {
			return fmt.Errorf("tun: invalid DNS server %v", a)
		}
	}
	for _, d := range slices.Concat(c.Domains, c.Search) {
		if !validDomain(d) {
			return fmt.Errorf("tun: invalid DNS domain %q", d)
		}
	}
	return nil
}

// validName accepts connection names [A-Za-z0-9._-]{1,32} (not "." or "..").
func validName(s string) bool {
	if len(s) < 1 || len(s) > 32 || s == "." || s == ".." {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validInterfaceName(s string) bool {
	if len(s) < 1 || len(s) > 15 || s[0] == '-' || s == "." || s == ".." {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c == '/' || c == ':' || c >= 0x7f {
			return false
		}
	}
	return true
}

// validDomain accepts a DNS name of letters, digits, '-', '_' and dots.
func validDomain(s string) bool {
	if len(s) < 1 || len(s) > 253 || s[0] == '-' || s[0] == '.' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// record appends a to the journal and saves it; called BEFORE the change.
func (h *Host) record(a action) error {
	h.j.Actions = append(h.j.Actions, a)
	return h.j.save(h.path)
}

// unrecord drops the last journal action again (the change did not happen).
func (h *Host) unrecord() error {
	h.j.Actions = h.j.Actions[:len(h.j.Actions)-1]
	return h.j.save(h.path)
}

func (h *Host) apply() error {
	c := &h.cfg
	link := h.linkRoute
	switch c.Mode {
	case RouteFull:
		if err := h.pinServer(); err != nil {
			return err
		}
		for _, p := range []string{"0.0.0.0/1", "128.0.0.0/1"} {
			if err := h.addRoute(link(netip.MustParsePrefix(p)), false); err != nil {
				return err
			}
		}
		v6 := make([]routeSpec, 0, 2)
		for _, p := range []string{"::/1", "8000::/1"} {
			r := link(netip.MustParsePrefix(p))
			if !c.IPv6 {
				r = routeSpec{Family: 6, Dst: p, Type: "unreachable", Protocol: RouteProtocol,
					Table: syscall.RT_TABLE_MAIN, Scope: "universe"}
			}
			v6 = append(v6, r)
		}
		h.ipv6 = "blocked (no IPV6CP)"
		if c.IPv6 {
			h.ipv6 = "routed through the tunnel"
		}
		for _, r := range v6 {
			if err := h.addRoute(r, true); err != nil {
				if errors.Is(err, errIPv6Off) {
					h.log.Warn("IPv6 is disabled on this host; no IPv6 routes added", "err", err)
					h.ipv6 = "not changed"
					break
				}
				return err
			}
		}
	case RouteSplit:
		for _, p := range c.Routes {
			if err := h.addRoute(link(p), false); err != nil {
				return err
			}
		}
	}
	return h.applyDNS(c.DNS)
}

// linkRoute is the route of p through the interface.
func (h *Host) linkRoute(p netip.Prefix) routeSpec {
	r := routeSpec{Dst: p.Masked().String(), Oif: h.cfg.Interface, OifIndex: h.ifIndex, Type: "unicast",
		Protocol: RouteProtocol, Table: syscall.RT_TABLE_MAIN, Scope: "link", Family: 4}
	if p.Addr().Is6() {
		r.Family, r.Scope = 6, "universe"
	}
	return r
}

// AddRoutes routes more prefixes through the interface in split mode
// (those a server pushed after a reconnect), journalled like the first
// ones and undone by Close. Prefixes routed already are skipped; in other
// modes it does nothing.
func (h *Host) AddRoutes(ps []netip.Prefix) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.cfg.Mode != RouteSplit {
		return nil
	}
	for _, p := range ps {
		p = p.Masked()
		if !p.IsValid() || slices.Contains(h.cfg.Routes, p) {
			continue
		}
		if h.cfg.Server.IsValid() && p.Contains(h.cfg.Server.Unmap()) {
			return fmt.Errorf("tun: split route %s contains the VPN server %s; the tunnel would carry its own packets", p, h.cfg.Server)
		}
		if err := h.addRoute(h.linkRoute(p), false); err != nil {
			return err
		}
		h.cfg.Routes = append(h.cfg.Routes, p)
	}
	return nil
}

var errIPv6Off = errors.New("tun: IPv6 is disabled on this host")

// addRoute journals r, then adds it. With v6Optional, a host without IPv6
// yields errIPv6Off (and nothing journalled).
func (h *Host) addRoute(r routeSpec, v6Optional bool) error {
	if err := h.record(action{Kind: "route", Route: &r}); err != nil {
		return err
	}
	err := h.sys.routes.routeAdd(r)
	if err == nil {
		h.log.Debug("added route", "route", r.String())
		h.routes = append(h.routes, r.String())
		return nil
	}
	if uerr := h.unrecord(); uerr != nil {
		return errors.Join(err, uerr)
	}
	if v6Optional && ipv6Unavailable(err) {
		return fmt.Errorf("%w: %v", errIPv6Off, err)
	}
	if errors.Is(err, syscall.EEXIST) {
		return h.routeExists(r)
	}
	return fmt.Errorf("tun: add route %s: %w", r, err)
}

// routeExists decides about a route that could not be added because an
// equal one exists. If the existing one goes through our interface (the
// kernel's point-to-point route to the PPP peer, when --route names the
// peer), the prefix is routed as asked: that is noted, nothing journalled.
// Otherwise the route belongs to someone else, and the error says where it
// goes.
func (h *Host) routeExists(r routeSpec) error {
	dst := netip.MustParsePrefix(r.Dst).Masked().Addr()
	pi, err := h.sys.routes.routeGet(dst, 0)
	if err == nil && pi.OifIndex == h.ifIndex {
		h.log.Info("route already present through the tunnel interface", "route", r.Dst, "interface", h.cfg.Interface)
		h.routes = append(h.routes, r.Dst+" dev "+h.cfg.Interface+" (already routed by the interface)")
		return nil
	}
	via := "another interface"
	if err == nil && pi.Oif != "" {
		via = pi.Oif
		if pi.Gw.IsValid() {
			via = pi.Gw.String() + " dev " + pi.Oif
		}
	}
	return fmt.Errorf("tun: add route %s: a route to %s already exists via %s, not made by l2tpvpn "+
		"(another VPN or a static route?); remove it or leave %s out of the routes", r, r.Dst, via, r.Dst)
}

// pinServer keeps the path to the VPN server that the host uses now: it
// looks it up before adding anything and adds it as a host route, so the
// tunnel's own packets never enter the tunnel.
func (h *Host) pinServer() error {
	srv := h.cfg.Server.Unmap()
	pi, err := h.sys.routes.routeGet(srv, h.ifIndex)
	if err != nil {
		return fmt.Errorf("tun: no route to the VPN server %s: %w", srv, err)
	}
	if pi.Local {
		h.log.Debug("VPN server is a local address; not pinning a route", "server", srv)
		return nil
	}
	if pi.OifIndex == h.ifIndex {
		return fmt.Errorf("tun: the route to the VPN server %s already goes through %s", srv, h.cfg.Interface)
	}
	return h.addServerRoute(h.serverRoute(srv, pi))
}

// addServerRoute journals and adds the pinned route to the server.
func (h *Host) addServerRoute(r routeSpec) error {
	if err := h.record(action{Kind: "route", Route: &r}); err != nil {
		return err
	}
	err := h.sys.routes.routeAdd(r)
	switch {
	case err == nil:
		h.log.Debug("added route", "route", r.String())
		h.routes = append(h.routes, r.String())
		return nil
	case errors.Is(err, syscall.EEXIST):
		// A host route to the server exists already; it is not ours.
		h.log.Debug("route to the VPN server exists already", "route", r.String())
		r.Note = "server, already present"
		h.routes = append(h.routes, r.String())
		return h.unrecord()
	}
	if uerr := h.unrecord(); uerr != nil {
		err = errors.Join(err, uerr)
	}
	return fmt.Errorf("tun: add route %s: %w", r, err)
}

// Summary says what ApplyHost changed.
func (h *Host) Summary() HostSummary {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := HostSummary{Mode: h.cfg.Mode.String(), Routes: slices.Clone(h.routes), IPv6: h.ipv6,
		DNSVia: h.dnsVia, Domains: slices.Clone(h.domains), Search: slices.Clone(h.search)}
	for _, a := range h.dns {
		s.DNS = append(s.DNS, a.String())
	}
	return s
}

// Close undoes every change in reverse order and removes the journal. What
// could not be undone stays in the journal for Cleanup, and the error says
// what it was. Close is idempotent.
func (h *Host) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	done, err := undoAll(&h.j, h.path, h.sys, h.log)
	h.log.Info("host network restored", "undone", len(done))
	h.routes, h.dns, h.dnsVia, h.domains, h.search, h.resolvOrg = nil, nil, "", nil, nil, nil
	return err
}

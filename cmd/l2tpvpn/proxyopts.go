package main

// Proxy mode (issue 13): mode = "proxy" (or --proxy) puts the tunnel's IP
// packets into an in-process network stack instead of a TUN device; package
// proxy serves SOCKS5, an HTTP proxy and port forwards over it. No root,
// no route, no DNS change.
//
// Package proxy parses the forwards and ready checks and runs the
// listeners (newProxyServer); package vpn makes the stack it serves.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/spf13/pflag"

	"github.com/l2tpvpn/l2tpvpn/proxy"
	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// proxyOpts are connectOpts' proxy-mode settings.
type proxyOpts struct {
	mode        string
	proxy       bool
	listen      string
	user        string
	password    *secretValue
	forwards    []string
	reverses    []string
	maxConns    int
	readyChecks []string

	// Parsed by proxyConfig.
	fwds []proxy.Forward
	revs []proxy.Reverse
}

// proxyOptNames are the keys proxyFlags defines, in the order help shows them.
var proxyOptNames = []string{"mode", "proxy", "proxy-listen", "proxy-user", "proxy-password", "forward", "reverse", "max-conns", "ready-check"}

// proxyOnlyKeys are the settings that mean something in proxy mode only.
var proxyOnlyKeys = []string{"proxy-listen", "proxy-user", "proxy-password", "forward", "reverse", "max-conns"}

const defaultProxyListen = "127.0.0.1:1080"

// The tunnel side the client makes is what package proxy serves.
var _ proxy.Net = (*vpn.Net)(nil)

func proxyFlags(fs *pflag.FlagSet, o *proxyOpts) {
	fs.StringVar(&o.mode, "mode", "tun", "where the tunnel's traffic goes: tun (a TUN device with routes and DNS; root or CAP_NET_ADMIN) or proxy (an in-process network stack behind a SOCKS5/HTTP proxy and port forwards; no root, nothing on the host changes)")
	fs.BoolVar(&o.proxy, "proxy", false, "same as --mode proxy")
	fs.StringVar(&o.listen, "proxy-listen", defaultProxyListen, "proxy mode: address of the SOCKS5 and HTTP proxy (one port for both)")
	fs.StringVar(&o.user, "proxy-user", "", "proxy mode: user name the proxy's clients must give (with proxy-password)")
	o.password = newSecretFlag(fs, "proxy-password", "proxy mode: password the proxy's clients must give: env:VAR, file:PATH or prompt")
	fs.StringSliceVar(&o.forwards, "forward", nil, "proxy mode: a host port through the tunnel, PROTO:[LISTEN-IP:]PORT=HOST:PORT, e.g. tcp:5432=10.1.2.3:5432 (repeatable)")
	fs.StringSliceVar(&o.reverses, "reverse", nil, "proxy mode: a port of our tunnel address to the host, PROTO:PORT=[LOCAL-IP:]PORT, e.g. tcp:8080=3000 (repeatable)")
	fs.IntVar(&o.maxConns, "max-conns", 0, "proxy mode: most connections and forwarded flows at once (0: 256)")
	fs.StringSliceVar(&o.readyChecks, "ready-check", nil, "checked through the tunnel before it counts as up (exit 17 if one fails): tcp://HOST:PORT, icmp://HOST or dns://NAME (repeatable)")
	fs.SetAnnotation("proxy", "profile", []string{"no"}) // profiles say mode = "proxy"
}

// proxyConfig fills cfg's mode, its ready checks and the proxy's; the
// listeners themselves start with the connection (startProxy).
func (o *connectOpts) proxyConfig(cfg *vpn.Config) error {
	p := &o.proxyX
	mode := p.mode
	if p.proxy {
		if o.set("mode") && mode != "proxy" {
			return o.keyErrf("mode", "%q contradicts --proxy", mode)
		}
		mode = "proxy"
	}
	m, err := vpn.ParseMode(mode)
	if err != nil {
		return o.keyErrf("mode", "%q is not tun or proxy", mode)
	}
	cfg.Mode = m
	cfg.ReadyChecks = nil
	for _, spec := range p.readyChecks {
		c, err := proxy.ParseCheck(spec)
		if err != nil {
			return o.keyErr("ready-check", unprefixed(err))
		}
		cfg.ReadyChecks = append(cfg.ReadyChecks, func(ctx context.Context, n vpn.ReadyNet) error { return c.Run(ctx, n) })
	}
	if m != vpn.ModeProxy {
		// A profile may keep its proxy settings for --proxy; on the
		// command line they are a mistake.
		for _, k := range proxyOnlyKeys {
			if o.fs.Changed(k) && !o.profile.Has(k) {
				return o.keyErrf(k, "needs mode proxy (--proxy)")
			}
		}
		return nil
	}
	if cfg.Strongswan {
		return o.keyErrf("ipsec", "strongswan needs root (kernel ESP): proxy mode runs with ipsec on or off")
	}
	if _, err := netip.ParseAddrPort(p.listen); err != nil {
		return o.keyErrf("proxy-listen", "%q is not ADDR:PORT like %s", p.listen, defaultProxyListen)
	}
	if (p.user == "") != (p.password.Spec() == "") {
		return o.keyErrf("proxy-user", "proxy-user and proxy-password go together")
	}
	if p.maxConns < 0 {
		return o.keyErrf("max-conns", "%d is negative (0: 256)", p.maxConns)
	}
	p.fwds, p.revs = nil, nil
	for _, s := range p.forwards {
		f, err := proxy.ParseForward(s)
		if err != nil {
			return o.keyErr("forward", unprefixed(err))
		}
		p.fwds = append(p.fwds, f)
	}
	for _, s := range p.reverses {
		r, err := proxy.ParseReverse(s)
		if err != nil {
			return o.keyErr("reverse", unprefixed(err))
		}
		p.revs = append(p.revs, r)
	}
	cfg.ProxyListen = p.listen
	cfg.Interface = "" // no TUN
	return nil
}

// unprefixed drops the package's "proxy: " from a parse error reported
// against its key.
func unprefixed(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), "proxy: "))
}

// proxyServer is what connect needs of package proxy's Proxy: listening
// from before the connection until Close, and given the tunnel's stack
// when the client makes one (nil at the end).
type proxyServer interface {
	SetNet(n *vpn.Net)
	Close() error
}

// newProxyServer binds package proxy's listeners (a port in use fails
// here, before anything is sent) and serves them. A variable for tests.
var newProxyServer = func(c proxy.Config) (proxyServer, error) {
	p, err := proxy.New(c)
	if err != nil {
		return nil, err
	}
	go p.Serve(context.Background()) // until Close
	return proxyOf{p}, nil
}

// proxyOf adapts *proxy.Proxy: a nil *vpn.Net must reach it as a nil
// proxy.Net, not as an interface holding a nil pointer.
type proxyOf struct{ p *proxy.Proxy }

func (a proxyOf) SetNet(n *vpn.Net) {
	if n == nil {
		a.p.SetNet(nil)
		return
	}
	a.p.SetNet(n)
}

func (a proxyOf) Close() error { return a.p.Close() }

// startProxy starts the listeners of a proxy-mode connection and hands
// them each stack the client makes (cfg.OnNet). The returned stop closes
// them.
func (o *connectOpts) startProxy(cfg *vpn.Config, _ io.Writer) (stop func(), err error) {
	if cfg.Mode != vpn.ModeProxy {
		return func() {}, nil
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv, err := newProxyServer(proxy.Config{Listen: cfg.ProxyListen, User: o.proxyX.user, Password: o.secrets.ProxyPassword,
		Forwards: o.proxyX.fwds, Reverses: o.proxyX.revs, MaxConns: o.proxyX.maxConns, Logger: log.With("layer", "proxy")})
	if err != nil {
		return nil, err
	}
	user := cfg.OnNet
	cfg.OnNet = func(n *vpn.Net) {
		srv.SetNet(n)
		if user != nil {
			user(n)
		}
	}
	return func() { srv.Close() }, nil
}

// proxySettingsLines are the dry run's proxy-mode lines.
func (o *connectOpts) proxySettingsLines(cfg vpn.Config, add func(string, any)) {
	add("mode", cfg.Mode)
	if cfg.Mode != vpn.ModeProxy {
		return
	}
	p := &o.proxyX
	add("proxy-listen", cfg.ProxyListen+" (SOCKS5 and HTTP)")
	if p.user != "" {
		add("proxy-user", p.user)
		add("proxy-password", secretSetting(o.secrets.ProxyPassword, p.password.String(), "", ""))
	}
	for _, f := range p.fwds {
		add("forward", f)
	}
	for _, r := range p.revs {
		add("reverse", r)
	}
	if p.maxConns == 0 {
		add("max-conns", proxy.DefaultMaxConns)
	} else {
		add("max-conns", p.maxConns)
	}
	if len(p.readyChecks) > 0 {
		add("ready-check", strings.Join(p.readyChecks, ", "))
	}
}

// proxyRoutingText is the up line's routing part in proxy mode.
func proxyRoutingText(ev vpn.Event) string {
	if ev.Proxy == "" {
		return "proxy mode (no host routes)"
	}
	return "proxy mode, no host routes; SOCKS5 and HTTP proxy on " + ev.Proxy
}

// proxyStatusText is status's proxy row ("" in tun mode).
func proxyStatusText(st vpn.Status) string {
	if st.Mode != vpn.ModeProxy.String() {
		return ""
	}
	if st.Proxy == "" {
		return "mode proxy"
	}
	return "mode proxy; SOCKS5 and HTTP on " + st.Proxy
}

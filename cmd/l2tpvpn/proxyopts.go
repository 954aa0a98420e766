package main

// Proxy mode (issue 13): mode = "proxy" (or --proxy) puts the tunnel's IP
// packets into an in-process network stack instead of a TUN device; package
// proxy serves SOCKS5, an HTTP proxy and port forwards over it. No root,
// no route, no DNS change.
//
// Package proxy is wired through newProxyServer and parseReadyCheck below,
// so that connecting it is a few lines in one place.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/l2tpvpn/l2tpvpn/secret"
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
}

// proxyOptNames are the keys proxyFlags defines, in the order help shows them.
var proxyOptNames = []string{"mode", "proxy", "proxy-listen", "proxy-user", "proxy-password", "forward", "reverse", "max-conns", "ready-check"}

// proxyOnlyKeys are the settings that mean something in proxy mode only.
var proxyOnlyKeys = []string{"proxy-listen", "proxy-user", "proxy-password", "forward", "reverse", "max-conns", "ready-check"}

const defaultProxyListen = "127.0.0.1:1080"

func proxyFlags(fs *pflag.FlagSet, o *proxyOpts) {
	fs.StringVar(&o.mode, "mode", "tun", "where the tunnel's traffic goes: tun (a TUN device with routes and DNS; root or CAP_NET_ADMIN) or proxy (an in-process network stack behind a SOCKS5/HTTP proxy and port forwards; no root, nothing on the host changes)")
	fs.BoolVar(&o.proxy, "proxy", false, "same as --mode proxy")
	fs.StringVar(&o.listen, "proxy-listen", defaultProxyListen, "proxy mode: address of the SOCKS5 and HTTP proxy (one port for both)")
	fs.StringVar(&o.user, "proxy-user", "", "proxy mode: user name the proxy's clients must give (with proxy-password)")
	o.password = newSecretFlag(fs, "proxy-password", "proxy mode: password the proxy's clients must give: env:VAR, file:PATH or prompt")
	fs.StringSliceVar(&o.forwards, "forward", nil, "proxy mode: forward a local port through the tunnel, [LOCAL-ADDR:]PORT:HOST:PORT (repeatable)")
	fs.StringSliceVar(&o.reverses, "reverse", nil, "proxy mode: forward a port of our tunnel address to a local one, PORT:HOST:PORT (repeatable)")
	fs.IntVar(&o.maxConns, "max-conns", 0, "proxy mode: most connections through the proxy and forwards at once (0: the proxy's default)")
	fs.StringSliceVar(&o.readyChecks, "ready-check", nil, "proxy mode: check through the tunnel before it counts as up (exit 17 if one fails): tcp:HOST:PORT, ping:ADDR or dns:NAME (repeatable)")
	fs.SetAnnotation("proxy", "profile", []string{"no"}) // profiles say mode = "proxy"
}

// proxyConfig fills cfg's mode and, in proxy mode, its ready checks; the
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
		return o.keyErrf("max-conns", "%d is negative (0: the proxy's default)", p.maxConns)
	}
	for _, f := range []struct {
		key   string
		specs []string
		parts int
	}{{"forward", p.forwards, 3}, {"reverse", p.reverses, 3}} {
		for _, s := range f.specs {
			if n := strings.Count(strings.TrimPrefix(s, "["), ":"); n < f.parts-1 || strings.TrimSpace(s) != s || s == "" {
				return o.keyErrf(f.key, "%q is not [LOCAL-ADDR:]PORT:HOST:PORT", s)
			}
		}
	}
	cfg.ReadyChecks = nil
	for _, spec := range p.readyChecks {
		check, err := parseReadyCheck(spec)
		if err != nil {
			return o.keyErr("ready-check", err)
		}
		cfg.ReadyChecks = append(cfg.ReadyChecks, check)
	}
	cfg.ProxyListen = p.listen
	cfg.Interface = "" // no TUN
	return nil
}

// proxySettings are what package proxy's listeners are started with.
type proxySettings struct {
	Listen   netip.AddrPort
	User     string
	Password secret.Secret
	Forwards []string
	Reverses []string
	MaxConns int
	Logger   *slog.Logger
}

// proxyServer is what connect needs of package proxy's Proxy: listening
// from before the connection until Close, and given the tunnel's stack on
// every (re)connect and nil while there is none.
type proxyServer interface {
	SetNet(n *vpn.Net)
	Close() error
}

// newProxyServer starts package proxy's listeners. nil until package proxy
// is merged: proxy mode then runs the tunnel's stack without listeners,
// and says so.
var newProxyServer func(s proxySettings) (proxyServer, error)

// startProxy starts the listeners of a proxy-mode connection and hands
// them each stack the client makes (cfg.OnNet). The returned stop closes
// them.
func (o *connectOpts) startProxy(cfg *vpn.Config, stderr io.Writer) (stop func(), err error) {
	if cfg.Mode != vpn.ModeProxy {
		return func() {}, nil
	}
	if newProxyServer == nil {
		fmt.Fprintf(stderr, "l2tpvpn: warning: this build has no proxy listeners yet: nothing listens on %s\n", cfg.ProxyListen)
		return func() {}, nil
	}
	s := proxySettings{Listen: netip.MustParseAddrPort(cfg.ProxyListen), User: o.proxyX.user, Password: o.secrets.ProxyPassword,
		Forwards: o.proxyX.forwards, Reverses: o.proxyX.reverses, MaxConns: o.proxyX.maxConns, Logger: cfg.Logger.With("layer", "proxy")}
	srv, err := newProxyServer(s)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
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

// parseReadyCheck turns a ready-check spec into a check through the
// tunnel: tcp:HOST:PORT connects, ping:ADDR waits for an echo reply,
// dns:NAME resolves through the tunnel's DNS. (Package proxy owns ready
// checks; this stands in until it is merged.)
var parseReadyCheck = func(spec string) (func(context.Context, *vpn.Net) error, error) {
	kind, arg, ok := strings.Cut(spec, ":")
	if !ok || arg == "" {
		return nil, fmt.Errorf("%q is not tcp:HOST:PORT, ping:ADDR or dns:NAME", spec)
	}
	const each = 10 * time.Second
	switch kind {
	case "tcp":
		if _, _, err := net.SplitHostPort(arg); err != nil {
			return nil, fmt.Errorf("%q: want tcp:HOST:PORT", spec)
		}
		return func(ctx context.Context, n *vpn.Net) error {
			ctx, cancel := context.WithTimeout(ctx, each)
			defer cancel()
			c, err := n.DialContext(ctx, "tcp", arg)
			if err != nil {
				return fmt.Errorf("%s: %w", spec, err)
			}
			return c.Close()
		}, nil
	case "ping":
		a, err := netip.ParseAddr(arg)
		if err != nil {
			return nil, fmt.Errorf("%q: want ping:ADDR (an IP address)", spec)
		}
		return func(ctx context.Context, n *vpn.Net) error {
			ctx, cancel := context.WithTimeout(ctx, each)
			defer cancel()
			if err := n.Ping(ctx, a); err != nil {
				return fmt.Errorf("%s: %w", spec, err)
			}
			return nil
		}, nil
	case "dns":
		return func(ctx context.Context, n *vpn.Net) error {
			ctx, cancel := context.WithTimeout(ctx, each)
			defer cancel()
			if _, err := n.LookupHost(ctx, arg); err != nil {
				return fmt.Errorf("%s: %w", spec, err)
			}
			return nil
		}, nil
	}
	return nil, errors.New(spec + ": want tcp:HOST:PORT, ping:ADDR or dns:NAME")
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
	for _, f := range p.forwards {
		add("forward", f)
	}
	for _, r := range p.reverses {
		add("reverse", r)
	}
	add("max-conns", orDefault(zeroAuto(p.maxConns), ""))
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

package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/ike/vici"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/secret"
	"github.com/l2tpvpn/l2tpvpn/tun"
	"github.com/l2tpvpn/l2tpvpn/vpn"
)

var errHelp = errors.New("help shown")

// connectOpts are the connect command's settings. Every profile key is the
// flag of the same name; flags marked cliOnly are not allowed in profiles.
type connectOpts struct {
	fs      *pflag.FlagSet
	netns   *netnsRun // exec --netns: the command's namespace
	profile *Profile  // nil without a profile
	secrets *resolvedSecrets
	name    string // connection name

	server, user                string
	password, psk, l2tpSecret   *secretValue
	otp                         *secretValue // otp.go
	otpFormat                   string
	passwordEnv, passwordFile   string
	secretEnv, secretFile       string
	pskEnv, pskFile             string
	ipsec                       string
	viciSocket                  string
	ikeProps, espProps          []string
	espMode                     string
	ikeLifetime, espLifetime    time.Duration
	dpdDelay, nattKeepalive     time.Duration
	keyLogDir                   string
	auth                        []string
	iface                       string
	mtu, mru                    int
	localPort                   localPortOpt // localport.go
	routing                     string
	routes                      []string
	dns                         string
	dnsDomains                  []string
	ipv6                        bool
	echoInterval                time.Duration
	echoFailures                int
	helloInterval               time.Duration
	retransmitTimeout           time.Duration
	retransmits                 int
	reconnect                   bool
	reconnectAttempts           int
	reconnectDelay, reconnectMx time.Duration
	upHook, downHook            string
	hookFailure                 string
	json, verbose, background   bool
	dryRun                      bool
	daemonChild                 bool
	ikeX                        ikeOpts   // ikeopts.go
	certX                       certOpts  // certopts.go
	pppX                        pppxOpts  // pppxopts.go
	mppeX                       pppOpts   // pppopts.go
	serverType                  string    // servertype.go
	fromPreset                  []string  // keys the server type filled in
	dhcpX                       dhcpOpts  // dhcpopts.go
	proxyX                      proxyOpts // proxyopts.go
	metricsListen               string    // metrics.go
}

func connectFlags(o *connectOpts, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("connect", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	// Server and credentials.
	fs.StringVar(&o.server, "server", "", "L2TP/IPsec server, HOST or HOST:PORT (L2TP port 1701 by default)")
	fs.StringVar(&o.serverType, "server-type", "", "server family preset: "+strings.Join(serverTypeNames(), ", ")+" (l2tpvpn presets says what each sets; explicit settings win)")
	fs.StringVar(&o.user, "user", "", "PPP user name")
	o.password = newSecretFlag(fs, "password", "PPP password: env:VAR, file:PATH or prompt")
	o.psk = newSecretFlag(fs, "psk", "IPsec pre-shared key: env:VAR, file:PATH or prompt")
	o.l2tpSecret = newSecretFlag(fs, "l2tp-secret", "L2TP tunnel secret (rarely used): env:VAR, file:PATH or prompt")
	fs.StringVar(&o.passwordEnv, "password-env", "", "same as --password env:VAR")
	fs.StringVar(&o.passwordFile, "password-file", "", "same as --password file:PATH")
	fs.StringVar(&o.pskEnv, "psk-env", "", "same as --psk env:VAR")
	fs.StringVar(&o.pskFile, "psk-file", "", "same as --psk file:PATH")
	fs.StringVar(&o.secretEnv, "l2tp-secret-env", "", "same as --l2tp-secret env:VAR")
	fs.StringVar(&o.secretFile, "l2tp-secret-file", "", "same as --l2tp-secret file:PATH")
	o.otp = newSecretFlag(fs, "otp", otpHelp) // otp.go
	fs.StringVar(&o.otpFormat, "otp-format", defaultOTPFormat, otpFormatHelp)
	// IPsec.
	fs.StringVar(&o.ipsec, "ipsec", "on", "IPsec: on (built-in IKEv1 and ESP, L2TP inside ESP), strongswan (strongSwan's charon does IKE, the kernel ESP; driven over VICI) or off (plain L2TP)")
	fs.StringVar(&o.viciSocket, "vici-socket", vici.DefaultSocket, "with --ipsec strongswan: charon's VICI socket")
	fs.StringSliceVar(&o.ikeProps, "ike", strings.Split(ike.FormatIKEProposals(ike.DefaultIKEProposals()), ","), "IKE (phase 1) proposals, strongSwan style, in order")
	fs.StringSliceVar(&o.espProps, "esp", strings.Split(ike.FormatESPProposals(ike.DefaultESPProposals()), ","), "ESP (phase 2) proposals, strongSwan style, in order (PFS: append a group, e.g. aes128-sha1-modp2048)")
	fs.StringVar(&o.espMode, "esp-mode", "transport", "ESP mode: transport (as Windows and macOS do) or tunnel")
	fs.DurationVar(&o.ikeLifetime, "ike-lifetime", ike.DefaultIKELifetime, "ISAKMP SA lifetime proposed (rekeyed at about 90%)")
	fs.DurationVar(&o.espLifetime, "esp-lifetime", ike.DefaultESPLifetime, "ESP SA lifetime proposed (rekeyed at about 90%)")
	fs.DurationVar(&o.dpdDelay, "dpd-delay", ike.DefaultDPDDelay, "idle time before a dead peer detection probe (0 disables)")
	fs.DurationVar(&o.nattKeepalive, "natt-keepalive", vpn.DefaultNATKeepalive, "NAT keepalive interval (0 disables)")
	ikeFlags(fs, &o.ikeX)
	certFlags(fs, &o.certX)
	pppxFlags(fs, &o.pppX)
	// PPP and the interface.
	pppFlags(fs, &o.mppeX)
	fs.StringSliceVar(&o.auth, "auth", nil, "PPP authentication methods allowed: pap, chap, mschapv2 (default: chap and mschapv2, and pap too with IPsec; pap without IPsec sends the password unencrypted)")
	fs.StringVar(&o.iface, "interface", "", "TUN interface name (default: the first free of l2tp0..l2tp15)")
	fs.IntVar(&o.mtu, "mtu", 0, "TUN MTU (0: from the server's MRU and the encapsulation overhead)")
	fs.IntVar(&o.mru, "mru", 0, "PPP MRU to ask for (0: PPP default)")
	fs.BoolVar(&o.ipv6, "ipv6", false, "also negotiate IPV6CP (IPv6 link-local address; full tunnel then routes IPv6 through it)")
	fs.Var(&o.localPort, "local-port", localPortHelp)
	// Routes and DNS.
	fs.StringVar(&o.routing, "routing", "", "full (default route through the tunnel), split (only --route prefixes) or none; default: split if --route is given, else full")
	fs.StringSliceVar(&o.routes, "route", nil, "prefix to route through the tunnel (split mode; repeatable or comma-separated)")
	fs.StringVar(&o.dns, "dns", "auto", "apply the server's DNS: auto (systemd-resolved if running, else /etc/resolv.conf), resolved, resolv.conf or off")
	fs.StringSliceVar(&o.dnsDomains, "dns-domain", nil, "split DNS: domains resolved through the tunnel's DNS servers")
	dhcpFlags(fs, &o.dhcpX)
	proxyFlags(fs, &o.proxyX)
	// Keepalives and timers.
	fs.DurationVar(&o.echoInterval, "lcp-echo-interval", 20*time.Second, "LCP keepalive interval (0 disables)")
	fs.IntVar(&o.echoFailures, "lcp-echo-failures", 5, "unanswered LCP echo requests before the link counts as dead")
	fs.DurationVar(&o.helloInterval, "hello-interval", 60*time.Second, "L2TP HELLO keepalive interval (0 disables)")
	fs.DurationVar(&o.retransmitTimeout, "l2tp-timeout", time.Second, "first L2TP (and IKE) retransmission timeout (doubles, capped at 8s)")
	fs.IntVar(&o.retransmits, "l2tp-retries", 4, "L2TP (and IKE) retransmissions before the server counts as unreachable")
	// Reconnect and hooks.
	fs.BoolVar(&o.reconnect, "reconnect", true, "reconnect by itself after the link is lost")
	fs.IntVar(&o.reconnectAttempts, "reconnect-attempts", 10, "reconnect attempts in a row before giving up (0: no limit)")
	fs.DurationVar(&o.reconnectDelay, "reconnect-delay", time.Second, "wait before the first reconnect attempt (doubles, ±20% jitter)")
	fs.DurationVar(&o.reconnectMx, "reconnect-max-delay", time.Minute, "longest wait between reconnect attempts")
	fs.StringVar(&o.upHook, "up", "", "shell command run after the tunnel is up (environment: see README)")
	fs.StringVar(&o.downHook, "down", "", "shell command run before the tunnel is torn down")
	fs.StringVar(&o.hookFailure, "hook-failure", "warn", "when the up hook fails: warn (the connection stays) or disconnect (it ends, exit 8)")
	metricsFlags(fs, &o.metricsListen)
	// Command line only.
	fs.StringVar(&o.name, "name", "", "connection name for status/disconnect (default: the profile name, else the server's host)")
	fs.BoolVar(&o.background, "background", false, "detach once traffic can flow (exit 0), or exit with the failure's code; log in the state directory (/run/l2tpvpn, or $XDG_RUNTIME_DIR/l2tpvpn for another user than root)/NAME.log")
	fs.BoolVar(&o.dryRun, "dry-run", false, "check the settings and print them as they would be used (secrets redacted); send nothing")
	fs.BoolVar(&o.json, "json", false, "print one JSON event per line on stdout instead of text")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "debug log on stderr (every control message; never secrets)")
	fs.StringVar(&o.keyLogDir, "wireshark-keys", "", "debug (needs -v): write the IKE and ESP keys into this directory as Wireshark's esp_sa and ikev1_decryption_table")
	fs.BoolVar(&o.daemonChild, "daemon-child", false, "internal: the detached half of --background")
	fs.MarkHidden("daemon-child")
	for _, n := range []string{"password-env", "password-file", "psk-env", "psk-file", "l2tp-secret-env", "l2tp-secret-file",
		"name", "background", "json", "verbose", "wireshark-keys", "daemon-child", "dry-run"} {
		fs.SetAnnotation(n, "profile", []string{"no"})
	}
	for group, names := range map[string][]string{
		"Server and credentials": {"server", "server-type", "user", "password", "psk", "l2tp-secret", "password-env", "password-file",
			"psk-env", "psk-file", "l2tp-secret-env", "l2tp-secret-file", "otp", "otp-format"},
		"IPsec": append([]string{"ipsec", "vici-socket", "ike", "esp", "esp-mode", "ike-lifetime", "esp-lifetime", "dpd-delay", "natt-keepalive"},
			append(ikeOptNames, certOptNames...)...),
		"PPP and the interface": append([]string{"auth", "mppe", "interface", "mtu", "mru", "ipv6", "local-port"}, pppxOptNames...),
		"Routes and DNS":        append([]string{"routing", "route", "dns", "dns-domain"}, dhcpOptNames...),
		"Timers and reconnect": {"lcp-echo-interval", "lcp-echo-failures", "hello-interval", "l2tp-timeout", "l2tp-retries",
			"reconnect", "reconnect-attempts", "reconnect-delay", "reconnect-max-delay"},
		"Hooks":                                  {"up", "down", "hook-failure"},
		"Proxy mode (no root)":                   proxyOptNames,
		"Monitoring":                             metricsOptNames,
		"Output and running (command line only)": {"name", "background", "dry-run", "json", "verbose", "wireshark-keys"},
	} {
		for _, n := range names {
			fs.SetAnnotation(n, "group", []string{group})
		}
	}
	return fs
}

func parseConnect(args []string, stderr io.Writer) (*connectOpts, error) {
	o := &connectOpts{}
	fs := connectFlags(o, stderr)
	o.fs = fs
	fs.Usage = func() {} // connect prints connectHelp on errHelp, to stdout
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return o, errHelp
		}
		return nil, flagError(fs, err)
	}
	// From here on o is returned with the error too: --json is known, so
	// the error ends in a down event.
	switch fs.NArg() {
	case 0:
	case 1:
		// A name is looked up; a path (with a '/' or ending in .toml) is
		// used as it is.
		// "work.toml" with no such file here is the profile work.
		path, err := fs.Arg(0), error(nil)
		if !strings.ContainsRune(path, '/') && !strings.HasSuffix(path, ".toml") {
			path, err = FindProfile(path)
		} else if _, err = os.Stat(path); err != nil {
			if base, ok := strings.CutSuffix(path, ".toml"); ok && errors.Is(err, os.ErrNotExist) && !strings.ContainsRune(path, '/') {
				path, err = FindProfile(base)
			} else {
				err = fmt.Errorf("profile %s: %w", path, err)
			}
		}
		if err != nil {
			return o, err
		}
		p, err := LoadProfile(path, fs)
		if err != nil {
			return o, err
		}
		o.profile = p
		if o.name == "" {
			o.name = p.Name
		}
	default:
		return o, fmt.Errorf("connect: one profile name at most, got %q", fs.Args())
	}
	if err := o.applyServerType(); err != nil {
		return o, err
	}
	if o.name == "" {
		o.name = nameFromServer(o.server)
	}
	if !validName(o.name) {
		return o, fmt.Errorf("--name: %q: use letters, digits, '.', '_' and '-' (at most 32)", o.name)
	}
	return o, nil
}

// keyErr is a problem with one setting; it is reported against the profile
// line or the flag it came from.
func (o *connectOpts) keyErr(key string, err error) error {
	if o.profile != nil && !o.profile.Has(key) && !o.fs.Changed(key) {
		// Missing from both: the profile is where it belongs.
		return &ProfileError{Path: o.profile.Path, Key: key, Err: err}
	}
	if o.profile != nil {
		return o.profile.KeyError(key, err)
	}
	return fmt.Errorf("--%s: %w", key, err)
}

func (o *connectOpts) keyErrf(key, format string, a ...any) error {
	return o.keyErr(key, fmt.Errorf(format, a...))
}

// config turns the settings into a vpn.Config, reading secrets (secrets, if
// not nil, are already resolved: the detached half of --background).
func (o *connectOpts) config(stderr io.Writer, onEvent func(vpn.Event), secrets *resolvedSecrets) (vpn.Config, error) {
	cfg := vpn.Config{Name: o.name, OnEvent: onEvent, StateDir: stateDir()}
	switch o.ipsec {
	case "on", "true":
		cfg.IPsec = true
	case "strongswan":
		cfg.IPsec, cfg.Strongswan, cfg.VICISocket = true, true, o.viciSocket
	case "off", "false":
	default:
		return cfg, o.keyErrf("ipsec", "%q is not one of on, strongswan, off", o.ipsec)
	}
	if !cfg.Strongswan && o.viciSocket != vici.DefaultSocket {
		return cfg, o.keyErrf("vici-socket", "needs ipsec strongswan")
	}
	if err := o.localPortConfig(&cfg); err != nil {
		return cfg, err
	}
	if o.server == "" {
		return cfg, o.keyErrf("server", "is required")
	}
	if err := vpn.CheckServer(o.server); err != nil {
		return cfg, o.keyErr("server", err)
	}
	if o.user == "" {
		return cfg, o.keyErrf("user", "is required")
	}
	cfg.Server, cfg.User = o.server, o.user
	if secrets == nil {
		s, err := o.resolveSecrets(stderr, cfg.IPsec)
		if err != nil {
			return cfg, err
		}
		secrets = s
	}
	o.secrets = secrets
	cfg.L2TPSecret = secrets.L2TPSecret
	pw, err := o.otpPassword(secrets)
	if err != nil {
		return cfg, err
	}
	cfg.Password = pw
	auth, err := ppp.ParseAuthMethods(strings.Join(o.auth, ","))
	if err != nil {
		return cfg, o.keyErr("auth", err)
	}
	cfg.Auth = auth
	if err := o.pppExtraConfig(&cfg); err != nil {
		return cfg, err
	}
	for _, r := range o.routes {
		p, err := parsePrefix(r)
		if err != nil {
			return cfg, o.keyErr("route", err)
		}
		cfg.Routes = append(cfg.Routes, p)
	}
	routing := o.routing
	if routing == "" {
		routing = "full"
		if len(cfg.Routes) > 0 {
			routing = "split"
		}
	}
	if cfg.Routing, err = tun.ParseRouteMode(routing); err != nil {
		return cfg, o.keyErr("routing", err)
	}
	if cfg.Routing == tun.RouteSplit && len(cfg.Routes) == 0 {
		return cfg, o.keyErrf("route", "split routing needs at least one prefix")
	}
	if cfg.Routing != tun.RouteSplit && len(cfg.Routes) > 0 {
		return cfg, o.keyErrf("route", "prefixes are only used with routing split (routing is %s)", cfg.Routing)
	}
	if cfg.DNSMode, err = tun.ParseDNSMode(o.dns); err != nil {
		return cfg, o.keyErr("dns", err)
	}
	for _, d := range o.dnsDomains {
		d = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(d), "~"), ".")
		if d == "" || strings.ContainsAny(d, " /\\") {
			return cfg, o.keyErrf("dns-domain", "%q is not a domain name", d)
		}
		cfg.DNSDomains = append(cfg.DNSDomains, d)
	}
	if err := o.dhcpConfig(&cfg); err != nil {
		return cfg, err
	}
	for _, v := range []struct {
		key      string
		val, min int
		max      int
	}{{"mtu", o.mtu, 576, 1462}, {"mru", o.mru, 128, 1500}} {
		if v.val != 0 && (v.val < v.min || v.val > v.max) {
			return cfg, o.keyErrf(v.key, "%d is outside %d..%d (or 0 for the default)", v.val, v.min, v.max)
		}
	}
	cfg.MTU, cfg.MRU, cfg.IPv6 = o.mtu, o.mru, o.ipv6
	cfg.Interface = o.iface
	if cfg.Interface == "" {
		cfg.Interface = freeInterface()
	} else if len(cfg.Interface) > 15 || strings.ContainsAny(cfg.Interface, " /") {
		return cfg, o.keyErrf("interface", "%q is not a valid interface name (at most 15 characters)", cfg.Interface)
	}
	cfg.EchoInterval, cfg.EchoFailures, cfg.HelloInterval = offIfZero(o.echoInterval), o.echoFailures, offIfZero(o.helloInterval)
	cfg.RetransmitTimeout, cfg.MaxRetransmits = o.retransmitTimeout, o.retransmits
	if err := o.pppxConfig(&cfg); err != nil {
		return cfg, err
	}
	if o.reconnectAttempts < 0 {
		return cfg, o.keyErrf("reconnect-attempts", "%d is negative (0 means no limit)", o.reconnectAttempts)
	}
	cfg.Reconnect, cfg.ReconnectAttempts = o.reconnect, o.reconnectAttempts
	cfg.ReconnectDelay, cfg.ReconnectMaxDelay = o.reconnectDelay, o.reconnectMx
	cfg.UpHook, cfg.DownHook = o.upHook, o.downHook
	switch o.hookFailure {
	case "warn":
	case "disconnect":
		cfg.HookFailureDisconnect = true
	default:
		return cfg, o.keyErrf("hook-failure", "%q is not warn or disconnect", o.hookFailure)
	}
	if err := o.proxyConfig(&cfg); err != nil {
		return cfg, err
	}
	if _, err := o.metricsAddr(); err != nil { // metrics.go
		return cfg, err
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	} else if !o.background && !o.daemonChild {
		level = slog.LevelWarn // the event lines say what happens
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if cfg.IPsec {
		if err := o.ipsecConfig(&cfg, secrets); err != nil {
			return cfg, err
		}
	} else if o.keyLogDir != "" {
		return cfg, o.keyErrf("wireshark-keys", "needs the built-in IPsec (--ipsec on; not strongswan or off)")
	}
	return cfg, nil
}

// ipsecConfig fills the IPsec part of cfg.
func (o *connectOpts) ipsecConfig(cfg *vpn.Config, secrets *resolvedSecrets) error {
	psk := secrets.PSK
	if err := o.certConfig(cfg, secrets); err != nil {
		return err
	}
	if psk.IsZero() && cfg.Cert == nil {
		return o.keyErrf("psk", "IPsec (on or strongswan) needs the pre-shared key: psk = env:VAR, file:PATH or prompt (or ipsec = off for plain L2TP)")
	}
	var err error
	cfg.PSK = psk
	if cfg.IKEProposals, err = ike.ParseIKEProposals(strings.Join(o.ikeProps, ",")); err != nil {
		return o.keyErr("ike", err)
	}
	if cfg.ESPProposals, err = ike.ParseESPProposals(strings.Join(o.espProps, ",")); err != nil {
		return o.keyErr("esp", err)
	}
	if err := o.ikeExtraConfig(cfg); err != nil {
		return err
	}
	for _, p := range cfg.ESPProposals {
		if p.Group != cfg.ESPProposals[0].Group {
			return o.keyErrf("esp", "%s and %s: all proposals must use the same PFS group, or none (Quick Mode carries one key exchange)",
				cfg.ESPProposals[0], p)
		}
	}
	switch o.espMode {
	case "transport":
		cfg.ESPMode = esp.Transport
	case "tunnel":
		cfg.ESPMode = esp.Tunnel
	default:
		return o.keyErrf("esp-mode", "%q is not one of transport, tunnel", o.espMode)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		min  time.Duration
	}{{"ike-lifetime", o.ikeLifetime, time.Minute}, {"esp-lifetime", o.espLifetime, 30 * time.Second}} {
		if d.v < d.min || d.v > 24*time.Hour {
			return o.keyErrf(d.name, "%s is outside %s..24h", d.v, d.min)
		}
	}
	cfg.IKELifetime, cfg.ESPLifetime = o.ikeLifetime, o.espLifetime
	cfg.DPDDelay, cfg.NATKeepalive = offIfZero(o.dpdDelay), offIfZero(o.nattKeepalive)
	if o.keyLogDir != "" && cfg.Strongswan {
		return o.keyErrf("wireshark-keys", "needs the built-in IPsec (--ipsec on): charon keeps its keys")
	}
	if o.keyLogDir != "" && !o.verbose {
		return errors.New("--wireshark-keys writes secrets and is for debugging only: it needs -v")
	}
	cfg.KeyLogDir = o.keyLogDir
	return nil
}

// resolvedSecrets are the secret values (never printed, never written but
// to the detached half of --background: see writeSecrets).
type resolvedSecrets struct {
	Password, PSK, L2TPSecret secret.Secret
	PKCS12Password            secret.Secret
	OTP                       secret.Secret // otp.go
	ProxyPassword             secret.Secret // proxyopts.go
}

// resolveSecrets reads password, psk and l2tp-secret from their specs. An
// env: variable is read once and then removed from the environment; a
// second secret naming the same variable gets the same value.
func (o *connectOpts) resolveSecrets(stderr io.Writer, ipsec bool) (*resolvedSecrets, error) {
	var s resolvedSecrets
	fromEnv := map[string]secret.Secret{} // by spec "env:VAR"
	for _, x := range []struct {
		key       string
		v         *secretValue
		env, file string
		dst       *secret.Secret
		required  bool
	}{
		{"password", o.password, o.passwordEnv, o.passwordFile, &s.Password, true},
		{"psk", o.psk, o.pskEnv, o.pskFile, &s.PSK, false},
		{"l2tp-secret", o.l2tpSecret, o.secretEnv, o.secretFile, &s.L2TPSecret, false},
		{"pkcs12-password", o.certX.pkcs12Password, "", "", &s.PKCS12Password, false},
		{"otp", o.otp, "", "", &s.OTP, false},
		{"proxy-password", o.proxyX.password, "", "", &s.ProxyPassword, false},
	} {
		spec := x.v.Spec()
		if (x.env != "" || x.file != "") && o.profile.Has(x.key) {
			// The profile's value; --KEY-env and --KEY-file are command
			// line only, and the command line wins over the profile.
			spec = ""
		}
		n := 0
		for _, alt := range []string{spec, x.env, x.file} {
			if alt != "" {
				n++
			}
		}
		if n > 1 {
			return nil, fmt.Errorf("--%s, --%s-env and --%s-file are exclusive", x.key, x.key, x.key)
		}
		if x.env != "" {
			spec = "env:" + x.env
		} else if x.file != "" {
			spec = "file:" + x.file
		}
		if spec == "" {
			needed := x.required || x.key == "psk" && ipsec && !o.usesCert() || x.key == "pkcs12-password" && o.certX.pkcs12 != ""
			if !askMissing(needed, stdinIsTerminal()) {
				if x.required {
					return nil, o.keyErrf(x.key, "is required: give env:VAR, file:PATH or prompt")
				}
				continue // a missing psk is reported by ipsecConfig
			}
			spec = "prompt"
		}
		if x.key == "psk" && !ipsec {
			// Flags win over the profile: IPsec switched off leaves the
			// key unused, which is worth a word but not a refusal.
			if o.profile.Has("psk") && x.env == "" && x.file == "" {
				fmt.Fprintf(stderr, "l2tpvpn: note: the profile's psk is not used: IPsec is off\n")
			} else {
				fmt.Fprintf(stderr, "l2tpvpn: warning: --psk is not used with --ipsec off (it is for --ipsec on or strongswan)\n")
			}
			continue
		}
		req := SecretRequest{What: x.key, Spec: spec, Prompt: fmt.Sprintf("%s for %s@%s: ", x.key, o.user, o.server)}
		if o.profile.Has(x.key) && x.env == "" && x.file == "" {
			req.FromProfile, req.ProfilePath, req.ProfileMode, req.ProfileUID = true, o.profile.Path, o.profile.Mode, o.profile.UID
		}
		if v, ok := fromEnv[spec]; ok {
			*x.dst = v
			continue
		}
		v, err := ResolveSecret(req, nil, os.Stdin, stderr)
		if err != nil {
			// The message already starts with the key's name.
			return nil, o.keyErr(x.key, errors.New(strings.TrimPrefix(err.Error(), x.key+": ")))
		}
		if strings.HasPrefix(spec, "env:") {
			fromEnv[spec] = v
		}
		*x.dst = v
	}
	return &s, nil
}

// askMissing reports whether a secret that was not given is asked for: when
// it is needed and stdin is a terminal (as nmcli --ask and rasdial do).
// Otherwise, in scripts and CI, the connect is refused with a message that
// says how to give it.
func askMissing(needed, terminal bool) bool { return needed && terminal }

// stdinIsTerminal reports whether stdin is a terminal we can prompt on.
func stdinIsTerminal() bool { return term.IsTerminal(int(os.Stdin.Fd())) }

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a prefix like 203.0.113.0/24", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	return p.Masked(), nil
}

func offIfZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// freeInterface is the first l2tpN name no interface has.
func freeInterface() string {
	for i := 0; i < 16; i++ {
		name := fmt.Sprintf("l2tp%d", i)
		if _, err := net.InterfaceByName(name); err != nil {
			return name
		}
	}
	return "l2tp0" // tun.Open reports it as taken
}

// nameFromServer is the default connection name without a profile: the
// server's host, made a valid name ("vpn.example.com", "2001-db8--1"), or
// "l2tpvpn" without a server.
func nameFromServer(server string) string {
	host := server
	if h, _, err := net.SplitHostPort(server); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	b := []byte(host)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	name := strings.TrimLeft(string(b), ".-")
	if len(name) > 32 {
		name = name[:32]
	}
	if !validName(name) {
		return "l2tpvpn"
	}
	return name
}

// validName: connection names become file names under the state directory.
func validName(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// stateDir is where control sockets, logs and undo journals live
// (L2TPVPN_STATE_DIR overrides it, for tests); see statedir.go.
func stateDir() string {
	if d := os.Getenv("L2TPVPN_STATE_DIR"); d != "" {
		return d
	}
	return userStateDir(os.Geteuid(), os.Getenv("XDG_RUNTIME_DIR"), statRunDir(vpn.DefaultStateDir))
}

package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/vpn"
)

var errHelp = errors.New("help shown")

type connectOpts struct {
	server, user              string
	passwordEnv, passwordFile string
	secretEnv, secretFile     string
	ipsec                     string
	pskEnv, pskFile           string
	ikeProps, espProps        string
	espMode                   string
	ikeLifetime, espLifetime  time.Duration
	dpdDelay, nattKeepalive   time.Duration
	keyLogDir                 string
	auth                      string
	iface                     string
	mtu, mru, localPort       int
	routes                    []string
	ipv6                      bool
	echoInterval              time.Duration
	echoFailures              int
	helloInterval             time.Duration
	retransmitTimeout         time.Duration
	retransmits               int
	json, verbose             bool
}

func parseConnect(args []string, stderr io.Writer) (*connectOpts, error) {
	o := &connectOpts{}
	fs := pflag.NewFlagSet("connect", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.server, "server", "", "L2TP server, HOST or HOST:PORT (port 1701 by default)")
	fs.StringVar(&o.user, "user", "", "PPP user name")
	fs.StringVar(&o.passwordEnv, "password-env", "", "read the PPP password from this environment variable")
	fs.StringVar(&o.passwordFile, "password-file", "", "read the PPP password from this file (first line)")
	fs.StringVar(&o.ipsec, "ipsec", "on", "IPsec: on (built-in IKEv1 and ESP, L2TP inside ESP) or off (plain L2TP)")
	fs.StringVar(&o.pskEnv, "psk-env", "", "read the IPsec pre-shared key from this environment variable")
	fs.StringVar(&o.pskFile, "psk-file", "", "read the IPsec pre-shared key from this file (first line)")
	fs.StringVar(&o.ikeProps, "ike", ike.FormatIKEProposals(ike.DefaultIKEProposals), "IKE (phase 1) proposals, strongSwan style, in order")
	fs.StringVar(&o.espProps, "esp", ike.FormatESPProposals(ike.DefaultESPProposals), "ESP (phase 2) proposals, strongSwan style, in order (PFS: append a group, e.g. aes128-sha1-modp2048)")
	fs.StringVar(&o.espMode, "esp-mode", "transport", "ESP mode: transport (as Windows and macOS do) or tunnel")
	fs.DurationVar(&o.ikeLifetime, "ike-lifetime", ike.DefaultIKELifetime, "ISAKMP SA lifetime proposed (rekeyed at about 90%)")
	fs.DurationVar(&o.espLifetime, "esp-lifetime", ike.DefaultESPLifetime, "ESP SA lifetime proposed (rekeyed at about 90%)")
	fs.DurationVar(&o.dpdDelay, "dpd-delay", ike.DefaultDPDDelay, "idle time before a dead peer detection probe (0 disables)")
	fs.DurationVar(&o.nattKeepalive, "natt-keepalive", vpn.DefaultNATKeepalive, "NAT keepalive interval (0 disables)")
	fs.StringVar(&o.keyLogDir, "wireshark-keys", "", "debug (needs -v): write the IKE and ESP keys into this directory as Wireshark's esp_sa and ikev1_decryption_table")
	fs.StringVar(&o.auth, "auth", "pap,chap,mschapv2", "PPP authentication methods allowed, comma-separated")
	fs.StringVar(&o.secretEnv, "l2tp-secret-env", "", "read the L2TP tunnel secret from this environment variable")
	fs.StringVar(&o.secretFile, "l2tp-secret-file", "", "read the L2TP tunnel secret from this file (first line)")
	fs.StringVar(&o.iface, "interface", "l2tp0", "name of the TUN interface to create")
	fs.IntVar(&o.mtu, "mtu", 0, "TUN MTU (0: from the server's MRU and the encapsulation overhead)")
	fs.IntVar(&o.mru, "mru", 0, "PPP MRU to ask for (0: PPP default)")
	fs.StringSliceVar(&o.routes, "route", nil, "prefix to route through the tunnel (repeatable, or comma-separated)")
	fs.BoolVar(&o.ipv6, "ipv6", false, "also negotiate IPV6CP (IPv6 link-local address on the interface)")
	fs.IntVar(&o.localPort, "local-port", 0, "local UDP port (0: ephemeral)")
	fs.DurationVar(&o.echoInterval, "lcp-echo-interval", 20*time.Second, "LCP keepalive interval (0 disables)")
	fs.IntVar(&o.echoFailures, "lcp-echo-failures", 5, "unanswered LCP echo requests before the link counts as dead")
	fs.DurationVar(&o.helloInterval, "hello-interval", 60*time.Second, "L2TP HELLO keepalive interval (0 disables)")
	fs.DurationVar(&o.retransmitTimeout, "l2tp-timeout", time.Second, "first L2TP retransmission timeout (doubles, capped at 8s)")
	fs.IntVar(&o.retransmits, "l2tp-retries", 4, "L2TP retransmissions before the server counts as unreachable")
	fs.BoolVar(&o.json, "json", false, "print one JSON event per line on stdout instead of text")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "debug log on stderr (every control message; never secrets)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: l2tpvpn connect --server HOST[:PORT] --user NAME (--password-env VAR | --password-file PATH) (--psk-env VAR | --psk-file PATH | --ipsec=off) [flags]\n\nFlags:\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, errHelp
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("connect: unexpected argument %q (profiles come in a later version; use --server)", fs.Arg(0))
	}
	return o, nil
}

// config turns the flags into a vpn.Config, reading secrets.
func (o *connectOpts) config(stderr io.Writer, onEvent func(vpn.Event)) (vpn.Config, error) {
	var cfg vpn.Config
	switch o.ipsec {
	case "off", "on":
	default:
		return cfg, fmt.Errorf("--ipsec: %q is not one of on, off", o.ipsec)
	}
	if o.server == "" {
		return cfg, errors.New("--server is required")
	}
	if o.user == "" {
		return cfg, errors.New("--user is required")
	}
	pw, err := readSecret("password", o.passwordEnv, o.passwordFile, true)
	if err != nil {
		return cfg, err
	}
	secret, err := readSecret("l2tp-secret", o.secretEnv, o.secretFile, false)
	if err != nil {
		return cfg, err
	}
	auth, err := ppp.ParseAuthMethods(o.auth)
	if err != nil {
		return cfg, fmt.Errorf("--auth: %w", err)
	}
	var routes []netip.Prefix
	for _, r := range o.routes {
		p, err := netip.ParsePrefix(strings.TrimSpace(r))
		if err != nil {
			a, aerr := netip.ParseAddr(strings.TrimSpace(r))
			if aerr != nil {
				return cfg, fmt.Errorf("--route: %q is not a prefix like 203.0.113.0/24", r)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		routes = append(routes, p.Masked())
	}
	echo := o.echoInterval
	if echo == 0 {
		echo = -1
	}
	hello := o.helloInterval
	if hello == 0 {
		hello = -1
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	if o.ipsec == "on" {
		if err := o.ipsecConfig(&cfg); err != nil {
			return cfg, err
		}
	} else if o.pskEnv != "" || o.pskFile != "" || o.keyLogDir != "" {
		return cfg, errors.New("--psk-env, --psk-file and --wireshark-keys need --ipsec=on")
	}
	ipsecCfg := cfg
	cfg = vpn.Config{
		Server: o.server, User: o.user, Password: pw, Auth: auth,
		Interface: o.iface, MTU: o.mtu, MRU: o.mru, Routes: routes, IPv6: o.ipv6, LocalPort: o.localPort,
		EchoInterval: echo, EchoFailures: o.echoFailures, HelloInterval: hello,
		RetransmitTimeout: o.retransmitTimeout, MaxRetransmits: o.retransmits,
		Logger:  slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		OnEvent: onEvent,
	}
	if len(secret) > 0 {
		cfg.L2TPSecret = []byte(secret)
	}
	cfg.IPsec, cfg.PSK, cfg.IKEProposals, cfg.ESPProposals = ipsecCfg.IPsec, ipsecCfg.PSK, ipsecCfg.IKEProposals, ipsecCfg.ESPProposals
	cfg.ESPMode, cfg.IKELifetime, cfg.ESPLifetime = ipsecCfg.ESPMode, ipsecCfg.IKELifetime, ipsecCfg.ESPLifetime
	cfg.DPDDelay, cfg.NATKeepalive, cfg.KeyLogDir = ipsecCfg.DPDDelay, ipsecCfg.NATKeepalive, ipsecCfg.KeyLogDir
	return cfg, nil
}

// ipsecConfig fills the IPsec part of cfg from the flags.
func (o *connectOpts) ipsecConfig(cfg *vpn.Config) error {
	psk, err := readSecret("psk", o.pskEnv, o.pskFile, false)
	if err != nil {
		return err
	}
	if psk == "" {
		return errors.New("IPsec is on by default and needs the pre-shared key: give --psk-env VAR or --psk-file PATH (or --ipsec=off for plain L2TP)")
	}
	cfg.IPsec, cfg.PSK = true, []byte(psk)
	if cfg.IKEProposals, err = ike.ParseIKEProposals(o.ikeProps); err != nil {
		return fmt.Errorf("--ike: %w", err)
	}
	if cfg.ESPProposals, err = ike.ParseESPProposals(o.espProps); err != nil {
		return fmt.Errorf("--esp: %w", err)
	}
	for _, p := range cfg.ESPProposals {
		if p.Group != cfg.ESPProposals[0].Group {
			return fmt.Errorf("--esp: %s and %s: all proposals must use the same PFS group, or none (Quick Mode carries one key exchange)",
				cfg.ESPProposals[0], p)
		}
	}
	switch o.espMode {
	case "transport":
		cfg.ESPMode = esp.Transport
	case "tunnel":
		cfg.ESPMode = esp.Tunnel
	default:
		return fmt.Errorf("--esp-mode: %q is not one of transport, tunnel", o.espMode)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		min  time.Duration
	}{{"ike-lifetime", o.ikeLifetime, time.Minute}, {"esp-lifetime", o.espLifetime, 30 * time.Second}} {
		if d.v < d.min || d.v > 24*time.Hour {
			return fmt.Errorf("--%s: %s is outside %s..24h", d.name, d.v, d.min)
		}
	}
	cfg.IKELifetime, cfg.ESPLifetime = o.ikeLifetime, o.espLifetime
	cfg.DPDDelay, cfg.NATKeepalive = o.dpdDelay, o.nattKeepalive
	if cfg.DPDDelay == 0 {
		cfg.DPDDelay = -1
	}
	if cfg.NATKeepalive == 0 {
		cfg.NATKeepalive = -1
	}
	if o.keyLogDir != "" && !o.verbose {
		return errors.New("--wireshark-keys writes secrets and is for debugging only: it needs -v")
	}
	cfg.KeyLogDir = o.keyLogDir
	return nil
}

// readSecret reads a secret from an environment variable or a file. The
// value never appears in an error.
func readSecret(what, env, file string, required bool) (string, error) {
	switch {
	case env != "" && file != "":
		return "", fmt.Errorf("--%s-env and --%s-file are exclusive", what, what)
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", fmt.Errorf("--%s-env: environment variable %s is not set or empty", what, env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--%s-file: %w", what, err)
		}
		v, _, _ := strings.Cut(string(b), "\n")
		v = strings.TrimRight(v, "\r")
		if v == "" {
			return "", fmt.Errorf("--%s-file: %s is empty", what, file)
		}
		return v, nil
	}
	if required {
		return "", fmt.Errorf("a %s is required: give --%s-env VAR or --%s-file PATH", what, what, what)
	}
	return "", nil
}

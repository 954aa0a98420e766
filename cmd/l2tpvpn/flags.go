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

	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/vpn"
)

var errHelp = errors.New("help shown")

type connectOpts struct {
	server, user              string
	passwordEnv, passwordFile string
	secretEnv, secretFile     string
	ipsec                     string
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
	fs.StringVar(&o.ipsec, "ipsec", "on", "IPsec: on (built-in IKEv1/ESP, not in this version yet) or off (plain L2TP)")
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
		fmt.Fprintf(stderr, "Usage: l2tpvpn connect --server HOST[:PORT] --user NAME (--password-env VAR | --password-file PATH) --ipsec=off [flags]\n\nFlags:\n%s", fs.FlagUsages())
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
	case "off":
	case "on":
		return cfg, errors.New("--ipsec=on: the built-in IPsec (IKEv1/ESP) is not in this version yet; use --ipsec=off for plain L2TP")
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
	return cfg, nil
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

package main

// The local-port setting: auto, ephemeral, or a port number.

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// localPortOpt is the value of local-port, of type "port": a profile may
// write local-port = 1701 or local-port = "auto".
type localPortOpt struct{ s string }

const localPortHelp = "UDP source port of L2TP: auto (an ephemeral port; without IPsec, when the server never answers it, once more from 1701), " +
	"ephemeral (no fallback), 1701 or another number; with the built-in IPsec, L2TP inside ESP always uses 1701 (as Windows) and this is IKE's own port"

func (p *localPortOpt) String() string {
	if p.s == "" {
		return "auto"
	}
	return p.s
}

func (p *localPortOpt) Set(s string) error {
	s = strings.ToLower(strings.TrimSpace(s))
	if _, _, err := parseLocalPort(s); err != nil {
		return err
	}
	p.s = s
	return nil
}

func (p *localPortOpt) Type() string { return "port" }

// parseLocalPort returns the port to bind (0: ephemeral) and whether the
// 1701 fallback is on.
func parseLocalPort(s string) (port int, fallback bool, err error) {
	switch s {
	case "", "auto":
		return 0, true, nil
	case "ephemeral", "0":
		return 0, false, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, false, fmt.Errorf("%q is not auto, ephemeral or a port 1..65535", s)
	}
	return n, false, nil
}

// localPortConfig sets cfg.LocalPort and cfg.PortFallback.
func (o *connectOpts) localPortConfig(cfg *vpn.Config) error {
	port, fallback, err := parseLocalPort(o.localPort.s)
	if err != nil {
		return o.keyErr("local-port", err)
	}
	if cfg.Strongswan {
		if port != 0 && port != 1701 {
			return o.keyErrf("local-port", "%d: with ipsec strongswan L2TP uses port 1701 (the traffic selector charon protects)", port)
		}
		fallback = false
	}
	cfg.LocalPort, cfg.PortFallback = port, fallback
	return nil
}

package main

// The PPP settings for what real servers do (issue 12): how long the
// authentication phase may take, a second factor's approval included.

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// pppxOpts are connectOpts' PPP extras.
type pppxOpts struct {
	authTimeout time.Duration
}

// pppxOptNames are the keys pppxFlags defines, in the order help shows them.
var pppxOptNames = []string{"ppp-auth-timeout"}

// defaultPPPAuthTimeout is ppp's default (ppp.DefaultAuthTimeout): cmd
// knows no protocol package.
const defaultPPPAuthTimeout = 60 * time.Second

func pppxFlags(fs *pflag.FlagSet, o *pppxOpts) {
	fs.DurationVar(&o.authTimeout, "ppp-auth-timeout", defaultPPPAuthTimeout,
		"time the server may take to confirm PPP authentication, e.g. while a second factor (a push to a phone) waits for approval")
}

// pppxConfig fills cfg's PPP extras.
func (o *connectOpts) pppxConfig(cfg *vpn.Config) error {
	x := &o.pppX
	if x.authTimeout < time.Second || x.authTimeout > time.Hour {
		return o.keyErrf("ppp-auth-timeout", "%s is outside 1s..1h", x.authTimeout)
	}
	cfg.PPPAuthTimeout = x.authTimeout
	return nil
}

// pppxSettings are the dry run's lines for the extras.
func pppxSettings(cfg vpn.Config, add func(string, any)) {
	add("ppp-auth-timeout", fmt.Sprintf("%s (a progress line after 5s without an answer)", cfg.PPPAuthTimeout))
}

// l2tpPeerText names the L2TP server as its SCCRP does (vendor, host name,
// firmware revision), which tells the server family; "" if it said nothing.
func l2tpPeerText(vendor, host, firmware string) string {
	var parts []string
	if vendor != "" {
		parts = append(parts, fmt.Sprintf("%q", vendor))
	}
	if host != "" {
		parts = append(parts, fmt.Sprintf("host %q", host))
	}
	if firmware != "" {
		parts = append(parts, "firmware "+firmware)
	}
	return strings.Join(parts, ", ")
}

// winsText is the ppp.ip.up line's tail for NBNS servers.
func winsText(wins []string) string {
	if len(wins) == 0 {
		return ""
	}
	return ", wins " + strings.Join(wins, " ")
}

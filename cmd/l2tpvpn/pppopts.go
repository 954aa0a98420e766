package main

// The PPP settings beyond authentication (issue 12): MPPE.

import (
	"github.com/spf13/pflag"

	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// pppOpts are connectOpts' PPP extras.
type pppOpts struct {
	mppe string
}

func pppFlags(fs *pflag.FlagSet, o *pppOpts) {
	fs.StringVar(&o.mppe, "mppe", "allow", "MPPE encryption inside PPP: allow (never ask, accept it when the server insists), off, or require (fail unless MPPE-128 or the server's key length comes up; needs mschapv2)")
}

// pppExtraConfig fills cfg's PPP extras.
func (o *connectOpts) pppExtraConfig(cfg *vpn.Config) error {
	p, err := ppp.ParseMPPEPolicy(o.mppeX.mppe)
	if err != nil {
		return o.keyErr("mppe", err)
	}
	cfg.MPPE = p
	return nil
}

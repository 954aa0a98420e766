package vpn

// Which PPP authentication methods a connection allows. PAP sends the
// password as it is: over plain L2TP anyone on the path reads it, and a
// rogue or spoofed server only has to ask for PAP to get it. Inside IPsec the
// PSK-authenticated ESP SA protects it, and some servers (Meraki) do PAP
// only. So: PAP is allowed by default inside IPsec only; over plain L2TP it
// is used only when the configuration names it, with a warning. The ppp
// package only carries out the list it is given: it Naks a request for a
// method not on it towards each allowed one in turn, and fails with a
// *ppp.NoAuthMethodError if the server insists.

import (
	"errors"
	"slices"

	"github.com/l2tpvpn/l2tpvpn/ppp"
)

// papWarning is logged (Warn) when the configuration allows PAP without
// IPsec.
const papWarning = "the password crosses the network unencrypted (PAP without IPsec)"

// papRefusedHint explains a server that insisted on PAP, which this
// connection does not allow because it has no IPsec.
const papRefusedHint = "PAP refused: it sends the password in clear and this connection has no IPsec; " +
	"to allow it anyway, name it: --auth pap (auth = [\"pap\"] in a profile), and the password then crosses the network unencrypted"

// defaultAuthPlain is what a connection without IPsec allows when the
// configuration names no methods.
var defaultAuthPlain = []ppp.AuthMethod{ppp.AuthMSCHAPv2, ppp.AuthCHAPMD5}

// authPolicy fills in Auth (see the file comment) and warns when PAP is
// allowed without IPsec. Called by validate.
func (c *Config) authPolicy() {
	switch {
	case c.IPsec:
		// nil: ppp allows all three.
	case len(c.Auth) == 0:
		c.Auth = slices.Clone(defaultAuthPlain)
	case slices.Contains(c.Auth, ppp.AuthPAP):
		if c.Logger != nil {
			c.Logger.Warn(papWarning, "server", c.Server)
		}
	}
}

// explainAuth gives the failure of a connection that refused the server's
// PAP because it has no IPsec a hint that says so and how to allow it; other
// errors are returned as they are.
func (c *Config) explainAuth(err error) error {
	var nae *ppp.NoAuthMethodError
	if c.IPsec || !errors.As(err, &nae) || nae.Method != ppp.AuthPAP || slices.Contains(c.Auth, ppp.AuthPAP) {
		return err
	}
	var e *Error
	if errors.As(err, &e) && e.Phase == "ppp" {
		e.Hint = papRefusedHint
		return err
	}
	return &Error{Phase: "ppp", Reason: ReasonAuth, Err: err, Hint: papRefusedHint}
}

package main

// Certificate authentication settings (issue 11): cert + key, or pkcs12 with
// its password (a secret like the others), and the CAs for the server's
// certificate.

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// certOpts are connectOpts' certificate settings.
type certOpts struct {
	cert, key, pkcs12, ca string
	pkcs12Password        *secretValue
}

var certOptNames = []string{"cert", "key", "pkcs12", "pkcs12-password", "ca"}

func certFlags(fs *pflag.FlagSet, o *certOpts) {
	fs.StringVar(&o.cert, "cert", "", "certificate authentication: our certificate (PEM or DER; a PEM file may add the chain) instead of psk")
	fs.StringVar(&o.key, "key", "", "the certificate's private key (PKCS#8, PKCS#1 or SEC1; PEM or DER; unencrypted; a private file)")
	fs.StringVar(&o.pkcs12, "pkcs12", "", "certificate, chain and key in one PKCS#12 file (instead of cert and key)")
	o.pkcs12Password = newSecretFlag(fs, "pkcs12-password", "the PKCS#12 file's password: env:VAR, file:PATH or prompt")
	fs.StringVar(&o.ca, "ca", "", "CA certificate file or directory the server's certificate must chain to (needed with cert or pkcs12)")
}

// usesCert reports whether certificate authentication was asked for.
func (o *connectOpts) usesCert() bool { return o.certX.cert != "" || o.certX.pkcs12 != "" }

// certConfig loads the credential into cfg.
func (o *connectOpts) certConfig(cfg *vpn.Config, secrets *resolvedSecrets) error {
	x := &o.certX
	if !o.usesCert() {
		for _, k := range []string{"key", "ca", "pkcs12-password"} {
			if o.set(k) {
				return o.keyErrf(k, "is used only with cert or pkcs12")
			}
		}
		return nil
	}
	if !secrets.PSK.IsZero() {
		return o.keyErrf("psk", "give either psk or a certificate (cert or pkcs12), not both")
	}
	if x.cert != "" && o.set("pkcs12-password") {
		return o.keyErrf("pkcs12-password", "is used only with pkcs12")
	}
	if x.cert != "" && x.pkcs12 != "" {
		return o.keyErrf("pkcs12", "give either cert and key, or pkcs12, not both")
	}
	if x.ca == "" {
		return o.keyErrf("ca", "is required with certificates: the CA that issued the server's certificate (a file or a directory)")
	}
	if cfg.Strongswan {
		return o.keyErrf("cert", "needs the built-in IPsec (ipsec = on): with strongswan, charon's own credentials are used")
	}
	var cred *ike.Credential
	var err error
	if x.pkcs12 != "" {
		if err := privateFile("pkcs12", x.pkcs12); err != nil {
			return o.keyErr("pkcs12", err)
		}
		cred, err = ike.LoadPKCS12(x.pkcs12, secrets.PKCS12Password, x.ca)
		if err != nil {
			return o.keyErr("pkcs12", err)
		}
	} else {
		if x.key == "" {
			return o.keyErrf("key", "is required with cert: the certificate's private key file")
		}
		if err := privateFile("key", x.key); err != nil {
			return o.keyErr("key", err)
		}
		cred, err = ike.LoadCredential(x.cert, x.key, x.ca)
		if err != nil {
			return o.keyErr("cert", err)
		}
	}
	cfg.Cert = cred
	return nil
}

// privateFile refuses a key file others may read or change, or that
// belongs to another user (as ssh does with its keys).
func privateFile(what, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if problem, fix := privacy(path, fi.Mode().Perm(), fileOwner(fi), os.Geteuid()); problem != "" {
		return fmt.Errorf("file %s %s: %s", path, problem, fix)
	}
	return nil
}

// certSettings are the dry run's lines for certificates.
func (o *connectOpts) certSettings(cfg vpn.Config, add func(string, any)) {
	x := &o.certX
	if cfg.Cert == nil {
		return
	}
	leaf := cfg.Cert.Chain[0]
	if x.pkcs12 != "" {
		add("pkcs12", x.pkcs12)
		add("pkcs12-password", secretSetting(o.secrets.PKCS12Password, x.pkcs12Password.String(), "", ""))
	} else {
		add("cert", x.cert)
		add("key", x.key)
	}
	add("certificate", fmt.Sprintf("%s (issuer %s, valid until %s, %d more in the chain)", leaf.Subject, leaf.Issuer,
		leaf.NotAfter.Format("2006-01-02"), len(cfg.Cert.Chain)-1))
	add("ca", fmt.Sprintf("%s (%d CA certificates)", x.ca, len(cfg.Cert.CAs)))
}

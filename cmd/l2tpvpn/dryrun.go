package main

// connect --dry-run: the settings are read and checked as for a connect
// (profile, flags, secrets), printed as they would be used, and nothing is
// sent or changed. Secrets are never printed: where each comes from, and
// secret.Secret's [redacted].

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/secret"
	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// setting is one line of the dry run.
type setting struct{ key, value string }

// effectiveSettings lists what connect would use.
func effectiveSettings(o *connectOpts, cfg vpn.Config) []setting {
	var out []setting
	add := func(k string, v any) { out = append(out, setting{k, fmt.Sprint(v)}) }
	profile := "none (flags only)"
	if o.profile != nil {
		profile = o.profile.Path
	}
	add("name", o.name)
	add("profile", profile)
	add("server", cfg.Server)
	if o.serverType != "" {
		st, _ := lookupServerType(o.serverType)
		add("server-type", fmt.Sprintf("%s (filled in: %s)", st.Name, orDefault(strings.Join(o.fromPreset, ", "), "nothing")))
	}
	add("user", cfg.User)
	add("password", secretSetting(o.secrets.Password, o.password.String(), o.passwordEnv, o.passwordFile))
	if !o.secrets.OTP.IsZero() {
		add("otp", secretSetting(o.secrets.OTP, o.otp.String(), "", ""))
		add("otp-format", o.otpFormat)
	}
	ipsec := "off (plain L2TP: traffic is not encrypted)"
	switch {
	case cfg.Strongswan:
		ipsec = "strongswan (charon at " + cfg.VICISocket + ")"
	case cfg.IPsec:
		ipsec = "on (built in)"
	}
	add("ipsec", ipsec)
	if cfg.IPsec {
		if cfg.Cert != nil {
			o.certSettings(cfg, add)
		} else {
			add("psk", secretSetting(cfg.PSK, o.psk.String(), o.pskEnv, o.pskFile))
		}
		add("ike", ike.FormatIKEProposals(cfg.IKEProposals))
		add("esp", ike.FormatESPProposals(cfg.ESPProposals))
		add("esp-mode", o.espMode)
		add("ike-lifetime", cfg.IKELifetime)
		add("esp-lifetime", cfg.ESPLifetime)
		add("dpd-delay", offOr(cfg.DPDDelay))
		add("natt-keepalive", offOr(cfg.NATKeepalive))
		ikeExtraSettings(cfg, add)
	}
	if !cfg.L2TPSecret.IsZero() {
		add("l2tp-secret", secretSetting(cfg.L2TPSecret, o.l2tpSecret.String(), o.secretEnv, o.secretFile))
	}
	auth := make([]string, len(cfg.Auth))
	for i, m := range cfg.Auth {
		auth[i] = m.String()
	}
	add("auth", orDefault(strings.Join(auth, ","), "default (chap, mschapv2; pap too with IPsec)"))
	o.proxySettingsLines(cfg, add) // proxyopts.go
	if cfg.Mode == vpn.ModeTUN {
		add("interface", cfg.Interface)
	}
	add("mtu", orDefault(zeroAuto(cfg.MTU), ""))
	add("mru", orDefault(zeroAuto(cfg.MRU), ""))
	add("ipv6", cfg.IPv6)
	add("local-port", o.localPort.String())
	if cfg.Mode == vpn.ModeProxy {
		add("routing", "none (proxy mode: no TUN, routes or DNS changes)")
	} else {
		add("routing", cfg.Routing)
	}
	if len(cfg.Routes) > 0 && cfg.Mode == vpn.ModeTUN {
		routes := make([]string, len(cfg.Routes))
		for i, r := range cfg.Routes {
			routes[i] = r.String()
		}
		add("route", strings.Join(routes, ","))
	}
	if cfg.Mode == vpn.ModeTUN {
		add("dns", o.dns)
	}
	if len(cfg.DNSDomains) > 0 && cfg.Mode == vpn.ModeTUN {
		add("dns-domain", strings.Join(cfg.DNSDomains, ","))
	}
	add("lcp-echo", fmt.Sprintf("every %s, %d failures", offOr(cfg.EchoInterval), cfg.EchoFailures))
	pppxSettings(cfg, add)
	add("hello-interval", offOr(cfg.HelloInterval))
	add("l2tp-timeout", fmt.Sprintf("%s, %d retries", cfg.RetransmitTimeout, cfg.MaxRetransmits))
	add("reconnect", fmt.Sprintf("%v (attempts %d, delay %s, max %s)", cfg.Reconnect, cfg.ReconnectAttempts, cfg.ReconnectDelay, cfg.ReconnectMaxDelay))
	add("up", orDefault(cfg.UpHook, "none"))
	add("down", orDefault(cfg.DownHook, "none"))
	if cfg.HookFailureDisconnect {
		add("hook-failure", "disconnect")
	}
	if m := o.metricsSettingsLine(); m != "" {
		add("metrics-listen", m) // metrics.go
	}
	return out
}

// secretSetting says where a secret came from, never what it is.
func secretSetting(s secret.Secret, spec, env, file string) string {
	from := spec
	switch {
	case env != "":
		from = "env:" + env
	case file != "":
		from = "file:" + file
	}
	if s.IsZero() {
		return "none"
	}
	return fmt.Sprintf("%v (from %s)", s, from) // secret.Secret prints [redacted]
}

func offOr(d time.Duration) string {
	if d <= 0 {
		return "off"
	}
	return d.String()
}

func zeroAuto(n int) string {
	if n == 0 {
		return "auto"
	}
	return fmt.Sprint(n)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// dryRun prints the settings (with --json: one "settings" event, then the
// down event every --json run ends with) and returns exit code 0.
func dryRun(o *connectOpts, cfg vpn.Config, out *output, w io.Writer) int {
	list := effectiveSettings(o, cfg)
	if o.json {
		m := make(map[string]string, len(list))
		for _, s := range list {
			m[s.key] = s.value
		}
		out.mu.Lock()
		out.enc.Encode(struct {
			Event    string            `json:"event"`
			V        int               `json:"v"`
			Time     time.Time         `json:"time"`
			Settings map[string]string `json:"settings"`
		}{"settings", vpn.SchemaVersion, time.Now(), m})
		out.mu.Unlock()
		return exitOK
	}
	fmt.Fprintln(w, "dry run: the settings are valid; nothing was sent and nothing changed")
	for _, s := range list {
		fmt.Fprintf(w, "  %-15s %s\n", s.key, s.value)
	}
	return exitOK
}

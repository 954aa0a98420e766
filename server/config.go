package server

// The configuration file of `l2tpvpn serve`: TOML, top-level `key = value`
// lines with kebab-case keys (an '_' is read as '-'), read as strictly as
// the client's profiles: an unknown key, a table, a value of the wrong
// type or a bad value is an error that names the file, the line and the
// key. Secrets (psk, l2tp-secret) are specs as in the client's profiles
// ("env:VAR", "file:PATH", or a literal in a private file), read by
// package secret; their values never appear in an error or in a printed
// Config.
//
//	listen = ["0.0.0.0"]             # addresses to bind (ports 500, 4500, 1701)
//	psk = "file:/etc/l2tpvpn/psk"    # required unless allow-plain-l2tp
//	pool = "198.51.100.0/24"         # or "198.51.100.10-198.51.100.200"
//	server-ip = "198.51.100.1"       # default: the pool's first address
//	dns = ["198.51.100.1"]
//	users = "users.toml"             # relative to this file's directory
//
// Relative paths (users, state-dir, file: secrets) are relative to the
// directory of the configuration file.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

// Defaults of Config.
const (
	DefaultMTU        = 1400
	DefaultInterface  = "l2tpsrv0"
	DefaultHostName   = "l2tpvpn"
	DefaultMaxClients = 256
	DefaultDPDDelay   = 30 * time.Second
)

// configMaxSize bounds the configuration and users files read into memory.
const configMaxSize = 1 << 20

// Config is the server's configuration, with defaults applied and
// validated. Printing it (%v, %+v, slog) shows no secret.
type Config struct {
	Path string // the file it was read from

	Listen []netip.Addr // addresses to bind; default 0.0.0.0
	// PSK is the IPsec pre-shared key. It is zero only with
	// AllowPlainL2TP and no psk key: a plain L2TP server without IPsec.
	PSK secret.Secret
	// IKEProposals and ESPProposals are the acceptable proposals; nil
	// means ike.ResponderConfig's defaults.
	IKEProposals []ike.IKEProposal
	ESPProposals []ike.ESPProposal
	ESPModes     []esp.Mode // default transport and tunnel

	Pool     string     // a prefix or range for NewPool; see Config.NewPool
	ServerIP netip.Addr // our PPP address; default the pool's first address
	DNS      []netip.Addr
	WINS     []netip.Addr
	MTU, MRU int // default DefaultMTU each

	Interface string // TUN name; default DefaultInterface
	NAT       bool   // masquerade clients' traffic
	NATOut    string // the interface to masquerade out of; "" = any

	Users          string           // the users file (an absolute or config-relative-resolved path)
	AllowPlainL2TP bool             // accept L2TP without IPsec
	AllowPAPPlain  bool             // allow PAP over plain L2TP (passwords in clear on the wire)
	Auth           []ppp.AuthMethod // default MS-CHAPv2, CHAP-MD5
	L2TPSecret     secret.Secret    // tunnel authentication; zero = none
	HostName       string           // our L2TP Host Name and CHAP name; default DefaultHostName
	MaxClients     int              // default DefaultMaxClients
	// DPDDelay is the idle time before we probe a client; 0 means we send
	// no probes (ike.ResponderConfig takes a negative value for that).
	DPDDelay time.Duration
	// IKELifetime and ESPLifetime are the longest phase 1 and child SA
	// lifetimes we accept (a client asking for more is told ours, and the
	// server rekeys a child SA itself before its end); 0: the responder's
	// defaults (8 h and 1 h).
	IKELifetime, ESPLifetime time.Duration
	StateDir                 string // "" = the supervisor's default
}

// NewPool makes the address pool the configuration describes, with our own
// address left out.
func (c *Config) NewPool() (*Pool, error) { return NewPool(c.Pool, c.ServerIP) }

// ConfigError is a problem in a configuration or users file, located as
// precisely as known: "server: /etc/l2tpvpn/serve.toml:7: key dns: ...".
type ConfigError struct {
	Path string
	Line int    // 1-based; 0 when unknown
	Key  string // "" for a file-level problem
	Err  error
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("server: ")
	b.WriteString(e.Path)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Key != "" {
		b.WriteString(": key ")
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// LoadConfig reads and validates the configuration file at path. Secrets
// given as env:VAR are read from the process environment and the variable
// is then removed from it, as the client does (so a second LoadConfig of
// the same file fails for them).
func LoadConfig(path string) (*Config, error) { return LoadConfigEnv(path, nil) }

// LoadConfigEnv is LoadConfig with env to look variables up (nil: the
// process environment, as LoadConfig).
func LoadConfigEnv(path string, env func(string) (string, bool)) (*Config, error) {
	data, fi, err := readSmallFile(path)
	if err != nil {
		return nil, err
	}
	values := map[string]any{}
	if err := toml.Unmarshal(data, &values); err != nil {
		return nil, decodeError(path, data, err, func(key string) bool { return configSecretKeys[key] })
	}
	entries, err := tomlEntries(path, data)
	if err != nil {
		return nil, err
	}
	l := &configLoader{
		c:     &Config{Path: path},
		path:  path,
		dir:   filepath.Dir(path),
		env:   env,
		lines: map[string]int{},
		specs: map[string]string{},
		perm:  fi.Mode().Perm(),
		uid:   secret.FileOwner(fi),
	}
	for _, e := range entries {
		if e.table || len(e.path) != 1 || e.inline {
			return nil, &ConfigError{Path: path, Line: e.line, Key: strings.Join(e.path, "."),
				Err: errors.New("tables are not used; write key = value at top level")}
		}
		raw := e.path[0]
		key := strings.ReplaceAll(raw, "_", "-")
		if prev, dup := l.lines[key]; dup {
			return nil, &ConfigError{Path: path, Line: e.line, Key: key, Err: fmt.Errorf("duplicate key (also on line %d)", prev)}
		}
		l.lines[key] = e.line
		if !slices.Contains(configKeys, key) {
			msg := "unknown key"
			if s := suggest(key, configKeys); s != "" {
				msg += "; did you mean " + s + "?"
			}
			return nil, &ConfigError{Path: path, Line: e.line, Key: key, Err: errors.New(msg)}
		}
		if err := l.apply(key, values[raw]); err != nil {
			return nil, l.keyErr(key, err)
		}
	}
	if err := l.finish(); err != nil {
		return nil, err
	}
	return l.c, nil
}

// configKeys are the keys of the file, in the order of Config.
var configKeys = []string{
	"listen", "psk", "ike-proposals", "esp-proposals", "esp-modes",
	"pool", "server-ip", "dns", "wins", "mtu", "mru",
	"interface", "nat", "nat-out",
	"users", "allow-plain-l2tp", "allow-pap-plain", "auth", "l2tp-secret",
	"host-name", "max-clients", "dpd-delay", "ike-lifetime", "esp-lifetime", "state-dir",
}

// ConfigKeys returns the keys the configuration file accepts, in the
// order of Config (a copy: the documentation's tests compare against it).
func ConfigKeys() []string { return slices.Clone(configKeys) }

// configSecretKeys hold secret specs: go-toml's messages about their lines
// are not shown, as they may quote the value.
var configSecretKeys = map[string]bool{"psk": true, "l2tp-secret": true}

// configLoader carries the state of one LoadConfigEnv.
type configLoader struct {
	c     *Config
	path  string
	dir   string
	env   func(string) (string, bool)
	lines map[string]int    // key -> line
	specs map[string]string // secret key -> spec, resolved in finish
	perm  os.FileMode
	uid   int
}

func (l *configLoader) keyErr(key string, err error) error {
	return &ConfigError{Path: l.path, Line: l.lines[key], Key: key, Err: err}
}

func (l *configLoader) has(key string) bool { _, ok := l.lines[key]; return ok }

// apply converts and checks one value; finish checks the keys against each
// other.
func (l *configLoader) apply(key string, v any) error {
	c := l.c
	var err error
	switch key {
	case "listen":
		c.Listen, err = addrList(v, 0, false)
		if err == nil && len(c.Listen) == 0 {
			err = errors.New("empty; leave the key out for 0.0.0.0")
		}
		for _, a := range c.Listen {
			if err == nil && !a.Is4() {
				err = fmt.Errorf("%s: the server listens on IPv4 addresses only, for now", a)
			}
		}
	case "psk", "l2tp-secret":
		s, ok := v.(string)
		if !ok {
			return want(`a string such as "env:VAR" or "file:PATH"`, v)
		}
		l.specs[key] = s
	case "ike-proposals", "esp-proposals":
		var list []string
		if list, err = stringList(v); err != nil {
			return err
		}
		for _, s := range list {
			if key == "ike-proposals" {
				var p []ike.IKEProposal
				p, err = ike.ParseIKEProposals(s)
				c.IKEProposals = append(c.IKEProposals, p...)
			} else {
				var p []ike.ESPProposal
				p, err = ike.ParseESPProposals(s)
				c.ESPProposals = append(c.ESPProposals, p...)
			}
			if err != nil {
				return err
			}
		}
	case "esp-modes":
		var list []string
		if list, err = stringList(v); err != nil {
			return err
		}
		for _, s := range list {
			var m esp.Mode
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "transport":
				m = esp.Transport
			case "tunnel":
				m = esp.Tunnel
			default:
				return fmt.Errorf("%q is not transport or tunnel", s)
			}
			if !slices.Contains(c.ESPModes, m) {
				c.ESPModes = append(c.ESPModes, m)
			}
		}
		if len(c.ESPModes) == 0 {
			return errors.New("empty; leave the key out for transport and tunnel")
		}
	case "pool":
		s, ok := v.(string)
		if !ok {
			return want(`a string such as "198.51.100.0/24" or "198.51.100.10-198.51.100.200"`, v)
		}
		c.Pool = strings.TrimSpace(s)
	case "server-ip":
		c.ServerIP, err = oneAddr(v)
		if err == nil && (!c.ServerIP.Is4() || c.ServerIP.IsUnspecified() || c.ServerIP.IsMulticast()) {
			err = fmt.Errorf("%s is not a unicast IPv4 address", c.ServerIP)
		}
	case "dns":
		c.DNS, err = addrList(v, 2, true)
	case "wins":
		c.WINS, err = addrList(v, 2, true)
	case "mtu":
		c.MTU, err = intIn(v, 576, 1500)
	case "mru":
		c.MRU, err = intIn(v, 128, 1500)
	case "interface", "nat-out":
		s, ok := v.(string)
		if !ok {
			return want("a string", v)
		}
		if err := ifaceName(s); err != nil {
			return err
		}
		if key == "interface" {
			c.Interface = s
		} else {
			c.NATOut = s
		}
	case "nat":
		c.NAT, err = boolean(v)
	case "allow-plain-l2tp":
		c.AllowPlainL2TP, err = boolean(v)
	case "allow-pap-plain":
		c.AllowPAPPlain, err = boolean(v)
	case "users", "state-dir":
		s, ok := v.(string)
		if !ok || s == "" {
			return want("a path", v)
		}
		if !filepath.IsAbs(s) {
			s = filepath.Join(l.dir, s)
		}
		if key == "users" {
			c.Users = s
		} else {
			c.StateDir = s
		}
	case "auth":
		var list []string
		if list, err = stringList(v); err != nil {
			return err
		}
		for _, s := range list {
			if strings.Contains(s, ",") {
				return fmt.Errorf("%q: one method per string, e.g. [\"mschapv2\", \"chap\"]", s)
			}
		}
		c.Auth, err = ppp.ParseAuthMethods(strings.Join(list, ","))
		if err == nil && len(c.Auth) == 0 {
			err = errors.New("empty; leave the key out for mschapv2 and chap")
		}
	case "host-name":
		s, ok := v.(string)
		if !ok || s == "" || len(s) > 255 {
			return want("a name of 1 to 255 bytes", v)
		}
		c.HostName = s
	case "max-clients":
		c.MaxClients, err = intIn(v, 1, 65535)
	case "dpd-delay":
		c.DPDDelay, err = duration(v)
	case "ike-lifetime", "esp-lifetime":
		var d time.Duration
		if d, err = duration(v); err == nil && (d < time.Minute/4 || d > 24*time.Hour) {
			err = fmt.Errorf("%v is outside 15s..24h", d)
		}
		if key == "ike-lifetime" {
			c.IKELifetime = d
		} else {
			c.ESPLifetime = d
		}
	}
	return err
}

// finish applies defaults, checks keys against each other and reads the
// secrets.
func (l *configLoader) finish() error {
	c := l.c
	if len(c.Listen) == 0 {
		c.Listen = []netip.Addr{netip.IPv4Unspecified()}
	}
	if len(c.ESPModes) == 0 {
		c.ESPModes = []esp.Mode{esp.Transport, esp.Tunnel}
	}
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.MRU == 0 {
		c.MRU = DefaultMTU
	}
	if c.Interface == "" {
		c.Interface = DefaultInterface
	}
	if len(c.Auth) == 0 {
		c.Auth = []ppp.AuthMethod{ppp.AuthMSCHAPv2, ppp.AuthCHAPMD5}
	}
	if c.HostName == "" {
		c.HostName = DefaultHostName
	}
	if c.MaxClients == 0 {
		c.MaxClients = DefaultMaxClients
	}
	if !l.has("dpd-delay") {
		c.DPDDelay = DefaultDPDDelay
	}

	fileErr := func(msg string) error { return &ConfigError{Path: l.path, Err: errors.New(msg)} }
	if c.Pool == "" {
		return fileErr(`missing key pool, the clients' addresses: pool = "198.51.100.0/24"`)
	}
	if c.Users == "" {
		return fileErr(`missing key users, the users file: users = "users.toml"`)
	}
	if _, ok := l.specs["psk"]; !ok && !c.AllowPlainL2TP {
		return fileErr(`missing key psk, the IPsec pre-shared key: psk = "file:/etc/l2tpvpn/psk" (or allow-plain-l2tp = true for L2TP without IPsec)`)
	}
	if err := l.checkPool(); err != nil {
		return err
	}
	if c.NATOut != "" && !c.NAT {
		return l.keyErr("nat-out", errors.New("has no effect without nat = true"))
	}
	if c.AllowPlainL2TP && slices.Contains(c.Auth, ppp.AuthPAP) && !c.AllowPAPPlain {
		return l.keyErr("auth", errors.New("pap over plain L2TP (allow-plain-l2tp = true) sends passwords in clear text; "+
			"remove pap, or set allow-pap-plain = true to accept that"))
	}
	for _, key := range []string{"psk", "l2tp-secret"} {
		spec, ok := l.specs[key]
		if !ok {
			continue
		}
		s, err := l.resolve(key, spec)
		if err != nil {
			return l.keyErr(key, err)
		}
		if key == "psk" {
			c.PSK = s
		} else {
			c.L2TPSecret = s
		}
	}
	return nil
}

// checkPool sets the default server-ip and checks that the pool has room
// for clients besides it.
func (l *configLoader) checkPool() error {
	c := l.c
	first, last, err := parsePool(c.Pool)
	if err != nil {
		return l.keyErr("pool", errors.New(strings.TrimPrefix(err.Error(), "server: ")))
	}
	pfx, isPrefix := netip.ParsePrefix(c.Pool)
	if !c.ServerIP.IsValid() {
		if isPrefix == nil && pfx.Bits() <= 30 {
			first++ // past the network address
		}
		c.ServerIP = u32Addr(first)
	} else if isPrefix == nil && pfx.Bits() <= 30 && (c.ServerIP == u32Addr(first) || c.ServerIP == u32Addr(last)) {
		return l.keyErr("server-ip", fmt.Errorf("%s is the network or broadcast address of pool %s", c.ServerIP, c.Pool))
	}
	if _, err := c.NewPool(); err != nil {
		key := "pool"
		if l.has("server-ip") {
			key = "server-ip"
		}
		return l.keyErr(key, fmt.Errorf("pool %s has no address left for clients besides server-ip %s", c.Pool, c.ServerIP))
	}
	return nil
}

// resolve reads a secret spec. A literal is accepted only from a private
// file, as in the client's profiles; prompt is refused: a server has no
// terminal to ask at.
func (l *configLoader) resolve(key, spec string) (secret.Secret, error) {
	src, arg, err := secret.ParseSpec(spec)
	if err != nil {
		return secret.Secret{}, err
	}
	switch src {
	case secret.Env:
		s, err := secret.FromEnv(key, arg, l.env)
		return s, unprefix(key, err)
	case secret.File:
		if !filepath.IsAbs(arg) {
			arg = filepath.Join(l.dir, arg)
		}
		s, err := secret.FromFile(key, arg)
		return s, unprefix(key, err)
	case secret.Prompt:
		return secret.Secret{}, errors.New("prompt: the server reads no terminal; use env:VAR or file:PATH")
	}
	if problem, fix := secret.Privacy(l.path, l.perm, l.uid, os.Geteuid()); problem != "" {
		return secret.Secret{}, fmt.Errorf("holds a literal secret but the file %s: %s, or use env:/file:", problem, fix)
	}
	return secret.FromString(spec), nil
}

// unprefix drops the "key: " package secret puts in front of its errors;
// the ConfigError names the key already.
func unprefix(key string, err error) error {
	if err == nil {
		return nil
	}
	return &unprefixed{msg: strings.TrimPrefix(err.Error(), key+": "), err: err}
}

type unprefixed struct {
	msg string
	err error
}

func (e *unprefixed) Error() string { return e.msg }
func (e *unprefixed) Unwrap() error { return e.err }

// readSmallFile reads a regular file of at most configMaxSize bytes.
func readSmallFile(path string) ([]byte, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("server: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("server: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, &ConfigError{Path: path, Err: errors.New("not a regular file")}
	}
	data, err := io.ReadAll(io.LimitReader(f, configMaxSize+1))
	if err != nil {
		return nil, nil, &ConfigError{Path: path, Err: err}
	}
	if len(data) > configMaxSize {
		return nil, nil, &ConfigError{Path: path, Err: errors.New("file is larger than 1 MiB")}
	}
	return data, fi, nil
}

// decodeError turns a go-toml error into a *ConfigError. When hide says
// the line's key is secret, go-toml's message (which may quote the value)
// is replaced.
func decodeError(path string, data []byte, err error, hide func(key string) bool) error {
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		return &ConfigError{Path: path, Err: errors.New(strings.TrimPrefix(err.Error(), "toml: "))}
	}
	line, _ := de.Position()
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	key := ""
	if lines := bytes.Split(data, []byte("\n")); line >= 1 && line <= len(lines) {
		if lhs, _, ok := strings.Cut(string(lines[line-1]), "="); ok {
			key = strings.ReplaceAll(strings.Trim(strings.TrimSpace(lhs), `"'`), "_", "-")
		}
	}
	switch {
	case hide(key):
		msg = "syntax error (not shown: it may quote a secret)"
	case strings.HasSuffix(msg, " is already defined"):
		msg = "duplicate key"
	}
	if !slices.Contains(configKeys, key) {
		key = ""
	}
	return &ConfigError{Path: path, Line: line, Key: key, Err: errors.New(msg)}
}

// tomlEntry is one key of a document, in file order: a table header or a
// key = value, with its full dotted path.
type tomlEntry struct {
	path   []string
	line   int
	table  bool // a [table] or [[array]] header
	array  bool // an [[array]] header
	inline bool // the value is an inline table
}

// tomlEntries lists the keys of a document toml.Unmarshal accepted, each
// key = value with the path of the table it is in.
func tomlEntries(path string, data []byte) ([]tomlEntry, error) {
	var ps unstable.Parser
	ps.Reset(data)
	var out []tomlEntry
	var table []string
	for ps.NextExpression() {
		n := ps.Expression()
		if n.Kind != unstable.KeyValue && n.Kind != unstable.Table && n.Kind != unstable.ArrayTable {
			continue
		}
		var parts []string
		line := 0
		for it := n.Key(); it.Next(); {
			k := it.Node()
			if line == 0 {
				line = ps.Shape(k.Raw).Start.Line
			}
			parts = append(parts, string(k.Data))
		}
		e := tomlEntry{line: line}
		switch n.Kind {
		case unstable.KeyValue:
			e.path = append(slices.Clone(table), parts...)
			e.inline = n.Value().Kind == unstable.InlineTable
		default:
			table = parts
			e.path, e.table, e.array = parts, true, n.Kind == unstable.ArrayTable
		}
		out = append(out, e)
	}
	if err := ps.Error(); err != nil {
		return nil, &ConfigError{Path: path, Err: err}
	}
	return out, nil
}

// Value conversions. Errors name the TOML type, never the value, unless
// the value is known to be no secret (an address, a number).

func want(what string, v any) error {
	return fmt.Errorf("want %s, not %s", what, tomlType(v))
}

func tomlType(v any) string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return "an empty string"
		}
		return "a string"
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return "a date or time"
}

func stringList(v any) ([]string, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, want("an array of strings", v)
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, want("an array of strings", v)
		}
		out = append(out, s)
	}
	return out, nil
}

func oneAddr(v any) (netip.Addr, error) {
	s, ok := v.(string)
	if !ok {
		return netip.Addr{}, want("an IP address in a string", v)
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	return a.Unmap(), nil
}

// addrList reads an array of distinct addresses: at most max (0: any),
// IPv4 only with v4.
func addrList(v any, max int, v4 bool) ([]netip.Addr, error) {
	list, err := stringList(v)
	if err != nil {
		return nil, err
	}
	if max > 0 && len(list) > max {
		return nil, fmt.Errorf("at most %d addresses, not %d", max, len(list))
	}
	var out []netip.Addr
	for _, s := range list {
		a, err := oneAddr(s)
		if err != nil {
			return nil, err
		}
		if v4 && !a.Is4() {
			return nil, fmt.Errorf("%s: IPCP hands out IPv4 addresses only", a)
		}
		if slices.Contains(out, a) {
			return nil, fmt.Errorf("%s is listed twice", a)
		}
		out = append(out, a)
	}
	return out, nil
}

func intIn(v any, lo, hi int64) (int, error) {
	n, ok := v.(int64)
	if !ok {
		return 0, want("an integer", v)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is outside %d..%d", n, lo, hi)
	}
	return int(n), nil
}

func boolean(v any) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, want("true or false", v)
	}
	return b, nil
}

// duration reads "30s" or an integer number of seconds, 0 or more.
func duration(v any) (time.Duration, error) {
	var d time.Duration
	switch x := v.(type) {
	case string:
		var err error
		if d, err = time.ParseDuration(x); err != nil {
			return 0, fmt.Errorf("%q is not a duration such as \"30s\"", x)
		}
	case int64:
		d = time.Duration(x) * time.Second
	default:
		return 0, want(`a duration such as "30s"`, v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%v is negative (0 turns it off)", d)
	}
	return d, nil
}

// ifaceName checks a Linux interface name (dev_valid_name).
func ifaceName(s string) error {
	if s == "" || len(s) > 15 || s == "." || s == ".." || strings.ContainsAny(s, "/: \t\n") {
		return fmt.Errorf("%q is not an interface name (1 to 15 characters, no '/', ':' or spaces)", s)
	}
	return nil
}

// suggest returns the word of words closest to key within edit distance
// 2, or "".
func suggest(key string, words []string) string {
	best, bestD := "", 3
	for _, w := range words {
		if d := editDistance(key, w); d < bestD {
			best, bestD = w, d
		}
	}
	return best
}

// editDistance is the edit distance between a and b, a swap of two
// neighbours counting as one edit (optimal string alignment).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

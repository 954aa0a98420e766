// Package vici lets strongSwan's charon do IKE and ESP for one connection,
// driven over its VICI socket (github.com/strongswan/govici; no other package
// of the project imports it).
//
// Dial loads a pre-shared key and an IKEv1 connection (Main Mode, PSK, the
// given proposal lists, one child protecting UDP 1701 between the two hosts),
// initiates the child and returns once charon has installed the CHILD_SA.
// From then on the kernel (or charon's userspace ESP, kernel-libipsec)
// encrypts whatever the caller sends from its UDP port 1701 to the server's.
// Charon rekeys and runs dead peer detection; the Delegate watches charon's
// ike-updown, child-updown, ike-rekey and child-rekey events, reports
// rekeys through Config.Events and closes Done when the SAs are gone for
// good. Close terminates the IKE SA and unloads everything Dial loaded, so
// charon is left as it was found.
//
// Everything loaded is named after the connection ("l2tpvpn-NAME"), so a run
// that was killed before it could clean up is replaced by the next one.
package vici

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	govici "github.com/strongswan/govici/vici"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

// DefaultSocket is where charon's vici plugin listens by default.
const DefaultSocket = "/var/run/charon.vici"

// ChildName is the name of the one child of every connection we load.
const ChildName = "l2tp"

// DefaultTS is the traffic selector of both ends: UDP port 1701 of the
// host's own address.
const DefaultTS = "dynamic[udp/1701]"

// Config describes the connection charon is to set up.
type Config struct {
	// Socket is the path of charon's vici socket (default DefaultSocket).
	Socket string
	// Name names the connection; the conn and the shared key are loaded as
	// "l2tpvpn-" + Name.
	Name string
	// PSK is the pre-shared key: it goes to charon and nowhere else.
	PSK secret.Secret
	// IKE and ESP are the proposals, in order of preference.
	IKE []ike.IKEProposal
	ESP []ike.ESPProposal
	// Mode is transport (default) or tunnel.
	Mode esp.Mode
	// Local and Remote are the two hosts' addresses.
	Local, Remote netip.Addr
	// LocalTS and RemoteTS are the child's traffic selectors (default
	// DefaultTS for both).
	LocalTS, RemoteTS string
	// IKELifetime and ESPLifetime are the SA lifetimes (0: charon's
	// defaults); charon rekeys at nine tenths of each.
	IKELifetime, ESPLifetime time.Duration
	// DPDDelay is charon's dead peer detection interval (0: 30 s, negative:
	// off).
	DPDDelay time.Duration
	// Logger receives charon's log lines of our exchanges (debug) and the
	// Delegate's own steps; nil discards them.
	Logger *slog.Logger
	// Events receives phase 1 and phase 2 events (on an internal goroutine;
	// it must not block for long).
	Events func(Event)
}

// Failure kinds of Dial beyond the ike package's (ike.ErrNoResponse,
// ike.ErrNoProposalChosen, ike.ErrAuthentication, ike.ErrRejected, and
// ike.ErrPeerGone for a lost connection).
var (
	// ErrNoSocket: nothing listens on the vici socket.
	ErrNoSocket = errors.New("vici: cannot reach charon")
	// ErrNoIKEv1: charon was built without IKEv1.
	ErrNoIKEv1 = errors.New("vici: charon cannot do IKEv1")
	// ErrNoKernelESP: charon negotiated the SA but cannot install it.
	ErrNoKernelESP = errors.New("vici: the IPsec SA cannot be installed")
	// ErrCharon: charon refused a command (the message says which).
	ErrCharon = errors.New("vici: charon refused a command")
)

// failure is an *ike.Error: a kind (one of the sentinels above or of the
// ike package) and the whole explanation.
func failure(kind error, format string, args ...any) error {
	return &ike.Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Delegate is one connection whose IPsec charon runs.
type Delegate struct {
	cfg  Config
	log  *slog.Logger
	conn string // conn name, IKE SA name and shared key id

	mu  sync.Mutex // guards ctl: one command at a time
	ctl *govici.Session

	loaded struct{ shared, conn bool }

	watch     *watcher
	closeOnce sync.Once
	closeErr  error
}

// Dial loads the connection into charon and brings the CHILD_SA up. On any
// failure everything loaded is unloaded again before it returns.
func Dial(ctx context.Context, cfg Config) (*Delegate, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	d := &Delegate{cfg: cfg, log: cfg.Logger, conn: connName(cfg.Name)}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	ctl, err := d.session()
	if err != nil {
		return nil, err
	}
	d.ctl = ctl
	if err := d.setup(ctx); err != nil {
		d.cleanup()
		return nil, err
	}
	return d, nil
}

func (c *Config) check() error {
	if c.Socket == "" {
		c.Socket = DefaultSocket
	}
	if c.LocalTS == "" {
		c.LocalTS = DefaultTS
	}
	if c.RemoteTS == "" {
		c.RemoteTS = DefaultTS
	}
	switch {
	case c.PSK.IsZero():
		return errors.New("vici: a pre-shared key is required")
	case len(c.IKE) == 0 || len(c.ESP) == 0:
		return errors.New("vici: IKE and ESP proposals are required")
	case !c.Local.IsValid() || !c.Remote.IsValid():
		return errors.New("vici: the local and remote addresses are required")
	}
	return nil
}

// connName makes a conn name from a connection name: charon accepts any
// string, but a plain one reads well in swanctl's output.
func connName(name string) string {
	var b strings.Builder
	b.WriteString("l2tpvpn-")
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if name == "" {
		b.WriteString("default")
	}
	return b.String()
}

// ConnName is the name under which a connection called name is loaded into
// charon (conn, IKE SA and shared key).
func ConnName(name string) string { return connName(name) }

// session opens a new vici session.
func (d *Delegate) session() (*govici.Session, error) {
	s, err := govici.NewSession(govici.WithSocketPath(d.cfg.Socket))
	if err != nil {
		return nil, failure(ErrNoSocket, "ike: cannot connect to charon's VICI socket %s: %s", d.cfg.Socket, socketProblem(err))
	}
	return s, nil
}

func socketProblem(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "no such file"):
		return "no such socket (is charon running, with the vici plugin? is the path right?)"
	case strings.Contains(s, "connection refused"):
		return "connection refused (charon is not running; the socket file is left over)"
	case strings.Contains(s, "permission denied"):
		return "permission denied (run as root, or as a user allowed to use the socket)"
	}
	return s
}

// stream runs one streamed command (list-sas, terminate) on a session of
// its own and returns the streamed messages. govici reads an event that
// trails a streamed command's response as the next command's response, so
// streamed commands never share the control session.
func (d *Delegate) stream(ctx context.Context, cmd, event string, req *govici.Message) ([]*govici.Message, error) {
	s, err := d.session()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out []*govici.Message
	for m, err := range s.CallStreaming(ctx, cmd, event, req) {
		if err != nil {
			return out, fmt.Errorf("%s: %s", cmd, strings.TrimPrefix(err.Error(), "vici: command failed: "))
		}
		out = append(out, m)
	}
	return out, nil
}

// call runs one command on the control session.
func (d *Delegate) call(ctx context.Context, cmd string, req *govici.Message) (*govici.Message, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	m, err := d.ctl.Call(ctx, cmd, req)
	if err != nil {
		return m, fmt.Errorf("%s: %s", cmd, strings.TrimPrefix(err.Error(), "vici: command failed: "))
	}
	return m, nil
}

func (d *Delegate) setup(ctx context.Context) error {
	info, err := d.call(ctx, "version", nil)
	if err != nil {
		return failure(ErrNoSocket, "ike: charon does not answer on %s: %v", d.cfg.Socket, err)
	}
	version := str(info, "version")
	d.log.Info("charon", "daemon", str(info, "daemon"), "version", version, "socket", d.cfg.Socket)
	if err := d.checkPlugins(ctx); err != nil {
		return err
	}
	d.removeLeftovers(ctx)

	if _, err := d.call(ctx, "load-shared", d.sharedMessage()); err != nil {
		return failure(ErrCharon, "ike: charon refused our pre-shared key: %v", err)
	}
	d.loaded.shared = true
	if _, err := d.call(ctx, "load-conn", d.connMessage()); err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "ikev1") || strings.Contains(err.Error(), "version") {
			return noIKEv1(version, err.Error())
		}
		return failure(ErrCharon, "ike: charon refused the connection we loaded: %v", err)
	}
	d.loaded.conn = true
	d.log.Info("loaded into charon", "conn", d.conn, "ike", strings.Join(proposals(d.cfg.IKE), ","), "esp", strings.Join(proposals(d.cfg.ESP), ","), "mode", d.cfg.Mode)

	// Watch before initiating, so no event of ours is missed.
	evs, err := d.session()
	if err != nil {
		return err
	}
	d.watch, err = startWatcher(d, evs)
	if err != nil {
		evs.Close()
		return failure(ErrCharon, "ike: cannot subscribe to charon's events: %v", err)
	}
	if err := d.initiate(ctx, version); err != nil {
		return err
	}
	st, err := d.status(ctx)
	if err != nil {
		return err
	}
	if st.IKE == nil || st.Child == nil {
		return failure(ike.ErrPeerGone, "ike: charon reported the CHILD_SA up, but %s has no installed CHILD_SA", d.conn)
	}
	d.watch.established(st)
	return nil
}

// checkPlugins refuses what charon cannot do, before any packet is sent:
// kernel-libipsec (userspace ESP) has no transport mode.
func (d *Delegate) checkPlugins(ctx context.Context) error {
	stats, err := d.call(ctx, "stats", nil)
	if err != nil {
		return nil // not essential
	}
	plugins, _ := stats.Get("plugins").([]string)
	if d.cfg.Mode == esp.Transport && slices.Contains(plugins, "kernel-libipsec") {
		return failure(ErrNoKernelESP,
			"ike: charon does ESP in userspace (kernel-libipsec), which has no transport mode: use --esp-mode tunnel, or the built-in IPsec (--ipsec on)")
	}
	return nil
}

func noIKEv1(version, detail string) error {
	return failure(ErrNoIKEv1,
		"ike: charon %s cannot do IKEv1 (%s); strongSwan 6.1 and later are built without it by default: use the built-in IPsec (--ipsec on)",
		version, detail)
}

// removeLeftovers terminates IKE SAs of our conn that a killed earlier run
// left behind; the loads below replace its conn and key.
func (d *Delegate) removeLeftovers(ctx context.Context) {
	st, err := d.status(ctx)
	if err != nil || st.IKE == nil {
		return
	}
	d.log.Warn("charon still has an IKE SA of ours from an earlier run: terminating it", "ike_sa", st.IKE.Name, "id", st.IKE.UniqueID)
	d.terminate(ctx)
}

func (d *Delegate) sharedMessage() *govici.Message {
	m := govici.NewMessage()
	set(m, "id", d.conn)
	set(m, "type", "IKE")
	set(m, "data", string(d.cfg.PSK.Bytes()))
	set(m, "owners", []string{d.cfg.Local.String(), d.cfg.Remote.String()})
	return m
}

func (d *Delegate) connMessage() *govici.Message {
	c := d.cfg
	child := govici.NewMessage()
	set(child, "mode", c.Mode.String())
	set(child, "local_ts", []string{c.LocalTS})
	set(child, "remote_ts", []string{c.RemoteTS})
	set(child, "esp_proposals", proposals(c.ESP))
	set(child, "start_action", "none")
	set(child, "close_action", "none")
	set(child, "dpd_action", "clear")
	if c.ESPLifetime > 0 {
		set(child, "life_time", seconds(c.ESPLifetime))
		set(child, "rekey_time", seconds(c.ESPLifetime*9/10))
		set(child, "rand_time", seconds(c.ESPLifetime/20))
	}
	children := govici.NewMessage()
	set(children, ChildName, child)

	auth := func() *govici.Message {
		a := govici.NewMessage()
		set(a, "auth", "psk")
		return a
	}
	local, remote := auth(), auth()
	// Both identities are the addresses, as IKEv1 peers with pre-shared
	// keys use by default. A definite remote identity also makes charon
	// pick our key over a catch-all key of its own (one without owners),
	// which it prefers when the remote identity is %any.
	set(local, "id", c.Local.String())
	set(remote, "id", c.Remote.String())

	conn := govici.NewMessage()
	set(conn, "version", "1")
	set(conn, "aggressive", "no")
	set(conn, "local_addrs", []string{c.Local.String()})
	set(conn, "remote_addrs", []string{c.Remote.String()})
	set(conn, "proposals", proposals(c.IKE))
	set(conn, "keyingtries", "1")
	set(conn, "unique", "never")
	set(conn, "mobike", "no")
	// ESP in UDP 4500 always, as the built-in IPsec does: it passes NATs
	// and firewalls that drop IP protocol 50, and kernel-libipsec needs it.
	set(conn, "encap", "yes")
	switch {
	case c.DPDDelay < 0:
		set(conn, "dpd_delay", "0")
	case c.DPDDelay > 0:
		set(conn, "dpd_delay", seconds(c.DPDDelay))
	default:
		set(conn, "dpd_delay", "30s")
	}
	if c.IKELifetime > 0 {
		set(conn, "rekey_time", seconds(c.IKELifetime*9/10))
		set(conn, "over_time", seconds(c.IKELifetime/10))
	}
	set(conn, "local-1", local)
	set(conn, "remote-1", remote)
	set(conn, "children", children)

	m := govici.NewMessage()
	set(m, d.conn, conn)
	return m
}

// set adds a value of a type govici always accepts (string, []string,
// *Message); an error would be a bug here.
func set(m *govici.Message, key string, v any) {
	if err := m.Set(key, v); err != nil {
		panic("vici: " + key + ": " + err.Error())
	}
}

func seconds(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// proposals writes proposals in swanctl's syntax, one list item each
// (charon offers them in order).
func proposals[P fmt.Stringer](ps []P) []string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return s
}

// Done is closed once the SAs are gone for good (not after Close).
func (d *Delegate) Done() <-chan struct{} { return d.watch.done }

// Err says why Done was closed.
func (d *Delegate) Err() error { return d.watch.error() }

// Status asks charon for the current state of our SAs.
func (d *Delegate) Status(ctx context.Context) (Status, error) {
	return d.status(ctx)
}

// Close terminates the IKE SA, unloads the conn and the key and closes the
// sessions. It is idempotent; it returns the first cleanup failure.
func (d *Delegate) Close() error {
	d.closeOnce.Do(func() { d.closeErr = d.cleanup() })
	return d.closeErr
}

// cleanup undoes Dial: terminate, unload-conn, unload-shared. If the control
// session broke (charon restarted), a fresh one is tried.
func (d *Delegate) cleanup() error {
	if d.watch != nil {
		d.watch.stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var first error
	note := func(err error) {
		// Something already gone is not a failure of the cleanup.
		if err != nil && first == nil && !strings.Contains(err.Error(), "not found") {
			first = err
		}
	}
	if d.loaded.conn || d.loaded.shared {
		if _, err := d.call(ctx, "version", nil); err != nil {
			d.ctl.Close()
			s, serr := d.session()
			if serr != nil {
				d.log.Warn("cannot reach charon to unload our connection", "err", serr)
				return serr
			}
			d.ctl = s
		}
	}
	if d.loaded.conn {
		d.terminate(ctx)
		m := govici.NewMessage()
		set(m, "name", d.conn)
		if _, err := d.call(ctx, "unload-conn", m); err != nil {
			note(err)
		} else {
			d.loaded.conn = false
		}
	}
	if d.loaded.shared {
		m := govici.NewMessage()
		set(m, "id", d.conn)
		if _, err := d.call(ctx, "unload-shared", m); err != nil {
			note(err)
		} else {
			d.loaded.shared = false
		}
	}
	if first != nil {
		d.log.Warn("charon: unloading our connection failed", "conn", d.conn, "err", first)
	} else {
		d.log.Info("unloaded from charon", "conn", d.conn)
	}
	d.ctl.Close()
	return first
}

// terminate ends every IKE SA of our conn (deleting its CHILD_SAs at the
// server), forcibly if the server does not answer in time.
func (d *Delegate) terminate(ctx context.Context) {
	for _, force := range []bool{false, true} {
		m := govici.NewMessage()
		set(m, "ike", d.conn)
		set(m, "timeout", "3000")
		if force {
			set(m, "force", "yes")
		}
		lines, err := d.stream(ctx, "terminate", "control-log", m)
		for _, l := range lines {
			d.log.Debug("charon: " + logLine(l))
		}
		if err != nil {
			if strings.Contains(err.Error(), "no matching") {
				return // nothing (left) to terminate
			}
			d.log.Debug("charon: terminate", "err", err)
		}
		if st, err := d.status(ctx); err == nil && st.IKE == nil {
			return
		}
	}
}

// str reads a string value of a message (empty when absent).
func str(m *govici.Message, key string) string {
	if m == nil {
		return ""
	}
	s, _ := m.Get(key).(string)
	return s
}

// Loaded lists what charon on socket has loaded and established under
// names of ours ("l2tpvpn-..."): conns, shared key ids and IKE SAs. It is
// for checks that a run left charon as it found it.
func Loaded(ctx context.Context, socket string) (conns, shared, sas []string, err error) {
	s, err := govici.NewSession(govici.WithSocketPath(socket))
	if err != nil {
		return nil, nil, nil, failure(ErrNoSocket, "ike: cannot connect to charon's VICI socket %s: %s", socket, socketProblem(err))
	}
	defer s.Close()
	ours := func(list []string) []string {
		var out []string
		for _, v := range list {
			if strings.HasPrefix(v, "l2tpvpn-") {
				out = append(out, v)
			}
		}
		return out
	}
	m, err := s.Call(ctx, "get-conns", nil)
	if err != nil {
		return nil, nil, nil, err
	}
	c, _ := m.Get("conns").([]string)
	if m, err = s.Call(ctx, "get-shared", nil); err != nil {
		return nil, nil, nil, err
	}
	k, _ := m.Get("keys").([]string)
	var names []string
	for ev, err := range s.CallStreaming(ctx, "list-sas", "list-sa", nil) {
		if err != nil {
			return nil, nil, nil, err
		}
		names = append(names, ev.Keys()...)
	}
	return ours(c), ours(k), ours(names), nil
}

// Unload removes from charon on socket what a connection called name
// loaded: its IKE SAs are terminated, its conn and shared key unloaded.
// For a run that was killed before it could do so itself; what is not
// there (any more) is fine.
func Unload(socket, name string, logger *slog.Logger) error {
	d := &Delegate{cfg: Config{Socket: socket, Name: name}, log: logger, conn: connName(name)}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	ctl, err := d.session()
	if err != nil {
		return err
	}
	d.ctl = ctl
	d.loaded.conn, d.loaded.shared = true, true
	return d.cleanup()
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// output renders events for a person (one line per phase) or as JSON lines.
//
// With --json the command's output ends with exactly one down event, in
// every mode and for every failure, configuration errors included: the
// down event of the connection is held back until end, which adds the exit
// code (or, when there was no connection, makes one). Only the parent of
// a --background connection that came up ends with up instead.
type output struct {
	mu   sync.Mutex
	w    io.Writer
	warn io.Writer // warnings (stderr); nil: none
	json bool
	enc  *json.Encoder
	name string // the connection's name, for up and down
	// plain: IPsec is off, and a person is told that nothing is encrypted.
	plain bool
	pid   int // the connection's process, for up

	up       vpn.Event  // the last up event
	down     *jsonEvent // held back until end (JSON)
	err      error      // why it failed, for the down event
	errLine  string     // else the last error line on stderr (see errorLines)
	ended    bool       // the final event is out
	phase    string     // what the connection is waiting for now
	phaseAt  time.Time
	progress chan struct{}
}

// jsonEvent is an event as --json prints it: the vpn.Event and what only
// the command knows. Schema version 1 still: fields are only added.
type jsonEvent struct {
	vpn.Event
	Name     string `json:"name,omitempty"`      // up, down: the connection name (status, disconnect)
	PID      int    `json:"pid,omitempty"`       // up: the process that holds the connection
	Hint     string `json:"hint,omitempty"`      // down: what to check
	ExitCode *int   `json:"exit_code,omitempty"` // down: the exit code the command ends with
}

// newOutput prints for the connect command o; o is nil when its flags did
// not parse (then --json is unknown and the output is text).
func newOutput(w io.Writer, o *connectOpts) *output {
	out := &output{w: w, enc: json.NewEncoder(w), pid: os.Getpid()}
	if o != nil {
		out.json, out.name = o.json, o.name
		out.plain = o.ipsec == "off" || o.ipsec == "false"
	}
	return out
}

func (o *output) event(ev vpn.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ev.Event == vpn.EventUp {
		o.up = ev
	}
	if p := waitingFor(ev); p != "" {
		o.phase, o.phaseAt = p, time.Now()
	}
	if o.json {
		switch ev.Event {
		case vpn.EventDown:
			o.down = &jsonEvent{Event: ev}
		case vpn.EventUp:
			o.enc.Encode(jsonEvent{Event: ev, Name: o.name, PID: o.pid})
		default:
			o.enc.Encode(jsonEvent{Event: ev})
		}
		return
	}
	if ev.Event == vpn.EventHook {
		o.hookLines(ev)
		return
	}
	if s := humanLine(ev); s != "" {
		fmt.Fprintln(o.w, s)
	}
	if ev.Event == vpn.EventUp && o.plain {
		fmt.Fprintln(o.w, plainWarning)
	}
}

// hookLines shows a hook event to a person: what a successful hook printed
// as "hook up: ..." lines on stdout, a failure as a warning on stderr with
// the first lines of its output. With --json the event itself is printed.
func (o *output) hookLines(ev vpn.Event) {
	lines := strings.Split(ev.Output, "\n")
	if ev.Output == "" {
		lines = nil
	}
	if ev.Error == "" {
		for _, l := range lines {
			fmt.Fprintf(o.w, "hook %s: %s\n", ev.Hook, l)
		}
		return
	}
	if o.warn == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "l2tpvpn: warning: the %s hook failed (%s)", ev.Hook, ev.Error)
	for i, l := range lines {
		switch {
		case i == 0:
			b.WriteString(": " + l)
		case i < hookWarningLines:
			b.WriteString("\n  " + l)
		default:
			fmt.Fprintf(&b, "\n  ... (%d more lines)", len(lines)-i)
		}
		if i >= hookWarningLines {
			break
		}
	}
	b.WriteString("\n")
	io.WriteString(o.warn, b.String())
}

// hookWarningLines of a failed hook's output are shown in its warning.
const hookWarningLines = 5

// plainWarning follows every up line of a connection without IPsec.
const plainWarning = "not encrypted: plain L2TP without IPsec (--ipsec off); anyone on the path can read the traffic"

// fatal reports err, which ends the command with code, on stderr (the down
// event carries it with --json) and returns code.
func (o *output) fatal(stderr io.Writer, code int, err error) int {
	fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
	o.mu.Lock()
	o.err = err
	o.mu.Unlock()
	return code
}

// fromChild takes over how the detached half of --background ended: its
// down event (nil from a child that died first) and error text.
func (o *output) fromChild(m readyMsg) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.down = m.Down
	if m.Error != "" {
		o.err = errors.New(m.Error)
	}
}

// upFromChild prints the detached half's up event (with its pid); the
// parent's output ends there.
func (o *output) upFromChild(m readyMsg) {
	o.mu.Lock()
	o.pid = m.PID
	o.mu.Unlock()
	o.event(*m.Up)
	o.mu.Lock()
	o.ended = true
	o.mu.Unlock()
}

// downEvent is the final down event for exit code code.
func (o *output) downEvent(code int) jsonEvent {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.finalDown(code)
}

func (o *output) finalDown(code int) jsonEvent {
	d := jsonEvent{Event: vpn.Event{Event: vpn.EventDown}}
	if o.down != nil {
		d = *o.down
	}
	d.Event.Event, d.Schema = vpn.EventDown, vpn.SchemaVersion
	if d.Time.IsZero() {
		d.Time = time.Now()
	}
	if code != exitOK && d.Error == "" {
		if d.Error = o.errLine; o.err != nil {
			d.Error = o.err.Error()
		}
	}
	if d.Reason == "" || d.Reason == vpn.ReasonNone.String() && code != exitOK {
		d.Reason = reasonForExit(code)
	}
	var ve *vpn.Error
	if d.Hint == "" && errors.As(o.err, &ve) {
		d.Hint = ve.Hint
	}
	if d.Name == "" {
		d.Name = o.name
	}
	d.ExitCode = &code
	return d
}

// errorLines returns w, remembering the last error line written to it
// ("l2tpvpn: ..." or "l2tpvpn needs ...", but not a warning or a note) for
// the down event of a failure that was only printed.
func (o *output) errorLines(w io.Writer) io.Writer { return &errorTee{o: o, w: w} }

type errorTee struct {
	o *output
	w io.Writer
}

func (t *errorTee) Write(b []byte) (int, error) {
	s := string(b)
	if strings.HasPrefix(s, "l2tpvpn") && strings.HasSuffix(s, "\n") && strings.Count(s, "\n") == 1 &&
		!strings.HasPrefix(s, "l2tpvpn: warning:") && !strings.HasPrefix(s, "l2tpvpn: note:") {
		t.o.mu.Lock()
		t.o.errLine = strings.TrimSuffix(strings.TrimPrefix(s, "l2tpvpn: "), "\n")
		t.o.mu.Unlock()
	}
	return t.w.Write(b)
}

// end prints the final down event (with --json, once) and returns code.
func (o *output) end(code int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.json && !o.ended {
		o.enc.Encode(o.finalDown(code))
	}
	o.ended = true
	return code
}

// reasonForExit names the reason of a failure known only by its exit code.
func reasonForExit(code int) string {
	for r := vpn.ReasonNone; !strings.HasPrefix(r.String(), "reason("); r++ {
		if exitCode(&vpn.Error{Reason: r}) == code {
			return r.String()
		}
	}
	switch code {
	case exitInterrupted:
		return "interrupted"
	case exitPermission:
		return "permission"
	}
	return vpn.ReasonInternal.String()
}

// lastUp is the last up event printed.
func (o *output) lastUp() vpn.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.up
}

// waitingFor names the phase that runs after ev, for progress lines.
func waitingFor(ev vpn.Event) string {
	switch ev.Event {
	case vpn.EventConnecting:
		return "the server (IKE phase 1, or the L2TP tunnel without IPsec)"
	case vpn.EventIKEPhase1Up:
		return "IKE phase 2 (quick mode)"
	case vpn.EventIKEPhase2Up:
		return "the L2TP tunnel"
	case vpn.EventTunnelUp:
		return "the L2TP session"
	case vpn.EventSessionUp:
		return "PPP link negotiation (LCP)"
	case vpn.EventLCPUp:
		return "PPP authentication"
	case vpn.EventAuthWait:
		return "PPP authentication (the server may wait for a second factor)"
	case vpn.EventAuthOK:
		return "PPP address negotiation (IPCP)"
	case vpn.EventIPUp:
		return "the interface, routes and DNS"
	case vpn.EventReconnecting:
		return "the next reconnect attempt"
	case vpn.EventPortRetry:
		return "the L2TP tunnel (from port 1701)"
	}
	return ""
}

// startProgress prints, during a long connect in text mode, which phase is
// still running (every 5 s), so a person sees where it hangs.
func (o *output) startProgress() {
	if o.json {
		return
	}
	o.progress = make(chan struct{})
	go func(stop chan struct{}) {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				o.mu.Lock()
				if o.phase != "" && time.Since(o.phaseAt) >= 4*time.Second {
					fmt.Fprintf(o.w, "... still waiting for %s (%s)\n", o.phase, time.Since(o.phaseAt).Round(time.Second))
				}
				o.mu.Unlock()
			}
		}
	}(o.progress)
}

func (o *output) stopProgress() {
	if o.progress != nil {
		close(o.progress)
		o.progress = nil
	}
}

func (o *output) line(s string) {
	if o.json {
		return
	}
	o.mu.Lock()
	fmt.Fprintln(o.w, s)
	o.mu.Unlock()
}

// failure prints the final error; in JSON mode the down event carries it.
func (o *output) failure(err error) {
	o.mu.Lock()
	o.err = err
	o.mu.Unlock()
	if o.json {
		return
	}
	o.line("error: " + err.Error())
}

func humanLine(ev vpn.Event) string {
	switch ev.Event {
	case vpn.EventConnecting:
		return fmt.Sprintf("connecting to %s from %s", ev.Server, ev.Local)
	case vpn.EventTunnelUp:
		vendor := ""
		if p := l2tpPeerText(ev.PeerVendor, ev.PeerHost, ev.PeerFirmware); p != "" {
			vendor = ", server " + p
		}
		return fmt.Sprintf("l2tp tunnel up (id %d, peer id %d%s)", ev.TunnelID, ev.PeerTunnelID, vendor)
	case vpn.EventIKEPhase1Up:
		if ev.NATT == "" { // delegated to charon, which does not say
			return fmt.Sprintf("ike phase 1 up (%s, server id %s)", ev.IKE, ev.PeerID)
		}
		return fmt.Sprintf("ike phase 1 up (%s, nat-t %s, server id %s)", ev.IKE, ev.NATT, ev.PeerID)
	case vpn.EventIKEPhase1Rekeyed:
		return fmt.Sprintf("ike phase 1 rekeyed (%s)", ev.IKE)
	case vpn.EventIKEPhase2Up:
		if ev.Rekey {
			return fmt.Sprintf("ipsec sa rekeyed (%s, spi %s/%s)", ev.ESP, ev.SPIIn, ev.SPIOut)
		}
		return fmt.Sprintf("ipsec sa up (esp %s, %s mode, spi %s/%s, lifetime %ds)", ev.ESP, ev.Mode, ev.SPIIn, ev.SPIOut, ev.LifetimeS)
	case vpn.EventPortRetry:
		return "no answer to the l2tp tunnel request from an ephemeral port; trying again from port 1701 (local-port = auto)"
	case vpn.EventSessionUp:
		return fmt.Sprintf("l2tp session up (id %d, peer id %d)", ev.SessionID, ev.PeerSessionID)
	case vpn.EventLCPUp:
		return "ppp link up"
	case vpn.EventAuthWait:
		return orDefault(ev.Message, vpn.AuthWaitLine)
	case vpn.EventAuthOK:
		return "ppp authenticated with " + ev.Auth
	case vpn.EventIPUp:
		return fmt.Sprintf("ppp address %s, peer %s", ev.IP, orNone(ev.Peer)) + winsText(ev.WINS)
	case vpn.EventIPv6Up:
		return "ppp ipv6 link-local " + ev.IPv6
	case vpn.EventDHCP:
		return dhcpLine(ev)
	case vpn.EventUp:
		s := fmt.Sprintf("connected: %s via %s, dns %s, mtu %d", ev.IP, ev.Interface, orNone(strings.Join(ev.DNS, " ")), ev.MTU)
		if ev.Reconnects > 0 {
			s = fmt.Sprintf("reconnected (%d so far): %s via %s", ev.Reconnects, ev.IP, ev.Interface)
		}
		if ev.Routing != "" {
			s += fmt.Sprintf("\nrouting: %s; ipv6: %s", routingText(ev), ev.IPv6Mode)
		}
		if ev.DNSVia != "" {
			s += "; dns via " + ev.DNSVia
		}
		return s
	case vpn.EventReconnecting:
		return fmt.Sprintf("link lost or attempt failed (%s); reconnect attempt %d in %s", ev.Error, ev.Attempt, time.Duration(ev.DelayMS)*time.Millisecond)
	case vpn.EventDisconnect:
		return "disconnecting"
	case vpn.EventDown:
		if ev.Error == "" {
			return fmt.Sprintf("disconnected (sent %d packets, received %d)", ev.Stats.TxPackets, ev.Stats.RxPackets)
		}
		return "" // the error line follows
	}
	return ""
}

func routingText(ev vpn.Event) string {
	switch ev.Routing {
	case "full":
		return "full tunnel (all IPv4 through " + ev.Interface + ", the server kept on its current path)"
	case "split":
		return "split tunnel (" + strings.Join(ev.Routes, ", ") + ")"
	case "proxy":
		return proxyRoutingText(ev) // proxyopts.go
	}
	return ev.Routing
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

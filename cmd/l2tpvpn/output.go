package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// output renders events for a person (one line per phase) or as JSON lines.
type output struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
	enc  *json.Encoder

	up       vpn.Event // the last up event
	phase    string    // what the connection is waiting for now
	phaseAt  time.Time
	progress chan struct{}
}

func newOutput(w io.Writer, asJSON bool) *output {
	return &output{w: w, json: asJSON, enc: json.NewEncoder(w)}
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
		o.enc.Encode(ev)
		return
	}
	if s := humanLine(ev); s != "" {
		fmt.Fprintln(o.w, s)
	}
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
	case vpn.EventAuthOK:
		return "PPP address negotiation (IPCP)"
	case vpn.EventIPUp:
		return "the interface, routes and DNS"
	case vpn.EventReconnecting:
		return "the next reconnect attempt"
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
		if ev.PeerVendor != "" {
			vendor = fmt.Sprintf(", server %q", ev.PeerVendor)
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
	case vpn.EventSessionUp:
		return fmt.Sprintf("l2tp session up (id %d, peer id %d)", ev.SessionID, ev.PeerSessionID)
	case vpn.EventLCPUp:
		return "ppp link up"
	case vpn.EventAuthOK:
		return "ppp authenticated with " + ev.Auth
	case vpn.EventIPUp:
		return fmt.Sprintf("ppp address %s, peer %s", ev.IP, orNone(ev.Peer))
	case vpn.EventIPv6Up:
		return "ppp ipv6 link-local " + ev.IPv6
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
	}
	return ev.Routing
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

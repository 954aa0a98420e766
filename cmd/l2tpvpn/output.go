package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// output renders events for a person (one line per phase) or as JSON lines.
type output struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
	enc  *json.Encoder
}

func newOutput(w io.Writer, asJSON bool) *output {
	return &output{w: w, json: asJSON, enc: json.NewEncoder(w)}
}

func (o *output) event(ev vpn.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.json {
		o.enc.Encode(ev)
		return
	}
	if s := humanLine(ev); s != "" {
		fmt.Fprintln(o.w, s)
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
		return fmt.Sprintf("connected: %s via %s, dns %s, mtu %d", ev.IP, ev.Interface, orNone(strings.Join(ev.DNS, " ")), ev.MTU)
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

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

package main

// The half of l2tpvpn probe that needs the pre-shared key: one Main Mode
// with the narrowest accepted phase-1 proposal (ike.Phase2Probe), a Quick
// Mode per ESP transform we implement (each accepted pair deleted at
// once), PFS with and without, then L2TP and PPP's LCP through one kept
// pair (probeipsec.go). Every message goes through one pacer, so --rate
// holds for the whole probe. The PSK goes to ike only: never to the
// report, an error or a log.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
)

// probePhase2 is what Quick Mode found.
type probePhase2 struct {
	IKE      string   `json:"ike"`  // the phase-1 proposal of the Main Mode
	Mode     string   `json:"mode"` // the ESP mode asked for
	Probed   int      `json:"esp_probed"`
	Accepted []string `json:"esp_accepted"`
	Refused  int      `json:"esp_refused"`
	NoAnswer int      `json:"esp_no_answer"`
	// PFS: "optional", "required", "refused" (only without), "unknown".
	PFS      string `json:"pfs"`
	PFSGroup string `json:"pfs_group,omitempty"` // the group tried (phase 1's)
	// Refusal is why the first refused transform was refused (when none
	// was accepted it says what to change, e.g. the ESP mode).
	Refusal string `json:"refusal,omitempty"`
}

// probePPPAuth is what LCP said about authentication.
type probePPPAuth struct {
	Methods []string `json:"methods"` // in the server's order of preference
	NoAuth  bool     `json:"no_auth,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// pskLink is the PSK probe's path to the server: IKE to port 500,
// datagrams to port 4500 (non-ESP marker or ESP). The network (probenet.go)
// or a test fills it; Input500 and Input4500 take what comes back.
type pskLink struct {
	Local, Server netip.Addr
	Send500       func([]byte) error
	Send4500      func([]byte) error
}

// errPSKRefused: phase 1 failed at Main Mode 5/6: the key is wrong.
var errPSKRefused = errors.New("the pre-shared key was not accepted")

// pskProbe is one run of the PSK half.
type pskProbe struct {
	st   probeSettings
	link *pskLink
	pace *ike.Pacer
	ph2  *ike.Phase2Probe
	path atomic.Pointer[probeESP] // the kept pair, for L2TP (probeipsec.go)
}

// input500 takes a datagram from the server's port 500.
func (p *pskProbe) input500(b []byte) { p.ph2.Input(b, false) }

// input4500 takes a datagram from the server's port 4500.
func (p *pskProbe) input4500(d []byte) {
	kind, _ := esp.Classify(d)
	switch kind {
	case esp.KindIKE:
		p.ph2.Input(d[4:], true)
	case esp.KindESP:
		if e := p.path.Load(); e != nil {
			e.input(d)
		}
	}
}

// runPSK probes phase 2, L2TP and PPP with the PSK over link, after the
// phase-1 sweep accepted prop. It fills rep; errPSKRefused when the key
// is wrong; other errors end the probe.
func runPSK(ctx context.Context, link *pskLink, prop ike.IKEProposal, st probeSettings, p *pskProbe, rep *probeReport) error {
	p.st, p.link = st, link
	if p.pace == nil {
		p.pace = ike.NewPacer(st.Rate)
	}
	defer func() { rep.Sent += p.pace.Sent() }()
	ph2, err := ike.NewPhase2Probe(ike.Config{PSK: st.PSK, IKE: []ike.IKEProposal{prop}, Mode: st.ESPMode,
		Local: link.Local, Remote: link.Server, RetransmitTimeout: st.Timeout, Retransmits: 2,
		Send: func(b []byte, natt bool) error {
			if err := p.pace.Wait(ctx); err != nil {
				return err
			}
			if natt {
				return link.Send4500(append(make([]byte, 4, 4+len(b)), b...))
			}
			return link.Send500(b)
		}})
	if err != nil {
		return err
	}
	p.ph2 = ph2
	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { ph2.Run(runCtx) })
	defer func() {
		cancel() // deletes the kept pair and the ISAKMP SA at the server
		wg.Wait()
	}()
	p2 := &probePhase2{IKE: prop.String(), Mode: st.ESPMode.String(), Accepted: []string{}, PFS: "unknown"}
	rep.Phase2 = p2
	select {
	case <-ph2.Up():
		rep.PSK = "accepted"
	case <-ph2.Done():
		err := ph2.Err()
		if errors.Is(err, ike.ErrAuthentication) {
			rep.PSK = "refused"
			rep.Phase2 = nil
			return errPSKRefused
		}
		rep.Phase2 = nil
		return err
	case <-ctx.Done():
		return ctx.Err()
	}

	// One Quick Mode per transform, without PFS.
	var accepted []ike.ESPProposal
	sweep := func(group ike.Group) error {
		for _, e := range ike.ProbeESPProposals() {
			e.Group = group
			r, err := ph2.QuickMode(ctx, e, false)
			if err != nil {
				return err
			}
			p2.Probed++
			switch r.Outcome {
			case ike.Phase1Accepted:
				accepted = append(accepted, e)
				p2.Accepted = append(p2.Accepted, e.String())
			case ike.Phase1Refused:
				p2.Refused++
				if p2.Refusal == "" {
					p2.Refusal = r.Reason
				}
			default:
				p2.NoAnswer++
			}
		}
		return nil
	}
	if err := sweep(0); err != nil {
		return err
	}
	p2.PFSGroup = prop.Group.String()
	if len(accepted) > 0 {
		// The same transform with PFS (phase 1's group).
		e := accepted[0]
		e.Group = prop.Group
		r, err := ph2.QuickMode(ctx, e, false)
		if err != nil {
			return err
		}
		p2.PFS = "refused"
		if r.Outcome == ike.Phase1Accepted {
			p2.PFS = "optional"
		}
	} else {
		// Nothing without PFS: perhaps the server requires it.
		if err := sweep(prop.Group); err != nil {
			return err
		}
		if len(accepted) > 0 {
			p2.PFS = "required"
		}
	}
	if len(accepted) == 0 {
		return nil
	}
	return p.throughIPsec(ctx, accepted[0], rep)
}

// writePSK prints the sections the PSK adds to the table.
func (rep *probeReport) writePSK(tw io.Writer) {
	if rep.PSK != "" {
		fmt.Fprintf(tw, "pre-shared key\t%s\n", rep.PSK)
	}
	if p2 := rep.Phase2; p2 != nil {
		fmt.Fprintf(tw, "phase 2 probed\t%d ESP transforms (%s mode, Main Mode %s): %d accepted, %d refused, %d no answer\n",
			p2.Probed, p2.Mode, p2.IKE, len(p2.Accepted), p2.Refused, p2.NoAnswer)
		for i, e := range p2.Accepted {
			label := ""
			if i == 0 {
				label = "phase 2 accepted"
			}
			fmt.Fprintf(tw, "%s\t%s\n", label, e)
		}
		if len(p2.Accepted) == 0 && p2.Refusal != "" {
			fmt.Fprintf(tw, "phase 2 refusal\t%s\n", p2.Refusal)
		}
		pfs := map[string]string{"optional": "optional (accepted with and without)", "required": "required",
			"refused": "refused (only without PFS)", "unknown": "unknown"}[p2.PFS]
		if p2.PFSGroup != "" && p2.PFS != "unknown" {
			pfs += ", tried with " + p2.PFSGroup
		}
		fmt.Fprintf(tw, "PFS\t%s\n", pfs)
	}
	if l := rep.L2TPIPsec; l != nil {
		fmt.Fprintf(tw, "L2TP via IPsec\t%s\n", l.Answer)
		if l.HostName != "" {
			fmt.Fprintf(tw, "  host name\t%s\n", l.HostName)
		}
		if l.Vendor != "" {
			fmt.Fprintf(tw, "  vendor\t%s\n", l.Vendor)
		}
		if l.Firmware != 0 {
			fmt.Fprintf(tw, "  firmware\t0x%04x\n", l.Firmware)
		}
		if len(l.AVPs) > 0 {
			fmt.Fprintf(tw, "  AVPs\t%s\n", strings.Join(l.AVPs, ", "))
		}
		if l.Error != "" {
			fmt.Fprintf(tw, "  error\t%s\n", l.Error)
		}
	}
	if a := rep.PPPAuth; a != nil {
		m := strings.Join(a.Methods, ", ")
		switch {
		case a.NoAuth:
			m = "none asked for"
		case m == "":
			m = "unknown"
		}
		fmt.Fprintf(tw, "PPP authentication\t%s\n", m)
		if a.Error != "" {
			fmt.Fprintf(tw, "  error\t%s\n", a.Error)
		}
	}
}

package vici

// Failed initiates: charon's log of the attempt, as the fake streams it,
// becomes an error of the right kind that says what to check, and nothing
// stays loaded.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/ike"
)

// Lines charon logs for the first messages of Main Mode.
var mainModeLines = []string{
	"[IKE] initiating Main Mode IKE_SA l2tpvpn-office[1] to 198.51.100.1",
	"[ENC] generating ID_PROT request 0 [ SA V V V V V ]",
	"[NET] sending packet: from 192.0.2.10[500] to 198.51.100.1[500] (236 bytes)",
}

// Lines of a Main Mode that is up, and the start of Quick Mode.
var phase1Lines = []string{
	"[IKE] initiating Main Mode IKE_SA l2tpvpn-office[1] to 198.51.100.1",
	"[ENC] generating ID_PROT request 0 [ SA V V V V V ]",
	"[NET] sending packet: from 192.0.2.10[500] to 198.51.100.1[500] (236 bytes)",
	"[NET] received packet: from 198.51.100.1[500] to 192.0.2.10[500] (160 bytes)",
	"[ENC] parsed ID_PROT response 0 [ SA V V V ]",
	"[ENC] generating ID_PROT request 0 [ ID HASH ]",
	"[ENC] parsed ID_PROT response 0 [ ID HASH ]",
	"[IKE] IKE_SA l2tpvpn-office[1] established between 192.0.2.10[192.0.2.10]...198.51.100.1[198.51.100.1]",
	"[ENC] generating QUICK_MODE request 2717385373 [ HASH SA No ID ID ]",
	"[NET] sending packet: from 192.0.2.10[4500] to 198.51.100.1[4500] (316 bytes)",
	"[NET] received packet: from 198.51.100.1[4500] to 192.0.2.10[4500] (92 bytes)",
}

// Lines of a Main Mode with a wrong key: the server's answer to our ID
// and HASH does not decrypt. Charon retransmits for minutes after this.
var wrongPSKLines = []string{
	"[IKE] initiating Main Mode IKE_SA l2tpvpn-office[1] to 198.51.100.1",
	"[ENC] generating ID_PROT request 0 [ SA V V V V V ]",
	"[NET] sending packet: from 192.0.2.10[500] to 198.51.100.1[500] (236 bytes)",
	"[NET] received packet: from 198.51.100.1[500] to 192.0.2.10[500] (160 bytes)",
	"[ENC] parsed ID_PROT response 0 [ SA V V V ]",
	"[ENC] generating ID_PROT request 0 [ KE No NAT-D NAT-D ]",
	"[ENC] parsed ID_PROT response 0 [ KE No NAT-D NAT-D ]",
	"[ENC] generating ID_PROT request 0 [ ID HASH ]",
	"[NET] sending packet: from 192.0.2.10[4500] to 198.51.100.1[4500] (108 bytes)",
	"[NET] received packet: from 198.51.100.1[4500] to 192.0.2.10[4500] (92 bytes)",
	"[ENC] invalid HASH_V1 payload length, decryption failed?",
	"[ENC] could not decrypt payloads",
	"[IKE] message parsing failed",
}

func with(lines []string, more ...string) []string {
	return append(append([]string(nil), lines...), more...)
}

func TestInitiateFailure(t *testing.T) {
	const failed = "establishing CHILD_SA 'l2tp' failed"
	for _, c := range []struct {
		name   string
		leave  string // state of the IKE SA the attempt leaves in charon
		errmsg string // "": charon does not answer
		lines  []string
		kind   error
		says   []string
	}{
		{"wrong PSK", "CONNECTING", "", wrongPSKLines,
			ike.ErrAuthentication, []string{"--psk", "Main Mode"}},
		{"no proposal chosen in Main Mode", "", failed,
			with(mainModeLines, "[NET] received packet: from 198.51.100.1[500] to 192.0.2.10[500] (56 bytes)",
				"[ENC] parsed INFORMATIONAL_V1 request 1406512237 [ N(NO_PROP) ]",
				"[IKE] received NO_PROPOSAL_CHOSEN error notify"),
			ike.ErrNoProposalChosen, []string{"--ike", "Main Mode", "received NO_PROPOSAL_CHOSEN error notify"}},
		{"no proposal chosen in Quick Mode", "ESTABLISHED", failed,
			with(phase1Lines, "[IKE] received NO_PROPOSAL_CHOSEN error notify"),
			ike.ErrNoProposalChosen, []string{"--esp", "Quick Mode"}},
		{"no IKEv1", "", failed,
			[]string{"[IKE] IKE version 1 not supported"},
			ErrNoIKEv1, []string{"strongSwan 6.1", "--ipsec on", "5.9.8"}},
		{"no kernel ESP", "ESTABLISHED", failed,
			with(phase1Lines, "[ENC] parsed QUICK_MODE response 2717385373 [ HASH SA No ID ID ]",
				"[KNL] unable to install inbound and outbound IPsec SA (SAD) in kernel",
				"[IKE] unable to install inbound and outbound IPsec SA (SAD) in kernel"),
			ErrNoKernelESP, []string{"--ipsec on", "unable to install"}},
		{"no response", "", "CHILD_SA 'l2tp' not established after 5000ms",
			with(mainModeLines, "[IKE] sending retransmit 1 of request message ID 0, seq 1",
				"[NET] sending packet: from 192.0.2.10[500] to 198.51.100.1[500] (236 bytes)"),
			ike.ErrNoResponse, []string{"UDP 500", "not established after 5000ms"}},
		{"invalid ID information", "ESTABLISHED", failed,
			with(phase1Lines, "[ENC] parsed INFORMATIONAL_V1 request 3436434146 [ HASH N(INVAL_ID) ]",
				"[IKE] received INVALID_ID_INFORMATION error notify"),
			ike.ErrRejected, []string{"--esp-mode", "INVALID_ID_INFORMATION"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeCharon(t)
			f.handle("initiate", f.failingInitiate(c.leave, c.errmsg, c.lines...))
			// Less than the 5 s govici waits for a silent charon: a Dial
			// that waited for charon's answer to a wrong key would end
			// with ErrNoResponse.
			ctx, cancel := context.WithTimeout(t.Context(), 4*time.Second)
			defer cancel()
			d, err := Dial(ctx, testConfig(f.path, make(recorder, 8)))
			if err == nil {
				d.Close()
				t.Fatal("Dial succeeded")
			}
			if !errors.Is(err, c.kind) {
				t.Errorf("Dial: %v\nwant kind %v", err, c.kind)
			}
			for _, s := range c.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q does not say %q", err, s)
				}
			}
			var e *ike.Error
			if !errors.As(err, &e) || !strings.HasPrefix(e.Msg, "ike: ") && !strings.HasPrefix(e.Msg, "ipsec: ") {
				t.Errorf("error %q is not a *Error naming its layer", err)
			}
			rs := f.reqs()
			if c.leave != "" && !slices.Contains(cmds(rs), "terminate") {
				t.Errorf("the %s IKE SA the attempt left was not terminated: %v", c.leave, cmds(rs))
			}
			f.assertClean(t)
			f.awaitNoClients(t) // the initiate session too
		})
	}
}

// TestInitiateContext: Dial's context ends while charon is still at it
// (charon does not answer): Ctrl-C says interrupted, a deadline says no
// response; either way nothing stays loaded.
func TestInitiateContext(t *testing.T) {
	t.Run("cancelled", func(t *testing.T) {
		f := newFakeCharon(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		hang := f.failingInitiate("CONNECTING", "", mainModeLines...)
		f.handle("initiate", func(req msg) ([]msg, msg) {
			cancel() // Ctrl-C while charon negotiates
			return hang(req)
		})
		_, err := Dial(ctx, testConfig(f.path, make(recorder, 8)))
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") {
			t.Errorf("Dial: %v, want an interruption", err)
		}
		f.assertClean(t)
		f.awaitNoClients(t)
	})
	t.Run("deadline", func(t *testing.T) {
		f := newFakeCharon(t)
		f.handle("initiate", f.failingInitiate("CONNECTING", "", mainModeLines...))
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err := Dial(ctx, testConfig(f.path, make(recorder, 8)))
		if !errors.Is(err, ike.ErrNoResponse) || !strings.Contains(err.Error(), "in time") {
			t.Errorf("Dial: %v, want ike.ErrNoResponse", err)
		}
		f.assertClean(t)
		f.awaitNoClients(t)
	})
}

// TestTranscript covers the rules of transcript.add that end an attempt
// early.
func TestTranscript(t *testing.T) {
	var tr transcript
	for _, l := range phase1Lines {
		if err := tr.add(l); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
	}
	// After phase 1 a decryption failure is not a wrong key.
	if err := tr.add("[ENC] could not decrypt payloads"); err != nil {
		t.Errorf("decryption failure in Quick Mode ended the attempt: %v", err)
	}
	tr = transcript{}
	// Before our ID and HASH nothing is encrypted with the key.
	if err := tr.add("[ENC] invalid HASH_V1 payload length, decryption failed?"); err != nil {
		t.Errorf("decryption failure before ID HASH ended the attempt: %v", err)
	}
}

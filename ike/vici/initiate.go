package vici

// Initiating the child, and turning charon's log of a failed attempt into an
// error a user can act on.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	govici "github.com/strongswan/govici/vici"

	"github.com/l2tpvpn/l2tpvpn/ike"
)

// defaultInitiateTimeout bounds an initiate when ctx has no deadline.
const defaultInitiateTimeout = 60 * time.Second

// initiate asks charon to set up our child and follows its log until the
// CHILD_SA is installed or the attempt failed. It runs on a session of its
// own, so that an attempt that is already known to fail (a wrong key makes
// charon retransmit for minutes) can be abandoned by closing it.
func (d *Delegate) initiate(ctx context.Context, version string) error {
	timeout := defaultInitiateTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl) - time.Second
		if timeout < time.Second {
			timeout = time.Second
		}
	}
	s, err := d.session()
	if err != nil {
		return err
	}
	defer s.Close()
	req := govici.NewMessage()
	set(req, "child", ChildName)
	set(req, "ike", d.conn)
	set(req, "timeout", strconv.FormatInt(timeout.Milliseconds(), 10))
	set(req, "init-limits", "no")
	set(req, "loglevel", "1")

	type item struct {
		line string
		err  error
		end  bool
	}
	items := make(chan item, 16)
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		send := func(it item) bool {
			select {
			case items <- it:
				return true
			case <-quit:
				return false
			}
		}
		// govici gives up on a stream that is quiet for longer than its
		// context allows (5 s without a deadline); charon's log can be
		// quiet longer between retransmissions.
		sctx, scancel := context.WithTimeout(context.Background(), timeout+5*time.Second)
		defer scancel()
		for m, err := range s.CallStreaming(sctx, "initiate", "control-log", req) {
			if err != nil {
				send(item{err: err, end: true})
				return
			}
			if !send(item{line: logLine(m)}) {
				return
			}
		}
		send(item{end: true})
	}()

	d.log.Info("charon: initiating", "conn", d.conn, "child", ChildName, "timeout", timeout.Round(time.Second))
	var t transcript
	for {
		select {
		case it := <-items:
			if it.line != "" {
				d.log.Debug("charon: " + it.line)
				if err := t.add(it.line); err != nil {
					// Known to fail; charon would keep retransmitting.
					return err
				}
			}
			if it.end {
				if it.err == nil {
					return nil
				}
				return t.failure(it.err.Error(), version)
			}
		case <-ctx.Done():
			if ctx.Err() == context.Canceled {
				return fmt.Errorf("ike: interrupted while charon was setting up the SAs: %w", ctx.Err())
			}
			return failure(ike.ErrNoResponse, "ike: charon did not set up the SAs in time (%v)", ctx.Err())
		}
	}
}

// logLine formats a control-log event as charon's own log does:
// "[IKE] message".
func logLine(m *govici.Message) string {
	return "[" + str(m, "group") + "] " + str(m, "msg")
}

// transcript collects charon's log lines of one attempt.
type transcript struct {
	lines    []string
	received bool // any packet from the server
	sentAuth bool // our Main Mode ID/HASH went out
	phase2   bool // phase 1 is up
}

// add notes one line; it returns an error when the attempt is known to
// fail already.
func (t *transcript) add(line string) error {
	t.lines = append(t.lines, line)
	switch {
	case strings.Contains(line, "received packet"):
		t.received = true
	case strings.Contains(line, "ID_PROT request") && strings.Contains(line, "[ ID HASH"):
		t.sentAuth = true
	case strings.Contains(line, "IKE_SA") && strings.Contains(line, "established"):
		t.phase2 = true
	}
	// After our ID and HASH the server's answers are encrypted with a key
	// derived from the PSK: if charon cannot decrypt them, the keys differ.
	if t.sentAuth && !t.phase2 && (strings.Contains(line, "decryption failed") || strings.Contains(line, "could not decrypt")) {
		return failure(ike.ErrAuthentication,
			"ike: authentication failed in Main Mode: charon cannot decrypt the server's answer to our identity, so the server uses a different pre-shared key (check --psk)")
	}
	return nil
}

// failure explains why initiate failed, from charon's answer and log.
func (t *transcript) failure(answer, version string) error {
	has := func(subs ...string) (string, bool) {
		for _, l := range t.lines {
			for _, s := range subs {
				if strings.Contains(l, s) {
					return l, true
				}
			}
		}
		return "", false
	}
	detail := strings.TrimPrefix(answer, "command failed: ")
	if l, ok := has("IKE version 1 not supported", "IKEv1 not supported", "IKEv1 is not supported"); ok {
		return noIKEv1(version, "charon: "+l)
	}
	if l, ok := has("unsupported mode", "unable to install", "unable to add SAD entry", "unable to add policy"); ok {
		return failure(ErrNoKernelESP,
			"ike: charon negotiated the SA but cannot install it (charon: %s): this host's kernel lacks ESP support (xfrm/esp4 modules) or charon's IPsec backend cannot do this mode; use the built-in IPsec (--ipsec on)", l)
	}
	if l, ok := has("NO_PROPOSAL_CHOSEN", "no acceptable proposal", "no matching proposal"); ok {
		phase := "Main Mode"
		if t.phase2 {
			phase = "Quick Mode"
		}
		return failure(ike.ErrNoProposalChosen, "ike: no proposal chosen in %s (charon: %s): choose proposals the server accepts with --ike / --esp", phase, l)
	}
	if l, ok := has("AUTHENTICATION_FAILED", "authentication failed", "calculated HASH does not match", "decryption failed"); ok {
		return failure(ike.ErrAuthentication, "ike: authentication failed (charon: %s): check the pre-shared key (--psk)", l)
	}
	if l, ok := has("does not match to"); ok {
		// We expect the server to identify itself by its address, as
		// IKEv1 servers with pre-shared keys do by default.
		return failure(ike.ErrRejected,
			"ike: the server identified itself by another identity than its address (charon: %s); the built-in IPsec (--ipsec on) accepts any server identity", l)
	}
	if l, ok := has("INVALID_ID_INFORMATION", "TS_UNACCEPTABLE", "INVALID_ID"); ok {
		return failure(ike.ErrRejected,
			"ike: the server refused our traffic selectors or mode in Quick Mode (charon: %s): check --esp-mode (transport or tunnel)", l)
	}
	if !t.received {
		return failure(ike.ErrNoResponse,
			"ike: no response from the server (charon: %s): check the address, that UDP 500 and 4500 reach it and that it serves L2TP/IPsec", detail)
	}
	if l, ok := has("peer not responding", "giving up after"); ok {
		return failure(ike.ErrNoResponse, "ike: the server stopped answering (charon: %s)", l)
	}
	if strings.Contains(detail, "not established after") {
		phase := "phase 1 (Main Mode)"
		if t.phase2 {
			phase = "phase 2 (Quick Mode)"
		}
		return failure(ike.ErrNoResponse, "ike: charon did not finish %s in time (charon: %s)", phase, detail)
	}
	last := ""
	if n := len(t.lines); n > 0 {
		last = "; last log line: " + t.lines[n-1]
	}
	return failure(ike.ErrRejected, "ike: charon could not set up the SAs (charon: %s%s)", detail, last)
}

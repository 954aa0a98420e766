package ppp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// input turns a received packet into automaton events (RFC 1661 sections
// 4.3 and 5): it checks Identifiers, classifies Configure-Requests through
// the layer and discards what is invalid.
func (f *automaton) input(p Packet) {
	f.rx = p
	switch p.Code {
	case CodeConfigureRequest:
		f.inputRequest(p)
	case CodeConfigureAck:
		if f.awaitingReply() {
			// RFC 1661 5.2: the Identifier must match the last request and
			// the options must be identical; a duplicate is ignored.
			if p.ID != f.reqID || f.answered || !bytes.Equal(p.Data, f.reqOpts) {
				f.discard(p, "does not match our last Configure-Request")
				return
			}
			f.answered = true
			f.refusals = 0
			f.layer.gotAck(p.Data)
		}
		f.step(evRCA)
	case CodeConfigureNak, CodeConfigureReject:
		if f.awaitingReply() && !f.inputRefusal(p) {
			return
		}
		f.step(evRCN)
	case CodeTerminateRequest:
		f.why = "the " + f.peer + " sent a Terminate-Request"
		if s := printable(p.Data); s != "" {
			f.why += fmt.Sprintf(" (%q)", s)
		}
		legal := f.state > stateStarting
		f.step(evRTR)
		if f.extras != nil && legal {
			f.extras.terminateRequested(p)
		}
	case CodeTerminateAck:
		f.step(evRTA)
	case CodeCodeReject:
		if len(p.Data) < 1 {
			f.host.malformed(f.proto, fmt.Errorf("%w: empty Code-Reject", ErrMalformed))
			return
		}
		// RFC 1661 5.6: rejecting a code we need is catastrophic.
		if c := Code(p.Data[0]); c >= CodeConfigureRequest && c <= CodeCodeReject {
			f.why = fmt.Sprintf("the %s code-rejected %v", f.peer, c)
			f.step(evRXJMinus)
		} else {
			if f.extras != nil {
				f.extras.codeRejected(c)
			}
			f.step(evRXJPlus)
		}
	default:
		if f.extras == nil {
			f.step(evRUC)
			return
		}
		f.inputLCP(p)
	}
}

// inputLCP handles the codes only LCP has.
func (f *automaton) inputLCP(p Packet) {
	switch p.Code {
	case CodeProtocolReject:
		// RFC 1661 5.7: only meaningful in the Opened state.
		if f.state != stateOpened {
			f.discard(p, "not Opened")
			return
		}
		if len(p.Data) < 2 {
			f.host.malformed(f.proto, fmt.Errorf("%w: short Protocol-Reject", ErrMalformed))
			return
		}
		proto := Protocol(binary.BigEndian.Uint16(p.Data))
		if f.extras.protocolRejected(proto) {
			f.why = "the " + f.peer + " protocol-rejected LCP"
			f.step(evRXJMinus)
		} else {
			f.step(evRXJPlus)
		}
	case CodeEchoRequest, CodeEchoReply, CodeDiscardRequest:
		if len(p.Data) < 4 {
			f.host.malformed(f.proto, fmt.Errorf("%w: %v without Magic-Number", ErrMalformed, p.Code))
			return
		}
		f.step(evRXR)
	case CodeIdentification, CodeTimeRemaining:
		// RFC 1570: informational, nothing to do.
	default:
		f.step(evRUC)
	}
}

// inputRequest classifies a Configure-Request as RCR+ or RCR-.
func (f *automaton) inputRequest(p Packet) {
	good := true
	switch f.state {
	case stateStopped, stateReqSent, stateAckRcvd, stateAckSent, stateOpened:
		// In the other states the outcome does not depend on the options.
		if err := checkOptions(p.Data); err != nil {
			f.host.malformed(f.proto, err)
			return
		}
		code, reply, err := f.layer.checkRequest(p.Data, f.failures >= f.maxFailure, f.reply[:0])
		if err != nil {
			f.host.fail(err)
			return
		}
		f.replyCode, f.reply = code, reply
		good = code == CodeConfigureAck
	}
	if good {
		f.step(evRCRPlus)
	} else {
		f.step(evRCRMinus)
	}
}

// inputRefusal validates a Configure-Nak or -Reject of our last request and
// lets the layer adjust. It reports whether the RCN event should follow.
func (f *automaton) inputRefusal(p Packet) bool {
	if p.ID != f.reqID || f.answered {
		f.discard(p, "does not match our last Configure-Request")
		return false
	}
	if err := checkOptions(p.Data); err != nil {
		f.host.malformed(f.proto, err)
		return false
	}
	var err error
	if p.Code == CodeConfigureReject {
		// RFC 1661 5.4: the rejected options must be ours, unmodified.
		for b := p.Data; len(b) > 0; {
			var o Option
			o, b, _ = NextOption(b)
			if !hasOption(f.reqOpts, o) {
				f.host.malformed(f.proto, fmt.Errorf("%w: Configure-Reject of option %d we did not send", ErrMalformed, o.Type))
				return false
			}
		}
		err = f.layer.gotReject(p.Data)
	} else {
		err = f.layer.gotNak(p.Data)
	}
	switch {
	case errors.Is(err, ErrNegotiation):
		// The layer finds the negotiation cannot converge (the client
		// refuses every authentication method a ServerLink allows).
		f.host.fail(err)
		return false
	case err != nil:
		f.host.malformed(f.proto, err)
		return false
	}
	f.answered = true
	// Not in RFC 1661: a peer that refuses every request would keep us
	// negotiating forever, since RCN re-initializes the restart counter.
	f.refusals++
	if f.refusals > f.maxConfigure {
		f.host.fail(&NegotiationError{Protocol: f.proto,
			Reason: fmt.Sprintf("the %s refused %d Configure-Requests in a row", f.peer, f.refusals)})
		return false
	}
	return true
}

// awaitingReply reports whether replies to our Configure-Request are
// checked against it in this state.
func (f *automaton) awaitingReply() bool {
	return f.state >= stateReqSent
}

func (f *automaton) discard(p Packet, why string) {
	f.log.Debug("ppp: discarding packet", "proto", f.proto, "code", p.Code, "id", p.ID, "state", f.state, "why", why)
}

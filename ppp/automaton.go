package ppp

// The option negotiation automaton of RFC 1661 section 4, written once and
// shared by LCP, IPCP and IPV6CP. Each protocol supplies its options through
// the layer interface; the automaton owns states, the Restart timer, the
// counters and the packets of codes 1-7.

import (
	"fmt"
	"log/slog"
	"time"
)

// fsmState is a state of the RFC 1661 automaton (section 4.2).
type fsmState uint8

const (
	stateInitial  fsmState = iota // 0: lower layer down, no Open
	stateStarting                 // 1: Open, waiting for Up
	stateClosed                   // 2: Up, no Open
	stateStopped                  // 3: waiting for the peer after Terminate or failure
	stateClosing                  // 4: Terminate-Request sent (Close)
	stateStopping                 // 5: Terminate-Request sent or acked (no Close)
	stateReqSent                  // 6: Configure-Request sent
	stateAckRcvd                  // 7: our request acked, theirs not yet
	stateAckSent                  // 8: their request acked, ours not yet
	stateOpened                   // 9: both acked
)

var stateNames = [...]string{"Initial", "Starting", "Closed", "Stopped", "Closing", "Stopping", "Req-Sent", "Ack-Rcvd", "Ack-Sent", "Opened"}

func (s fsmState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state-%d", uint8(s))
}

// timed reports whether the Restart timer runs in s (the states with TO
// events in the section 4.1 table).
func (s fsmState) timed() bool { return s >= stateClosing && s <= stateAckSent }

// fsmEvent is an event of the automaton (RFC 1661 section 4.3).
type fsmEvent uint8

const (
	evUp       fsmEvent = iota // lower layer is Up
	evDown                     // lower layer is Down
	evOpen                     // administrative Open
	evClose                    // administrative Close
	evTOPlus                   // Timeout with counter > 0
	evTOMinus                  // Timeout with counter expired
	evRCRPlus                  // Receive-Configure-Request (Good)
	evRCRMinus                 // Receive-Configure-Request (Bad)
	evRCA                      // Receive-Configure-Ack
	evRCN                      // Receive-Configure-Nak/Rej
	evRTR                      // Receive-Terminate-Request
	evRTA                      // Receive-Terminate-Ack
	evRUC                      // Receive-Unknown-Code
	evRXJPlus                  // Receive-Code-Reject/Protocol-Reject (permitted)
	evRXJMinus                 // Receive-Code-Reject/Protocol-Reject (catastrophic)
	evRXR                      // Receive-Echo-Request/Echo-Reply/Discard-Request
)

var eventNames = [...]string{"Up", "Down", "Open", "Close", "TO+", "TO-", "RCR+", "RCR-", "RCA", "RCN", "RTR", "RTA", "RUC", "RXJ+", "RXJ-", "RXR"}

func (e fsmEvent) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return fmt.Sprintf("event-%d", uint8(e))
}

// action is an action of the automaton (RFC 1661 section 4.4).
type action uint8

const (
	actTLU action = iota // This-Layer-Up
	actTLD               // This-Layer-Down
	actTLS               // This-Layer-Started
	actTLF               // This-Layer-Finished
	actIRC               // Initialize-Restart-Count
	actZRC               // Zero-Restart-Count
	actSCR               // Send-Configure-Request
	actSCA               // Send-Configure-Ack
	actSCN               // Send-Configure-Nak/Rej
	actSTR               // Send-Terminate-Request
	actSTA               // Send-Terminate-Ack
	actSCJ               // Send-Code-Reject
	actSER               // Send-Echo-Reply
)

var actionNames = [...]string{"tlu", "tld", "tls", "tlf", "irc", "zrc", "scr", "sca", "scn", "str", "sta", "scj", "ser"}

func (a action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action-%d", uint8(a))
}

// layer is what a control protocol plugs into the automaton: its options
// and what its This-Layer-* actions do.
type layer interface {
	// appendRequest appends the options of our next Configure-Request.
	appendRequest(b []byte) []byte
	// checkRequest classifies the options of the peer's Configure-Request
	// (a well-formed option list). It appends the reply's options to reply
	// and returns the reply code: Configure-Ack (reply is then ignored),
	// Configure-Nak or Configure-Reject. With rejectNaks set (Max-Failure
	// reached) options it would Nak are rejected. A non-nil error means the
	// negotiation cannot converge; the link fails with it.
	checkRequest(opts []byte, rejectNaks bool, reply []byte) (Code, []byte, error)
	// gotAck takes the values of our request, which the peer acked.
	gotAck(opts []byte)
	// gotNak adjusts our next request to the peer's Configure-Nak.
	gotNak(opts []byte) error
	// gotReject drops the rejected options (a subset of our request) from
	// our next request. For both, an error wrapping ErrNegotiation means
	// the negotiation cannot converge and fails the link; any other counts
	// the packet as malformed.
	gotReject(opts []byte) error
	up()                    // This-Layer-Up
	down()                  // This-Layer-Down
	started()               // This-Layer-Started
	finished(reason string) // This-Layer-Finished; reason says why if not a Close
}

// verdict is checkRequest's answer once the options are classified:
// Configure-Reject if any was rejected, else Configure-Nak if any was
// Nak'd, else Configure-Ack (RFC 1661 sections 5.2-5.4).
func verdict(rej, nak []byte) (Code, []byte, error) {
	switch {
	case len(rej) > 0:
		return CodeConfigureReject, rej, nil
	case len(nak) > 0:
		return CodeConfigureNak, nak, nil
	}
	return CodeConfigureAck, nil, nil
}

// lcpExtras handles the codes only LCP has (RFC 1661 sections 5.7-5.9).
type lcpExtras interface {
	// rxr answers an Echo-Request or takes an Echo-Reply or Discard-Request
	// (the ser action, Opened state only).
	rxr(p Packet)
	// protocolRejected handles a Protocol-Reject of proto and reports
	// whether it is catastrophic for LCP itself.
	protocolRejected(proto Protocol) (catastrophic bool)
	// codeRejected learns that the peer does not know code c (RXJ+).
	codeRejected(c Code)
	// terminateRequested is told about a Terminate-Request after the
	// automaton answered it.
	terminateRequested(p Packet)
}

// host is what the automaton needs from the link (linkCore).
type host interface {
	sendPacket(proto Protocol, p Packet)
	fail(err error)
	malformed(proto Protocol, err error)
}

// automaton is one instance of the RFC 1661 option negotiation automaton.
type automaton struct {
	proto  Protocol
	layer  layer
	extras lcpExtras // LCP only, else nil
	host   host
	log    *slog.Logger
	trace  func(action) // tests only
	peer   string       // who the other end is, for reasons: "server" (or "client" for a ServerLink)

	restartTime  time.Duration
	maxConfigure int
	maxTerminate int
	maxFailure   int

	state        fsmState
	timer        timer
	restartCount int
	failures     int // Configure-Naks sent since the last Configure-Ack (Max-Failure)
	refusals     int // Configure-Naks/Rejects received since the last Configure-Ack
	nextID       uint8
	reqID        uint8  // Identifier of our last Configure-Request
	reqOpts      []byte // its options
	answered     bool   // a valid reply to reqID arrived
	termData     []byte // Data of our Terminate-Requests
	why          string // why the layer finished, for tlf

	rx        Packet // the packet being processed
	replyCode Code   // checkRequest's verdict on rx
	reply     []byte // and the options of a Nak or Reject
}

func newAutomaton(proto Protocol, l layer, h host, cfg *Config, log *slog.Logger) *automaton {
	return &automaton{
		proto: proto, layer: l, host: h, log: log, peer: "server",
		restartTime:  cfg.RestartTimer,
		maxConfigure: cfg.MaxConfigure,
		maxTerminate: cfg.MaxTerminate,
		maxFailure:   cfg.MaxFailure,
	}
}

// newID returns a fresh Identifier for a packet this protocol originates.
func (f *automaton) newID() uint8 {
	f.nextID++
	return f.nextID
}

// step applies one event: the RFC 1661 section 4.1 state transition table.
// The new state is entered first, then the actions run in the table's order,
// so This-Layer-Up sees Opened.
func (f *automaton) step(ev fsmEvent) {
	from := f.state
	if ev >= evRCRPlus && from <= stateStarting {
		f.illegal(ev) // nothing can be received while the lower layer is down
		return
	}
	switch ev {
	case evUp:
		switch from {
		case stateInitial:
			f.to(stateClosed)
		case stateStarting:
			f.to(stateReqSent)
			f.irc(maxConf)
			f.scr(false)
		default:
			f.illegal(ev)
		}
	case evDown:
		switch from {
		case stateClosed, stateClosing:
			f.to(stateInitial)
		case stateStopped:
			f.to(stateStarting)
			f.tls()
		case stateStopping, stateReqSent, stateAckRcvd, stateAckSent:
			f.to(stateStarting)
		case stateOpened:
			f.to(stateStarting)
			f.tld()
		default:
			f.illegal(ev)
		}
	case evOpen:
		switch from {
		case stateInitial:
			f.to(stateStarting)
			f.tls()
		case stateClosed:
			f.to(stateReqSent)
			f.irc(maxConf)
			f.scr(false)
		case stateClosing:
			f.to(stateStopping) // 5r: we do not implement the restart option
		}
		// Starting, Stopped, Stopping, Req-Sent, Ack-Rcvd, Ack-Sent, Opened: no change.
	case evClose:
		switch from {
		case stateStarting:
			f.to(stateInitial)
			f.tlf()
		case stateStopped:
			f.to(stateClosed)
		case stateStopping:
			f.to(stateClosing)
		case stateReqSent, stateAckRcvd, stateAckSent:
			f.to(stateClosing)
			f.irc(maxTerm)
			f.str()
		case stateOpened:
			f.to(stateClosing)
			f.tld()
			f.irc(maxTerm)
			f.str()
		}
		// Initial, Closed, Closing: no change.
	case evTOPlus:
		switch from {
		case stateClosing, stateStopping:
			f.str()
		case stateReqSent, stateAckRcvd:
			f.to(stateReqSent)
			f.scr(true)
		case stateAckSent:
			f.scr(true)
		default:
			f.illegal(ev)
		}
	case evTOMinus:
		switch from {
		case stateClosing:
			f.to(stateClosed)
			f.tlf()
		case stateStopping, stateReqSent, stateAckRcvd, stateAckSent:
			f.to(stateStopped) // 3p: we do not wait passively, tlf ends the link
			f.tlf()
		default:
			f.illegal(ev)
		}
	case evRCRPlus, evRCRMinus:
		f.receiveRequest(from, ev == evRCRPlus)
	case evRCA:
		switch from {
		case stateClosed, stateStopped:
			f.sta()
		case stateReqSent:
			f.to(stateAckRcvd)
			f.irc(maxConf)
		case stateAckRcvd:
			f.to(stateReqSent) // 6x: crossed connection
			f.scr(false)
		case stateAckSent:
			f.to(stateOpened)
			f.irc(maxConf)
			f.tlu()
		case stateOpened:
			f.to(stateReqSent) // 6x
			f.tld()
			f.scr(false)
		}
	case evRCN:
		switch from {
		case stateClosed, stateStopped:
			f.sta()
		case stateReqSent, stateAckSent:
			f.irc(maxConf)
			f.scr(false)
		case stateAckRcvd:
			f.to(stateReqSent) // 6x
			f.scr(false)
		case stateOpened:
			f.to(stateReqSent) // 6x
			f.tld()
			f.scr(false)
		}
	case evRTR:
		switch from {
		case stateClosed, stateStopped, stateClosing, stateStopping:
			f.sta()
		case stateReqSent, stateAckRcvd, stateAckSent:
			f.to(stateReqSent)
			f.sta()
		case stateOpened:
			f.to(stateStopping)
			f.tld()
			f.zrc()
			f.sta()
		}
	case evRTA:
		switch from {
		case stateClosing:
			f.to(stateClosed)
			f.tlf()
		case stateStopping:
			f.to(stateStopped)
			f.tlf()
		case stateAckRcvd:
			f.to(stateReqSent)
		case stateOpened:
			f.to(stateReqSent)
			f.tld()
			f.scr(false)
		}
	case evRUC:
		f.scj()
	case evRXJPlus:
		if from == stateAckRcvd {
			f.to(stateReqSent)
		}
	case evRXJMinus:
		switch from {
		case stateClosed, stateClosing:
			f.to(stateClosed)
			f.tlf()
		case stateStopped, stateStopping, stateReqSent, stateAckRcvd, stateAckSent:
			f.to(stateStopped)
			f.tlf()
		case stateOpened:
			f.to(stateStopping)
			f.tld()
			f.irc(maxTerm)
			f.str()
		}
	case evRXR:
		if from == stateOpened {
			f.ser()
		}
	default:
		f.illegal(ev)
	}
}

// receiveRequest is the RCR+ and RCR- rows of the table.
func (f *automaton) receiveRequest(from fsmState, good bool) {
	switch from {
	case stateClosed:
		f.sta()
	case stateStopped:
		if good {
			f.to(stateAckSent)
		} else {
			f.to(stateReqSent)
		}
		f.irc(maxConf)
		f.scr(false)
		f.answer(good)
	case stateReqSent, stateAckSent:
		if good {
			f.to(stateAckSent)
			f.sca()
		} else {
			f.to(stateReqSent)
			f.scn()
		}
	case stateAckRcvd:
		if good {
			f.to(stateOpened)
			f.sca()
			f.tlu()
		} else {
			f.scn()
		}
	case stateOpened:
		if good {
			f.to(stateAckSent)
		} else {
			f.to(stateReqSent)
		}
		f.tld()
		f.scr(false)
		f.answer(good)
	}
	// Closing, Stopping: silently discarded.
}

// answer is sca for RCR+ and scn for RCR-.
func (f *automaton) answer(good bool) {
	if good {
		f.sca()
	} else {
		f.scn()
	}
}

func (f *automaton) illegal(ev fsmEvent) {
	f.log.Debug("ppp: event ignored in this state", "proto", f.proto, "state", f.state, "event", ev)
}

// to enters state s; leaving the timed states stops the Restart timer.
func (f *automaton) to(s fsmState) {
	f.state = s
	if !s.timed() {
		f.timer.stop()
	}
}

// timeout handles the Restart timer's expiry: TO+ or TO-.
func (f *automaton) timeout() {
	f.timer.fired()
	if !f.state.timed() {
		return
	}
	if f.restartCount > 0 {
		f.step(evTOPlus)
		return
	}
	switch f.state {
	case stateReqSent, stateAckRcvd, stateAckSent:
		f.why = fmt.Sprintf("the %s did not acknowledge %d Configure-Requests (Max-Configure)", f.peer, f.maxConfigure)
	case stateClosing:
		f.why = "no Terminate-Ack"
	}
	f.step(evTOMinus)
}

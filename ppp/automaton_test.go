package ppp

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// rfc1661Table is the state transition table of RFC 1661 section 4.1,
// transcribed as printed: one column per state 0 (Initial) to 9 (Opened),
// "actions/new-state" or "-" for an illegal event. The footnote options
// (r, p, x) are left out: we do not implement the restart and passive options.
var rfc1661Table = map[fsmEvent][10]string{
	evUp:       {"2", "irc,scr/6", "-", "-", "-", "-", "-", "-", "-", "-"},
	evDown:     {"-", "-", "0", "tls/1", "0", "1", "1", "1", "1", "tld/1"},
	evOpen:     {"tls/1", "1", "irc,scr/6", "3", "5", "5", "6", "7", "8", "9"},
	evClose:    {"0", "tlf/0", "2", "2", "4", "4", "irc,str/4", "irc,str/4", "irc,str/4", "tld,irc,str/4"},
	evTOPlus:   {"-", "-", "-", "-", "str/4", "str/5", "scr/6", "scr/6", "scr/8", "-"},
	evTOMinus:  {"-", "-", "-", "-", "tlf/2", "tlf/3", "tlf/3", "tlf/3", "tlf/3", "-"},
	evRCRPlus:  {"-", "-", "sta/2", "irc,scr,sca/8", "4", "5", "sca/8", "sca,tlu/9", "sca/8", "tld,scr,sca/8"},
	evRCRMinus: {"-", "-", "sta/2", "irc,scr,scn/6", "4", "5", "scn/6", "scn/7", "scn/6", "tld,scr,scn/6"},
	evRCA:      {"-", "-", "sta/2", "sta/3", "4", "5", "irc/7", "scr/6", "irc,tlu/9", "tld,scr/6"},
	evRCN:      {"-", "-", "sta/2", "sta/3", "4", "5", "irc,scr/6", "scr/6", "irc,scr/8", "tld,scr/6"},
	evRTR:      {"-", "-", "sta/2", "sta/3", "sta/4", "sta/5", "sta/6", "sta/6", "sta/6", "tld,zrc,sta/5"},
	evRTA:      {"-", "-", "2", "3", "tlf/2", "tlf/3", "6", "6", "8", "tld,scr/6"},
	evRUC:      {"-", "-", "scj/2", "scj/3", "scj/4", "scj/5", "scj/6", "scj/7", "scj/8", "scj/9"},
	evRXJPlus:  {"-", "-", "2", "3", "4", "5", "6", "6", "8", "9"},
	evRXJMinus: {"-", "-", "tlf/2", "tlf/3", "tlf/2", "tlf/3", "tlf/3", "tlf/3", "tlf/3", "tld,irc,str/5"},
	evRXR:      {"-", "-", "2", "3", "4", "5", "6", "7", "8", "ser/9"},
}

// recLayer is a layer and host that records what the automaton does.
type recLayer struct {
	calls    []string
	sent     []Packet
	failures []error
	bad      int

	verdict    Code   // checkRequest's answer
	rejectNaks []bool // checkRequest's rejectNaks arguments
}

func (r *recLayer) appendRequest(b []byte) []byte { return append(b, lcpMRU, 4, 0x05, 0x78) }
func (r *recLayer) checkRequest(opts []byte, rejectNaks bool, reply []byte) (Code, []byte, error) {
	r.rejectNaks = append(r.rejectNaks, rejectNaks)
	if r.verdict == CodeConfigureAck {
		return CodeConfigureAck, nil, nil
	}
	return r.verdict, append(reply, opts...), nil
}
func (r *recLayer) gotAck([]byte)          { r.calls = append(r.calls, "gotAck") }
func (r *recLayer) gotNak([]byte) error    { r.calls = append(r.calls, "gotNak"); return nil }
func (r *recLayer) gotReject([]byte) error { r.calls = append(r.calls, "gotReject"); return nil }
func (r *recLayer) up()                    { r.calls = append(r.calls, "up") }
func (r *recLayer) down()                  { r.calls = append(r.calls, "down") }
func (r *recLayer) started()               { r.calls = append(r.calls, "started") }
func (r *recLayer) finished(why string)    { r.calls = append(r.calls, "finished:"+why) }
func (r *recLayer) sendPacket(_ Protocol, p Packet) {
	p.Data = append([]byte(nil), p.Data...)
	r.sent = append(r.sent, p)
}
func (r *recLayer) fail(err error)                { r.failures = append(r.failures, err) }
func (r *recLayer) malformed(_ Protocol, _ error) { r.bad++ }

// LCP extras, so RXR reaches ser.
func (r *recLayer) rxr(p Packet)                   { r.calls = append(r.calls, "rxr") }
func (r *recLayer) protocolRejected(Protocol) bool { return false }
func (r *recLayer) codeRejected(Code)              {}
func (r *recLayer) terminateRequested(Packet)      {}

func newTestAutomaton() (*automaton, *recLayer, *[]string) {
	r := &recLayer{verdict: CodeConfigureAck}
	cfg := Config{}.withDefaults()
	f := newAutomaton(ProtoLCP, r, r, &cfg, slog.New(slog.DiscardHandler))
	f.extras = r
	var trace []string
	f.trace = func(a action) { trace = append(trace, a.String()) }
	return f, r, &trace
}

// sendingActions maps the actions that send a packet to its code.
var sendingActions = map[string]Code{
	"scr": CodeConfigureRequest, "sca": CodeConfigureAck, "scn": CodeConfigureNak,
	"str": CodeTerminateRequest, "sta": CodeTerminateAck, "scj": CodeCodeReject,
}

// TestAutomatonTransitionTable checks every cell of the RFC 1661 table:
// the new state, the actions in order, the packets sent, the layer
// callbacks and whether the Restart timer runs.
func TestAutomatonTransitionTable(t *testing.T) {
	for ev := evUp; ev <= evRXR; ev++ {
		row := rfc1661Table[ev]
		for s := stateInitial; s <= stateOpened; s++ {
			cell := row[s]
			t.Run(fmt.Sprintf("%v/%v", s, ev), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					checkTransition(t, s, ev, cell)
				})
			})
		}
	}
}

func checkTransition(t *testing.T, s fsmState, ev fsmEvent, cell string) {
	f, r, trace := newTestAutomaton()
	f.state = s
	if s.timed() {
		f.timer.start(time.Hour)
	}
	f.restartCount = 1
	f.rx = Packet{Code: CodeConfigureRequest, ID: 77, Data: []byte{lcpMRU, 4, 0x05, 0xdc}}
	f.replyCode, f.reply = CodeConfigureAck, nil
	if ev == evRCRMinus {
		f.replyCode, f.reply = CodeConfigureNak, []byte{lcpMRU, 4, 0x05, 0xdc}
	}
	f.step(ev)
	defer f.timer.stop()

	wantActions, wantState := "", s
	if cell != "-" {
		acts, st, ok := strings.Cut(cell, "/")
		if !ok {
			acts, st = "", cell
		}
		wantActions = acts
		wantState = fsmState(st[0] - '0')
	}
	if got := strings.Join(*trace, ","); got != wantActions {
		t.Errorf("actions %q, want %q", got, wantActions)
	}
	if f.state != wantState {
		t.Errorf("new state %v, want %v", f.state, wantState)
	}
	// The packets sent match the sending actions.
	var wantCodes []Code
	var wantCalls []string
	for _, a := range *trace {
		if c, ok := sendingActions[a]; ok {
			if a == "scn" {
				c = f.replyCode
			}
			wantCodes = append(wantCodes, c)
		}
		switch a {
		case "tlu":
			wantCalls = append(wantCalls, "up")
		case "tld":
			wantCalls = append(wantCalls, "down")
		case "tls":
			wantCalls = append(wantCalls, "started")
		case "tlf":
			wantCalls = append(wantCalls, "finished:")
		case "ser":
			wantCalls = append(wantCalls, "rxr")
		}
	}
	var gotCodes []Code
	for _, p := range r.sent {
		gotCodes = append(gotCodes, p.Code)
		switch p.Code {
		case CodeConfigureAck, CodeConfigureNak, CodeTerminateAck:
			if p.ID != 77 {
				t.Errorf("%v with id %d, want the request's 77", p.Code, p.ID)
			}
		}
	}
	if fmt.Sprint(gotCodes) != fmt.Sprint(wantCodes) {
		t.Errorf("sent %v, want %v", gotCodes, wantCodes)
	}
	if fmt.Sprint(r.calls) != fmt.Sprint(wantCalls) {
		t.Errorf("layer calls %v, want %v", r.calls, wantCalls)
	}
	if f.timer.active() != f.state.timed() {
		t.Errorf("restart timer running=%v in %v", f.timer.active(), f.state)
	}
	// irc and zrc set the counter; scr and str use one count each.
	if strings.Contains(wantActions, "irc") || strings.Contains(wantActions, "zrc") {
		want := 0
		switch {
		case strings.Contains(wantActions, "irc,str"):
			want = f.maxTerminate - 1
		case strings.Contains(wantActions, "irc,scr"):
			want = f.maxConfigure - 1
		case strings.Contains(wantActions, "irc"):
			want = f.maxConfigure
		}
		if f.restartCount != want {
			t.Errorf("restart count %d, want %d", f.restartCount, want)
		}
	}
}

func TestStateAndEventStrings(t *testing.T) {
	if stateAckRcvd.String() != "Ack-Rcvd" || evRXJMinus.String() != "RXJ-" || actZRC.String() != "zrc" ||
		fsmState(42).String() != "state-42" || fsmEvent(42).String() != "event-42" || action(42).String() != "action-42" {
		t.Error("bad String()")
	}
	if CodeProtocolReject.String() != "Protocol-Reject" || Code(99).String() != "Code-99" {
		t.Error("bad Code.String()")
	}
}

// openTestAutomaton runs Open and Up: Req-Sent with one request out.
func openTestAutomaton() (*automaton, *recLayer) {
	f, r, _ := newTestAutomaton()
	f.step(evOpen)
	f.step(evUp)
	r.calls = nil
	return f, r
}

func TestAutomatonRestartTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, r := openTestAutomaton()
		start := time.Now()
		for f.state == stateReqSent {
			<-f.timer.C()
			f.timeout()
		}
		if f.state != stateStopped || len(r.sent) != 10 || time.Since(start) != 30*time.Second {
			t.Fatalf("state %v after %d requests in %v", f.state, len(r.sent), time.Since(start))
		}
		for _, p := range r.sent {
			if p.ID != r.sent[0].ID {
				t.Errorf("retransmission changed the Identifier: %d", p.ID)
			}
		}
		if last := r.calls[len(r.calls)-1]; !strings.Contains(last, "Max-Configure") {
			t.Errorf("finished reason %q", last)
		}
	})
}

func TestAutomatonConfigureAckChecks(t *testing.T) {
	f, r := openTestAutomaton()
	req := r.sent[0]
	f.input(Packet{Code: CodeConfigureAck, ID: req.ID + 1, Data: req.Data})
	f.input(Packet{Code: CodeConfigureAck, ID: req.ID, Data: []byte{lcpMRU, 4, 0x05, 0x79}})
	if f.state != stateReqSent || len(r.calls) != 0 {
		t.Fatalf("an Ack with a wrong id or options was taken: %v %v", f.state, r.calls)
	}
	f.input(Packet{Code: CodeConfigureAck, ID: req.ID, Data: req.Data})
	if f.state != stateAckRcvd {
		t.Fatalf("state %v, want Ack-Rcvd", f.state)
	}
	f.input(Packet{Code: CodeConfigureRequest, ID: 5, Data: []byte{lcpMRU, 4, 0x05, 0xdc}})
	if f.state != stateOpened {
		t.Fatalf("state %v, want Opened", f.state)
	}
	// A duplicate Ack must not restart the negotiation.
	f.input(Packet{Code: CodeConfigureAck, ID: req.ID, Data: req.Data})
	if f.state != stateOpened {
		t.Fatalf("duplicate Ack: state %v", f.state)
	}
}

func TestAutomatonConfigureRejectSubset(t *testing.T) {
	f, r := openTestAutomaton()
	id := r.sent[0].ID
	f.input(Packet{Code: CodeConfigureReject, ID: id, Data: []byte{lcpMagicNumber, 6, 1, 2, 3, 4}})
	if r.bad != 1 || len(r.sent) != 1 {
		t.Fatalf("a Reject of an option we did not send was taken")
	}
	f.input(Packet{Code: CodeConfigureReject, ID: id, Data: []byte{lcpMRU, 4, 0x05, 0x78}})
	if len(r.sent) != 2 || r.calls[0] != "gotReject" {
		t.Fatalf("valid Reject: sent %d, calls %v", len(r.sent), r.calls)
	}
	f.input(Packet{Code: CodeConfigureNak, ID: r.sent[1].ID, Data: []byte{lcpMRU, 3}})
	if r.bad != 2 {
		t.Fatalf("malformed Nak not counted")
	}
}

func TestAutomatonMaxFailure(t *testing.T) {
	f, r := openTestAutomaton()
	r.verdict = CodeConfigureNak
	for i := 0; i < 7; i++ {
		f.input(Packet{Code: CodeConfigureRequest, ID: uint8(i), Data: []byte{lcpMRU, 4, 0, 1}})
	}
	want := []bool{false, false, false, false, false, true, true}
	if fmt.Sprint(r.rejectNaks) != fmt.Sprint(want) {
		t.Errorf("rejectNaks %v, want %v (Max-Failure = 5)", r.rejectNaks, want)
	}
	r.verdict = CodeConfigureAck
	f.input(Packet{Code: CodeConfigureRequest, ID: 9, Data: nil})
	r.verdict = CodeConfigureNak
	f.input(Packet{Code: CodeConfigureRequest, ID: 10, Data: nil})
	if r.rejectNaks[len(r.rejectNaks)-1] {
		t.Errorf("Configure-Ack did not reset the failure count")
	}
}

func TestAutomatonRefusalGuard(t *testing.T) {
	f, r := openTestAutomaton()
	for i := 0; i < 20 && len(r.failures) == 0; i++ {
		last := r.sent[len(r.sent)-1]
		f.input(Packet{Code: CodeConfigureNak, ID: last.ID, Data: []byte{lcpMRU, 4, 0x05, 0x78}})
	}
	if len(r.failures) != 1 || !errors.Is(r.failures[0], ErrNegotiation) {
		t.Fatalf("failures %v", r.failures)
	}
}

func TestAutomatonTerminate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Close, no Terminate-Ack: Max-Terminate requests, then tlf.
		f, r := openTestAutomaton()
		f.step(evClose)
		for f.state == stateClosing {
			<-f.timer.C()
			f.timeout()
		}
		if f.state != stateClosed || len(r.sent) != 3 || r.sent[2].Code != CodeTerminateRequest {
			t.Fatalf("state %v, sent %v", f.state, r.sent)
		}

		// Close, then the Terminate-Ack.
		f, r = openTestAutomaton()
		f.step(evClose)
		f.input(Packet{Code: CodeTerminateAck, ID: r.sent[1].ID})
		if f.state != stateClosed || f.timer.active() {
			t.Fatalf("state %v after Terminate-Ack", f.state)
		}
	})
}

func TestAutomatonCodeReject(t *testing.T) {
	f, r := openTestAutomaton()
	f.input(Packet{Code: CodeCodeReject, ID: 1, Data: []byte{byte(CodeEchoRequest), 1, 0, 8, 0, 0, 0, 0}})
	if f.state != stateReqSent {
		t.Fatalf("RXJ+ changed the state to %v", f.state)
	}
	f.input(Packet{Code: CodeCodeReject, ID: 2, Data: []byte{byte(CodeConfigureRequest), 1, 0, 4}})
	if f.state != stateStopped || !strings.Contains(r.calls[len(r.calls)-1], "code-rejected Configure-Request") {
		t.Fatalf("RXJ-: state %v, calls %v", f.state, r.calls)
	}
	f.input(Packet{Code: CodeCodeReject, ID: 3})
	if r.bad != 1 {
		t.Errorf("empty Code-Reject not counted as malformed")
	}
}

func TestAutomatonUnknownCode(t *testing.T) {
	f, r := openTestAutomaton()
	f.proto, f.extras = ProtoIPCP, nil
	f.input(Packet{Code: CodeEchoRequest, ID: 1, Data: []byte{0, 0, 0, 0}})
	if last := r.sent[len(r.sent)-1]; last.Code != CodeCodeReject || string(last.Data) != "\x09\x01\x00\x08\x00\x00\x00\x00" {
		t.Fatalf("IPCP Echo-Request: sent %v", last)
	}
}

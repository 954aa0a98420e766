package l2tp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestResultErrorText(t *testing.T) {
	tests := []struct {
		e    ResultError
		want string
	}{
		{ResultError{Message: StopCCN, Result: 4},
			"l2tp: server closed the tunnel (StopCCN): not authorized (result 4)"},
		{ResultError{Message: StopCCN, Result: 1},
			"l2tp: server closed the tunnel (StopCCN): general request to clear control connection (result 1)"},
		{ResultError{Message: StopCCN, Result: 2, ErrorCode: 8, Text: "AVP 99"},
			`l2tp: server closed the tunnel (StopCCN): general error (result 2), unknown mandatory AVP (error 8): server says "AVP 99"`},
		{ResultError{Message: StopCCN, Result: 5, ErrorCode: 0x0100},
			"l2tp: server closed the tunnel (StopCCN): protocol version not supported (result 5), server supports version 1.0"},
		{ResultError{Message: StopCCN, Result: 6},
			"l2tp: server closed the tunnel (StopCCN): shutting down (result 6)"},
		{ResultError{Message: StopCCN, Result: 0, ErrorCode: 0x0600},
			"l2tp: server closed the tunnel (StopCCN): reserved result code (result 0), unknown error (error 1536)"},
		{ResultError{Message: CDN, Result: 3},
			"l2tp: server disconnected the session (CDN): administrative (result 3)"},
		{ResultError{Message: CDN, Result: 2, ErrorCode: 4, Text: "pool empty"},
			`l2tp: server disconnected the session (CDN): general error (result 2), insufficient resources (error 4): server says "pool empty"`},
		{ResultError{Message: CDN, Result: 11},
			"l2tp: server disconnected the session (CDN): no framing detected (result 11)"},
		{ResultError{Message: CDN, Result: 12},
			"l2tp: server disconnected the session (CDN): unknown result (result 12)"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
	// Every defined code has a meaning.
	for r := uint16(1); r <= 7; r++ {
		if resultMeaning(StopCCN, r) == "unknown result" {
			t.Errorf("StopCCN result %d has no meaning", r)
		}
	}
	for r := uint16(1); r <= 11; r++ {
		if resultMeaning(CDN, r) == "unknown result" {
			t.Errorf("CDN result %d has no meaning", r)
		}
	}
	for c := uint16(1); c <= 8; c++ {
		if errorCodeMeaning(c) == "unknown error" {
			t.Errorf("error code %d has no meaning", c)
		}
	}
}

func TestErrorClasses(t *testing.T) {
	wrapped := fmt.Errorf("vpn: %w", &TimeoutError{Message: SCCRQ, Retransmits: 5})
	if !errors.Is(wrapped, ErrTimeout) {
		t.Error("TimeoutError is not ErrTimeout")
	}
	if got := (&TimeoutError{Message: SCCRQ, Retransmits: 5}).Error(); got != "l2tp: no answer from the server after 5 retransmissions of SCCRQ" {
		t.Errorf("TimeoutError: %s", got)
	}
	if !errors.Is(&ResultError{Message: StopCCN, Result: 4}, ErrTunnelAuth) {
		t.Error("StopCCN result 4 is not ErrTunnelAuth")
	}
	if errors.Is(&ResultError{Message: CDN, Result: 4}, ErrTunnelAuth) {
		t.Error("CDN result 4 is ErrTunnelAuth")
	}
	if !errors.Is(&UnknownMandatoryError{Message: HELLO, Type: 77}, ErrUnknownMandatory) {
		t.Error("UnknownMandatoryError is not ErrUnknownMandatory")
	}
	if !errors.Is(malformed("x"), ErrMalformed) {
		t.Error("MalformedError is not ErrMalformed")
	}
	for _, e := range []error{ErrMalformed, ErrVersion, ErrTimeout, ErrTunnelAuth, ErrClosed, ErrNotEstablished, ErrState,
		&UnknownMandatoryError{Message: 99, Type: AVPMessageType}, &UnknownMandatoryError{Message: ICRP, Vendor: 9, Type: 3}} {
		if s := e.Error(); !strings.HasPrefix(s, "l2tp: ") || strings.ToLower(s[:7]) != s[:7] {
			t.Errorf("%q: not prefixed with the package", s)
		}
	}
}

func TestStrings(t *testing.T) {
	for typ, want := range map[MessageType]string{SCCRQ: "SCCRQ", StopCCN: "StopCCN", HELLO: "HELLO", SLI: "SLI", 0: "ZLB", 5: "MessageType(5)", 99: "MessageType(99)"} {
		if got := typ.String(); got != want {
			t.Errorf("%d: %q, want %q", uint16(typ), got, want)
		}
	}
	for typ, want := range map[AVPType]string{AVPMessageType: "Message Type", AVPResultCode: "Result Code",
		AVPQ931CauseCode: "Q.931 Cause Code", AVPSequencingRequired: "Sequencing Required", 20: "AVP(20)", 40: "AVP(40)"} {
		if got := typ.String(); got != want {
			t.Errorf("%d: %q, want %q", uint16(typ), got, want)
		}
	}
	for s, want := range map[sessionState]string{sessWaitReply: "wait-reply", sessEstablished: "established", 7: "sessionState(7)"} {
		if got := s.String(); got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
	for s, want := range map[tunnelState]string{stateIdle: "idle", stateWaitCtlReply: "wait-ctl-reply", stateEstablished: "established", stateClosing: "closing", 9: "tunnelState(9)"} {
		if got := s.String(); got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}

func TestResultRoundTrip(t *testing.T) {
	for _, r := range []Result{{Code: 1}, {Code: 2, ErrorCode: 8}, {Code: 2, ErrorCode: 6, Message: "no secret"}} {
		a := r.AVP()
		got, err := ParseResult(a.Value)
		if err != nil || got != r {
			t.Errorf("%+v → %+v, %v", r, got, err)
		}
	}
	if len((Result{Code: 1}).AVP().Value) != 2 {
		t.Error("result without error code is not 2 octets")
	}
	if _, err := ParseResult([]byte{1}); !errors.Is(err, ErrMalformed) {
		t.Errorf("1-octet result: %v", err)
	}
}

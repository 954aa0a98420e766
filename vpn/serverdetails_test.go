package vpn

// What real servers send beyond the basics (issue 12), as the supervisor
// reports it: the second-factor wait, NBNS servers, the L2TP server's
// identification, compressed PPP frames.

import (
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/tun"
)

func TestPPPAuthTimeoutError(t *testing.T) {
	err := pppError(&ppp.AuthTimeoutError{Method: ppp.AuthMSCHAPv2, After: 60 * time.Second, Challenged: true})
	want := "ppp: auth: timed out after 60 s without the server's answer to our MS-CHAPv2 request " +
		"(approve the second factor sooner or raise ppp-auth-timeout)"
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
	if ReasonOf(err) != ReasonAuth || !errors.Is(err, ppp.ErrAuthTimeout) {
		t.Errorf("reason %v", ReasonOf(err))
	}
}

func TestAuthWaitEvent(t *testing.T) {
	var events []Event
	var logs bytes.Buffer
	c := &Conn{cfg: Config{OnEvent: func(e Event) { events = append(events, e) }},
		log: slog.New(slog.NewTextHandler(&logs, nil)), start: time.Now()}
	c.pppEvent(ppp.Event{Kind: "auth.waiting", Auth: ppp.AuthMSCHAPv2})
	if len(events) != 1 || events[0].Event != EventAuthWait || events[0].Message != AuthWaitLine || events[0].Auth != "mschapv2" {
		t.Fatalf("events %+v", events)
	}
	if AuthWaitLine != "waiting for the server to confirm authentication (second factor?)" {
		t.Errorf("line %q", AuthWaitLine)
	}
	if !strings.Contains(logs.String(), AuthWaitLine) {
		t.Errorf("not logged: %s", logs.String())
	}
}

func TestStatusServerIdentityAndWINS(t *testing.T) {
	cl := &Client{cfg: Config{Name: "work"}, log: slog.New(slog.DiscardHandler), state: StateUp, since: time.Now()}
	cl.info = Info{
		Server: netip.MustParseAddrPort("192.0.2.1:1701"),
		Tunnel: l2tp.TunnelInfo{PeerHostName: "gw1", PeerVendor: "MikroTik", PeerFirmware: 0x0605},
		WINS:   []netip.Addr{netip.MustParseAddr("10.0.0.5")},
	}
	s := cl.Status()
	if s.PeerHost != "gw1" || s.PeerVendor != "MikroTik" || s.PeerFirmware != "0x0605" || !slices.Equal(s.WINS, []string{"10.0.0.5"}) {
		t.Errorf("status %+v", s)
	}
	if firmwareString(0) != "" {
		t.Errorf("absent firmware %q", firmwareString(0))
	}
}

func TestHookEnvWINS(t *testing.T) {
	env := hookEnv("up", "work", Info{WINS: []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("10.0.0.6")}}, tun.HostSummary{}, 0)
	if !slices.Contains(env, "L2TPVPN_WINS=10.0.0.5 10.0.0.6") {
		t.Errorf("env %v", env)
	}
}

// A server that acked-for compression sends frames without FF 03 and with
// a 1-byte protocol field; the data path takes them like the others.
func TestClassifyCompressedFrames(t *testing.T) {
	hdr := []byte{0x00, 0x02, 0, 1, 0, 2}
	for _, tc := range []struct {
		name  string
		ppp   []byte
		kind  rxKind
		proto ppp.Protocol
	}{
		{"acfc+pfc ipv4", []byte{0x21, 0x45, 0}, rxIP, ppp.ProtoIPv4},
		{"pfc ipv4", []byte{0xff, 0x03, 0x21, 0x45, 0}, rxIP, ppp.ProtoIPv4},
		{"acfc ipv4", []byte{0x00, 0x21, 0x45, 0}, rxIP, ppp.ProtoIPv4},
		{"acfc+pfc ipv6", []byte{0x57, 0x60, 0}, rxIP, ppp.ProtoIPv6},
		{"acfc lcp", []byte{0xc0, 0x21, 9, 1, 0, 8, 0, 0, 0, 0}, rxPPP, ppp.ProtoLCP},
	} {
		kind, proto, payload := classify(append(append([]byte(nil), hdr...), tc.ppp...), 1, 2, new(l2tp.DataSequence))
		if kind != tc.kind || proto != tc.proto || len(payload) == 0 || (kind == rxIP && payload[0] != 0x45 && payload[0] != 0x60) {
			t.Errorf("%s: %d %v %x", tc.name, kind, proto, payload)
		}
	}
}

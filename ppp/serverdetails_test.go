package ppp

// What real servers send beyond the basics (issue 12): framing options,
// multilink and callback, NBNS addresses, servers that never answer
// echo, and a server that takes its time to confirm authentication.

import (
	"bytes"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// A server request with every framing, multilink and callback option: the
// Reject lists exactly callback and the multilink options, and the request
// without them is acked (ACCM, PFC and ACFC included).
func TestLCPRejectsMultilinkAndCallback(t *testing.T) {
	h := testLink(Config{Auth: []AuthMethod{AuthPAP}}).lcpL
	h.appendRequest(nil)
	keep := []Option{
		{Type: lcpMRU, Data: []byte{0x05, 0x78}},
		{Type: lcpACCM, Data: []byte{0, 0, 0, 0}},
		{Type: lcpAuthProtocol, Data: []byte{0xc0, 0x23}},
		{Type: lcpMagicNumber, Data: []byte{0x12, 0x34, 0x56, 0x78}},
		{Type: lcpPFC},
		{Type: lcpACFC},
	}
	drop := []Option{
		{Type: lcpCallback, Data: []byte{6}},
		{Type: lcpMRRU, Data: []byte{0x06, 0x4e}},
		{Type: lcpShortSequence},
		{Type: lcpEndpointDiscrimina, Data: []byte{0x02, 0xcb, 0x00, 0x71, 0x01}},
	}
	all := []Option{keep[0], keep[1], drop[0], keep[2], drop[1], keep[3], drop[2], keep[4], drop[3], keep[5]}
	code, reply, err := h.checkRequest(AppendOptions(nil, all...), false, nil)
	if err != nil || code != CodeConfigureReject || !bytes.Equal(reply, AppendOptions(nil, drop...)) {
		t.Fatalf("first request: %v %x %v, want Reject %x", code, reply, err, AppendOptions(nil, drop...))
	}
	code, reply, err = h.checkRequest(AppendOptions(nil, keep...), false, nil)
	if err != nil || code != CodeConfigureAck || len(reply) != 0 {
		t.Fatalf("second request: %v %x %v, want Ack", code, reply, err)
	}
	if h.peerMRU != 1400 || h.auth != AuthPAP || h.peerMagic != 0x12345678 {
		t.Errorf("negotiated MRU %d auth %v magic %#x", h.peerMRU, h.auth, h.peerMagic)
	}
	// Malformed framing options are rejected, not acked.
	for _, bad := range []string{"0205000000", "070300", "080401ff"} {
		if code, reply, _ := h.checkRequest(unhex(bad), false, nil); code != CodeConfigureReject || hex.EncodeToString(reply) != bad {
			t.Errorf("%s: %v %x, want Reject", bad, code, reply)
		}
	}
}

// The same server over a whole link: one Reject of exactly those options,
// then the link comes up.
func TestLinkServerFramingOptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := l2tpnsProfile()
		p.lcpOpts = []Option{
			{Type: lcpMRU, Data: []byte{0x05, 0xb6}},
			{Type: lcpACCM, Data: []byte{0, 0, 0, 0}},
			{Type: lcpPFC},
			{Type: lcpACFC},
			{Type: lcpCallback, Data: []byte{6}},
			{Type: lcpMRRU, Data: []byte{0x06, 0x4e}},
			{Type: lcpShortSequence},
			{Type: lcpEndpointDiscrimina, Data: []byte{0x02, 0xcb, 0x00, 0x71, 0x01}},
		}
		r := startLink(t, p, Config{})
		info := r.waitUp()
		if info.PeerMRU != 1462 {
			t.Errorf("peer MRU %d", info.PeerMRU)
		}
		r.closeLink()
		want := [][]byte{unhex("0d0306" + "1104064e" + "1202" + "130702cb007101")}
		if !slices.EqualFunc(r.srv.lcpRejects, want, bytes.Equal) {
			t.Errorf("client rejected %x, want %x", r.srv.lcpRejects, want)
		}
	})
}

// ParseFrame decodes every protocol with and without FF 03, and with a
// 1-byte protocol field wherever one is possible, whatever LCP negotiated.
func TestParseFrameEveryCompression(t *testing.T) {
	info := []byte{0x45, 0x00, 0x01}
	for _, proto := range []Protocol{ProtoIPv4, ProtoIPv6, ProtoLCP, ProtoPAP, ProtoCHAP, ProtoIPCP, ProtoIPV6CP, ProtoCCP} {
		for _, acfc := range []bool{false, true} {
			for _, pfc := range []bool{false, true} {
				if pfc && proto > 0xff {
					continue // RFC 1661 6.5: only protocols below 0x100 compress
				}
				var b []byte
				if !acfc {
					b = append(b, 0xff, 0x03)
				}
				if pfc {
					b = append(b, byte(proto))
				} else {
					b = append(b, byte(proto>>8), byte(proto))
				}
				b = append(b, info...)
				got, gotInfo, err := ParseFrame(b)
				if err != nil || got != proto || !bytes.Equal(gotInfo, info) {
					t.Errorf("%v acfc=%v pfc=%v %x: %v %x %v", proto, acfc, pfc, b, got, gotInfo, err)
				}
				if len(gotInfo) > 0 && &gotInfo[0] != &b[len(b)-len(info)] {
					t.Errorf("%v acfc=%v pfc=%v: info does not alias the frame", proto, acfc, pfc)
				}
			}
		}
	}
}

func TestLinkNBNS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := softEtherProfile()
		p.wins = [][4]byte{{198, 51, 100, 5}, {198, 51, 100, 6}}
		r := startLink(t, p, Config{})
		info := r.waitUp()
		want := []netip.Addr{netip.MustParseAddr("198.51.100.5"), netip.MustParseAddr("198.51.100.6")}
		if !slices.Equal(info.WINS, want) || !slices.Equal(info.DNS, []netip.Addr{netip.MustParseAddr("198.51.100.1")}) {
			t.Errorf("WINS %v DNS %v", info.WINS, info.DNS)
		}
		r.closeLink()
	})
	// A server without NBNS rejects the options: dropped quietly.
	synctest.Test(t, func(t *testing.T) {
		r := startLink(t, l2tpnsProfile(), Config{})
		if info := r.waitUp(); len(info.WINS) != 0 || info.Local != netip.MustParseAddr("203.0.113.192") {
			t.Errorf("info %+v", info)
		}
		if req := r.link.ipcpL.appendRequest(nil); hex.EncodeToString(req) != "0306cb0071c0" {
			t.Errorf("IPCP request after the rejects %x", req)
		}
		r.closeLink()
	})
}

func TestIPCPNBNSOptions(t *testing.T) {
	h := testLink(Config{}).ipcpL
	h.gotNak(unhex("8206c0a80105" + "840600000000"))
	if w := h.winsAddrs(); len(w) != 1 || w[0] != netip.MustParseAddr("192.168.1.5") {
		t.Errorf("WINS %v", w)
	}
	h.gotReject(unhex("840600000000"))
	if got := hex.EncodeToString(h.appendRequest(nil)); got != "030600000000810600000000830600000000"+"8206c0a80105" {
		t.Errorf("request %s", got)
	}
	h.gotReject(unhex("8206c0a80105"))
	if len(h.winsAddrs()) != 0 {
		t.Errorf("rejected WINS still reported: %v", h.winsAddrs())
	}
}

// logLines collects the messages of a logger's records.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(writerFunc(func(b []byte) {
		l.mu.Lock()
		l.lines = append(l.lines, string(b))
		l.mu.Unlock()
	}), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func (l *logLines) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }

// A server that never answers echo (SoftEther) keeps the link while data
// arrives; it is logged once; when the data stops, the link is declared
// dead after EchoFailures intervals of silence.
func TestLinkEchoSilentServerWithTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := l2tpnsProfile()
		p.silentEcho = true
		var logs logLines
		r := startLink(t, p, Config{Logger: logs.logger()})
		r.waitUp()
		// Data every 7 s for 10 minutes: no echo is ever answered.
		for range 600 / 7 {
			time.Sleep(7 * time.Second)
			r.link.DataReceived()
		}
		if err := r.link.Err(); err != nil {
			t.Fatalf("link failed while data flowed: %v", err)
		}
		if s := r.link.Stats(); s.EchoSent < 25 || s.EchoReceived != 0 {
			t.Errorf("stats %+v", s)
		}
		if n := logs.count("does not answer echo requests"); n != 1 {
			t.Errorf("logged %d times that the server does not answer echo, want once", n)
		}
		lastData := time.Now()
		err := r.wait()
		if !errors.Is(err, ErrEchoTimeout) {
			t.Fatalf("Run = %v, want ErrEchoTimeout once data stopped", err)
		}
		// The first echo after the data is at most one interval away; five
		// more intervals of silence follow.
		if d := time.Since(lastData); d <= 100*time.Second || d > 120*time.Second {
			t.Errorf("declared dead %v after the last data, want 5 intervals of silence", d)
		}
	})
}

// A server that answers echo is not said to be silent, and an answered
// link whose data stops still lives on its echoes.
func TestLinkEchoAnsweredNoNotice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logLines
		r := startLink(t, l2tpnsProfile(), Config{Logger: logs.logger()})
		r.waitUp()
		for range 20 {
			time.Sleep(30 * time.Second)
			r.link.DataReceived()
		}
		time.Sleep(5 * time.Minute)
		if err := r.link.Err(); err != nil {
			t.Fatalf("link failed: %v", err)
		}
		if n := logs.count("does not answer echo"); n != 0 {
			t.Errorf("notice logged %d times for a server that answers", n)
		}
		r.closeLink()
	})
}

// A server that waits before confirming (a second factor): auth.waiting
// once, AuthWaitNotice after our request, then auth.ok.
func TestLinkAuthWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := l2tpnsProfile()
		p.papIgnore = 6 // requests at 0, 3, ..., 15 s go unanswered; 18 s is acked
		var logs logLines
		r := startLink(t, p, Config{Logger: logs.logger()})
		info := r.waitUp()
		if info.Auth != AuthPAP {
			t.Errorf("auth %v", info.Auth)
		}
		kinds := r.kinds()
		w := slices.Index(kinds, "auth.waiting")
		if w < 0 || slices.Index(kinds, "auth.ok") < w || slices.Index(kinds[w+1:], "auth.waiting") >= 0 {
			t.Errorf("events %v, want one auth.waiting before auth.ok", kinds)
		}
		r.mu.Lock()
		if r.events[w].Auth != AuthPAP {
			t.Errorf("auth.waiting method %v", r.events[w].Auth)
		}
		r.mu.Unlock()
		if n := logs.count("waiting for the server to confirm authentication (second factor?)"); n != 1 {
			t.Errorf("progress line logged %d times", n)
		}
		r.closeLink()
	})
	// A prompt server: no progress line.
	synctest.Test(t, func(t *testing.T) {
		r := startLink(t, l2tpnsProfile(), Config{})
		r.waitUp()
		if slices.Contains(r.kinds(), "auth.waiting") {
			t.Errorf("events %v", r.kinds())
		}
		r.closeLink()
	})
}

// The progress event comes AuthWaitNotice after the request went out, and
// the give-up after the configured timeout names it.
func TestLinkAuthWaitingTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := softEtherProfile()
		p.papIgnore = 1000
		r := startLink(t, p, Config{Auth: []AuthMethod{AuthPAP}, AuthTimeout: 90 * time.Second})
		time.Sleep(AuthWaitNotice - time.Second)
		synctest.Wait()
		if slices.Contains(r.kinds(), "auth.waiting") {
			t.Errorf("auth.waiting before %v: %v", AuthWaitNotice, r.kinds())
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if !slices.Contains(r.kinds(), "auth.waiting") {
			t.Errorf("no auth.waiting %v after the request: %v", AuthWaitNotice, r.kinds())
		}
		err := r.wait()
		var te *AuthTimeoutError
		if !errors.As(err, &te) || !errors.Is(err, ErrAuthTimeout) || te.After != 90*time.Second {
			t.Fatalf("Run = %v, want AuthTimeoutError after 90s", err)
		}
		if want := "ppp: auth: timed out after 90 s without the server's answer to our PAP request"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if n := len(slices.DeleteFunc(r.kinds(), func(k string) bool { return k != "auth.waiting" })); n != 1 {
			t.Errorf("auth.waiting %d times, want once", n)
		}
	})
}

package ppp

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// linkRun is one Link running against a fakeServer inside a synctest bubble.
type linkRun struct {
	t      *testing.T
	srv    *fakeServer
	link   *Link
	ctx    context.Context
	cancel context.CancelFunc
	errc   chan error
	start  time.Time

	mu     sync.Mutex
	events []Event
}

func startLink(t *testing.T, p serverProfile, cfg Config) *linkRun {
	t.Helper()
	srv := newFakeServer(t, p)
	if cfg.User == "" {
		cfg.User, cfg.Password = p.user, secret.FromString(p.pass)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.NewChaCha8([32]byte{1, 2, 3})
	}
	r := &linkRun{t: t, srv: srv, errc: make(chan error, 1), start: time.Now()}
	cfg.OnEvent = func(e Event) {
		r.mu.Lock()
		r.events = append(r.events, e)
		r.mu.Unlock()
	}
	r.link = NewLink(cfg, srv.send)
	srv.link = r.link
	r.ctx, r.cancel = context.WithCancel(context.Background())
	go srv.run(r.ctx)
	go func() { r.errc <- r.link.Run(r.ctx) }()
	return r
}

// wait waits for Run to return, then stops the server.
func (r *linkRun) wait() error {
	err := <-r.errc
	synctest.Wait()
	r.cancel()
	<-r.srv.done
	return err
}

func (r *linkRun) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Kind)
	}
	return out
}

func (r *linkRun) waitUp() IPInfo {
	r.t.Helper()
	info, err := r.link.WaitUp(context.Background())
	if err != nil {
		r.t.Fatalf("WaitUp: %v\nserver saw:\n%s", err, strings.Join(r.srv.seen, "\n"))
	}
	return info
}

// closeLink closes the link and checks that Run returns nil.
func (r *linkRun) closeLink() {
	r.t.Helper()
	if err := r.link.Close(context.Background()); err != nil {
		r.t.Fatalf("Close: %v", err)
	}
	if err := r.wait(); err != nil {
		r.t.Fatalf("Run after Close = %v, want nil", err)
	}
	if r.srv.termRequests == 0 {
		r.t.Errorf("no Terminate-Request sent")
	}
}

func TestLinkSoftEtherMSCHAPv2(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startLink(t, softEtherProfile(), Config{})
		info := r.waitUp()
		want := IPInfo{
			Local: netip.MustParseAddr("198.51.100.10"), Peer: netip.MustParseAddr("198.51.100.1"),
			DNS:     []netip.Addr{netip.MustParseAddr("198.51.100.1")},
			PeerMRU: 1500, LocalMRU: 1500, Auth: AuthMSCHAPv2,
		}
		checkInfo(t, info, want)

		// SoftEther's Echo-Request (magic 0) once open: we answer with
		// magic 0, since SoftEther rejected our Magic-Number.
		r.srv.echo()
		synctest.Wait()
		r.closeLink()
		if len(r.srv.echoReplies) != 1 {
			t.Fatalf("echo replies = %d, want 1 (the early echo must be ignored)", len(r.srv.echoReplies))
		}
		e := r.srv.echoReplies[0]
		if !bytes.Equal(e.Data, append(make([]byte, 4), "Aho Baka Manuke\x00"...)) {
			t.Errorf("echo reply data %x", e.Data)
		}
		if got, want := r.kinds(), []string{"lcp.up", "auth.ok", "ipcp.up", "ipcp.down", "lcp.down"}; !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		if s := r.link.Stats(); s.EchoAnswered != 1 || s.Malformed != 0 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestLinkSoftEtherPAP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Only PAP allowed: EAP → Nak(PAP), MS-CHAPv2 → Nak(PAP), PAP → Ack,
		// then SoftEther's 4-byte Authenticate-Ack.
		r := startLink(t, softEtherProfile(), Config{Auth: []AuthMethod{AuthPAP}})
		info := r.waitUp()
		if info.Auth != AuthPAP || info.Local != netip.MustParseAddr("198.51.100.10") {
			t.Errorf("info %+v", info)
		}
		r.closeLink()
	})
}

func TestLinkL2TPNSCHAP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// l2tpns asks PAP; only CHAP allowed: Nak towards CHAP-MD5. It
		// rejects the DNS options (this profile has none).
		r := startLink(t, l2tpnsProfile(), Config{Auth: []AuthMethod{AuthCHAPMD5}, MRU: 1400})
		info := r.waitUp()
		checkInfo(t, info, IPInfo{
			Local: netip.MustParseAddr("203.0.113.192"), Peer: netip.MustParseAddr("203.0.113.1"),
			PeerMRU: 1462, LocalMRU: 1400, Auth: AuthCHAPMD5,
		})
		r.closeLink()
		if len(r.srv.opts) != 2 {
			t.Errorf("server options after rejects: %v, want MRU and Magic only", r.srv.opts)
		}
	})
}

func TestLinkL2TPNSPAP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startLink(t, l2tpnsProfile(), Config{})
		info := r.waitUp()
		if info.Auth != AuthPAP || info.PeerMRU != 1462 || len(info.DNS) != 0 {
			t.Errorf("info %+v", info)
		}
		r.closeLink()
	})
}

func TestLinkNoAuthentication(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := l2tpnsProfile()
		p.authOffers = nil
		r := startLink(t, p, Config{})
		info := r.waitUp()
		if info.Auth != 0 {
			t.Errorf("Auth = %v, want none", info.Auth)
		}
		r.closeLink()
		if got := r.kinds(); slices.Contains(got, "auth.ok") {
			t.Errorf("events %v", got)
		}
	})
}

func checkInfo(t *testing.T, got, want IPInfo) {
	t.Helper()
	if got.Local != want.Local || got.Peer != want.Peer || !slices.Equal(got.DNS, want.DNS) ||
		got.PeerMRU != want.PeerMRU || got.LocalMRU != want.LocalMRU || got.Auth != want.Auth {
		t.Errorf("IPInfo\n got %+v\nwant %+v", got, want)
	}
}

func TestLinkEchoTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := l2tpnsProfile()
		p.silentEcho = true
		r := startLink(t, p, Config{})
		r.waitUp()
		up := time.Now()
		err := r.wait()
		var ee *EchoTimeoutError
		if !errors.As(err, &ee) || !errors.Is(err, ErrEchoTimeout) || ee.Count != 5 {
			t.Fatalf("Run = %v, want EchoTimeoutError{5}", err)
		}
		if err.Error() != "ppp: link dead: 5 LCP echo requests unanswered and nothing else received" {
			t.Errorf("error %q", err)
		}
		if d := time.Since(up); d != 120*time.Second {
			t.Errorf("link declared dead after %v, want 6×20s", d)
		}
		if s := r.link.Stats(); s.EchoSent != 5 || s.EchoReceived != 0 {
			t.Errorf("stats %+v", s)
		}
		if r.srv.termRequests != 0 {
			t.Errorf("sent a Terminate-Request on a dead link")
		}
	})
}

func TestLinkEchoKeepalive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startLink(t, l2tpnsProfile(), Config{EchoInterval: 10 * time.Second})
		r.waitUp()
		time.Sleep(10*time.Minute + time.Second) // fake time: 60 echoes, all answered
		if s := r.link.Stats(); s.EchoSent != 60 || s.EchoReceived != 60 {
			t.Errorf("stats %+v", s)
		}
		r.closeLink()
	})
}

func TestLinkPeerTerminate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startLink(t, l2tpnsProfile(), Config{})
		r.waitUp()
		r.srv.terminate("Administrative shutdown")
		err := r.wait()
		var te *TerminateError
		if !errors.As(err, &te) || !errors.Is(err, ErrPeerTerminated) || te.Reason != "Administrative shutdown" {
			t.Fatalf("Run = %v, want TerminateError", err)
		}
		if last := r.srv.seen[len(r.srv.seen)-1]; !strings.HasPrefix(last, "LCP Terminate-Ack") {
			t.Errorf("no Terminate-Ack; server saw %q", r.srv.seen)
		}
	})
}

func TestLinkCloseWithoutAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := l2tpnsProfile()
		p.noTermAck = true
		r := startLink(t, p, Config{})
		r.waitUp()
		start := time.Now()
		r.closeLink()
		if r.srv.termRequests != 2 {
			t.Errorf("Terminate-Requests = %d, want Max-Terminate = 2", r.srv.termRequests)
		}
		if d := time.Since(start); d != 6*time.Second {
			t.Errorf("Close took %v, want 2 × 3s", d)
		}
		if err := r.link.Close(context.Background()); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestLinkCloseBeforeUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := l2tpnsProfile()
		p.noChallenge = true
		r := startLink(t, p, Config{Auth: []AuthMethod{AuthCHAPMD5}})
		time.Sleep(time.Second)
		r.closeLink()
		if _, err := r.link.WaitUp(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("WaitUp after Close = %v, want ErrClosed", err)
		}
	})
}

func TestLinkCloseBeforeRun(t *testing.T) {
	l := NewLink(Config{}, func([]byte) error { t.Error("sent a frame"); return nil })
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatalf("Run after Close = %v", err)
	}
}

func TestLinkCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startLink(t, l2tpnsProfile(), Config{})
		r.waitUp()
		synctest.Wait()
		n := len(r.srv.out)
		r.cancel()
		if err := <-r.errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
		<-r.srv.done
		if len(r.srv.out) != n {
			t.Errorf("sent %d frames after cancel", len(r.srv.out)-n)
		}
	})
}

func TestLinkMaxConfigure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := l2tpnsProfile()
		p.mute = true
		r := startLink(t, p, Config{})
		err := r.wait()
		var ne *NegotiationError
		if !errors.As(err, &ne) || ne.Protocol != ProtoLCP || !errors.Is(err, ErrNegotiation) {
			t.Fatalf("Run = %v, want an LCP NegotiationError", err)
		}
		if want := "ppp: lcp: negotiation failed: the server did not acknowledge 10 Configure-Requests (Max-Configure)"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if r.srv.lcpRequests != 10 {
			t.Errorf("sent %d Configure-Requests, want 10", r.srv.lcpRequests)
		}
		if d := time.Since(r.start); d != 30*time.Second {
			t.Errorf("gave up after %v, want 10 × 3s", d)
		}
	})
}

func TestLinkIPv6(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := l2tpnsProfile()
		p.ipv6 = "support"
		r := startLink(t, p, Config{IPv6: true})
		r.waitUp()
		synctest.Wait()
		var v6 *IPInfo
		r.mu.Lock()
		for _, e := range r.events {
			if e.Kind == "ipv6cp.up" {
				v6 = e.Info
			}
		}
		r.mu.Unlock()
		if v6 == nil {
			t.Fatalf("no ipv6cp.up event: %v", r.kinds())
		}
		if v6.IPv6Peer != serverIfID || v6.IPv6Local == ([8]byte{}) || v6.IPv6Local == serverIfID {
			t.Errorf("interface ids local %x peer %x", v6.IPv6Local, v6.IPv6Peer)
		}
		r.closeLink()
	})
}

func TestLinkIPv6ProtocolRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := softEtherProfile()
		p.ipv6 = "reject"
		r := startLink(t, p, Config{IPv6: true})
		r.waitUp()
		synctest.Wait()
		r.closeLink()
		if slices.Contains(r.kinds(), "ipv6cp.up") {
			t.Errorf("ipv6cp came up")
		}
	})
}

func TestLinkRejectsUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startLink(t, l2tpnsProfile(), Config{})
		r.waitUp()
		r.srv.do(func() {
			// CCP Configure-Request, an unknown LCP code, IPV6CP without Config.IPv6.
			r.srv.sendPacket(ProtoCCP, Packet{Code: CodeConfigureRequest, ID: 1, Data: []byte{0x12, 0x06, 0, 0, 0, 1}})
			r.srv.sendPacket(ProtoLCP, Packet{Code: 42, ID: 9, Data: []byte("x")})
			r.srv.sendPacket(ProtoIPV6CP, Packet{Code: CodeConfigureRequest, ID: 1})
			r.srv.sendPacket(ProtoLCP, Packet{Code: CodeDiscardRequest, ID: 10, Data: []byte{0, 0, 0, 0}})
			r.srv.sendPacket(ProtoLCP, Packet{Code: CodeIdentification, ID: 11, Data: []byte{0, 0, 0, 0, 'h', 'i'}})
			r.srv.sendPacket(ProtoLCP, Packet{Code: CodeTimeRemaining, ID: 12, Data: []byte{0, 0, 0, 0, 0, 0, 0, 60}})
		})
		synctest.Wait()
		r.closeLink()
		if !slices.Equal(r.srv.protoRejects, []Protocol{ProtoCCP, ProtoIPV6CP}) {
			t.Errorf("protocol rejects %v", r.srv.protoRejects)
		}
		if !slices.Equal(r.srv.codeRejects, []Code{42}) {
			t.Errorf("code rejects %v", r.srv.codeRejects)
		}
		if s := r.link.Stats(); s.ProtocolRejects != 2 || s.CodeRejects != 1 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestLinkLCPRenegotiation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startLink(t, l2tpnsProfile(), Config{})
		r.waitUp()
		r.srv.renegotiate()
		synctest.Wait()
		r.closeLink()
		want := []string{"lcp.up", "auth.ok", "ipcp.up", "ipcp.down", "lcp.down", "lcp.up", "auth.ok", "ipcp.up", "ipcp.down", "lcp.down"}
		if got := r.kinds(); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
	})
}

func TestLinkInputQueueFull(t *testing.T) {
	l := NewLink(Config{}, nil)
	for i := 0; i < inputQueueLen; i++ {
		if !l.Input(ProtoLCP, []byte{1, 2, 0, 4}) {
			t.Fatalf("frame %d dropped", i)
		}
	}
	info := []byte{1, 2, 0, 4}
	if l.Input(ProtoLCP, info) || l.Stats().Dropped != 1 {
		t.Errorf("full queue: accepted, or not counted")
	}
	f := <-l.in
	if &f.info[0] == &info[0] {
		t.Errorf("Input did not copy")
	}
}

func TestLinkLoopback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l *Link
		l = NewLink(Config{Rand: rand.NewChaCha8([32]byte{5})}, func(fr []byte) error {
			l.Input(Protocol(fr[0])<<8|Protocol(fr[1]), fr[2:]) // a looped-back line
			return nil
		})
		err := l.Run(context.Background())
		if !errors.Is(err, ErrNegotiation) || !strings.Contains(err.Error(), "looped back") {
			t.Fatalf("Run = %v, want a loopback error", err)
		}
	})
}

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

// linkPair is our client Link against our ServerLink, in-process, each frame
// encoded by one side and decoded with ParseFrame by the other, inside a
// synctest bubble.
type linkPair struct {
	t      *testing.T
	client *Link
	server *ServerLink
	ctx    context.Context
	cancel context.CancelFunc
	cerr   chan error
	serr   chan error

	mu      sync.Mutex
	sevents []ServerEvent
	c2s     []string // what the client sent, described
	s2c     []string
}

// testUsers is the test user database.
func testUsers(db map[string]Credential) func(string) (Credential, bool) {
	return func(u string) (Credential, bool) {
		c, ok := db[u]
		return c, ok
	}
}

var (
	testPeerIP  = netip.MustParseAddr("192.0.2.10")
	testLocalIP = netip.MustParseAddr("192.0.2.1")
	testDNS     = []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("192.0.2.54")}
)

func testServerConfig() ServerConfig {
	return ServerConfig{
		Lookup:  testUsers(map[string]Credential{"alice": {Password: secret.FromString("s3cret")}}),
		LocalIP: testLocalIP, PeerIP: testPeerIP, DNS: testDNS,
		Rand: rand.NewChaCha8([32]byte{9}),
	}
}

func testClientConfig() Config {
	return Config{User: "alice", Password: secret.FromString("s3cret"), Rand: rand.NewChaCha8([32]byte{1})}
}

func startPair(t *testing.T, scfg ServerConfig, ccfg Config, hook func([]byte) []byte) *linkPair {
	t.Helper()
	p := &linkPair{t: t, cerr: make(chan error, 1), serr: make(chan error, 1)}
	scfg.OnEvent = func(e ServerEvent) {
		p.mu.Lock()
		p.sevents = append(p.sevents, e)
		p.mu.Unlock()
	}
	p.client = NewLink(ccfg, p.forward("client", nil, &p.c2s, func(proto Protocol, info []byte) { p.server.Input(proto, info) }))
	p.server = NewServerLink(scfg, p.forward("server", hook, &p.s2c, func(proto Protocol, info []byte) { p.client.Input(proto, info) }))
	p.ctx, p.cancel = context.WithCancel(context.Background())
	go func() { p.serr <- p.server.Run(p.ctx) }()
	go func() { p.cerr <- p.client.Run(p.ctx) }()
	return p
}

// forward is the send function of one side (from): hook may rewrite or
// drop (return nil) each frame, which is then decoded, described in sent
// and handed to the other side through input.
func (p *linkPair) forward(from string, hook func([]byte) []byte, sent *[]string, input func(Protocol, []byte)) func([]byte) error {
	return func(fr []byte) error {
		if hook != nil {
			if fr = hook(fr); fr == nil {
				return nil
			}
		}
		proto, info, err := ParseFrame(fr)
		if err != nil {
			p.t.Errorf("%s sent an undecodable frame %x: %v", from, fr, err)
			return nil
		}
		p.mu.Lock()
		*sent = append(*sent, describe(proto, info))
		p.mu.Unlock()
		input(proto, info)
		return nil
	}
}

// waitBoth waits for both Runs to return.
func (p *linkPair) waitBoth() (clientErr, serverErr error) {
	clientErr, serverErr = <-p.cerr, <-p.serr
	p.cancel()
	return clientErr, serverErr
}

func (p *linkPair) trace() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return "client sent:\n  " + strings.Join(p.c2s, "\n  ") + "\nserver sent:\n  " + strings.Join(p.s2c, "\n  ")
}

// up waits for both sides to be up.
func (p *linkPair) up() (IPInfo, ServerInfo) {
	p.t.Helper()
	ci, err := p.client.WaitUp(p.ctx)
	if err != nil {
		p.t.Fatalf("client WaitUp: %v\n%s", err, p.trace())
	}
	si, err := p.server.WaitUp(p.ctx)
	if err != nil {
		p.t.Fatalf("server WaitUp: %v\n%s", err, p.trace())
	}
	return ci, si
}

// clientClose closes from the client side: the server sees a Terminate.
func (p *linkPair) clientClose() {
	p.t.Helper()
	if err := p.client.Close(p.ctx); err != nil {
		p.t.Fatalf("client Close: %v", err)
	}
	cerr, serr := p.waitBoth()
	if cerr != nil {
		p.t.Errorf("client Run after Close = %v, want nil", cerr)
	}
	var te *ClientTerminateError
	if !errors.As(serr, &te) || te.Reason != "User request" {
		p.t.Errorf("server Run = %v, want ClientTerminateError \"User request\"", serr)
	}
}

func (p *linkPair) kinds() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, e := range p.sevents {
		out = append(out, e.Kind)
	}
	return out
}

func checkUp(t *testing.T, ci IPInfo, si ServerInfo, m AuthMethod, user string) {
	t.Helper()
	if ci.Auth != m || si.Auth != m || si.User != user {
		t.Errorf("auth: client %v, server %v user %q; want %v %q", ci.Auth, si.Auth, si.User, m, user)
	}
	if ci.Local != testPeerIP || ci.Peer != testLocalIP || !slices.Equal(ci.DNS, testDNS) {
		t.Errorf("client IPInfo local %v peer %v dns %v", ci.Local, ci.Peer, ci.DNS)
	}
	if len(ci.WINS) != 0 || len(si.WINS) != 0 {
		t.Errorf("WINS given without being configured: %v %v", ci.WINS, si.WINS)
	}
	if si.Peer != testPeerIP || si.Local != testLocalIP || !slices.Equal(si.DNS, testDNS) {
		t.Errorf("ServerInfo %+v", si)
	}
}

// Each method on its own: the client authenticates, IPCP hands out the
// configured address and both DNS servers, the client closes.
func TestServerMethods(t *testing.T) {
	for _, m := range []AuthMethod{AuthPAP, AuthCHAPMD5, AuthMSCHAPv2} {
		t.Run(m.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				scfg := testServerConfig()
				scfg.Auth = []AuthMethod{m}
				p := startPair(t, scfg, testClientConfig(), nil)
				ci, si := p.up()
				checkUp(t, ci, si, m, "alice")
				p.clientClose()
				want := []string{"lcp.up", "auth.ok", "ipcp.up", "ipcp.down", "lcp.down", "down"}
				if got := p.kinds(); !slices.Equal(got, want) {
					t.Errorf("server events %v, want %v", got, want)
				}
			})
		})
	}
}

// The default preference is MS-CHAPv2; the client checks our
// authenticator response (it fails the link with ErrServerAuthInvalid
// otherwise), here proven by corrupting it on the way.
func TestServerMSCHAPv2AuthenticatorResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startPair(t, testServerConfig(), testClientConfig(), nil)
		ci, si := p.up()
		checkUp(t, ci, si, AuthMSCHAPv2, "alice")
		p.clientClose()
	})
	synctest.Test(t, func(t *testing.T) {
		corrupt := func(fr []byte) []byte {
			if Protocol(fr[0])<<8|Protocol(fr[1]) == ProtoCHAP && CHAPCode(fr[2]) == CHAPSuccess {
				fr = bytes.Clone(fr)
				fr[8] ^= 1 // a hex digit of S=
				if fr[8] == 'G' || fr[8] == 'g' {
					fr[8] = '0'
				}
			}
			return fr
		}
		p := startPair(t, testServerConfig(), testClientConfig(), corrupt)
		cerr, _ := p.waitBoth()
		if !errors.Is(cerr, ErrServerAuthInvalid) {
			t.Fatalf("client Run = %v, want ErrServerAuthInvalid\n%s", cerr, p.trace())
		}
	})
}

// MS-CHAPv2 works from the NT hash alone, for names with a domain or realm
// too; Lookup gets the name as the client sent it.
func TestServerMSCHAPv2NTHashOnly(t *testing.T) {
	for _, user := range []string{"alice", `CORP\alice`, "alice@example.org"} {
		t.Run(user, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var asked []string
				scfg := testServerConfig()
				scfg.Lookup = func(u string) (Credential, bool) {
					asked = append(asked, u)
					if u != user {
						return Credential{}, false
					}
					return Credential{NTHash: NTPasswordHash(secret.FromString("s3cret"))}, true
				}
				ccfg := testClientConfig()
				ccfg.User = user
				p := startPair(t, scfg, ccfg, nil)
				ci, si := p.up()
				if ci.Auth != AuthMSCHAPv2 || si.User != user {
					t.Errorf("client auth %v, server user %q", ci.Auth, si.User)
				}
				if !slices.Equal(asked, []string{user}) {
					t.Errorf("Lookup got %q, want [%q]", asked, user)
				}
				p.clientClose()
			})
		})
	}
}

// A client that does not allow MS-CHAPv2 Naks it, suggesting its own
// strongest method; the server takes the suggestion when it is allowed.
func TestServerFallback(t *testing.T) {
	cases := []struct {
		name         string
		server, clnt []AuthMethod
		want         AuthMethod
	}{
		{"chap-pap", nil, []AuthMethod{AuthPAP, AuthCHAPMD5}, AuthCHAPMD5},
		{"pap only", nil, []AuthMethod{AuthPAP}, AuthPAP},
		// The client suggests CHAP-MD5, which the server does not allow:
		// the server offers its next one, PAP.
		{"server order", []AuthMethod{AuthMSCHAPv2, AuthPAP}, []AuthMethod{AuthCHAPMD5, AuthPAP}, AuthPAP},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				scfg := testServerConfig()
				scfg.Auth = c.server
				ccfg := testClientConfig()
				ccfg.Auth = c.clnt
				p := startPair(t, scfg, ccfg, nil)
				ci, si := p.up()
				checkUp(t, ci, si, c.want, "alice")
				p.clientClose()
			})
		})
	}
}

// No common method: the server gives up with a NegotiationError and
// terminates; the client sees the Terminate.
func TestServerNoCommonMethod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		scfg := testServerConfig()
		scfg.Auth = []AuthMethod{AuthMSCHAPv2}
		ccfg := testClientConfig()
		ccfg.Auth = []AuthMethod{AuthPAP}
		p := startPair(t, scfg, ccfg, nil)
		cerr, serr := p.waitBoth()
		if !errors.Is(serr, ErrNegotiation) || !strings.Contains(serr.Error(), "refused every authentication method") {
			t.Errorf("server Run = %v", serr)
		}
		if cerr == nil {
			t.Errorf("client Run = nil, want an error")
		}
	})
}

// Close on the server sends a Terminate-Request with our reason; the
// client's Run returns a TerminateError carrying it, the server's nil.
func TestServerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startPair(t, testServerConfig(), testClientConfig(), nil)
		p.up()
		if err := p.server.Close(p.ctx, "Session timeout"); err != nil {
			t.Fatalf("server Close: %v", err)
		}
		cerr, serr := p.waitBoth()
		if serr != nil {
			t.Errorf("server Run = %v, want nil", serr)
		}
		var te *TerminateError
		if !errors.As(cerr, &te) || te.Reason != "Session timeout" {
			t.Errorf("client Run = %v, want TerminateError \"Session timeout\"", cerr)
		}
		// Close again, and after Run: no effect, no error.
		if err := p.server.Close(context.Background(), "again"); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

// Close before Run: Run returns nil without sending anything.
func TestServerCloseBeforeRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sent := 0
		s := NewServerLink(testServerConfig(), func([]byte) error { sent++; return nil })
		if err := s.Close(context.Background(), ""); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(context.Background()); err != nil || sent != 0 {
			t.Fatalf("Run = %v, %d frames sent", err, sent)
		}
	})
}

// Echo both ways: each side's Echo-Requests are answered by the other and
// the link stays up well past EchoFailures intervals.
func TestServerEcho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		scfg := testServerConfig()
		scfg.EchoInterval = 10 * time.Second
		ccfg := testClientConfig()
		ccfg.EchoInterval = 7 * time.Second
		p := startPair(t, scfg, ccfg, nil)
		p.up()
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		ss, cs := p.server.Stats(), p.client.Stats()
		if ss.EchoSent < 10 || ss.EchoReceived != ss.EchoSent || cs.EchoAnswered != ss.EchoSent {
			t.Errorf("server echo sent %d received %d; client answered %d", ss.EchoSent, ss.EchoReceived, cs.EchoAnswered)
		}
		if cs.EchoSent < 10 || ss.EchoAnswered != cs.EchoSent {
			t.Errorf("client echo sent %d; server answered %d", cs.EchoSent, ss.EchoAnswered)
		}
		if err := p.server.Err(); err != nil {
			t.Errorf("server failed: %v", err)
		}
		p.clientClose()
	})
}

// IPV6CP: the server gives the configured identifiers.
func TestServerIPV6CP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		scfg := testServerConfig()
		scfg.IPv6 = true
		scfg.LocalID = [8]byte{0, 0, 0, 0, 0, 0, 0, 1}
		scfg.PeerID = [8]byte{2, 0, 0, 0, 0, 0, 0, 0x10}
		ccfg := testClientConfig()
		ccfg.IPv6 = true
		var ev []Event
		var mu sync.Mutex
		ccfg.OnEvent = func(e Event) { mu.Lock(); ev = append(ev, e); mu.Unlock() }
		p := startPair(t, scfg, ccfg, nil)
		p.up()
		synctest.Wait()
		si := p.server.Info()
		if si.IPv6Local != scfg.LocalID || si.IPv6Peer != scfg.PeerID {
			t.Errorf("server ids %x %x", si.IPv6Local, si.IPv6Peer)
		}
		mu.Lock()
		var got *IPInfo
		for _, e := range ev {
			if e.Kind == "ipv6cp.up" {
				got = e.Info
			}
		}
		mu.Unlock()
		if got == nil || got.IPv6Local != scfg.PeerID || got.IPv6Peer != scfg.LocalID {
			t.Errorf("client ipv6cp.up info %+v\n%s", got, p.trace())
		}
		p.clientClose()
	})
}

// Without IPv6 on the server a client's IPV6CP is Protocol-Rejected and
// IPv4 comes up alone.
func TestServerNoIPv6(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ccfg := testClientConfig()
		ccfg.IPv6 = true
		p := startPair(t, testServerConfig(), ccfg, nil)
		p.up()
		synctest.Wait()
		if p.server.Stats().ProtocolRejects == 0 {
			t.Errorf("IPV6CP not protocol-rejected\n%s", p.trace())
		}
		p.clientClose()
	})
}

// ServerConfig.Auth keeps known methods only, each once, in order; nothing
// usable means the default order.
func TestServerConfigAuth(t *testing.T) {
	got := ServerConfig{Auth: []AuthMethod{0, AuthPAP, 9, AuthPAP, AuthCHAPMD5}}.withDefaults().Auth
	if !slices.Equal(got, []AuthMethod{AuthPAP, AuthCHAPMD5}) {
		t.Errorf("Auth = %v", got)
	}
	got = ServerConfig{Auth: []AuthMethod{7}}.withDefaults().Auth
	if !slices.Equal(got, []AuthMethod{AuthMSCHAPv2, AuthCHAPMD5, AuthPAP}) {
		t.Errorf("default Auth = %v", got)
	}
}

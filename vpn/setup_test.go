package vpn

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// silentPeer is a UDP socket on loopback that never answers.
func silentPeer(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The receive loop hands datagrams to the IKE session and the L2TP tunnel:
// both exist before it starts (a datagram can arrive the moment the socket
// is bound). Before the fix the loop started first, with c.ipsec and
// c.tunnel still nil.
func TestEnginesExistBeforeReceiveLoop(t *testing.T) {
	for _, ipsec := range []bool{false, true} {
		peer := silentPeer(t)
		port := uint16(peer.LocalAddr().(*net.UDPAddr).Port)
		checked := false
		cfg := Config{
			Server: "127.0.0.1", User: "u", Password: secret.FromString("p"), IPsec: ipsec, PSK: secret.FromString("k"),
			RetransmitTimeout: 10 * time.Millisecond, MaxRetransmits: 1,
			Logger: slog.New(slog.DiscardHandler),
			ports:  &serverPorts{ike: port, natt: port},
			rxStarted: func(c *Conn) {
				checked = true
				if c.tunnel == nil || (ipsec && c.ipsec == nil) {
					t.Errorf("ipsec=%v: receive loop started before its engines (tunnel %v, ipsec %v)", ipsec, c.tunnel != nil, c.ipsec != nil)
				}
			},
		}
		if err := cfg.validate(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := dial(ctx, cfg, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port), nil)
		cancel()
		if err == nil {
			t.Fatalf("ipsec=%v: connected to a silent peer", ipsec)
		}
		if !checked {
			t.Errorf("ipsec=%v: the receive loop hook never ran", ipsec)
		}
	}
}

func TestRxErrorsBackOffThenFail(t *testing.T) {
	var r rxErrors
	log := slog.New(slog.DiscardHandler)
	now := time.Unix(1000, 0)
	boom := errors.New("recvmmsg: no buffer space")
	if err := r.failed(boom, now, log); err != nil || r.backoff != rxBackoffMin {
		t.Fatalf("first error: %v, backoff %v", err, r.backoff)
	}
	var last time.Duration
	for i := 0; i < 20; i++ {
		now = now.Add(100 * time.Millisecond)
		if err := r.failed(boom, now, log); err != nil {
			t.Fatalf("failed after %d errors within 2 s: %v", i, err)
		}
		if r.backoff < last || r.backoff > rxBackoffMax {
			t.Fatalf("backoff %v after %v", r.backoff, last)
		}
		last = r.backoff
	}
	if last != rxBackoffMax {
		t.Errorf("backoff reached %v, want the cap %v", last, rxBackoffMax)
	}
	r.ok()
	now = now.Add(time.Hour)
	if err := r.failed(boom, now, log); err != nil {
		t.Fatalf("a good read restarts the run: %v", err)
	}
	err := r.failed(boom, now.Add(rxFailAfter), log)
	var e *Error
	if !errors.As(err, &e) || e.Reason != ReasonLinkLost || !errors.Is(err, boom) {
		t.Fatalf("after %v of errors: %v", rxFailAfter, err)
	}
}

func TestParseNameservers(t *testing.T) {
	got := parseNameservers([]byte("# comment\nnameserver 192.0.2.53\nsearch lab.example\nnameserver 2001:db8::53\nnameserver bogus\n"))
	if len(got) != 2 || got[0].String() != "192.0.2.53" || got[1].String() != "2001:db8::53" {
		t.Fatalf("nameservers %v", got)
	}
}

func TestResolveErrors(t *testing.T) {
	r := &resolver{host: "vpn.invalid", port: 1701}
	nx := &resolveError{host: "vpn.invalid", err: &net.DNSError{Err: "no such host", Name: "vpn.invalid", IsNotFound: true}}
	if ReasonOf(nx.asError()) != ReasonConfig {
		t.Errorf("no such host: %v", ReasonOf(nx.asError()))
	}
	timeout := &resolveError{host: "vpn.invalid", err: &net.DNSError{Err: "i/o timeout", Name: "vpn.invalid", IsTimeout: true}}
	if got := ReasonOf(timeout.asError()); got != ReasonUnreachable || !retryable(timeout.asError()) {
		t.Errorf("resolver outage: reason %v, retryable %v; want unreachable and retried", got, retryable(timeout.asError()))
	}
	// A name given as an address needs no resolver.
	r.addr = netip.MustParseAddr("192.0.2.1")
	if a, err := r.resolve(context.Background(), ""); err != nil || a.String() != "192.0.2.1:1701" {
		t.Fatalf("address: %v %v", a, err)
	}
}

// With a last good address, a failed lookup falls back on it instead of
// failing the reconnect.
func TestResolveFallsBackOnLastGood(t *testing.T) {
	r := &resolver{host: "vpn.l2tpvpn-test.invalid", port: 1701,
		nameservers: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}
	r.lastGood = netip.MustParseAddrPort("192.0.2.1:1701")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	a, err := r.resolve(ctx, "lo")
	var re *resolveError
	if !errors.As(err, &re) || !re.fallback || a != r.lastGood {
		t.Fatalf("got %v, %v; want the last good address with a fallback note", a, err)
	}
}

package vpn

// Client against the fake LNS with the device and host changes replaced
// (Config.openDevice, Config.readdress): the reconnect policy, reconnects
// after a lost link, giving up on an error a retry cannot fix, and Close
// while reconnecting.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/ike/vici"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/tun"
)

// Every reason has a decided policy: settings, the host, credentials and
// bugs are not retried; a server that did not answer, refused or dropped
// the link is.
func TestRetryable(t *testing.T) {
	want := map[Reason]bool{
		ReasonNone:             false,
		ReasonInternal:         false,
		ReasonConfig:           false,
		ReasonUnreachable:      true,
		ReasonRefused:          true,
		ReasonAuth:             false,
		ReasonNegotiation:      true,
		ReasonHost:             false,
		ReasonLinkLost:         true,
		ReasonIKENoResponse:    true,
		ReasonIKENoProposal:    true,
		ReasonIKEAuth:          false,
		ReasonIPsecUnavailable: false, // charon without IKEv1 or kernel ESP
		ReasonInterrupted:      false, // the caller cancelled the set-up
		// A server that cannot prove its identity stays that way (a
		// reconnect could only reach the same, or another, impostor).
		ReasonIKEServerIdentity: false,
		// A ready check fails once the connection is up (it ends the
		// client there); a fresh attempt may pass it.
		ReasonReadyCheck: true,
	}
	for r := Reason(0); int(r) < len(reasonNames); r++ {
		w, ok := want[r]
		if !ok {
			t.Errorf("reason %v has no reconnect policy in this test", r)
			continue
		}
		if got := retryable(&Error{Phase: "test", Reason: r, Err: errors.New("x")}); got != w {
			t.Errorf("retryable(%v) = %v, want %v", r, got, w)
		}
	}
	if retryable(nil) {
		t.Error("a clean disconnect is retried")
	}
	if retryable(errors.New("not an *Error")) {
		t.Error("an unclassified error (internal) is retried")
	}
	// charon's socket missing: it may be restarting.
	restarting := &Error{Phase: "ipsec", Reason: ReasonIPsecUnavailable, Err: fmt.Errorf("dial: %w", vici.ErrNoSocket)}
	if !retryable(restarting) {
		t.Error("charon's socket missing is not retried")
	}
	// The server's name: "no such host" is a setting, a resolver that does
	// not answer is the network.
	nx := &resolveError{host: "vpn.invalid", err: &net.DNSError{Err: "no such host", Name: "vpn.invalid", IsNotFound: true}}
	if err := nx.asError(); retryable(err) || ReasonOf(err) != ReasonConfig {
		t.Errorf("no such host: reason %v, retried %v; want config, not retried", ReasonOf(err), retryable(err))
	}
	to := &resolveError{host: "vpn.invalid", err: &net.DNSError{Err: "i/o timeout", Name: "vpn.invalid", IsTimeout: true}}
	if err := to.asError(); !retryable(err) || ReasonOf(err) != ReasonUnreachable {
		t.Errorf("resolver timeout: reason %v, retried %v; want unreachable, retried", ReasonOf(err), retryable(err))
	}
}

// fakeHost stands in for tun.Host.
type fakeHost struct {
	mu     sync.Mutex
	dns    [][]netip.Addr // UpdateDNS calls
	closed int
}

func (h *fakeHost) Summary() tun.HostSummary { return tun.HostSummary{Mode: "fake"} }

func (h *fakeHost) UpdateDNS(dns []netip.Addr) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dns = append(h.dns, slices.Clone(dns))
	return nil
}

func (h *fakeHost) Repin(netip.Addr) (bool, error) { return false, nil }

func (h *fakeHost) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed++
	return nil
}

// fakeDevices replaces the client's device creation and readdressing.
type fakeDevices struct {
	tun  *fakeTUN
	host fakeHost

	mu          sync.Mutex
	opened      int
	readdressed []netip.Addr
}

func (d *fakeDevices) open(_ *Conn, _ ppp.IPInfo, _, _ netip.Addr, _ int) (*tun.Device, hostConfigurer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.opened++
	return d.tun.dev, &d.host, nil
}

func (d *fakeDevices) readdress(local, _ netip.Addr, _ int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.readdressed = append(d.readdressed, local)
	return nil
}

// eventLog collects a client's events.
type eventLog struct {
	t       *testing.T
	mu      sync.Mutex
	evs     []Event
	changed chan struct{}
}

func (l *eventLog) add(ev Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, ev)
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *eventLog) names(only ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.evs {
		if slices.Contains(only, e.Event) {
			out = append(out, e.Event)
		}
	}
	return out
}

// await waits for the n-th event of the given name and returns it.
func (l *eventLog) await(name string, n int) Event {
	l.t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		seen, changed := 0, l.changed
		for _, e := range l.evs {
			if e.Event == name {
				if seen++; seen == n {
					l.mu.Unlock()
					return e
				}
			}
		}
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			l.t.Fatalf("waited %v for %s event #%d; got %q", waitTimeout, name, n, l.names(name, EventUp, EventReconnecting, EventDown))
		}
	}
}

// clientConfig is testConfig for a client that reconnects quickly.
func clientConfig(t *testing.T, lns *fakeLNS, d *fakeDevices, ev *eventLog) Config {
	cfg := testConfig(t, lns)
	cfg.Reconnect = true
	cfg.ReconnectDelay, cfg.ReconnectMaxDelay = 10*time.Millisecond, 20*time.Millisecond
	cfg.OnEvent = ev.add
	cfg.openDevice, cfg.readdress = d.open, d.readdress
	return cfg
}

func newClientFixture(t *testing.T) (*fakeLNS, *fakeDevices, *eventLog) {
	return newFakeLNS(t), &fakeDevices{tun: newFakeTUN(t)}, &eventLog{t: t, changed: make(chan struct{})}
}

func mustConnect(t *testing.T, cfg Config) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cl, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return cl
}

// closeWithin closes cl and fails the test if that takes longer than d.
func closeWithin(t *testing.T, cl *Client, d time.Duration) error {
	t.Helper()
	res := make(chan error, 1)
	go func() { res <- cl.Close() }()
	select {
	case err := <-res:
		return err
	case <-time.After(d):
		t.Fatalf("Close took longer than %v", d)
		return nil
	}
}

// roundTrip sends a packet through the client's transmit loop and waits
// for the server's echo.
func roundTrip(t *testing.T, d *fakeDevices, tag byte) {
	t.Helper()
	pkt := ipv4(clientPPPAddr, remoteHost, 100, tag)
	d.tun.inject(t, pkt)
	if got := d.tun.next(t); string(got) != string(swapIPv4(pkt)) {
		t.Fatalf("echo % x, want % x", got[:20], swapIPv4(pkt)[:20])
	}
}

// A client whose server goes silent reconnects once it is back: the
// device is readdressed, not recreated, traffic flows again, and the
// counters add up over both connections.
func TestClientReconnectsAfterLinkLoss(t *testing.T) {
	lns, d, ev := newClientFixture(t)
	cfg := clientConfig(t, lns, d, ev)
	cfg.HelloInterval, cfg.MaxRetransmits = 100*time.Millisecond, 2
	base := runtime.NumGoroutine()
	cl := mustConnect(t, cfg)
	if up := ev.await(EventUp, 1); up.Reconnects != 0 || up.IP != clientPPPAddr.String() {
		t.Fatalf("first up: %+v", up)
	}
	roundTrip(t, d, 1)

	lns.setSilent(true)
	rec := ev.await(EventReconnecting, 1)
	if rec.Attempt != 1 || rec.Reason != ReasonLinkLost.String() {
		t.Fatalf("reconnecting: %+v", rec)
	}
	lns.setSilent(false)
	if up := ev.await(EventUp, 2); up.Reconnects != 1 {
		t.Fatalf("up after the reconnect: %+v, want reconnects 1", up)
	}
	if st := cl.Status(); st.State != StateUp || st.Reconnect.Count != 1 || st.Reconnect.Last == "" {
		t.Fatalf("status after the reconnect: %+v", st)
	}
	d.mu.Lock()
	opened, readdressed := d.opened, slices.Clone(d.readdressed)
	d.mu.Unlock()
	if opened != 1 || !slices.Equal(readdressed, []netip.Addr{clientPPPAddr}) {
		t.Fatalf("device opened %d times, readdressed %v; want once, then readdressed to %v", opened, readdressed, clientPPPAddr)
	}
	roundTrip(t, d, 2)
	// The transmit loop counts a packet once sendmmsg has returned, which
	// may be after the echo is back.
	deadline := time.Now().Add(waitTimeout)
	for st := cl.Stats(); st.TxPackets < 2; st = cl.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("the second packet was never counted: %+v", st)
		}
		runtime.Gosched()
	}
	if st := cl.Stats(); st.TxPackets != 2 || st.RxPackets != 2 || st.TxBytes != 200 || st.RxBytes != 200 {
		t.Errorf("stats over both connections: %+v", st)
	}

	if err := closeWithin(t, cl, waitTimeout); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, want := ev.names(EventUp, EventReconnecting, EventDisconnect, EventDown),
		[]string{EventUp, EventReconnecting, EventUp, EventDisconnect, EventDown}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	d.host.mu.Lock()
	closed, dns := d.host.closed, d.host.dns
	d.host.mu.Unlock()
	if closed != 1 || len(dns) != 1 {
		t.Errorf("host closed %d times, DNS updated %d times; want 1 and 1 (the reconnect)", closed, len(dns))
	}
	checkGoroutines(t, base)
}

// A reconnect that fails authentication ends the client with that error:
// retrying a rejected password would only lock the account.
func TestClientReconnectAuthFailureStops(t *testing.T) {
	lns, d, ev := newClientFixture(t)
	cfg := clientConfig(t, lns, d, ev)
	base := runtime.NumGoroutine()
	cl := mustConnect(t, cfg)
	ev.await(EventUp, 1)
	lns.setPassword("changed on the server")
	lns.stopCCN()

	var err error
	select {
	case <-cl.Done():
		err = cl.Wait()
	case <-time.After(waitTimeout):
		t.Fatal("the client kept going after an authentication failure")
	}
	var ae *ppp.AuthError
	if ReasonOf(err) != ReasonAuth || !errors.As(err, &ae) {
		t.Fatalf("client ended with %v (reason %v), want the authentication failure", err, ReasonOf(err))
	}
	if n := len(ev.names(EventReconnecting)); n != 1 {
		t.Errorf("%d reconnect attempts, want 1", n)
	}
	if down := ev.await(EventDown, 1); down.Reason != ReasonAuth.String() {
		t.Errorf("down event: %+v", down)
	}
	if n := count(lns.log(), "CHAP Response"); n != 2 {
		t.Errorf("%d CHAP responses, want 2 (the first connection and the failed attempt)", n)
	}
	if err2 := cl.Close(); err2 != err {
		t.Errorf("Close returned %v, want %v", err2, err)
	}
	d.host.mu.Lock()
	closed := d.host.closed
	d.host.mu.Unlock()
	if closed != 1 {
		t.Errorf("host closed %d times, want 1", closed)
	}
	checkGoroutines(t, base)
}

// Close while the client waits to reconnect, or while an attempt is
// retransmitting into silence, returns at once with nil.
func TestClientCloseDuringReconnect(t *testing.T) {
	t.Run("backoff", func(t *testing.T) {
		lns, d, ev := newClientFixture(t)
		cfg := clientConfig(t, lns, d, ev)
		cfg.ReconnectDelay, cfg.ReconnectMaxDelay = time.Hour, time.Hour
		base := runtime.NumGoroutine()
		cl := mustConnect(t, cfg)
		lns.stopCCN()
		if rec := ev.await(EventReconnecting, 1); rec.DelayMS < time.Minute.Milliseconds() {
			t.Fatalf("reconnecting: %+v", rec)
		}
		if err := closeWithin(t, cl, 5*time.Second); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if down := ev.await(EventDown, 1); down.Reason != ReasonNone.String() {
			t.Errorf("down: %+v", down)
		}
		checkGoroutines(t, base)
	})
	t.Run("attempt", func(t *testing.T) {
		lns, d, ev := newClientFixture(t)
		cfg := clientConfig(t, lns, d, ev)
		// An attempt into silence would retransmit for 1+2+4+8+8 s.
		cfg.RetransmitTimeout, cfg.MaxRetransmits = time.Second, 4
		base := runtime.NumGoroutine()
		cl := mustConnect(t, cfg)
		lns.setSilent(true)
		lns.stopCCN()
		lns.awaitCount("SCCRQ", 2) // the attempt is under way
		if err := closeWithin(t, cl, 5*time.Second); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := cl.Wait(); err != nil {
			t.Errorf("Wait after Close: %v", err)
		}
		checkGoroutines(t, base)
	})
}

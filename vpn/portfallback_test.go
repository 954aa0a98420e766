package vpn

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/l2tp"
)

// freeUDPPort returns a loopback UDP port nobody holds right now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// local-port = auto against a server that answers L2TP only from one
// source port (1701 in life, a free port here): the first attempt from an
// ephemeral port gets no answer, the second from that port connects, says
// so in an event, and the reconnects keep the port.
func TestPortFallbackConnectsFromTheFixedPort(t *testing.T) {
	lns, d, ev := newClientFixture(t)
	port := freeUDPPort(t)
	lns.mu.Lock()
	lns.onlyPort = uint16(port)
	lns.mu.Unlock()
	cfg := clientConfig(t, lns, d, ev)
	cfg.PortFallback, cfg.fallbackPort = true, port
	cfg.RetransmitTimeout, cfg.MaxRetransmits = 20*time.Millisecond, 2
	cl := mustConnect(t, cfg)
	defer closeWithin(t, cl, waitTimeout)
	if got, want := ev.names(EventConnecting, EventPortRetry, EventTunnelUp, EventUp),
		[]string{EventConnecting, EventPortRetry, EventConnecting, EventTunnelUp, EventUp}; !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	retry := ev.await(EventPortRetry, 1)
	if retry.Server != lns.addr.String() || retry.Error == "" {
		t.Errorf("port-retry event %+v: want the server and the first attempt's error", retry)
	}
	if up := ev.await(EventTunnelUp, 1); !strings.HasSuffix(up.Local, ":"+strconv.Itoa(port)) {
		t.Errorf("tunnel up from %q, want port %d", up.Local, port)
	}
	roundTrip(t, d, 1)
	if cl.cfg.LocalPort != port {
		t.Errorf("the client keeps local port %d for reconnects, want %d", cl.cfg.LocalPort, port)
	}
}

// Without the fallback (local-port = ephemeral), or with IPsec, the same
// silence is the unreachable error of the first attempt, with no retry.
func TestPortFallbackOnlyWhenAsked(t *testing.T) {
	lns, d, ev := newClientFixture(t)
	lns.mu.Lock()
	lns.onlyPort = uint16(freeUDPPort(t))
	lns.mu.Unlock()
	cfg := clientConfig(t, lns, d, ev)
	cfg.RetransmitTimeout, cfg.MaxRetransmits = 20*time.Millisecond, 1
	_, err := Connect(t.Context(), cfg)
	if !errors.Is(err, l2tp.ErrTimeout) || ReasonOf(err) != ReasonUnreachable {
		t.Fatalf("Connect: %v, want the L2TP timeout (unreachable)", err)
	}
	if n := len(ev.names(EventPortRetry)); n != 0 {
		t.Errorf("%d port-retry events without local-port = auto", n)
	}
}

// Against a server that answers neither port, the try from the ephemeral
// port is cut short (the SCCRQ and one retransmission) and only the try
// from the fixed port waits out every retransmission, so the fallback adds
// seconds to the unreachable verdict, not a second full round.
func TestPortFallbackProbeIsShort(t *testing.T) {
	lns, d, ev := newClientFixture(t)
	port, other := freeUDPPort(t), freeUDPPort(t)
	lns.mu.Lock()
	lns.onlyPort = uint16(other) // answers nobody we use
	lns.mu.Unlock()
	cfg := clientConfig(t, lns, d, ev)
	cfg.PortFallback, cfg.fallbackPort = true, port
	cfg.RetransmitTimeout, cfg.MaxRetransmits = 100*time.Millisecond, 2
	_, err := Connect(t.Context(), cfg)
	if !errors.Is(err, l2tp.ErrTimeout) {
		t.Fatalf("Connect: %v, want the L2TP timeout", err)
	}
	fromFixed, fromEphemeral := 0, 0
	for _, e := range lns.log() {
		switch {
		case e == "ignored from "+strconv.Itoa(port):
			fromFixed++
		case strings.HasPrefix(e, "ignored from "):
			fromEphemeral++
		}
	}
	if fromEphemeral < 1 || fromEphemeral > 2 || fromFixed != 3 {
		t.Errorf("SCCRQs: %d from the ephemeral port (want 1 or 2), %d from the fixed one (want 3: all retransmissions)", fromEphemeral, fromFixed)
	}
}

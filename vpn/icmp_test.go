package vpn

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// closedPort is a loopback UDP port where nothing listens.
func closedPort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(c.LocalAddr().(*net.UDPAddr).Port)
	c.Close()
	return port
}

// ikeResponder answers any ISAKMP message with its own header (enough for
// a probe: the initiator cookie comes back).
func ikeResponder(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n >= 28 {
				binary.BigEndian.PutUint32(buf[24:28], 28) // the header alone
				c.WriteToUDP(buf[:28], from)
			}
		}
	}()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

func dialQuick(t *testing.T, ipsec bool, l2tpPort, ikePort uint16) (error, time.Duration) {
	t.Helper()
	cfg := Config{
		Server: "127.0.0.1", User: "u", Password: secret.FromString("p"), IPsec: ipsec, PSK: secret.FromString("k"),
		Logger: slog.New(slog.DiscardHandler),
		ports:  &serverPorts{ike: ikePort, natt: ikePort},
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := dial(ctx, cfg, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), l2tpPort), nil)
	return err, time.Since(start)
}

// Before the fix both waited for the retransmissions to run out (23 s).
func TestNothingListensFailsFast(t *testing.T) {
	t.Run("ipsec", func(t *testing.T) {
		err, d := dialQuick(t, true, 1701, closedPort(t))
		var e *Error
		if !errors.As(err, &e) || e.Reason != ReasonUnreachable || !strings.Contains(err.Error(), "nothing listens on UDP") ||
			!strings.Contains(e.Hint, "--ipsec off") {
			t.Fatalf("err %v (hint %q)", err, e.Hint)
		}
		if d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("plain", func(t *testing.T) {
		err, d := dialQuick(t, false, closedPort(t), closedPort(t))
		var e *Error
		if !errors.As(err, &e) || e.Reason != ReasonUnreachable || !strings.Contains(err.Error(), "nothing listens on UDP") ||
			strings.Contains(e.Hint, "speaks IKE") {
			t.Fatalf("err %v (hint %q)", err, e.Hint)
		}
		if d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("plain-but-ike", func(t *testing.T) {
		err, d := dialQuick(t, false, closedPort(t), ikeResponder(t))
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Hint, "this server speaks IKE") {
			t.Fatalf("err %v (hint %q)", err, e.Hint)
		}
		if d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
}

func TestProbeAnswered(t *testing.T) {
	if !speaksIKE(context.Background(), netip.MustParseAddr("127.0.0.1"), ikeResponder(t)) {
		t.Fatal("probe not answered")
	}
}

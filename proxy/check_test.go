package proxy

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func TestParseCheck(t *testing.T) {
	for in, want := range map[string]Check{
		"tcp://10.1.2.3:22":   {"tcp", "10.1.2.3:22"},
		"tcp://git.corp:443":  {"tcp", "git.corp:443"},
		"icmp://10.1.2.1":     {"icmp", "10.1.2.1"},
		"icmp://[fd00::1]":    {"icmp", "fd00::1"},
		"dns://git.internal":  {"dns", "git.internal"},
		"tcp://[fd00::1]:443": {"tcp", "[fd00::1]:443"},
	} {
		got, err := ParseCheck(in)
		if err != nil || got != want {
			t.Errorf("ParseCheck(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "tcp://10.1.2.3", "tcp://:22", "http://x", "icmp://", "dns://a b", "10.1.2.3:22",
		// Brackets only as one pair around the whole host (an IPv6 address).
		"dns://]]", "dns://]", "icmp://[", "icmp://[[fd00::1]]", "dns://a]b", "icmp://[]"} {
		if c, err := ParseCheck(bad); err == nil {
			t.Errorf("ParseCheck(%q) = %+v, want an error", bad, c)
		}
	}
}

func TestCheckRun(t *testing.T) {
	echo := tcpEcho(t)
	closed := closedPort(t)
	n := newFakeNet()
	n.names["git.internal"] = []netip.Addr{loopback}
	n.ping[loopback] = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, s := range []string{
		"tcp://" + echo.String(),
		"tcp://git.internal:" + strconv.Itoa(int(echo.Port())),
		"icmp://127.0.0.1",
		"icmp://git.internal",
		"dns://git.internal",
	} {
		c, err := ParseCheck(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Run(ctx, n); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for s, want := range map[string]string{
		"tcp://" + closed.String(): `proxy: ready-check "tcp://` + closed.String() + `": connection refused`,
		"icmp://10.9.9.9":          `proxy: ready-check "icmp://10.9.9.9": timed out`,
		"dns://localhost":          `proxy: ready-check "dns://localhost": name "localhost" not resolved through the tunnel: fakenet: no such host`,
	} {
		c, err := ParseCheck(s)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Run(ctx, n)
		var ce *CheckError
		if !errors.As(err, &ce) || ce.Check != c {
			t.Errorf("%s: %v is not a *CheckError naming the check", s, err)
			continue
		}
		if err.Error() != want {
			t.Errorf("%s:\n got %s\nwant %s", s, err, want)
		}
	}
	c, _ := ParseCheck("dns://git.internal")
	if err := c.Run(ctx, nil); err == nil || !errors.Is(err, errNotConnected) {
		t.Errorf("check without a tunnel: %v", err)
	}
}

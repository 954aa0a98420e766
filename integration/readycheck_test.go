//go:build integration

package integration

import (
	"testing"
	"time"
)

// Issue 13, readiness in TUN mode (root, against l2tpns): the ready checks
// go through the TUN device (sockets bound to it) before up is announced;
// one that fails ends the connect with exit 17, reason ready-check, no up
// event, and the host as before.
func TestReadyCheckTUN(t *testing.T) {
	l := labL2TPNS
	l.up(t)
	l.transferServer(t) // the TCP check's target
	before := hostState(t, l.clientNS)

	c := startClient(t, l, nil, "--auth", "pap", "--ready-check", "icmp://"+l.service, "--ready-check", "tcp://"+l.service+":5001")
	up := c.waitEvent("up", 60*time.Second)
	if up.Interface != "l2v-tun0" {
		t.Errorf("up on %q", up.Interface)
	}
	c.disconnect()
	if after := hostState(t, l.clientNS); after != before {
		t.Errorf("host not restored:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	c = startClient(t, l, nil, "--auth", "pap", "--ready-check", "tcp://"+l.service+":1")
	if code := c.wait(); code != 17 {
		t.Fatalf("exit code %d with a failing ready check, want 17", code)
	}
	for _, ev := range c.eventsSoFar() {
		if ev.Event == "up" {
			t.Error("up announced although the ready check failed")
		}
	}
	if down := c.last("down"); down.Reason != "ready-check" {
		t.Errorf("down reason %q, want ready-check", down.Reason)
	}
	if after := hostState(t, l.clientNS); after != before {
		t.Errorf("host not restored after the failed check:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

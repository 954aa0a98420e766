//go:build integration

package integration

// IKE interop breadth against the real strongSwan responder (issue 11): PFS
// required by the server, Aggressive Mode with group names, identities.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// swLoad writes a swanctl.conf for the sw responder and loads it; the
// default conn and PSK come back when the test ends.
func swLoad(t *testing.T, conf string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "swanctl.conf")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	script(t, nil, "swload", p)
	t.Cleanup(func() { script(t, nil, "swconf", "", "") })
}

// swConn is one IKEv1 conn of the responder with l2tpns behind it.
func swConn(name, extra, local, remote, esp string) string {
	return fmt.Sprintf(`
	%s {
		version = 1
		remote_addrs = %%any
		proposals = aes128-sha1-modp2048,aes256-sha256-modp2048
		%s
		local {
			%s
		}
		remote {
			%s
		}
		children {
			l2tp {
				mode = tunnel
				local_ts = dynamic[udp/1701]
				remote_ts = dynamic[udp]
				esp_proposals = %s
			}
		}
	}`, name, extra, local, remote, esp)
}

// TestStrongSwanPFS: a responder whose ESP requires PFS (modp2048). pfs =
// auto connects (no PFS refused, then the group), pfs = none fails with a
// hint, and the responder's own rekeys at 60 s (with PFS) keep traffic going.
func TestStrongSwanPFS(t *testing.T) {
	labSW.up(t)
	script(t, nil, "swconf", "", "aes128-sha1-modp2048,aes128gcm16-modp2048", "60")
	t.Run("none", func(t *testing.T) {
		ikeFailure(t, labSW, pskEnv, ipsecArgs("--esp-mode", "tunnel"), 10, "try pfs = auto")
	})
	t.Run("auto", func(t *testing.T) {
		start := time.Now()
		c := startClient(t, labSW, pskEnv, ipsecArgs("--esp-mode", "tunnel", "--auth", "pap", "--pfs", "auto")...)
		p2 := c.waitEvent("ike.phase2.up", 30*time.Second)
		up := c.waitEvent("up", 30*time.Second)
		t.Logf("pfs auto: %s, up after %d ms", p2.ESP, up.ElapsedMS)
		if !strings.HasSuffix(p2.ESP, "-modp2048") {
			t.Fatalf("child SA %s, want one with PFS modp2048", p2.ESP)
		}
		// The responder rekeys at 60 s, with PFS: a TCP stream across it.
		out, err := inNS(labSW.clientNS, "iperf3", "-c", labSW.service, "-t", "75", "-b", "10M", "-i", "0", "--connect-timeout", "5000")
		t.Logf("iperf3 across the responder's PFS rekey:\n%s", lastLines(out, 4))
		if err != nil {
			t.Errorf("iperf3 failed across the rekey: %v\n%s", err, out)
		}
		var rekeys []string
		for _, ev := range c.eventsSoFar() {
			if ev.Event == "ike.phase2.up" && ev.Rekey {
				rekeys = append(rekeys, ev.ESP)
				if !strings.HasSuffix(ev.ESP, "-modp2048") {
					t.Errorf("rekeyed child SA %s without the PFS group", ev.ESP)
				}
			}
		}
		t.Logf("child SA rekeys by the responder: %v", rekeys)
		if len(rekeys) == 0 {
			t.Errorf("no child SA rekey within %v (the responder rekeys at 60 s)", time.Since(start).Round(time.Second))
		}
		d := c.disconnect()
		if d.Stats != nil && (d.Stats.ESPAuthFailed != 0 || d.Stats.ESPInvalid != 0) {
			t.Errorf("ESP drops: %+v", *d.Stats)
		}
	})
}

const aggressiveConf = `connections {` + "%s\n%s\n" + `}
secrets {
	ike-a {
		id-a = keyid:GroupA
		secret = "psk-of-group-a"
	}
	ike-b {
		id-b = groupb.example
		secret = "psk-of-group-b"
	}
}
`

// TestStrongSwanAggressive: two Aggressive Mode groups with their own PSKs,
// chosen by our local-id (a KEY_ID group name, an FQDN); a wrong group name
// and a remote-id mismatch fail naming the identity.
func TestStrongSwanAggressive(t *testing.T) {
	labSW.up(t)
	const serverID = "id = fqdn:vpn.lab.example"
	swLoad(t, fmt.Sprintf(aggressiveConf,
		swConn("groupa", "aggressive = yes", "auth = psk\n"+serverID, "auth = psk\nid = keyid:GroupA", "aes128-sha1,aes128gcm16"),
		swConn("groupb", "aggressive = yes", "auth = psk\n"+serverID, "auth = psk\nid = fqdn:groupb.example", "aes128-sha1,aes128gcm16")))
	for _, tc := range []struct{ name, psk, id string }{
		{"GroupA", "psk-of-group-a", "key-id:GroupA"},
		{"FQDN", "psk-of-group-b", "fqdn:groupb.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := session(t, labSW, "pap", []string{"L2V_TEST_PSK=" + tc.psk},
				ipsecArgs("--esp-mode", "tunnel", "--ike-mode", "aggressive", "--local-id", tc.id, "--remote-id", "fqdn:vpn.lab.example")...)
			p1, _ := ikeEvents(t, evs, "tunnel")
			if p1.PeerID != "fqdn:vpn.lab.example" {
				t.Errorf("peer id %q, want fqdn:vpn.lab.example", p1.PeerID)
			}
		})
	}
	t.Run("WrongGroup", func(t *testing.T) {
		ikeFailure(t, labSW, []string{"L2V_TEST_PSK=psk-of-group-a"},
			ipsecArgs("--esp-mode", "tunnel", "--ike-mode", "aggressive", "--local-id", "key-id:Nobody"), 11, "key-id:Nobody")
	})
	t.Run("RemoteIDMismatch", func(t *testing.T) {
		ikeFailure(t, labSW, []string{"L2V_TEST_PSK=psk-of-group-a"},
			ipsecArgs("--esp-mode", "tunnel", "--ike-mode", "aggressive", "--local-id", "key-id:GroupA", "--remote-id", "fqdn:other.example"),
			16, "not the expected remote-id fqdn:other.example")
	})
}

//go:build integration

package integration

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// serverTypes reads `l2tpvpn presets --json`: what each server type sets.
func serverTypes(t *testing.T) map[string]map[string]string {
	t.Helper()
	out, err := exec.Command(bin, "presets", "--json").Output()
	if err != nil {
		t.Fatalf("l2tpvpn presets --json: %v", err)
	}
	var v struct {
		ServerTypes []struct {
			Name string            `json:"name"`
			Sets map[string]string `json:"sets"`
		} `json:"server_types"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("presets --json: %v\n%s", err, out)
	}
	m := map[string]map[string]string{}
	for _, st := range v.ServerTypes {
		m[st.Name] = st.Sets
	}
	return m
}

// presetSession connects with --server-type name and checks that what the
// server agreed to is among what the preset offers: the phase 1 and 2
// proposals and the PPP method. extra are the lab's own needs (they win
// over the preset, as explicit settings do).
func presetSession(t *testing.T, l lab, name string, sets map[string]string, user string, extra ...string) {
	t.Helper()
	args := ipsecArgs(append([]string{"--server-type", name, "--user", user}, extra...)...)
	c := startClient(t, l, pskEnv, args...)
	up := c.waitEvent("up", 60*time.Second)
	pingOnce(t, l.clientNS, l.service)
	evs := c.eventsSoFar()
	c.disconnect()
	var p1, p2 event
	dhcp := false
	for _, ev := range evs {
		switch ev.Event {
		case "ike.phase1.up":
			p1 = ev
		case "ike.phase2.up":
			p2 = ev
		case "ppp.dhcp":
			dhcp = true
		}
	}
	if sets["dhcp-inform"] == "on" && !dhcp {
		t.Errorf("%s: dhcp-inform on, but no ppp.dhcp event (SoftEther answers DHCPINFORM)", name)
	}
	if ike, ok := sets["ike"]; ok && !slices.Contains(strings.Split(ike, ","), p1.IKE) {
		t.Errorf("%s: phase 1 %q is not one of the preset's %s", name, p1.IKE, ike)
	}
	if esp, ok := sets["esp"]; ok && !slices.Contains(strings.Split(esp, ","), p2.ESP) {
		t.Errorf("%s: phase 2 %q is not one of the preset's %s", name, p2.ESP, esp)
	}
	if sets["pfs"] == "none" && strings.Contains(p2.ESP, "modp") {
		t.Errorf("%s: pfs none, but phase 2 is %s", name, p2.ESP)
	}
	if auth, ok := sets["auth"]; ok && !slices.Contains(strings.Split(auth, ","), up.Auth) {
		t.Errorf("%s: PPP authentication %q is not one of the preset's %s", name, up.Auth, auth)
	}
	t.Logf("%s: ike %s, esp %s (%s), auth %s, mtu %d", name, p1.IKE, p2.ESP, p2.Mode, up.Auth, up.MTU)
}

// Issue 12, acceptance 2: every server type connects to the lab server it
// fits best, and `l2tpvpn presets` lists them all. SoftEther accepts the
// offers of the families built for Windows clients; generic and libreswan
// go to strongSwan with l2tpns, meraki to a strongSwan set up the Meraki way
// (3DES-SHA1 modp1024 only in phase 1, no PFS) with PAP. The sw lab's
// charon runs kernel-libipsec, which has tunnel mode only: the tests say
// --esp-mode tunnel there, which wins over the presets' transport.
func TestServerTypePresets(t *testing.T) {
	sts := serverTypes(t)
	want := []string{"cisco-ios", "fortigate", "generic", "libreswan", "meraki", "mikrotik", "softether", "sonicwall", "unifi", "windows-rras"}
	for _, n := range want {
		if _, ok := sts[n]; !ok {
			t.Fatalf("presets --json lacks %s (has %v)", n, sts)
		}
	}
	if len(sts) != len(want) {
		t.Errorf("presets --json has %d server types, want %d", len(sts), len(want))
	}
	t.Run("softether", func(t *testing.T) {
		labSE.up(t)
		for _, n := range []string{"softether", "windows-rras", "mikrotik", "fortigate", "sonicwall", "unifi", "cisco-ios"} {
			t.Run(n, func(t *testing.T) { presetSession(t, labSE, n, sts[n], user) })
		}
	})
}

// TestStrongSwanServerTypePresets is TestServerTypePresets' strongSwan half,
// a test of its own so that it runs with the other sw lab tests.
func TestStrongSwanServerTypePresets(t *testing.T) {
	sts := serverTypes(t)
	t.Run("strongswan", func(t *testing.T) {
		labSW.up(t)
		t.Cleanup(func() { script(t, nil, "swconf", "", "") })
		for _, n := range []string{"generic", "libreswan"} {
			t.Run(n, func(t *testing.T) { presetSession(t, labSW, n, sts[n], user, "--esp-mode", "tunnel") })
		}
		t.Run("meraki", func(t *testing.T) {
			script(t, nil, "swconf", "3des-sha1-modp1024", "aes128-sha1,3des-sha1")
			presetSession(t, labSW, "meraki", sts["meraki"], user, "--esp-mode", "tunnel")
		})
	})
}

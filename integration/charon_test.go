//go:build integration

package integration

// --ipsec strongswan: a real charon in the client namespace (lab swc, charon
// 5.9.8 with kernel-libipsec, no connections of its own) does IKE and ESP,
// driven by the client over its VICI socket; the server is the sw lab
// (strongSwan responder in tunnel mode, l2tpns behind it).

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/ike/vici"
)

// swcDir is the client-side charon's directory (scripts/lab.sh, lab swc).
func swcDir() string {
	if d := os.Getenv("L2V_LAB_DIR"); d != "" {
		return filepath.Join(d, "swc")
	}
	return "/run/l2tpvpn-lab/swc"
}

func charonArgs(extra ...string) []string {
	return append([]string{"--ipsec", "strongswan", "--vici-socket", filepath.Join(swcDir(), "charon.vici"),
		"--psk-env", "L2V_TEST_PSK"}, extra...)
}

// nothingOfOurs checks, over VICI and with swanctl, that the client's charon
// has no conn, key or SA of ours.
func nothingOfOurs(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conns, keys, sas, err := vici.Loaded(ctx, filepath.Join(swcDir(), "charon.vici"))
	if err != nil {
		t.Fatalf("asking the client's charon: %v", err)
	}
	if len(conns)+len(keys)+len(sas) != 0 {
		t.Errorf("charon still has conns %v, shared keys %v, SAs %v of ours", conns, keys, sas)
	}
	for _, what := range []string{"--list-conns", "--list-sas"} {
		cmd := exec.Command("swanctl", what, "--uri", "unix://"+filepath.Join(swcDir(), "charon.vici"))
		cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+filepath.Join(swcDir(), "strongswan.conf"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("swanctl %s: %v", what, err)
		}
		if s := strings.TrimSpace(string(out)); s != "" {
			t.Errorf("swanctl %s on the client's charon is not empty:\n%s", what, s)
		}
	}
}

func TestStrongSwanDelegated(t *testing.T) {
	labSW.up(t)
	script(t, nil, "up", "swc")
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command(filepath.Join(root, "scripts", "lab.sh"), "logs", "swc").CombinedOutput()
			t.Logf("client charon log:\n%s", tail(string(out), 80))
		}
		exec.Command(filepath.Join(root, "scripts", "lab.sh"), "down", "swc").Run()
	})
	nothingOfOurs(t)

	t.Run("Tunnel", func(t *testing.T) {
		clear := clearL2TP(t)
		capt := startCapture(t, labSW.clientNS, "l2v-sw-c0")
		evs := session(t, labSW, "pap", pskEnv, charonArgs("--esp-mode", "tunnel")...)
		capt.stop(t)
		var p1, p2 event
		for _, ev := range evs {
			switch {
			case ev.Event == "ike.phase1.up":
				p1 = ev
			case ev.Event == "ike.phase2.up" && p2.Event == "":
				p2 = ev
			case ev.Event == "l2tp.tunnel.up" && p2.Event == "":
				t.Errorf("l2tp.tunnel.up before ike.phase2.up")
			}
		}
		if p1.IKE == "" || p1.PeerID != labSW.server || p2.ESP == "" || p2.Mode != "tunnel" || len(p2.SPIIn) != 8 {
			t.Errorf("charon's SAs are not reported: %+v / %+v", p1, p2)
		}
		t.Logf("charon: phase 1 %s (server id %s), phase 2 %s %s, spi in %s", p1.IKE, p1.PeerID, p2.ESP, p2.Mode, p2.SPIIn)
		if n := clearL2TP(t) - clear; n != 0 {
			t.Errorf("the server dropped %d L2TP datagrams that came in the clear", n)
		}
		// On the wire: IKE on 500, ESP in UDP on 4500, nothing else of ours.
		empty := t.TempDir()
		ours := "!(ip.dst == 224.0.0.0/4)"
		ike := countLines(tshark(t, empty, "-r", capt.file, "-Y", ours+" && udp.port == 500"))
		espN := countLines(tshark(t, empty, "-r", capt.file, "-Y", ours+" && udp.port == 4500 && esp"))
		other := tshark(t, empty, "-r", capt.file, "-Y", ours+" && !(udp.port == 500 || udp.port == 4500)")
		t.Logf("capture: %d IKE on 500, %d ESP-in-UDP on 4500, %d other UDP", ike, espN, countLines(other))
		if ike == 0 || espN < 1000 || countLines(other) != 0 {
			t.Errorf("want IKE and only ESP-in-UDP on the wire; other UDP:\n%s", tail(other, 10))
		}
		nothingOfOurs(t)
	})

	t.Run("Status", func(t *testing.T) {
		c := startClient(t, labSW, pskEnv, charonArgs("--esp-mode", "tunnel", "--name", "l2v-dlg")...)
		p2 := c.waitEvent("ike.phase2.up", 30*time.Second)
		c.waitEvent("up", 30*time.Second)
		out, err := inNS(labSW.clientNS, bin, "status", "l2v-dlg", "--json")
		if err != nil {
			t.Fatalf("status: %v\n%s", err, out)
		}
		var s struct {
			IPsec  string `json:"ipsec"`
			Charon *struct {
				Conn string `json:"conn"`
				IKE  *struct {
					Name, State, Alg string
				} `json:"ike_sa"`
				Child *struct {
					Name, State, Mode, Alg string
					SPIIn                  string `json:"spi_in"`
					SPIOut                 string `json:"spi_out"`
				} `json:"child_sa"`
			} `json:"charon"`
		}
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
		if s.IPsec != "strongswan" || s.Charon == nil || s.Charon.IKE == nil || s.Charon.Child == nil {
			t.Fatalf("status does not show the delegated SAs:\n%s", out)
		}
		if s.Charon.Conn != "l2tpvpn-l2v-dlg" || s.Charon.IKE.State != "ESTABLISHED" || s.Charon.Child.State != "INSTALLED" ||
			s.Charon.Child.Mode != "tunnel" || s.Charon.Child.SPIIn != p2.SPIIn || s.Charon.Child.Alg == "" || s.Charon.IKE.Alg == "" {
			t.Errorf("status shows %+v / %+v / %+v, event spi %s", *s.Charon, *s.Charon.IKE, *s.Charon.Child, p2.SPIIn)
		}
		text, err := inNS(labSW.clientNS, bin, "status", "l2v-dlg")
		if err != nil || !strings.Contains(text, "delegated to strongSwan's charon") || !strings.Contains(text, "spi in "+p2.SPIIn) {
			t.Errorf("status text lacks the delegation and SPIs: %v\n%s", err, text)
		}
		t.Logf("status:\n%s", text)
		c.disconnect()
		nothingOfOurs(t)
	})

	t.Run("RekeyAndLoss", func(t *testing.T) {
		// The client's charon rekeys the CHILD_SA (30 s lifetime: at about
		// 27 s; the responder's lifetime is an hour, so no collisions).
		// Then the responder drops the IKE SA altogether, which the client
		// must treat as a link loss and reconnect. (A responder-initiated
		// rekey does not work between two charons here: the responder
		// proposes its configured PFS group, which the conn we load, like
		// the built-in default, does not offer.)
		c := startClient(t, labSW, pskEnv, charonArgs("--esp-mode", "tunnel", "--esp-lifetime", "30s",
			"--reconnect", "--reconnect-delay", "1s")...)
		first := c.waitEvent("ike.phase2.up", 30*time.Second)
		c.waitEvent("up", 30*time.Second)
		re := c.waitEvent("ike.phase2.up", 45*time.Second)
		if !re.Rekey || re.SPIIn == first.SPIIn {
			t.Errorf("after a rekey: %+v (first spi %s)", re, first.SPIIn)
		}
		if out, err := inNS(labSW.clientNS, "ping", "-c", "3", "-W", "3", "-I", "l2v-tun0", labSW.service); err != nil {
			t.Fatalf("ping after the rekey: %v\n%s", err, out)
		}
		t.Logf("child SA rekeyed: spi in %s -> %s", first.SPIIn, re.SPIIn)
		// swconf terminates the responder's IKE SAs.
		script(t, nil, "swconf", "", "")
		rec := c.waitEvent("reconnecting", 60*time.Second)
		up := c.waitEvent("up", 60*time.Second)
		if up.Reconnects != 1 {
			t.Errorf("up after the loss: reconnects %d, want 1", up.Reconnects)
		}
		t.Logf("lost SAs -> reconnecting (attempt %d, %q) -> up again after %d ms", rec.Attempt, rec.Error, up.ElapsedMS)
		if out, err := inNS(labSW.clientNS, "ping", "-c", "3", "-W", "3", "-I", "l2v-tun0", labSW.service); err != nil {
			t.Fatalf("ping after the reconnect: %v\n%s", err, out)
		}
		c.disconnect()
		nothingOfOurs(t)
	})

	t.Run("TransportNoKernelESP", func(t *testing.T) {
		start := time.Now()
		d := ikeFailure(t, labSW, pskEnv, charonArgs("--esp-mode", "transport"), 13, "transport mode")
		if time.Since(start) > 15*time.Second || !strings.Contains(d.Error, "--ipsec on") {
			t.Errorf("after %v: %q (want a quick failure that suggests the built-in IPsec)", time.Since(start), d.Error)
		}
		nothingOfOurs(t)
	})

	t.Run("NoSocket", func(t *testing.T) {
		args := charonArgs("--esp-mode", "tunnel", "--vici-socket", filepath.Join(swcDir(), "missing.vici"))
		d := ikeFailure(t, labSW, pskEnv, args, 13, "missing.vici")
		if !strings.Contains(d.Error, "is charon running") {
			t.Errorf("error does not say what to check: %q", d.Error)
		}
	})

	t.Run("WrongPSK", func(t *testing.T) {
		start := time.Now()
		ikeFailure(t, labSW, []string{"L2V_TEST_PSK=not-the-key"}, charonArgs("--esp-mode", "tunnel"), 11, "pre-shared key")
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("a wrong key took %v to report", d)
		}
		nothingOfOurs(t)
	})

	t.Run("SignalDuringSetup", func(t *testing.T) {
		// Nobody answers IKE at 192.0.2.40 (on the lab's link, unused):
		// charon retransmits while the client waits; Ctrl-C then must
		// still unload everything.
		c := startClient(t, labSW, pskEnv, charonArgs("--esp-mode", "tunnel", "--server", "192.0.2.40")...)
		c.waitEvent("connecting", 10*time.Second)
		deadline := time.Now().Add(10 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			conns, _, sas, err := vici.Loaded(ctx, filepath.Join(swcDir(), "charon.vici"))
			cancel()
			if err == nil && len(conns) == 1 && len(sas) == 1 {
				break // charon is negotiating for us
			}
			if time.Now().After(deadline) {
				t.Fatalf("charon never had our conn and SA: %v %v %v", conns, sas, err)
			}
			time.Sleep(50 * time.Millisecond) // polling charon's state
		}
		d := c.disconnect()
		t.Logf("interrupted during IKE: down %q %q", d.Reason, d.Error)
		nothingOfOurs(t)
	})

	t.Run("KilledThenCleanup", func(t *testing.T) {
		// SIGKILL leaves the conn, key and SAs in charon (and the routes);
		// `disconnect --cleanup NAME` removes them.
		before := hostState(t, labSW.clientNS)
		c := startClient(t, labSW, pskEnv, charonArgs("--esp-mode", "tunnel", "--name", "l2v-kill")...)
		c.waitEvent("up", 30*time.Second)
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		c.wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conns, keys, sas, err := vici.Loaded(ctx, filepath.Join(swcDir(), "charon.vici"))
		cancel()
		if err != nil || len(conns) != 1 || len(keys) != 1 || len(sas) != 1 {
			t.Fatalf("after SIGKILL charon has %v %v %v (%v), want our conn, key and SA", conns, keys, sas, err)
		}
		out, err := inNS(labSW.clientNS, bin, "disconnect", "--cleanup", "l2v-kill")
		t.Logf("disconnect --cleanup:\n%s", strings.TrimSpace(out))
		if err != nil || !strings.Contains(out, "terminated and unloaded l2tpvpn-l2v-kill") {
			t.Fatalf("disconnect --cleanup: %v", err)
		}
		nothingOfOurs(t)
		if after := hostState(t, labSW.clientNS); after != before {
			t.Errorf("host state not restored:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})

	t.Run("NoKernelESP", func(t *testing.T) {
		// charon with kernel ESP (xfrm) instead of kernel-libipsec: on a
		// kernel without ESP it negotiates the SAs and cannot install them.
		script(t, nil, "down", "swc")
		script(t, []string{"L2V_SWC_ESP=kernel"}, "up", "swc")
		if kernelHasESP(t, labSW.clientNS) {
			t.Fatalf("this kernel has ESP: the test needs one without (the lab's premise)")
		}
		// (Only tunnel mode: the sw responder refuses transport mode in
		// Quick Mode, before anything would be installed.)
		for _, mode := range []string{"tunnel"} {
			start := time.Now()
			d := ikeFailure(t, labSW, pskEnv, charonArgs("--esp-mode", mode), 13, "cannot install")
			if time.Since(start) > 15*time.Second || !strings.Contains(d.Error, "kernel") || !strings.Contains(d.Error, "--ipsec on") {
				t.Errorf("%s mode, after %v: %q", mode, time.Since(start), d.Error)
			}
			nothingOfOurs(t)
		}
	})
}

// kernelHasESP tries to add an ESP state to the namespace's kernel.
func kernelHasESP(t *testing.T, ns string) bool {
	t.Helper()
	key16, key20 := "0x"+strings.Repeat("11", 16), "0x"+strings.Repeat("22", 20)
	_, err := inNS(ns, "ip", "xfrm", "state", "add", "src", "192.0.2.34", "dst", "192.0.2.33", "proto", "esp",
		"spi", "0x4c320001", "enc", "cbc(aes)", key16, "auth", "hmac(sha1)", key20, "mode", "tunnel")
	if err != nil {
		return false
	}
	inNS(ns, "ip", "xfrm", "state", "delete", "src", "192.0.2.34", "dst", "192.0.2.33", "proto", "esp", "spi", "0x4c320001")
	return true
}

//go:build integration

package integration

// L2TP/IPsec against real servers: SoftEther (transport mode, on a flat link
// and behind a NAT router) and strongSwan charon in tunnel mode with l2tpns
// behind it. Our IKEv1 and ESP are the only IPsec code on the client side.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const psk = "l2v-psk"

var pskEnv = []string{"L2V_TEST_PSK=" + psk}

func ipsecArgs(extra ...string) []string {
	return append([]string{"--ipsec=on", "--psk-env", "L2V_TEST_PSK"}, extra...)
}

// ikeEvents checks the IPsec events of a connection and returns them.
func ikeEvents(t *testing.T, evs []event, mode string) (p1, p2 event) {
	t.Helper()
	var n1, n2 int
	for _, ev := range evs {
		switch ev.Event {
		case "ike.phase1.up":
			p1 = ev
			n1++
		case "ike.phase2.up":
			if n2 == 0 {
				p2 = ev
			}
			n2++
		case "l2tp.tunnel.up":
			if n2 == 0 {
				t.Errorf("l2tp.tunnel.up before ike.phase2.up")
			}
		}
	}
	if n1 != 1 || n2 < 1 {
		t.Fatalf("ike.phase1.up %d times, ike.phase2.up %d times", n1, n2)
	}
	if p1.IKE == "" || p1.NATT == "" || p2.ESP == "" || p2.Mode != mode || p2.SPIIn == "" {
		t.Errorf("ike events lack the negotiated algorithms: %+v / %+v", p1, p2)
	}
	t.Logf("phase 1 %s (nat-t %s, peer id %s), phase 2 %s %s", p1.IKE, p1.NATT, p1.PeerID, p2.ESP, p2.Mode)
	return p1, p2
}

// capture runs tshark in the client namespace until stop is called.
type capture struct {
	cmd  *exec.Cmd
	file string
}

func startCapture(t *testing.T, ns, iface string) *capture {
	t.Helper()
	file := filepath.Join(t.TempDir(), "capture.pcap")
	cmd := exec.Command("ip", "netns", "exec", ns, "tshark", "-q", "-i", iface, "-f", "udp", "-w", file)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("tshark: %v", err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	// tshark creates the file once it captures.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(file); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tshark did not start capturing on %s", iface)
		}
		time.Sleep(100 * time.Millisecond) // polling for tshark's output file
	}
	return &capture{cmd: cmd, file: file}
}

func (c *capture) stop(t *testing.T) {
	c.cmd.Process.Signal(syscall.SIGINT)
	c.cmd.Wait()
}

// tshark runs tshark on a capture and returns its output.
func tshark(t *testing.T, configDir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("tshark", append([]string{"-n"}, args...)...)
	cmd.Env = append(os.Environ(), "WIRESHARK_CONFIG_DIR="+configDir, "HOME="+configDir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output() // stdout only: tshark warns about root on stderr
	if err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, tail(stderr.String(), 20))
	}
	return string(out)
}

func countLines(s string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	return n
}

func TestSoftEtherIPsec(t *testing.T) {
	labSE.up(t)
	t.Run("MSCHAPv2", func(t *testing.T) {
		// With a capture and the keys exported for Wireshark.
		keys := t.TempDir()
		capt := startCapture(t, labSE.clientNS, "l2v-se-c0")
		evs := session(t, labSE, "mschapv2", pskEnv, ipsecArgs("-v", "--wireshark-keys", keys)...)
		capt.stop(t)
		_, p2 := ikeEvents(t, evs, "transport")
		if p2.ESP != "aes256-sha1" {
			t.Errorf("default proposals: SoftEther chose %s, want aes256-sha1 (the first it supports)", p2.ESP)
		}
		checkCapture(t, capt.file, keys)
	})
	t.Run("PAP", func(t *testing.T) {
		evs := session(t, labSE, "pap", pskEnv, ipsecArgs()...)
		ikeEvents(t, evs, "transport")
	})
	t.Run("WrongPSK", func(t *testing.T) {
		ikeFailure(t, labSE, []string{"L2V_TEST_PSK=not-the-key"}, ipsecArgs(), 11, "pre-shared key")
	})
	t.Run("NoProposalChosen", func(t *testing.T) {
		// SoftEther has no GCM and no SHA2 HMACs in ESP.
		d := ikeFailure(t, labSE, pskEnv, ipsecArgs("--esp", "aes256gcm16,aes128-sha256"), 10, "no proposal chosen")
		if !strings.Contains(d.Error, "aes256gcm16, aes128-sha256") && !strings.Contains(d.Error, "aes256gcm16,aes128-sha256") {
			t.Errorf("the error does not list what was offered: %q", d.Error)
		}
	})
	t.Run("Proposals", func(t *testing.T) {
		// One by one, each phase 1 and phase 2 algorithm SoftEther accepts,
		// the others left at a common value.
		var ikeList, espList []string
		for _, e := range []string{"aes128", "aes192", "aes256", "3des"} {
			ikeList = append(ikeList, e+"-sha1-modp2048")
		}
		for _, h := range []string{"md5", "sha256", "sha384", "sha512"} {
			ikeList = append(ikeList, "aes128-"+h+"-modp2048")
		}
		for _, g := range []string{"modp1024", "modp1536", "modp3072", "modp4096"} {
			ikeList = append(ikeList, "aes128-sha1-"+g)
		}
		for _, e := range []string{"aes128", "aes192", "aes256", "3des"} {
			for _, i := range []string{"sha1", "md5"} {
				espList = append(espList, e+"-"+i)
			}
		}
		espList = append(espList, "aes128-sha1-modp2048") // PFS
		for _, p := range ikeList {
			phase2Only(t, labSE, p, "aes128-sha1", "transport")
		}
		for _, p := range espList {
			phase2Only(t, labSE, "aes128-sha1-modp2048", p, "transport")
		}
	})
}

// phase2Only connects with exactly these proposals until the first child SA
// is up, checks what was negotiated, and disconnects.
func phase2Only(t *testing.T, l lab, ikeP, espP, mode string) {
	t.Helper()
	start := time.Now()
	c := startClient(t, l, pskEnv, ipsecArgs("--ike", ikeP, "--esp", espP, "--esp-mode", mode)...)
	p1 := c.waitEvent("ike.phase1.up", 30*time.Second)
	p2 := c.waitEvent("ike.phase2.up", 30*time.Second)
	if p1.IKE != ikeP || p2.ESP != espP || p2.Mode != mode {
		t.Errorf("offered %s / %s, negotiated %s / %s %s", ikeP, espP, p1.IKE, p2.ESP, p2.Mode)
	}
	t.Logf("%-24s %-22s phase 2 up after %4d ms", ikeP, espP, time.Since(start).Milliseconds())
	c.waitEvent("l2tp.tunnel.up", 30*time.Second) // L2TP works through the SA
	c.disconnect()
}

// ikeFailure expects the connection to fail in IKE with code and text.
func ikeFailure(t *testing.T, l lab, env, args []string, code int, text string) event {
	t.Helper()
	before := hostState(t, l.clientNS)
	start := time.Now()
	c := startClient(t, l, env, args...)
	got := c.wait()
	d := c.last("down")
	t.Logf("exit %d after %v: %s", got, time.Since(start).Round(time.Millisecond), d.Error)
	if got != code {
		t.Fatalf("exit code %d, want %d", got, code)
	}
	if !strings.Contains(d.Error, text) || !strings.HasPrefix(d.Error, "ike: ") {
		t.Errorf("error %q does not say %q in phase ike", d.Error, text)
	}
	if strings.Contains(c.stderr.String()+d.Error, "not-the-key") || strings.Contains(c.stderr.String()+d.Error, psk) {
		t.Errorf("the pre-shared key appears in the output")
	}
	if after := hostState(t, l.clientNS); after != before {
		t.Errorf("host state changed")
	}
	return d
}

// checkCapture: on the wire only IKE and ESP-in-UDP, no clear L2TP, no
// malformed packets; with the exported keys Wireshark decrypts the ESP and
// finds L2TP and PPP inside.
func checkCapture(t *testing.T, file, keys string) {
	t.Helper()
	empty := t.TempDir()
	if clear := tshark(t, empty, "-r", file, "-Y", "udp.port == 1701 && !esp"); countLines(clear) != 0 {
		t.Errorf("L2TP datagrams in the clear:\n%s", clear)
	}
	isakmp := countLines(tshark(t, empty, "-r", file, "-Y", "isakmp"))
	espN := countLines(tshark(t, empty, "-r", file, "-Y", "esp"))
	if isakmp < 8 || espN < 100 {
		t.Errorf("capture has %d ISAKMP and %d ESP packets", isakmp, espN)
	}
	if v := tshark(t, empty, "-r", file, "-V", "-Y", "isakmp"); strings.Contains(strings.ToLower(v), "malformed") {
		i := strings.Index(strings.ToLower(v), "malformed")
		t.Errorf("tshark finds a malformed ISAKMP packet: ...%s...", v[max(0, i-300):i+50])
	}
	dec := []string{"-r", file, "-o", "esp.enable_encryption_decode:TRUE"}
	l2tpN := countLines(tshark(t, keys, append(dec, "-Y", "esp && l2tp")...))
	pppN := countLines(tshark(t, keys, append(dec, "-Y", "esp && (lcp || chap || pap || ipcp)")...))
	decIKE := tshark(t, keys, append(dec, "-V", "-Y", "isakmp.exchangetype == 32")...)
	t.Logf("capture: %d ISAKMP, %d ESP; decrypted: %d with L2TP inside, %d with PPP control inside", isakmp, espN, l2tpN, pppN)
	if l2tpN < 100 || pppN < 4 {
		t.Errorf("with the exported keys tshark finds %d L2TP and %d PPP control packets inside ESP", l2tpN, pppN)
	}
	if !strings.Contains(decIKE, "Nonce") {
		t.Errorf("with the exported keys tshark does not decrypt Quick Mode")
	}
	if v := tshark(t, keys, append(dec, "-V")...); strings.Contains(strings.ToLower(v), "malformed") {
		i := strings.Index(strings.ToLower(v), "malformed")
		t.Errorf("decrypted capture has a malformed packet: ...%s...", v[max(0, i-400):i+50])
	}
}

func TestSoftEtherIPsecNAT(t *testing.T) {
	labSE.up(t)
	script(t, nil, "up", "senat")
	settle(t, labSENAT.clientNS)
	t.Cleanup(func() { exec.Command(filepath.Join(root, "scripts", "lab.sh"), "down", "senat").Run() })
	t.Run("MSCHAPv2", func(t *testing.T) {
		evs := session(t, labSENAT, "mschapv2", pskEnv, ipsecArgs()...)
		ikeEvents(t, evs, "transport")
	})
	t.Run("RekeyAndDPD", func(t *testing.T) {
		// Our own rekey: a 30 s ESP lifetime is rekeyed at about 27 s; a
		// ping every 200 ms across it must lose nothing. DPD every 5 s.
		c := startClient(t, labSENAT, pskEnv, ipsecArgs("--esp-lifetime", "30s", "--dpd-delay", "5s")...)
		c.waitEvent("up", 30*time.Second)
		out, err := inNS(labSENAT.clientNS, "ping", "-q", "-c", "180", "-i", "0.2", "-W", "2", "-I", "l2v-tun0", labSENAT.service)
		t.Logf("ping across the rekey: %s", lastLines(out, 2))
		if err != nil || !strings.Contains(out, " 0% packet loss") {
			t.Errorf("ping across the rekey lost packets: %v\n%s", err, out)
		}
		rekeys := 0
		for _, ev := range c.eventsSoFar() {
			if ev.Event == "ike.phase2.up" && ev.Rekey {
				rekeys++
			}
		}
		d := c.disconnect()
		if rekeys < 1 {
			t.Errorf("no rekey within 36 s of a 30 s ESP lifetime")
		}
		if d.Stats != nil && (d.Stats.ESPAuthFailed != 0 || d.Stats.ESPInvalid != 0) {
			t.Errorf("ESP drops: %+v", *d.Stats)
		}
		waitNoSessions(t, labSE)
	})
}

func lastLines(s string, n int) string { return strings.TrimSpace(tail(strings.TrimSpace(s), n)) }

func TestStrongSwanL2TPNS(t *testing.T) {
	labSW.up(t)
	for _, auth := range []string{"pap", "chap"} {
		t.Run(strings.ToUpper(auth), func(t *testing.T) {
			evs := session(t, labSW, auth, pskEnv, ipsecArgs("--esp-mode", "tunnel")...)
			ikeEvents(t, evs, "tunnel")
		})
	}
	if n := clearL2TP(t); n != 0 {
		t.Errorf("the server dropped %d L2TP datagrams that came in the clear", n)
	}
	t.Run("WrongPSK", func(t *testing.T) {
		ikeFailure(t, labSW, []string{"L2V_TEST_PSK=not-the-key"}, ipsecArgs("--esp-mode", "tunnel"), 11, "pre-shared key")
	})
	t.Run("NoProposalChosen", func(t *testing.T) {
		script(t, nil, "swconf", "aes256-sha256-modp2048", "aes256gcm16")
		defer script(t, nil, "swconf", "", "")
		d := ikeFailure(t, labSW, pskEnv, ipsecArgs("--esp-mode", "tunnel", "--ike", "aes128-sha1-modp1024,3des-md5-modp1536"), 10, "no proposal chosen")
		if !strings.Contains(d.Error, "aes128-sha1-modp1024") || !strings.Contains(d.Error, "3des-md5-modp1536") {
			t.Errorf("the error does not list what was offered: %q", d.Error)
		}
	})
}

func clearL2TP(t *testing.T) int {
	out := strings.TrimSpace(script(t, nil, "counter", "sw", "l2tp-clear"))
	n, err := strconv.Atoi(out)
	if err != nil {
		t.Fatalf("lab.sh counter: %q", out)
	}
	return n
}

// TestStrongSwanProposals: for each proposal of our default lists, a charon
// that accepts only that one completes Main Mode and Quick Mode with our
// default offer (including what SoftEther lacks: GCM, SHA2 ESP, ECP).
func TestStrongSwanProposals(t *testing.T) {
	labSW.up(t)
	const anyIKE, anyESP = "", ""
	defIKE := strings.Split(defaultList(t, "--ike"), ",")
	defESP := strings.Split(defaultList(t, "--esp"), ",")
	for _, p := range defIKE {
		script(t, nil, "swconf", p, anyESP)
		phase2Default(t, p, "")
	}
	for _, p := range defESP {
		script(t, nil, "swconf", anyIKE, p)
		phase2Default(t, "", p)
	}
}

// defaultList reads a flag's default proposal list from the settings a dry
// run prints (connect --help shortens the long lists).
func defaultList(t *testing.T, flag string) string {
	cmd := exec.Command(bin, "connect", "--dry-run", "--server", "192.0.2.1", "--user", "u",
		"--password", "env:L2V_DRY_SECRET", "--psk", "env:L2V_DRY_SECRET")
	cmd.Env = append(os.Environ(), "L2V_DRY_SECRET=x")
	out, _ := cmd.CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 2 && "--"+f[0] == flag {
			return f[1]
		}
	}
	t.Fatalf("no %s in connect --dry-run:\n%s", flag, out)
	return ""
}

func phase2Default(t *testing.T, wantIKE, wantESP string) {
	t.Helper()
	start := time.Now()
	c := startClient(t, labSW, pskEnv, ipsecArgs("--esp-mode", "tunnel")...)
	p1 := c.waitEvent("ike.phase1.up", 30*time.Second)
	p2 := c.waitEvent("ike.phase2.up", 30*time.Second)
	c.waitEvent("l2tp.tunnel.up", 30*time.Second)
	if (wantIKE != "" && p1.IKE != wantIKE) || (wantESP != "" && p2.ESP != wantESP) {
		t.Errorf("charon accepting only %s%s: negotiated %s / %s", wantIKE, wantESP, p1.IKE, p2.ESP)
	}
	t.Logf("charon accepts %-24s -> %-24s %-16s up in %4d ms", wantIKE+wantESP, p1.IKE, p2.ESP, time.Since(start).Milliseconds())
	c.disconnect()
}

// TestStrongSwanRekey: charon rekeys the child SA every 60 s during a
// continuous TCP transfer through the tunnel; the stream must survive.
func TestStrongSwanRekey(t *testing.T) {
	labSW.up(t, "L2V_SW_REKEY=60")
	c := startClient(t, labSW, pskEnv, ipsecArgs("--esp-mode", "tunnel", "--auth", "pap")...)
	c.waitEvent("up", 30*time.Second)
	out, err := inNS(labSW.clientNS, "iperf3", "-c", labSW.service, "-t", "135", "-b", "20M", "-i", "0", "--connect-timeout", "5000")
	t.Logf("iperf3 through two rekeys:\n%s", lastLines(out, 5))
	if err != nil {
		t.Errorf("iperf3 failed (broken TCP stream?): %v\n%s", err, out)
	}
	var rekeys []string
	for _, ev := range c.eventsSoFar() {
		if ev.Event == "ike.phase2.up" && ev.Rekey {
			rekeys = append(rekeys, fmt.Sprintf("%s at %d ms", ev.SPIIn, ev.ElapsedMS))
		}
	}
	t.Logf("rekeys: %v", rekeys)
	if len(rekeys) < 2 {
		t.Errorf("%d child SA rekeys in 135 s with a 60 s rekey time, want at least 2", len(rekeys))
	}
	d := c.disconnect()
	if d.Stats != nil && (d.Stats.ESPAuthFailed != 0 || d.Stats.ESPInvalid != 0 || d.Stats.ESPReplayed > 10) {
		t.Errorf("ESP drops: %+v", *d.Stats)
	}
}

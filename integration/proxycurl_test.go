//go:build integration

package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startInNS starts a daemon in a namespace for the rest of the test (its
// process group killed at the end) and waits until ready says it is up.
func startInNS(t *testing.T, ns string, ready func() bool, args ...string) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for !ready() {
		if time.Now().After(deadline) {
			t.Fatalf("%v did not come up", args)
		}
		time.Sleep(100 * time.Millisecond) // polling a daemon we do not control
	}
}

// Issue 13, acceptance 1: proxy mode in --background as uid 65534 with every
// capability dropped, against SoftEther with IPsec and against l2tpns with
// plain L2TP. Behind each server a web server and a DNS server (dnsmasq)
// sit on the service address, which only the tunnel reaches, and the name
// web.lab.example exists only there (the client namespace's own resolver,
// 192.0.2.53, does not answer). curl through the SOCKS5 proxy
// (--socks5-hostname: the proxy resolves the name through the tunnel's DNS)
// and through the HTTP proxy fetch a page and a 20 MiB file, verified
// against the server's SHA-256; a TCP forward carries an iperf3 run and a
// UDP forward a DNS query; the host is unchanged throughout.
func TestProxyModeCurl(t *testing.T) {
	for _, tc := range []struct {
		name string
		lab  lab
		env  []string
		args []string
	}{
		{"softether-ipsec", labSE, nil, []string{"--ipsec=on", "--psk-env", "L2V_TEST_PSK"}},
		{"l2tpns-plain", labL2TPNS, []string{"L2V_LNS_DNS=" + labL2TPNS.service}, []string{"--ipsec=off", "--auth", "pap"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.lab
			l.up(t, tc.env...)
			if l.name == "se" {
				// SecureNAT's DHCP (and so IPCP) hands out the DNS server
				// behind the tunnel.
				set := func(dns string) []string {
					return []string{"vpncmd", "se", "DhcpSet", "/START:198.51.100.10", "/END:198.51.100.100", "/MASK:255.255.255.0",
						"/EXPIRE:7200", "/GW:198.51.100.1", "/DNS:" + dns, "/DNS2:none", "/DOMAIN:none", "/LOG:yes", "/PUSHROUTE:none"}
				}
				script(t, nil, set(l.service)...)
				t.Cleanup(func() { script(t, nil, set("198.51.100.1")...) })
			}
			startInNS(t, l.serverNS, func() bool {
				out, err := inNS(l.serverNS, labtool, "dns", l.service+":53", "web.lab.example")
				return err == nil && strings.Contains(out, l.service)
			}, "dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
				"--listen-address="+l.service, "--address=/web.lab.example/"+l.service, "--pid-file=")
			startInNS(t, l.serverNS, func() bool {
				_, err := inNS(l.serverNS, "curl", "-sf", "-o", "/dev/null", "http://"+l.service+":8080/hello")
				return err == nil
			}, labtool, "http", l.service+":8080")
			if out, err := inNS(l.clientNS, labtool, "dns", "192.0.2.53:53", "web.lab.example"); err == nil {
				t.Fatalf("the client namespace's own resolver knows web.lab.example: %s", out)
			}

			e := newNobodyEnv(t)
			before := hostState(t, l.clientNS)
			args := append([]string{"connect", "--proxy", "--background", "--json", "--server", l.server, "--user", user,
				"--password-env", "L2V_TEST_PASSWORD", "--name", "l2v-proxy", "--proxy-listen", "127.0.0.1:1080",
				"--forward", "tcp:127.0.0.1:15201=" + l.service + ":5201", "--forward", "udp:127.0.0.1:15353=" + l.service + ":53"},
				tc.args...)
			cmd := e.command(l.clientNS, args...)
			cmd.Env = append(cmd.Env, "L2V_TEST_PSK="+psk)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("connect --proxy --background as uid 65534: %v\n%s", err, out)
			}
			t.Cleanup(func() {
				if out, err := e.command(l.clientNS, "disconnect", "l2v-proxy").CombinedOutput(); err != nil {
					t.Errorf("disconnect as uid 65534: %v\n%s", err, out)
				}
				if after := hostState(t, l.clientNS); after != before {
					t.Errorf("proxy mode changed the host:\nbefore:\n%s\nafter:\n%s", before, after)
				}
			})

			page, err := inNS(l.clientNS, "curl", "-sS", "--max-time", "20", "--socks5-hostname", "127.0.0.1:1080", "http://web.lab.example:8080/hello")
			if err != nil || !strings.Contains(page, "hello from the l2tpvpn lab, web.lab.example:8080") {
				t.Fatalf("curl --socks5-hostname: %v\n%s", err, page)
			}
			page, err = inNS(l.clientNS, "curl", "-sS", "--max-time", "20", "-x", "http://127.0.0.1:1080", "http://web.lab.example:8080/hello")
			if err != nil || !strings.Contains(page, "hello from the l2tpvpn lab") {
				t.Fatalf("curl -x http://: %v\n%s", err, page)
			}
			for _, via := range [][]string{{"--socks5-hostname", "127.0.0.1:1080"}, {"-x", "http://127.0.0.1:1080"}} {
				file := filepath.Join(t.TempDir(), "blob")
				start := time.Now()
				hdr, err := inNS(l.clientNS, append(append([]string{"curl", "-sS", "--max-time", "120", "-D", "-", "-o", file}, via...),
					"http://web.lab.example:8080/blob/20971520/42")...)
				if err != nil {
					t.Fatalf("curl %v 20 MiB: %v\n%s", via, err, hdr)
				}
				want := regexp.MustCompile(`(?i)x-sha256: ([0-9a-f]{64})`).FindStringSubmatch(hdr)
				b, _ := os.ReadFile(file)
				sum := sha256.Sum256(b)
				if len(b) != 20<<20 || want == nil || hex.EncodeToString(sum[:]) != want[1] {
					t.Fatalf("curl %v: %d bytes, sha256 %x, server says %v", via, len(b), sum, want)
				}
				t.Logf("%s: 20 MiB through %s in %v (%.0f Mbit/s)", tc.name, via[0], time.Since(start).Round(time.Millisecond),
					float64(20<<20*8)/time.Since(start).Seconds()/1e6)
			}

			// UDP forward to the DNS server behind the tunnel.
			if out, err := inNS(l.clientNS, labtool, "dns", "127.0.0.1:15353", "web.lab.example"); err != nil || !strings.Contains(out, l.service) {
				t.Errorf("DNS through the UDP forward: %v\n%s", err, out)
			}
			// TCP forward to iperf3 behind the tunnel.
			out2, err := inNS(l.clientNS, "iperf3", "-c", "127.0.0.1", "-p", "15201", "-t", "3", "-J")
			if err != nil {
				t.Fatalf("iperf3 through the TCP forward: %v\n%s", err, tail(out2, 20))
			}
			var ip struct {
				End struct {
					SumReceived struct {
						BitsPerSecond float64 `json:"bits_per_second"`
					} `json:"sum_received"`
				} `json:"end"`
			}
			if err := json.Unmarshal([]byte(out2), &ip); err != nil || ip.End.SumReceived.BitsPerSecond <= 0 {
				t.Fatalf("iperf3 result: %v\n%s", err, tail(out2, 20))
			}
			t.Logf("%s: iperf3 through the TCP forward: %.0f Mbit/s", tc.name, ip.End.SumReceived.BitsPerSecond/1e6)

			// exec in proxy mode: the command gets the proxy variables
			// (curl resolves the name through socks5h://) and exec
			// returns its exit status.
			args = append([]string{"exec", "--proxy", "--server", l.server, "--user", user, "--password-env", "L2V_TEST_PASSWORD",
				"--name", "l2v-pexec", "--proxy-listen", "127.0.0.1:1081"}, tc.args...)
			args = append(args, "--", "sh", "-c", `curl -sS --max-time 20 http://web.lab.example:8080/hello | grep -q "hello from" && exit 3`)
			cmd = e.command(l.clientNS, args...)
			cmd.Env = append(cmd.Env, "L2V_TEST_PSK="+psk)
			out, err = cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
				t.Errorf("exec --proxy -- curl (through ALL_PROXY): %v, want exit 3\n%s", err, out)
			}
		})
	}
}

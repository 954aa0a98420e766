//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runnerFiles is a simulated GitHub runner: the file commands' files and
// RUNNER_TEMP.
type runnerFiles struct{ dir, output, state, env, summary, temp string }

func newRunner(t *testing.T) runnerFiles {
	d := t.TempDir()
	r := runnerFiles{dir: d, output: filepath.Join(d, "output"), state: filepath.Join(d, "state"),
		env: filepath.Join(d, "env"), summary: filepath.Join(d, "summary"), temp: filepath.Join(d, "temp")}
	for _, f := range []string{r.output, r.state, r.env, r.summary} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(r.temp, 0o700); err != nil {
		t.Fatal(err)
	}
	return r
}

// fileCommands parses NAME<<DELIM ... DELIM entries of a runner file.
func fileCommands(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		m[name] = strings.Join(val, "\n")
	}
	return m
}

// node runs one of the Action's steps in the lab's client namespace.
func (r runnerFiles) node(t *testing.T, ns, script string, env ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "node", filepath.Join(root, "action", script))
	cmd.Env = append(os.Environ(), "GITHUB_OUTPUT="+r.output, "GITHUB_STATE="+r.state, "GITHUB_ENV="+r.env,
		"GITHUB_STEP_SUMMARY="+r.summary, "RUNNER_TEMP="+r.temp, "GITHUB_ACTION_PATH="+root)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("node %s: %v", script, err)
	}
	return string(out), code
}

// post runs the post step with the state main saved, as the runner does.
func (r runnerFiles) post(t *testing.T, ns string) (string, int) {
	var env []string
	for k, v := range fileCommands(t, r.state) {
		env = append(env, "STATE_"+k+"="+v)
	}
	return r.node(t, ns, "post.js", env...)
}

// Issue 13, acceptance 4: the Action's main and post under node with a
// simulated runner against SoftEther (TUN mode, as root): the binary is
// built from this checkout, secrets are masked and never printed otherwise,
// the outputs and the job summary are written, post disconnects and the
// host is as before; a wrong password fails main with an error annotation
// naming the phase, and post still restores the host.
func TestActionMainAndPost(t *testing.T) {
	labSE.up(t)
	ns := labSE.clientNS
	before := hostState(t, ns)
	r := newRunner(t)
	profile := "server = \"192.0.2.1\"\nuser = \"alice\"\npassword = \"env:L2V_GHA_PW\"\npsk = \"env:L2V_GHA_PSK\"\ninterface = \"l2v-tun0\"\n"
	out, code := r.node(t, ns, "main.js", "INPUT_PROFILE="+profile, "INPUT_MODE=tun", "INPUT_NAME=l2v-gha",
		"INPUT_ROUTES=203.0.113.10/32", "INPUT_TIMEOUT=60", "INPUT_PASSWORD=", "INPUT_PSK=",
		"L2V_GHA_PW="+password, "L2V_GHA_PSK="+psk)
	if code != 0 {
		t.Fatalf("main: exit %d\n%s", code, out)
	}
	outputs := fileCommands(t, r.output)
	if !strings.HasPrefix(outputs["ip"], "198.51.100.") || outputs["interface"] != "l2v-tun0" || outputs["dns"] != "198.51.100.1" ||
		!strings.Contains(outputs["status-json"], `"state":"up"`) {
		t.Errorf("outputs: %q", outputs)
	}
	sum, _ := os.ReadFile(r.summary)
	for _, want := range []string{"### l2tpvpn: connected", "| IKE |", "| address | " + outputs["ip"], `L2TP vendor "L2TP"`, "| connect time |"} {
		if !strings.Contains(string(sum), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	pingOnce(t, ns, labSE.service)
	out, code = r.post(t, ns)
	if code != 0 {
		t.Fatalf("post: exit %d\n%s", code, out)
	}
	if after := hostState(t, ns); after != before {
		t.Errorf("host not restored by post:\nbefore %s\nafter %s", before, after)
	}

	// Inputs instead of a profile, with a wrong password: the error
	// annotation, the password masked and nowhere else, post cleans up.
	r = newRunner(t)
	const wrong = "l2v-wrong-Pa55"
	out, code = r.node(t, ns, "main.js", "INPUT_SERVER=192.0.2.1", "INPUT_USERNAME=alice", "INPUT_PASSWORD="+wrong,
		"INPUT_PSK="+psk, "INPUT_MODE=tun", "INPUT_NAME=l2v-gha", "INPUT_ROUTES=203.0.113.10/32", "INPUT_TIMEOUT=60")
	if code != 1 || !strings.Contains(out, "::error title=l2tpvpn%3A ppp failed::") || !strings.Contains(out, "authentication failed") {
		t.Errorf("wrong password: exit %d\n%s", code, out)
	}
	if strings.Count(out, wrong) != 1 || !strings.Contains(out, "::add-mask::"+wrong) || !strings.Contains(out, "::add-mask::"+psk) {
		t.Errorf("the password must appear once, in ::add-mask:: only:\n%s", out)
	}
	if out, code := r.post(t, ns); code != 0 {
		t.Errorf("post after a failed connect: exit %d\n%s", code, out)
	}
	if after := hostState(t, ns); after != before {
		t.Errorf("host changed after the failed connect and post:\nbefore %s\nafter %s", before, after)
	}
}

// The Action as an unprivileged runner user (uid 65534, no capabilities,
// no XDG_RUNTIME_DIR, no sudo): mode auto picks proxy mode, the binary is
// downloaded (from a local server with the `make dist` layout) and checked
// against SHA256SUMS, the proxy output works, and post disconnects.
func TestActionProxyModeUnprivileged(t *testing.T) {
	labSE.up(t)
	ns := labSE.clientNS
	e := newNobodyEnv(t)
	rel := filepath.Join(filepath.Dir(e.bin), "release")
	if err := os.Mkdir(rel, 0o755); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(rel, "l2tpvpn-linux-amd64"), "./cmd/l2tpvpn")
	build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sums := exec.Command("sh", "-c", "sha256sum l2tpvpn-linux-amd64 >SHA256SUMS")
	sums.Dir = rel
	if out, err := sums.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum: %v\n%s", err, out)
	}
	startInNS(t, ns, func() bool {
		_, err := inNS(ns, "curl", "-sf", "-o", "/dev/null", "http://127.0.0.1:18081/SHA256SUMS")
		return err == nil
	}, "python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", rel, "18081")

	r := newRunner(t)
	for _, f := range []string{r.dir, r.output, r.state, r.env, r.summary, r.temp} {
		if err := os.Chown(f, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Dir(r.dir), 0o755)
	before := hostState(t, ns)
	nodeAs := func(script string, env ...string) (string, int) {
		cmd := exec.Command("ip", "netns", "exec", ns, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			"--inh-caps=-all", "--bounding-set=-all", "node", filepath.Join(root, "action", script))
		cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "GITHUB_OUTPUT=" + r.output, "GITHUB_STATE=" + r.state,
			"GITHUB_ENV=" + r.env, "GITHUB_STEP_SUMMARY=" + r.summary, "RUNNER_TEMP=" + r.temp}, env...)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	out, code := nodeAs("main.js", "INPUT_SERVER="+labSE.server, "INPUT_USERNAME=alice", "INPUT_PASSWORD="+password,
		"INPUT_PSK="+psk, "INPUT_MODE=auto", "INPUT_NAME=l2v-gha", "INPUT_TIMEOUT=60", "INPUT_VERSION=v-test",
		"INPUT_DOWNLOAD-URL=http://127.0.0.1:18081")
	if code != 0 {
		t.Fatalf("main as uid 65534: exit %d\n%s", code, out)
	}
	outputs := fileCommands(t, r.output)
	if outputs["proxy"] != "127.0.0.1:1080" || !strings.HasPrefix(outputs["ip"], "198.51.100.") || outputs["interface"] != "" {
		t.Errorf("outputs: %q", outputs)
	}
	connect := `exec 3<>/dev/tcp/127.0.0.1/1080 && printf 'CONNECT ` + labSE.service + `:5201 HTTP/1.1\r\nHost: x\r\n\r\n' >&3 && head -n1 <&3`
	if out, err := inNS(ns, "timeout", "20", "bash", "-c", connect); err != nil || !strings.Contains(out, " 200 ") {
		t.Errorf("CONNECT through the Action's proxy output: %q, %v", out, err)
	}
	var env []string
	for k, v := range fileCommands(t, r.state) {
		env = append(env, "STATE_"+k+"="+v)
	}
	if out, code := nodeAs("post.js", env...); code != 0 {
		t.Errorf("post as uid 65534: exit %d\n%s", code, out)
	}
	if after := hostState(t, ns); after != before {
		t.Errorf("host changed:\nbefore %s\nafter %s", before, after)
	}
}

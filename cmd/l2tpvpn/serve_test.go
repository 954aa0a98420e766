package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/server"
)

// readmeServeSection is README.md's section on l2tpvpn serve.
func readmeServeSection(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i := strings.Index(readme, "\n## Running a server: `l2tpvpn serve`\n")
	if i < 0 {
		t.Fatal("README.md has no section \"Running a server: `l2tpvpn serve`\"")
	}
	sec := readme[i+1:]
	if j := strings.Index(sec[3:], "\n## "); j >= 0 {
		sec = sec[:j+4]
	}
	return sec
}

// readmeKeyTable returns the first column of the table headed "| key |" in
// sec: the backquoted keys.
func readmeKeyTable(t *testing.T, sec string) []string {
	t.Helper()
	i := strings.Index(sec, "\n| key |")
	if i < 0 {
		t.Fatal("the serve section has no table headed | key |")
	}
	cell := regexp.MustCompile("^\\| `([a-z0-9-]+)` \\|")
	var keys []string
	for _, l := range strings.Split(sec[i+1:], "\n")[2:] { // after the header and |---|
		if !strings.HasPrefix(l, "|") {
			break
		}
		m := cell.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("README serve key table: row %q does not start with a `key`", l)
			continue
		}
		keys = append(keys, m[1])
	}
	return keys
}

// The configuration keys have one source of truth, package server: the
// README's table lists every key LoadConfig accepts, and none other.
func TestServeReadmeListsEveryConfigKey(t *testing.T) {
	documented := readmeKeyTable(t, readmeServeSection(t))
	accepted := server.ConfigKeys()
	if len(accepted) == 0 {
		t.Fatal("server.ConfigKeys is empty")
	}
	for _, k := range accepted {
		if !slices.Contains(documented, k) {
			t.Errorf("config key %q (accepted by server.LoadConfig) is missing from README.md's serve key table", k)
		}
	}
	for _, k := range documented {
		if !slices.Contains(accepted, k) {
			t.Errorf("README.md's serve key table lists %q, which server.LoadConfig does not accept", k)
		}
	}
	sec := readmeServeSection(t)
	for _, want := range []string{"hash-password", "SIGHUP", "serve status", "serve disconnect --client", "serve stop",
		"`serve.up`", "`client.up`", "`client.down`", "`serve.down`", "`auth`", "`client`", "`closed`", "`error`",
		"allow-plain-l2tp", "allow-pap-plain", "chmod 600", "--background", "CAP_NET_BIND_SERVICE", "/dev/net/tun",
		"Limits today", "MPPE", "NAT-T", "certificates", "IPv4 only"} {
		if !strings.Contains(sec, want) {
			t.Errorf("README.md's serve section does not mention %q", want)
		}
	}
}

// The README's minimal example (its configuration and users file) loads.
func TestServeReadmeMinimalExampleLoads(t *testing.T) {
	sec := readmeServeSection(t)
	block := func(first string) string {
		i := strings.Index(sec, "```toml\n"+first+"\n")
		if i < 0 {
			t.Fatalf("README serve section: no toml block starting %q", first)
		}
		b := sec[i+len("```toml\n"):]
		return b[:strings.Index(b, "```")]
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"serve.toml": block("# /etc/l2tpvpn/serve.toml"),
		"users.toml": block("# /etc/l2tpvpn/users.toml   (chmod 600: it is refused otherwise)"),
		"serve.psk":  "THE-PRE-SHARED-KEY\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := server.LoadConfig(filepath.Join(dir, "serve.toml"))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := cfg.NewPool()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerIP.String() != "198.51.100.1" {
		t.Errorf("server-ip %s; the README says 198.51.100.1", cfg.ServerIP)
	}
	if _, err := server.OpenUsers(cfg.Users, pool); err != nil {
		t.Fatal(err)
	}
}

// The example configuration and users file load, so they cannot rot.
func TestServeExamplesLoad(t *testing.T) {
	anyEnv := func(string) (string, bool) { return "example-psk", true }
	cfgPath := filepath.Join("..", "..", "examples", "serve.toml")
	cfg, err := server.LoadConfigEnv(cfgPath, anyEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PSK.IsZero() || cfg.AllowPlainL2TP {
		t.Error("the example should be an IPsec server with a psk")
	}
	if filepath.Base(cfg.Users) != "serve-users.toml" {
		t.Errorf("the example's users file is %s, want the example serve-users.toml", cfg.Users)
	}
	pool, err := cfg.NewPool()
	if err != nil {
		t.Fatal(err)
	}
	// git keeps no mode: a private copy, as the users file must be.
	body, err := os.ReadFile(cfg.Users)
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(t.TempDir(), "serve-users.toml")
	if err := os.WriteFile(users, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(users, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := server.OpenUsers(users, pool) // fixed addresses must be in the pool
	if err != nil {
		t.Fatal(err)
	}
	if f.Users().Len() < 2 {
		t.Errorf("the example has %d users", f.Users().Len())
	}
	if _, _, ok := f.Lookup(`CORP\alice`); !ok {
		t.Error(`CORP\alice does not find alice`)
	}
}

func TestServeFlags(t *testing.T) {
	cases := []struct {
		args []string
		code int
		done bool
		want string // in stderr
		o    serveOpts
	}{
		{[]string{"a.toml"}, exitOK, false, "", serveOpts{config: "a.toml"}},
		{[]string{"a.toml", "--background", "--json", "-v"}, exitOK, false, "",
			serveOpts{config: "a.toml", background: true, json: true, verbose: true}},
		{[]string{"--" + serveChildFlag, "a.toml"}, exitOK, false, "", serveOpts{config: "a.toml", child: true}},
		{[]string{"a.toml", "--background", "--" + serveChildFlag}, exitUsage, true, "internal to --background", serveOpts{}},
		{[]string{}, exitUsage, true, "one configuration file", serveOpts{}},
		{[]string{"a.toml", "b.toml"}, exitUsage, true, "one configuration file", serveOpts{}},
		{[]string{"a.toml", "--backgroud"}, exitUsage, true, "did you mean --background?", serveOpts{}},
	}
	for _, tc := range cases {
		var out, errOut bytes.Buffer
		o, code, done := parseServe(tc.args, &out, &errOut)
		if code != tc.code || done != tc.done || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%q: code %d done %v stderr %q; want %d %v %q", tc.args, code, done, errOut.String(), tc.code, tc.done, tc.want)
			continue
		}
		if !done && *o != tc.o {
			t.Errorf("%q: %+v, want %+v", tc.args, *o, tc.o)
		}
	}
}

// help serve is serve's help; the overview lists serve; the internal flag
// is not shown.
func TestServeHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "serve"}, {"serve", "--help"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != exitOK || errOut.Len() != 0 {
			t.Fatalf("%q: exit %d, stderr %q", args, code, errOut.String())
		}
		help := out.String()
		if !strings.HasPrefix(help, "Usage: l2tpvpn serve CONFIG") || !strings.Contains(help, "--background") {
			t.Errorf("%q: not serve's help:\n%s", args, help)
		}
		if strings.Contains(help, serveChildFlag) {
			t.Errorf("%q: shows the internal --%s", args, serveChildFlag)
		}
		for i, l := range strings.Split(help, "\n") {
			if n := len([]rune(l)); n > helpWidth {
				t.Errorf("%q line %d has %d columns: %q", args, i+1, n, l)
			}
		}
	}
	var out, errOut bytes.Buffer
	run([]string{"help"}, &out, &errOut)
	if !regexp.MustCompile(`(?m)^  l2tpvpn serve CONFIG .* run an L2TP/IPsec server`).MatchString(out.String()) {
		t.Error("the overview does not list serve")
	}
	for i, l := range strings.Split(out.String(), "\n") {
		if n := len([]rune(l)); n > helpWidth {
			t.Errorf("overview line %d has %d columns: %q", i+1, n, l)
		}
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"serv"}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), `did you mean "serve"?`) {
		t.Errorf("serv: exit %d, %q", code, errOut.String())
	}
}

// The ready line: what the child writes is what the foreground half
// reports, with the child's exit code.
func TestServeReadyProtocol(t *testing.T) {
	const logPath = "/run/l2tpvpn/serve.log"
	up := &server.Event{Event: "serve.up"}
	cases := []struct {
		name        string
		msgs        []serveReadyMsg // what the child says (only the first counts)
		noLine      bool            // the child ended without a line
		interrupted bool
		json        bool
		code        int
		stdout      string
		stderr      []string
	}{
		{name: "up", msgs: []serveReadyMsg{{Up: up}, {Exit: exitHost, Error: "later"}}, code: exitOK,
			stdout: "serving (pid PID), log: " + logPath + "\n"},
		{name: "tun", msgs: []serveReadyMsg{{Exit: exitHost, Error: "server: TUN device l2tpsrv0: device or resource busy"}}, code: exitHost,
			stderr: []string{"l2tpvpn serve: server: TUN device l2tpsrv0: device or resource busy\n", "log: " + logPath}},
		{name: "port in use", msgs: []serveReadyMsg{{Exit: exitHost, Error: "server: listen on 0.0.0.0:500: address already in use"}}, code: exitHost,
			stderr: []string{"address already in use", "log: " + logPath}},
		{name: "permission", msgs: []serveReadyMsg{{Exit: exitPermission, Error: "needs root or CAP_NET_ADMIN"}}, code: exitPermission,
			stderr: []string{"needs root"}},
		{name: "died", noLine: true, code: exitInternal, stderr: []string{"ended before it was up; see " + logPath}},
		{name: "killed by the interrupt", noLine: true, interrupted: true, code: exitInterrupted, stderr: []string{"interrupted"}},
		{name: "interrupted after the signal was caught", msgs: []serveReadyMsg{{Exit: exitInterrupted, Error: "interrupted before it was up"}},
			interrupted: true, code: exitInterrupted, stderr: []string{"interrupted before it was up"}},
		{name: "neither up nor failed", msgs: []serveReadyMsg{{Exit: exitOK}}, code: exitInternal, stderr: []string{"ended before it was up"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if tc.noLine {
				w.Close()
			} else {
				ready := newServeReady(w)
				for _, m := range tc.msgs {
					ready(m)
				}
			}
			all, _ := io.ReadAll(r)
			if n := bytes.Count(all, []byte("\n")); !tc.noLine && n != 1 {
				t.Fatalf("the child wrote %d lines: %q", n, all)
			}
			line, readErr := all, error(nil)
			if len(all) == 0 {
				readErr = io.EOF
			}
			var out, errOut bytes.Buffer
			code := serveReadyResult(line, readErr, tc.interrupted, 99999, logPath, tc.json, &out, &errOut)
			wantOut := strings.ReplaceAll(tc.stdout, "PID", strconv.Itoa(os.Getpid())) // the writer's pid
			if code != tc.code || out.String() != wantOut {
				t.Errorf("exit %d stdout %q; want %d %q", code, out.String(), tc.code, wantOut)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr %q does not say %q", errOut.String(), want)
				}
			}
		})
	}
}

// --background --json prints the serve.up event with the pid and the log.
func TestServeReadyJSON(t *testing.T) {
	line, _ := json.Marshal(serveReadyMsg{PID: 4242, Up: &server.Event{Event: "serve.up"}})
	var out, errOut bytes.Buffer
	if code := serveReadyResult(append(line, '\n'), nil, false, 1, "/x/serve.log", true, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%q: %v", out.String(), err)
	}
	if got["event"] != "serve.up" || got["pid"] != float64(4242) || got["log"] != "/x/serve.log" {
		t.Errorf("got %v", got)
	}
}

const serveTestPSK = "Zq9-serve-bg-psk"

// writeServeConfig writes a configuration with psk = "env:VAR" and a users
// file of mode usersMode; it returns the configuration's path.
func writeServeConfig(t *testing.T, envVar string, usersMode os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	users := filepath.Join(dir, "users.toml")
	if err := os.WriteFile(users, []byte("[users.alice]\npassword = \"alice-pw\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(users, usersMode); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "serve.toml")
	body := "psk = \"env:" + envVar + "\"\npool = \"198.51.100.0/29\"\nusers = \"users.toml\"\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The foreground half reads an env: secret, removes the variable from its
// environment, and the child gets the value over the pipe only.
func TestServeEnvSecretsOverPipe(t *testing.T) {
	const v = "L2V_UNIT_SERVE_PSK"
	t.Setenv(v, serveTestPSK)
	cfgPath := writeServeConfig(t, v, 0o600)
	env := newEnvCapture()
	cfg, err := server.LoadConfigEnv(cfgPath, env.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg.PSK.Bytes()) != serveTestPSK {
		t.Fatal("psk not read")
	}
	if _, ok := os.LookupEnv(v); ok {
		t.Error("the variable is still in the environment, which the child inherits")
	}
	var pipe bytes.Buffer
	if err := writeServeEnv(&pipe, env); err != nil {
		t.Fatal(err)
	}
	got, err := readServeEnv(&pipe)
	if err != nil {
		t.Fatal(err)
	}
	cfg2, err := server.LoadConfigEnv(cfgPath, got.lookupSent)
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg2.PSK.Bytes()) != serveTestPSK {
		t.Error("the child did not get the psk")
	}
	// Only what was sent: not the child's environment.
	t.Setenv("L2V_UNIT_OTHER", "x")
	if _, ok := got.lookupSent("L2V_UNIT_OTHER"); ok {
		t.Error("the child's lookup reads its environment")
	}
	// A broken pipe is an error that quotes nothing of it.
	_, err = readServeEnv(strings.NewReader(`{"env": {"X": "` + serveTestPSK))
	if err == nil || strings.Contains(err.Error(), serveTestPSK) {
		t.Errorf("malformed pipe: %v", err)
	}
	env.clear()
	got.clear()
	if len(env.vals) != 0 || len(got.vals) != 0 {
		t.Error("clear left values")
	}
}

// A start that fails says so on the ready pipe, with its exit code, and
// prints the error.
func TestServeFailedStartReportsReady(t *testing.T) {
	cfgPath := writeServeConfig(t, "PSK", 0o644)
	cfg, err := server.LoadConfigEnv(cfgPath, func(string) (string, bool) { return serveTestPSK, true })
	if err != nil {
		t.Fatal(err)
	}
	var msgs []serveReadyMsg
	var errOut bytes.Buffer
	code := runServe(&serveOpts{config: cfgPath}, cfg, io.Discard, &errOut, func(m serveReadyMsg) { msgs = append(msgs, m) })
	if code != exitUsage || len(msgs) != 1 || msgs[0].Exit != exitUsage || msgs[0].Up != nil || !strings.Contains(msgs[0].Error, "chmod 600") {
		t.Fatalf("exit %d, ready %+v", code, msgs)
	}
	if !strings.Contains(errOut.String(), "l2tpvpn serve: ") || strings.Contains(errOut.String(), serveTestPSK) {
		t.Errorf("stderr %q", errOut.String())
	}
}

// --background end to end, with this test binary as the detached half
// (started through L2V_TEST_ARGS, see cancel_test.go): it reads the config
// again, gets the env: psk over its pipe (a missing one would fail with
// "not set"), fails on the users file (mode 0644), and the foreground half
// prints that error and exits with its code. Nothing on the host changes,
// as root too.
func TestServeBackgroundChildFails(t *testing.T) {
	const v = "L2V_UNIT_SERVE_BG_PSK"
	state := t.TempDir()
	t.Setenv("L2TPVPN_STATE_DIR", state)
	t.Setenv(v, serveTestPSK)
	cfgPath := writeServeConfig(t, v, 0o644)
	o := &serveOpts{config: cfgPath, background: true}
	child, _ := json.Marshal(serveChildArgs(o))
	t.Setenv("L2V_TEST_ARGS", string(child))

	env := newEnvCapture()
	if _, err := server.LoadConfigEnv(cfgPath, env.lookup); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := serveDetach(o, state, env, &out, &errOut)
	logPath := filepath.Join(state, serveLogName)
	if code != exitUsage || out.Len() != 0 || !strings.Contains(errOut.String(), "chmod 600") || !strings.Contains(errOut.String(), "log: "+logPath) {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and the users file's error", code, out.String(), errOut.String())
	}
	if strings.Contains(errOut.String(), "not set") {
		t.Error("the child did not get the psk over the pipe")
	}
	fi, err := os.Stat(logPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("log %s: %v", logPath, err)
	}
	log, _ := os.ReadFile(logPath)
	if !strings.Contains(string(log), "level=ERROR") || !strings.Contains(string(log), "chmod 600") {
		t.Errorf("the log does not hold the error as a record:\n%s", log)
	}
	if strings.Contains(string(log)+errOut.String(), serveTestPSK) {
		t.Error("the psk is in the log or the output")
	}
	if len(env.vals) != 0 {
		t.Error("the foreground half keeps the secret after the child has it")
	}
}

// Without the value on the pipe the child does not fall back to its
// environment, even where the variable is set.
func TestServeBackgroundChildReadsNoEnvironment(t *testing.T) {
	const v = "L2V_UNIT_SERVE_BG_PSK2"
	state := t.TempDir()
	t.Setenv("L2TPVPN_STATE_DIR", state)
	t.Setenv(v, serveTestPSK) // inherited by the child, which must not use it
	cfgPath := writeServeConfig(t, v, 0o600)
	o := &serveOpts{config: cfgPath, background: true}
	child, _ := json.Marshal(serveChildArgs(o))
	t.Setenv("L2V_TEST_ARGS", string(child))
	var out, errOut bytes.Buffer
	code := serveDetach(o, state, newEnvCapture(), &out, &errOut)
	if code != exitUsage || !strings.Contains(errOut.String(), v+" is not set") {
		t.Fatalf("exit %d, stderr %q; want exit 2, %s is not set", code, errOut.String(), v)
	}
}

// A child started by hand, without the pipes, refuses with a clear error.
func TestServeChildWithoutPipes(t *testing.T) {
	_, err := readServeEnv(errReader{})
	if err == nil || !strings.Contains(err.Error(), "malformed or missing") {
		t.Fatalf("err %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("bad file descriptor") }

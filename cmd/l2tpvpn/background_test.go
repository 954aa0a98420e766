package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The test binary doubles as the detached half of --background: started
// with --daemon-child (by detach, through os.Executable), it records what
// it was given instead of connecting.
func TestMain(m *testing.M) {
	if code, ok := asCommand(); ok { // see cancel_test.go
		os.Exit(code)
	}
	if slices.Contains(os.Args, "--daemon-child") {
		os.Exit(fakeDaemonChild())
	}
	os.Exit(m.Run())
}

// childRecord is what the fake detached half saw.
type childRecord struct {
	Args, Env                 []string
	Password, PSK, SecretsErr string
	ProcEnviron, ProcCmdline  string
}

func fakeDaemonChild() int {
	if os.Getenv("L2V_FAKE_CHILD") == "await-signal" {
		return fakeChildAwaitSignal() // see cancel_test.go
	}
	if os.Getenv("L2V_FAKE_CHILD") == "real" {
		return run(os.Args[1:], os.Stdout, os.Stderr) // see childlog_test.go
	}
	if os.Getenv("L2V_FAKE_CHILD") == "fails" {
		return fakeChildFails() // see events_test.go
	}
	var r childRecord
	r.Args, r.Env = os.Args, os.Environ()
	if s, err := readSecretsFD(); err != nil {
		r.SecretsErr = err.Error()
	} else {
		r.Password, r.PSK = string(s.Password.Bytes()), string(s.PSK.Bytes())
	}
	environ, _ := os.ReadFile("/proc/self/environ")
	cmdline, _ := os.ReadFile("/proc/self/cmdline")
	r.ProcEnviron, r.ProcCmdline = string(environ), string(cmdline)
	b, _ := json.Marshal(r)
	os.WriteFile(filepath.Join(stateDir(), "child.json"), b, 0o600)
	// Tell the foreground half we are done, as an interrupted connect does.
	json.NewEncoder(os.NewFile(readyFD, "ready")).Encode(readyMsg{Exit: exitOK, Error: "interrupted"})
	return 0
}

// --background: the detached half gets the secrets through its pipe and
// sees none of them in its arguments or environment, even though the
// password came from env:VAR and the PSK from file:PATH.
func TestBackgroundChildGetsNoSecret(t *testing.T) {
	const pw, psk = "Zq9-bg-password", "Zq9-bg-psk"
	dir := t.TempDir()
	t.Setenv("L2TPVPN_STATE_DIR", dir)
	t.Setenv("L2V_UNIT_BG_PW", pw)
	pskFile := filepath.Join(t.TempDir(), "psk")
	if err := os.WriteFile(pskFile, []byte(psk+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"connect", "--background", "--name", "bgtest", "--server", "192.0.2.1", "--user", "alice",
		"--password", "env:L2V_UNIT_BG_PW", "--psk", "file:" + pskFile}, &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "child.json"))
	if err != nil {
		t.Fatalf("the detached half did not run: %v", err)
	}
	var r childRecord
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.SecretsErr != "" || r.Password != pw || r.PSK != psk {
		t.Errorf("secrets through the pipe: password %q psk %q err %q", r.Password, r.PSK, r.SecretsErr)
	}
	seen := strings.Join(r.Args, " ") + "\n" + strings.Join(r.Env, "\n") + "\n" + r.ProcEnviron + "\n" + r.ProcCmdline
	for _, s := range []string{pw, psk, "L2V_UNIT_BG_PW="} {
		if strings.Contains(seen, s) {
			t.Errorf("the detached half sees %q in its arguments or environment:\n%s", s, seen)
		}
	}
	if !slices.Contains(r.Args, "--daemon-child") || !strings.Contains(r.ProcEnviron, "L2TPVPN_STATE_DIR=") {
		t.Errorf("not the expected child: args %q", r.Args)
	}
	if _, ok := os.LookupEnv("L2V_UNIT_BG_PW"); ok {
		t.Error("the foreground half still has the variable")
	}
	if strings.Contains(out.String()+errOut.String(), pw) || strings.Contains(out.String()+errOut.String(), psk) {
		t.Error("a secret in the output")
	}
}

package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestExecUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"work"}, exitUsage, "no command: put it after '--'"},
		{[]string{"work", "--"}, exitUsage, "no command after '--'"},
		{[]string{"work", "--background", "--", "true"}, exitUsage, "--background is not for exec"},
		{[]string{"--help"}, exitOK, "Usage: l2tpvpn exec"},
	} {
		var out, errOut bytes.Buffer
		code := run(append([]string{"exec"}, tc.args...), &out, &errOut)
		if code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.want) {
			t.Errorf("exec %q: exit %d, output %q; want %d and %q", tc.args, code, out.String()+errOut.String(), tc.code, tc.want)
		}
	}
}

// The command run by exec does not inherit the variables our secrets were
// read from, whichever way they were named.
func TestExecScrubsSecretVariables(t *testing.T) {
	o, err := parseConnect([]string{"--server", "192.0.2.1", "--user", "a", "--password-env", "PW_A", "--psk", "env:PSK_B",
		"--otp", "env:OTP_C", "--l2tp-secret-env", "SEC_D"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/bin", "PW_A=x", "PSK_B=y", "OTP_C=z", "SEC_D=w", "HOME=/root"}
	if got := scrubbedEnv(env, o); !slices.Equal(got, []string{"PATH=/bin", "HOME=/root"}) {
		t.Errorf("env passed on: %q", got)
	}
}

func TestRunChildStatus(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runChild([]string{"sh", "-c", "exit 7"}, nil, &out, &errOut); code != 7 {
		t.Errorf("exit 7: got %d", code)
	}
	if code := runChild([]string{"sh", "-c", "kill -TERM $$"}, nil, &out, &errOut); code != 128+15 {
		t.Errorf("killed by SIGTERM: got %d, want 143", code)
	}
	if code := runChild([]string{"/nonexistent/l2v-cmd"}, nil, &out, &errOut); code != 127 {
		t.Errorf("missing command: got %d, want 127", code)
	}
	if code := runChild([]string{"sh", "-c", "echo hi"}, nil, &out, &errOut); code != 0 || out.String() != "hi\n" {
		t.Errorf("echo: %d %q", code, out.String())
	}
}

// disconnect --cleanup NAME when NAME left nothing behind (it ended
// cleanly): "nothing to clean up", exit 12 like any disconnect of a name
// that is not running; before, it was exit 8 with "no host journal".
func TestCleanupNothingLeft(t *testing.T) {
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	var out, errOut bytes.Buffer
	code := run([]string{"disconnect", "--cleanup", "work"}, &out, &errOut)
	if code != exitNotRunning || !strings.Contains(out.String(), "nothing to clean up") || errOut.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q; want 12 and nothing to clean up", code, out.String(), errOut.String())
	}
}

func TestExecProxyEnv(t *testing.T) {
	env := proxyEnv("127.0.0.1:1080")
	for _, want := range []string{"ALL_PROXY=socks5h://127.0.0.1:1080", "all_proxy=socks5h://127.0.0.1:1080",
		"HTTPS_PROXY=http://127.0.0.1:1080", "http_proxy=http://127.0.0.1:1080", "NO_PROXY=localhost,127.0.0.1,::1"} {
		if !slices.Contains(env, want) {
			t.Errorf("proxy env lacks %s: %q", want, env)
		}
	}
}

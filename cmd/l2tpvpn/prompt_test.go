package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// Issue 17 point 14: a missing password or PSK is asked for on a terminal,
// and refused with the usual message otherwise.
func TestAskMissing(t *testing.T) {
	for _, c := range []struct {
		needed, terminal, want bool
	}{{true, true, true}, {true, false, false}, {false, true, false}, {false, false, false}} {
		if got := askMissing(c.needed, c.terminal); got != c.want {
			t.Errorf("askMissing(needed %v, terminal %v) = %v, want %v", c.needed, c.terminal, got, c.want)
		}
	}
}

// Without a terminal on stdin (scripts, CI) nothing is asked: the message
// says how to give the secret.
func TestMissingSecretWithoutTerminal(t *testing.T) {
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	old := os.Stdin
	os.Stdin = devnull
	defer func() { os.Stdin = old }()
	if stdinIsTerminal() {
		t.Fatal("/dev/null is a terminal?")
	}
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--ipsec=off", "--server", "x", "--user", "a"}, "--password: is required: give env:VAR, file:PATH or prompt"},
		{[]string{"--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW"}, "--psk: IPsec (on or strongswan) needs the pre-shared key"},
	} {
		t.Setenv("L2V_UNIT_PW", "s3cret-value")
		var out, errOut bytes.Buffer
		code := run(append([]string{"connect"}, tc.args...), &out, &errOut)
		if code != exitUsage || !strings.Contains(errOut.String(), tc.want) || strings.Contains(errOut.String(), "for a@x") {
			t.Errorf("%q: exit %d, stderr %q; want exit 2, %q and no prompt", tc.args, code, errOut.String(), tc.want)
		}
	}
}

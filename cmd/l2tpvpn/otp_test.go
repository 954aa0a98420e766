package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

func TestJoinOTP(t *testing.T) {
	pw, code := secret.FromString("hunter2"), secret.FromString("123456")
	for format, want := range map[string]string{
		defaultOTPFormat:      "hunter2,123456",
		"{password}{otp}":     "hunter2123456",
		"{otp}":               "123456",
		"{otp}:{password}":    "123456:hunter2",
		"x{password}-{otp}-y": "xhunter2-123456-y",
	} {
		got, err := joinOTP(format, pw, code)
		if err != nil || string(got.Bytes()) != want {
			t.Errorf("%q: %q, %v; want %q", format, got.Bytes(), err, want)
		}
	}
	for format, want := range map[string]string{
		"{password}":       "must contain {otp}",
		"{otp}{pasword}":   "only {password} and {otp} are replaced",
		"{password}{otp}}": "only {password} and {otp}",
	} {
		if _, err := joinOTP(format, pw, code); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", format, err, want)
		}
	}
}

// The PPP password is the joined form; the dry run shows where the code
// came from but never the code, the password or the joined form.
func TestOTPConfig(t *testing.T) {
	t.Setenv("L2V_UNIT_OTP", "987654")
	cfg, err := ikeOptsConfig(t, "--otp", "env:L2V_UNIT_OTP")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(cfg.Password.Bytes()); got != "s3cret-value,987654" {
		t.Errorf("PPP password %q, want the password, a comma and the code", got)
	}
	t.Setenv("L2V_UNIT_OTP", "987654")
	cfg, err = ikeOptsConfig(t, "--otp", "env:L2V_UNIT_OTP", "--otp-format", "{otp}")
	if err != nil || string(cfg.Password.Bytes()) != "987654" {
		t.Errorf("otp-format {otp}: %v", err)
	}
	if _, err := ikeOptsConfig(t, "--otp-format", "{password}{otp}"); err == nil || !strings.Contains(err.Error(), "--otp-format: is set but otp is not") {
		t.Errorf("otp-format without otp: %v", err)
	}
	t.Setenv("L2V_UNIT_OTP", "987654")
	if _, err := ikeOptsConfig(t, "--otp", "env:L2V_UNIT_OTP", "--otp-format", "{password}"); err == nil || !strings.Contains(err.Error(), "--otp-format: must contain {otp}") {
		t.Errorf("otp-format without {otp}: %v", err)
	}

	t.Setenv("L2V_UNIT_OTP", "987654") // each variable is read once, then removed
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	t.Setenv("L2V_UNIT_PSK", "psk-value")
	var out, errOut bytes.Buffer
	code := run([]string{"connect", "--dry-run", "--server", "192.0.2.1", "--user", "a", "--password-env", "L2V_UNIT_PW",
		"--psk-env", "L2V_UNIT_PSK", "--otp", "env:L2V_UNIT_OTP"}, &out, &errOut)
	if code != exitOK {
		t.Fatalf("dry run: exit %d: %s", code, errOut.String())
	}
	all := out.String() + errOut.String()
	for _, leak := range []string{"987654", "s3cret-value"} {
		if strings.Contains(all, leak) {
			t.Errorf("the dry run shows a secret (%q):\n%s", leak, all)
		}
	}
	if !strings.Contains(all, "otp") || !strings.Contains(all, "env:L2V_UNIT_OTP") || !strings.Contains(all, defaultOTPFormat) {
		t.Errorf("the dry run does not say where the code comes from and how it is joined:\n%s", all)
	}
}

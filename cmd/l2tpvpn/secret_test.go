package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestParseSecretSpec(t *testing.T) {
	cases := []struct {
		in   string
		src  SecretSource
		arg  string
		fail bool
	}{
		{"env:VPN_PASSWORD", SecretEnv, "VPN_PASSWORD", false},
		{"env:_x1", SecretEnv, "_x1", false},
		{"file:/etc/l2tpvpn/work.psk", SecretFile, "/etc/l2tpvpn/work.psk", false},
		{"file:relative.psk", SecretFile, "relative.psk", false},
		{"prompt", SecretPrompt, "", false},
		{"s3cret", SecretLiteral, "", false},
		{"Prompt", SecretLiteral, "", false},
		{"env:", 0, "", true},
		{"env:1ABC", 0, "", true},
		{"env:A-B", 0, "", true},
		{"file:", 0, "", true},
		{"", 0, "", true},
	}
	for _, c := range cases {
		src, arg, err := ParseSecretSpec(c.in)
		if (err != nil) != c.fail {
			t.Errorf("ParseSecretSpec(%q) err = %v, fail %v", c.in, err, c.fail)
			continue
		}
		if err == nil && (src != c.src || arg != c.arg) {
			t.Errorf("ParseSecretSpec(%q) = %v %q, want %v %q", c.in, src, arg, c.src, c.arg)
		}
	}
	for s, want := range map[SecretSource]string{SecretLiteral: "literal", SecretEnv: "env", SecretFile: "file", SecretPrompt: "prompt", 9: "SecretSource(9)"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(s), s.String(), want)
		}
	}
}

func testEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func secretFile(t *testing.T, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolveSecret(t *testing.T) {
	const value = "Zq9-value-never-shown"
	env := testEnv(map[string]string{"VPN_PASSWORD": value, "EMPTY": ""})
	good := secretFile(t, value+"\r\nsecond line\n", 0o600)
	noNL := secretFile(t, value, 0o640)
	empty := secretFile(t, "", 0o600)
	emptyLine := secretFile(t, "\nsecond\n", 0o600)
	public := secretFile(t, value+"\n", 0o644)
	dir := t.TempDir()

	ok := []SecretRequest{
		{What: "password", Spec: "env:VPN_PASSWORD"},
		{What: "psk", Spec: "file:" + good},
		{What: "psk", Spec: "file:" + noNL},
		{What: "password", Spec: value, FromProfile: true, ProfilePath: "/p/work.toml", ProfileMode: 0o600},
		{What: "password", Spec: value, FromProfile: true, ProfilePath: "/p/work.toml", ProfileMode: 0o640},
	}
	for _, r := range ok {
		got, err := ResolveSecret(r, env, nil, nil)
		if err != nil || got != value {
			t.Errorf("ResolveSecret(%s %s) = %q, %v", r.What, r.Spec, got, err)
		}
	}

	bad := []struct {
		r    SecretRequest
		want string
	}{
		{SecretRequest{What: "password", Spec: "env:UNSET"}, "password: environment variable UNSET is not set"},
		{SecretRequest{What: "password", Spec: "env:EMPTY"}, "password: environment variable EMPTY is empty"},
		{SecretRequest{What: "password", Spec: "env:"}, "password: env: needs a variable name"},
		{SecretRequest{What: "password", Spec: ""}, "password: empty secret"},
		{SecretRequest{What: "psk", Spec: "file:" + empty}, "psk: file " + empty + " is empty"},
		{SecretRequest{What: "psk", Spec: "file:" + emptyLine}, "is empty"},
		{SecretRequest{What: "psk", Spec: "file:" + public}, "psk: file " + public + " is readable by everyone: chmod 600 " + public},
		{SecretRequest{What: "psk", Spec: "file:" + filepath.Join(dir, "missing")}, "no such file"},
		{SecretRequest{What: "psk", Spec: "file:" + dir}, "is a directory"},
		{SecretRequest{What: "password", Spec: value}, "password: a literal secret on the command line is visible to every user in ps; use env:VAR, file:PATH or prompt"},
		{SecretRequest{What: "l2tp-secret", Spec: value, FromProfile: true, ProfilePath: "/p/work.toml", ProfileMode: 0o644},
			"/p/work.toml: key l2tp-secret holds a literal secret but the file is readable by everyone: chmod 600 /p/work.toml, or use env:/file:"},
	}
	for _, c := range bad {
		_, err := ResolveSecret(c.r, env, nil, nil)
		if err == nil {
			t.Errorf("ResolveSecret(%s %s): no error", c.r.What, c.r.Spec)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("ResolveSecret(%s): %q does not contain %q", c.r.What, err, c.want)
		}
		if strings.Contains(err.Error(), value) {
			t.Errorf("error shows the secret: %q", err)
		}
	}
}

// prompt is refused when stdin is not a terminal (a pipe here).
func TestResolveSecretPromptNeedsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	var out bytes.Buffer
	_, err = ResolveSecret(SecretRequest{What: "password", Spec: "prompt", Prompt: "password for alice@vpn.example.com: "}, nil, r, &out)
	if err == nil || !strings.Contains(err.Error(), "password: prompt needs a terminal; use env:VAR or file:PATH") {
		t.Errorf("err = %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("prompt printed without a terminal: %q", out.String())
	}
}

func TestSecretFlag(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	var errOut bytes.Buffer
	fs.SetOutput(&errOut)
	pw := newSecretFlag(fs, "password", "PPP password: env:VAR, file:PATH or prompt")
	psk := newSecretFlag(fs, "psk", "")
	sec := newSecretFlag(fs, "l2tp-secret", "")
	if err := fs.Parse([]string{"--password", "hunter2-literal", "--psk", "env:VPN_PSK", "--l2tp-secret=file:/x"}); err != nil {
		t.Fatal(err)
	}
	if pw.Spec() != "hunter2-literal" || psk.Spec() != "env:VPN_PSK" || sec.Spec() != "file:/x" {
		t.Errorf("specs %q %q %q", pw.Spec(), psk.Spec(), sec.Spec())
	}
	if pw.String() != "<redacted>" || psk.String() != "env:VPN_PSK" || sec.String() != "file:/x" {
		t.Errorf("strings %q %q %q", pw.String(), psk.String(), sec.String())
	}
	if fs.Lookup("password").Value.Type() != "secret" {
		t.Error("Type() is not secret")
	}
	var nilV *secretValue
	if nilV.String() != "" || (&secretValue{}).String() != "" {
		t.Error("zero String() not empty")
	}
	// A malformed spec is refused by the flag, without echoing a value.
	fs2 := pflag.NewFlagSet("y", pflag.ContinueOnError)
	fs2.SetOutput(&errOut)
	newSecretFlag(fs2, "password", "")
	if err := fs2.Parse([]string{"--password", "env:"}); err == nil || !strings.Contains(err.Error(), "needs a variable name") {
		t.Errorf("err = %v", err)
	}
	// The usage text never shows a literal.
	fs.PrintDefaults()
	if strings.Contains(errOut.String(), "hunter2") {
		t.Errorf("usage shows a literal: %q", errOut.String())
	}
}

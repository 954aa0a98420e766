package main

import (
	"bytes"
	"fmt"
	"io"
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
	noNL := secretFile(t, value, 0o400)
	empty := secretFile(t, "", 0o600)
	emptyLine := secretFile(t, "\nsecond\n", 0o600)
	public := secretFile(t, value+"\n", 0o644)
	group := secretFile(t, value+"\n", 0o640)
	groupW := secretFile(t, value+"\n", 0o620)
	dir := t.TempDir()
	me := os.Geteuid()

	ok := []SecretRequest{
		{What: "password", Spec: "env:VPN_PASSWORD"},
		{What: "psk", Spec: "file:" + good},
		{What: "psk", Spec: "file:" + noNL},
		{What: "password", Spec: value, FromProfile: true, ProfilePath: "/p/work.toml", ProfileMode: 0o600, ProfileUID: me},
		{What: "password", Spec: value, FromProfile: true, ProfilePath: "/p/work.toml", ProfileMode: 0o600, ProfileUID: 0},  // root's
		{What: "password", Spec: value, FromProfile: true, ProfilePath: "/p/work.toml", ProfileMode: 0o600, ProfileUID: -1}, // unknown
		{What: "password", Spec: value, FromProfile: true, ProfilePath: "/p/work.toml", ProfileMode: 0o701, ProfileUID: me}, // x for others: harmless
	}
	for _, r := range ok {
		got, err := ResolveSecret(r, env, nil, nil)
		if err != nil || string(got.Bytes()) != value {
			t.Errorf("ResolveSecret(%s %s) = %q, %v", r.What, r.Spec, got.Bytes(), err)
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
		{SecretRequest{What: "psk", Spec: "file:" + public}, "psk: file " + public + " is readable by everyone (mode 0644): chmod 600 " + public},
		{SecretRequest{What: "psk", Spec: "file:" + group}, "psk: file " + group + " is readable by its group (mode 0640): chmod 600 " + group},
		{SecretRequest{What: "psk", Spec: "file:" + groupW}, "psk: file " + groupW + " can be changed by other users (mode 0620): chmod 600 " + groupW},
		{SecretRequest{What: "psk", Spec: "file:" + filepath.Join(dir, "missing")}, "no such file"},
		{SecretRequest{What: "psk", Spec: "file:" + dir}, "is a directory"},
		{SecretRequest{What: "password", Spec: value}, "password: a literal secret on the command line is visible to every user in ps; use env:VAR, file:PATH or prompt"},
		{SecretRequest{What: "l2tp-secret", Spec: value, FromProfile: true, ProfilePath: "/p/work.toml", ProfileMode: 0o644},
			"/p/work.toml: key l2tp-secret holds a literal secret but the file is readable by everyone (mode 0644): chmod 600 /p/work.toml, or use env:/file:"},
		{SecretRequest{What: "password", Spec: value, FromProfile: true, ProfilePath: "/p/work.toml", ProfileMode: 0o640},
			"/p/work.toml: key password holds a literal secret but the file is readable by its group (mode 0640): chmod 600 /p/work.toml, or use env:/file:"},
		{SecretRequest{What: "password", Spec: value, FromProfile: true, ProfilePath: "/p/work.toml", ProfileMode: 0o600, ProfileUID: me + 4242},
			fmt.Sprintf("/p/work.toml: key password holds a literal secret but the file belongs to another user (uid %d; you are uid %d): keep the secret in a file of your own (chmod 600 /p/work.toml), or use env:/file:", me+4242, me)},
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

// A secret read from the process environment is removed from it, so no
// child process (a hook, the detached half of --background) inherits it. A
// caller's own lookup function is left alone.
func TestResolveSecretUnsetsEnv(t *testing.T) {
	const value = "Zq9-env-value"
	t.Setenv("L2V_UNIT_ENV_SECRET", value)
	got, err := ResolveSecret(SecretRequest{What: "password", Spec: "env:L2V_UNIT_ENV_SECRET"}, nil, nil, nil)
	if err != nil || string(got.Bytes()) != value {
		t.Fatalf("ResolveSecret = %q, %v", got.Bytes(), err)
	}
	if v, ok := os.LookupEnv("L2V_UNIT_ENV_SECRET"); ok {
		t.Errorf("still in the environment: %q", v)
	}
	for _, kv := range os.Environ() {
		if strings.Contains(kv, value) {
			t.Errorf("os.Environ() holds the secret: %q", kv)
		}
	}
	// An empty variable is refused, and removed as well.
	t.Setenv("L2V_UNIT_ENV_EMPTY", "")
	if _, err := ResolveSecret(SecretRequest{What: "psk", Spec: "env:L2V_UNIT_ENV_EMPTY"}, nil, nil, nil); err == nil {
		t.Error("empty variable accepted")
	}
	if _, ok := os.LookupEnv("L2V_UNIT_ENV_EMPTY"); ok {
		t.Error("the empty variable is still set")
	}
	t.Setenv("L2V_UNIT_ENV_OTHER", value)
	if _, err := ResolveSecret(SecretRequest{What: "psk", Spec: "env:L2V_UNIT_ENV_OTHER"}, testEnv(map[string]string{"L2V_UNIT_ENV_OTHER": value}), nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := os.LookupEnv("L2V_UNIT_ENV_OTHER"); !ok {
		t.Error("a lookup function's variable was removed from the process environment")
	}
}

// The same env: variable for two secrets: read once, both get the value.
func TestResolveSecretsSameEnvTwice(t *testing.T) {
	t.Setenv("L2V_UNIT_BOTH", "Zq9-both")
	o, err := parseConnect([]string{"--server", "192.0.2.1", "--user", "a", "--password", "env:L2V_UNIT_BOTH", "--psk", "env:L2V_UNIT_BOTH"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s, err := o.resolveSecrets(io.Discard, true)
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Password.Bytes()) != "Zq9-both" || string(s.PSK.Bytes()) != "Zq9-both" {
		t.Errorf("password %q psk %q", s.Password.Bytes(), s.PSK.Bytes())
	}
	if _, ok := os.LookupEnv("L2V_UNIT_BOTH"); ok {
		t.Error("still in the environment")
	}
}

// Ownership: a file of another user (not root) is refused, whatever its mode.
func TestPrivacy(t *testing.T) {
	for _, tc := range []struct {
		perm         os.FileMode
		uid, euid    int
		problem, fix string
	}{
		{0o600, 1000, 1000, "", ""},
		{0o400, 0, 1000, "", ""},
		{0o600, -1, 1000, "", ""},
		{0o600, 0, 0, "", ""},
		{0o600, 1001, 1000, "belongs to another user (uid 1001; you are uid 1000)", "keep the secret in a file of your own (chmod 600 /s)"},
		{0o600, 1000, 0, "belongs to another user (uid 1000; you are uid 0)", "keep the secret in a file of your own (chmod 600 /s)"},
		{0o604, 1000, 1000, "is readable by everyone (mode 0604)", "chmod 600 /s"},
		{0o640, 1000, 1000, "is readable by its group (mode 0640)", "chmod 600 /s"},
		{0o602, 1000, 1000, "can be changed by other users (mode 0602)", "chmod 600 /s"},
		{0o711, 1000, 1000, "", ""},
	} {
		problem, fix := privacy("/s", tc.perm, tc.uid, tc.euid)
		if problem != tc.problem || fix != tc.fix {
			t.Errorf("privacy(%04o, uid %d, euid %d) = %q, %q; want %q, %q", tc.perm, tc.uid, tc.euid, problem, fix, tc.problem, tc.fix)
		}
	}
	fi, err := os.Stat(secretFile(t, "x", 0o600))
	if err != nil {
		t.Fatal(err)
	}
	if got := fileOwner(fi); got != os.Geteuid() {
		t.Errorf("fileOwner = %d, want %d", got, os.Geteuid())
	}
}

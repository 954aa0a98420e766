package main

// Secrets (password, psk, l2tp-secret) are given as a spec: "env:VAR",
// "file:PATH", "prompt", or a literal. A literal is only accepted from a
// private profile (see private.go); on the command line every user sees it
// in ps. A file: secret must be private too. An env: variable is removed
// from our environment once read, so no child process (hooks, the detached
// half of --background) inherits it. No error or String() here ever
// contains a secret's value.

import (
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// SecretSource says where a secret comes from.
type SecretSource int

const (
	SecretLiteral = SecretSource(secret.Literal) // the spec is the secret itself
	SecretEnv     = SecretSource(secret.Env)     // env:VAR
	SecretFile    = SecretSource(secret.File)    // file:PATH (first line)
	SecretPrompt  = SecretSource(secret.Prompt)  // prompt: read from the terminal without echo
)

func (s SecretSource) String() string {
	switch s {
	case SecretLiteral:
		return "literal"
	case SecretEnv:
		return "env"
	case SecretFile:
		return "file"
	case SecretPrompt:
		return "prompt"
	}
	return fmt.Sprintf("SecretSource(%d)", int(s))
}

// secretType is the pflag Value.Type() of secret flags.
const secretType = "secret"

// secretSpecError is a malformed spec; its text never contains the spec.
type secretSpecError = secret.SpecError

// ParseSecretSpec splits a secret spec into its source and the variable name
// (env:) or path (file:). For a literal the second result is empty; the
// secret is the spec itself. The spec syntax is package secret's, shared
// with the server's configuration.
func ParseSecretSpec(s string) (SecretSource, string, error) {
	src, arg, err := secret.ParseSpec(s)
	return SecretSource(src), arg, err
}

func secretEnvNameOK(name string) bool { return secret.ValidEnvName(name) }

// SecretRequest describes one secret to resolve.
type SecretRequest struct {
	What        string      // "password", "psk", "l2tp-secret": the flag name, used in messages
	Spec        string      // the flag's value
	Prompt      string      // e.g. "password for alice@vpn.example.com: "
	FromProfile bool        // the spec came from the profile, not the command line
	ProfilePath string      // the profile, for the literal-secret check
	ProfileMode fs.FileMode // its permission bits
	ProfileUID  int         // its owner (-1: unknown; 0, root, is always fine)
}

// ResolveSecret returns the secret's value. env looks up environment
// variables; nil means the process environment, and then a variable is
// removed from it once read (os.Unsetenv), so that no child process
// inherits it. in is the terminal for prompt (nil: os.Stdin); the prompt
// goes to out.
func ResolveSecret(r SecretRequest, env func(string) (string, bool), in *os.File, out io.Writer) (secret.Secret, error) {
	src, arg, err := ParseSecretSpec(r.Spec)
	if err != nil {
		return secret.Secret{}, fmt.Errorf("%s: %w", r.What, err)
	}
	switch src {
	case SecretEnv:
		return secretFromEnv(r.What, arg, env)
	case SecretFile:
		return secretFromFile(r.What, arg)
	case SecretPrompt:
		return secretPrompt(r, in, out)
	}
	// A literal.
	if !r.FromProfile {
		return secret.Secret{}, fmt.Errorf("%s: a literal secret on the command line is visible to every user in ps; use env:VAR, file:PATH or prompt", r.What)
	}
	if problem, fix := privacy(r.ProfilePath, r.ProfileMode, r.ProfileUID, os.Geteuid()); problem != "" {
		return secret.Secret{}, fmt.Errorf("%s: key %s holds a literal secret but the file %s: %s, or use env:/file:",
			r.ProfilePath, r.What, problem, fix)
	}
	return secret.FromString(r.Spec), nil
}

// secretFromEnv reads variable name; see ResolveSecret for env.
func secretFromEnv(what, name string, env func(string) (string, bool)) (secret.Secret, error) {
	return secret.FromEnv(what, name, env)
}

// secretFromFile reads the first line of path (trailing \r\n stripped). The
// file must be private (see private.go).
func secretFromFile(what, path string) (secret.Secret, error) {
	return secret.FromFile(what, path)
}

// secretPrompt reads the secret from the terminal without echo.
func secretPrompt(r SecretRequest, in *os.File, out io.Writer) (secret.Secret, error) {
	if in == nil {
		in = os.Stdin
	}
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		return secret.Secret{}, fmt.Errorf("%s: prompt needs a terminal; use env:VAR or file:PATH", r.What)
	}
	prompt := r.Prompt
	if prompt == "" {
		prompt = r.What + ": "
	}
	fmt.Fprint(out, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(out)
	if err != nil {
		return secret.Secret{}, fmt.Errorf("%s: read from terminal: %w", r.What, err)
	}
	if len(b) == 0 {
		return secret.Secret{}, fmt.Errorf("%s: nothing entered", r.What)
	}
	s := secret.New(b)
	clear(b)
	return s, nil
}

// secretValue is a pflag.Value holding a secret spec. Its String() never
// shows a literal.
type secretValue struct {
	spec string
}

// newSecretFlag defines a secret flag (Type() "secret") on fs.
func newSecretFlag(fs *pflag.FlagSet, name, usage string) *secretValue {
	v := &secretValue{}
	fs.Var(v, name, usage)
	return v
}

// Set checks the spec's form; a literal is checked later by ResolveSecret,
// which knows where it came from.
func (v *secretValue) Set(s string) error {
	if _, _, err := ParseSecretSpec(s); err != nil {
		return err
	}
	v.spec = s
	return nil
}

func (v *secretValue) Type() string { return secretType }

// String returns the spec, or "<redacted>" for a literal.
func (v *secretValue) String() string {
	if v == nil || v.spec == "" {
		return ""
	}
	if src, _, err := ParseSecretSpec(v.spec); err != nil || src == SecretLiteral {
		return "<redacted>"
	}
	return v.spec
}

// Spec returns the spec as set, literal included.
func (v *secretValue) Spec() string { return v.spec }

var _ pflag.Value = (*secretValue)(nil)

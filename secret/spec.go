package secret

// Where a secret comes from. A configuration names a secret (password,
// psk, l2tp-secret) by a spec: "env:VAR", "file:PATH", "prompt", or the
// secret itself (a literal). The client's command line and profiles and
// the server's configuration file read specs with the same functions,
// here. Whether a literal or a prompt is acceptable is the caller's
// decision; so is reading a terminal. No error here contains a secret.
//
// A file that holds a secret (a file: secret, a configuration with a
// literal, a users file) must be private, as ssh wants of a private key:
// owned by the user who runs us or by root, and neither readable nor
// writable by its group or by everyone (Privacy).

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// Source says where a secret comes from.
type Source int

// The forms of a spec.
const (
	Literal Source = iota // the spec is the secret itself
	Env                   // env:VAR
	File                  // file:PATH (its first line)
	Prompt                // prompt: read from the terminal without echo
)

func (s Source) String() string {
	switch s {
	case Literal:
		return "literal"
	case Env:
		return "env"
	case File:
		return "file"
	case Prompt:
		return "prompt"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// FileMax bounds how much of a secret file FromFile reads.
const FileMax = 64 << 10

// SpecError is a malformed spec; its text never contains the spec.
type SpecError struct{ msg string }

func (e *SpecError) Error() string { return e.msg }

// ParseSpec splits a spec into its source and the variable name (Env) or
// path (File). For a literal the second result is empty: the secret is
// the spec itself. Errors are *SpecError.
func ParseSpec(s string) (Source, string, error) {
	switch {
	case s == "":
		return 0, "", &SpecError{"empty secret; use env:VAR, file:PATH or prompt"}
	case s == "prompt":
		return Prompt, "", nil
	case strings.HasPrefix(s, "env:"):
		name := s[len("env:"):]
		if name == "" {
			return 0, "", &SpecError{"env: needs a variable name (env:VAR)"}
		}
		if !ValidEnvName(name) {
			return 0, "", &SpecError{"env:VAR: the variable name may hold only letters, digits and '_'"}
		}
		return Env, name, nil
	case strings.HasPrefix(s, "file:"):
		path := s[len("file:"):]
		if path == "" {
			return 0, "", &SpecError{"file: needs a path (file:PATH)"}
		}
		return File, path, nil
	}
	return Literal, "", nil
}

// ValidEnvName reports whether name is a variable name env: accepts:
// letters, digits and '_', not starting with a digit.
func ValidEnvName(name string) bool {
	for i, c := range name {
		ok := c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}

// FromEnv reads the secret in variable name; what names the secret in
// errors ("psk"). env looks variables up; nil means the process
// environment, and then the variable is removed from it once read
// (os.Unsetenv), so that no child process inherits it.
func FromEnv(what, name string, env func(string) (string, bool)) (Secret, error) {
	lookup := env
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(name)
	if !ok {
		return Secret{}, fmt.Errorf("%s: environment variable %s is not set", what, name)
	}
	if env == nil {
		os.Unsetenv(name)
	}
	if v == "" {
		return Secret{}, fmt.Errorf("%s: environment variable %s is empty", what, name)
	}
	return FromString(v), nil
}

// FromFile reads the secret from the first line of path (a trailing \r\n
// is stripped); what names the secret in errors. The file must be private
// (Privacy).
func FromFile(what, path string) (Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return Secret{}, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Secret{}, fmt.Errorf("%s: %w", what, err)
	}
	if fi.IsDir() {
		return Secret{}, fmt.Errorf("%s: file %s is a directory", what, path)
	}
	if problem, fix := Privacy(path, fi.Mode().Perm(), FileOwner(fi), os.Geteuid()); problem != "" {
		return Secret{}, fmt.Errorf("%s: file %s %s: %s", what, path, problem, fix)
	}
	line, err := bufio.NewReaderSize(io.LimitReader(f, FileMax), 4096).ReadString('\n')
	if err != nil && err != io.EOF {
		// The error comes from the read itself, not from the content.
		return Secret{}, fmt.Errorf("%s: read %s: %w", what, path, err)
	}
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return Secret{}, fmt.Errorf("%s: file %s is empty (the secret is its first line)", what, path)
	}
	return FromString(line), nil
}

// Privacy says what makes a file unfit to hold a secret of user euid, or
// returns "" if nothing does. perm is the file's permission bits, uid its
// owner (-1: unknown). fix is what to do about it, for path.
func Privacy(path string, perm fs.FileMode, uid, euid int) (problem, fix string) {
	chmod := "chmod 600 " + path
	switch {
	case uid >= 0 && uid != 0 && uid != euid:
		return fmt.Sprintf("belongs to another user (uid %d; you are uid %d)", uid, euid),
			"keep the secret in a file of your own (" + chmod + ")"
	case perm&0o004 != 0:
		return fmt.Sprintf("is readable by everyone (mode %04o)", perm), chmod
	case perm&0o040 != 0:
		return fmt.Sprintf("is readable by its group (mode %04o)", perm), chmod
	case perm&0o022 != 0:
		return fmt.Sprintf("can be changed by other users (mode %04o)", perm), chmod
	}
	return "", ""
}

// FileOwner is the owner of the file fi describes, or -1 if unknown.
func FileOwner(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

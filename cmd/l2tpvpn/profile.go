package main

// Profiles: a TOML file of top-level `key = value` lines, one per long flag of
// the connect command (`server = "x"` is `--server x`). Flags given on the
// command line win over the profile. Flags annotated with
// fs.SetAnnotation(name, "profile", []string{"no"}) are command-line only.

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
	"github.com/spf13/pflag"
)

// profileSystemDir is where system-wide profiles live; a variable so tests can
// point it elsewhere.
var profileSystemDir = "/etc/l2tpvpn"

// profileMaxSize bounds the profile file read into memory.
const profileMaxSize = 1 << 20

var profileNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)

// FindProfile returns the path of profile name: first
// $XDG_CONFIG_HOME/l2tpvpn/NAME.toml (XDG_CONFIG_HOME defaults to
// $HOME/.config), then /etc/l2tpvpn/NAME.toml. The error lists the paths
// tried.
func FindProfile(name string) (string, error) {
	if !profileNameRE.MatchString(name) {
		return "", fmt.Errorf("profile name %q: use 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	var tried []string
	for _, d := range profileDirs() {
		p := filepath.Join(d, name+".toml")
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.Mode().IsRegular():
			return p, nil
		case err == nil:
			return "", fmt.Errorf("profile %s is not a regular file", p)
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("profile %q: %w", name, err)
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("profile %q not found (tried %s)", name, strings.Join(tried, ", "))
}

// profileDirs lists the directories profiles are looked up in, in order:
// $XDG_CONFIG_HOME/l2tpvpn (default $HOME/.config/l2tpvpn); under sudo, the
// invoking user's ~/.config/l2tpvpn (sudo gives root's HOME, so without it
// 'sudo l2tpvpn connect work' would miss the user's profile); then
// /etc/l2tpvpn.
func profileDirs() []string {
	var dirs []string
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		dirs = append(dirs, filepath.Join(x, "l2tpvpn"))
	} else if h := os.Getenv("HOME"); h != "" {
		dirs = append(dirs, filepath.Join(h, ".config", "l2tpvpn"))
	}
	if d := sudoProfileDir(os.Geteuid(), os.Getenv("SUDO_USER"), profileUserHome); d != "" && !slices.Contains(dirs, d) {
		dirs = append(dirs, d)
	}
	return append(dirs, profileSystemDir)
}

// sudoProfileDir is the profile directory of the user who ran us through
// sudo (we are root, SUDO_USER names them), or "". home finds a user's
// home directory.
func sudoProfileDir(euid int, sudoUser string, home func(string) (string, error)) string {
	if euid != 0 || sudoUser == "" || sudoUser == "root" {
		return ""
	}
	h, err := home(sudoUser)
	if err != nil || !filepath.IsAbs(h) {
		return ""
	}
	return filepath.Join(h, ".config", "l2tpvpn")
}

// profileUserHome finds a user's home directory; a variable so tests can
// point it elsewhere.
var profileUserHome = func(name string) (string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return "", err
	}
	return u.HomeDir, nil
}

// Profile is a profile file applied to a flag set.
type Profile struct {
	Path  string
	Name  string         // base name without .toml
	Mode  fs.FileMode    // permission bits of the file (for the literal-secret check)
	UID   int            // its owner, -1 if unknown (likewise)
	Lines map[string]int // canonical key (flag name) -> 1-based line
	Set   []string       // keys applied to the flag set (not overridden by a command-line flag)
}

// Has reports whether key (a flag name) was applied from the profile. A nil
// Profile has no keys.
func (p *Profile) Has(key string) bool {
	return p != nil && slices.Contains(p.Set, key)
}

// KeyError returns err located at key: a *ProfileError with the key's line
// when the key was applied from the profile, otherwise (the flag came from
// the command line) an error "--KEY: ERR".
func (p *Profile) KeyError(key string, err error) error {
	if p.Has(key) {
		return &ProfileError{Path: p.Path, Line: p.Lines[key], Key: key, Err: err}
	}
	return fmt.Errorf("--%s: %w", key, err)
}

// ProfileError names the file, line and key of a profile problem:
// "work.toml:3: key mtu: 99999 is outside 576..1462".
type ProfileError struct {
	Path string
	Line int    // 1-based; 0 when unknown
	Key  string // canonical key; empty for file-level errors
	Err  error
}

func (e *ProfileError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Key != "" {
		b.WriteString(": key ")
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *ProfileError) Unwrap() error { return e.Err }

// profileEntry is one top-level key of the file, in file order.
type profileEntry struct {
	raw  string // key as written
	line int
}

// LoadProfile reads the TOML file at path and applies every key to fs,
// skipping keys whose flag fs.Changed already (the command line wins). The
// first problem found, in file order, is returned as a *ProfileError.
//
// Values are converted by the flag's Value.Type(): "string" takes a string (a
// bool becomes "true"/"false"); "int"/"uint" kinds an integer; "bool" a bool;
// "duration" a string like "30s" or an integer number of seconds;
// "stringSlice" an array of strings or one (comma-separated) string; "secret"
// a string, applied as is. Other flag types take any scalar in its text form,
// and arrays element by element.
func LoadProfile(path string, fset *pflag.FlagSet) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &ProfileError{Path: path, Err: errors.New("not a regular file")}
	}
	data, err := io.ReadAll(io.LimitReader(f, profileMaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > profileMaxSize {
		return nil, &ProfileError{Path: path, Err: errors.New("file is larger than 1 MiB")}
	}

	values := map[string]any{}
	if err := toml.Unmarshal(data, &values); err != nil {
		return nil, profileDecodeError(path, data, fset, err)
	}
	entries, err := profileEntries(path, data)
	if err != nil {
		return nil, err
	}

	p := &Profile{
		Path:  path,
		Name:  strings.TrimSuffix(filepath.Base(path), ".toml"),
		Mode:  fi.Mode().Perm(),
		UID:   fileOwner(fi),
		Lines: make(map[string]int, len(entries)),
	}
	for _, e := range entries {
		key := strings.ReplaceAll(e.raw, "_", "-")
		fail := func(err error) error {
			return &ProfileError{Path: path, Line: e.line, Key: key, Err: err}
		}
		if prev, dup := p.Lines[key]; dup {
			return nil, fail(fmt.Errorf("duplicate key (also on line %d)", prev))
		}
		p.Lines[key] = e.line
		fl := fset.Lookup(key)
		if fl == nil {
			msg := "unknown key"
			if s := profileSuggest(fset, key); s != "" {
				msg += "; did you mean " + s + "?"
			}
			return nil, fail(errors.New(msg))
		}
		if !profileAllowed(fl) {
			return nil, fail(errors.New("allowed on the command line only, not in a profile"))
		}
		if fset.Changed(key) {
			continue
		}
		if err := profileApply(fset, fl, values[e.raw]); err != nil {
			return nil, fail(err)
		}
		p.Set = append(p.Set, key)
	}
	return p, nil
}

// profileDecodeError turns a go-toml error into a one-line *ProfileError. On
// the line of a secret flag go-toml's message, which may quote characters of
// the value, is replaced.
func profileDecodeError(path string, data []byte, fset *pflag.FlagSet, err error) error {
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		return &ProfileError{Path: path, Err: errors.New(strings.TrimPrefix(err.Error(), "toml: "))}
	}
	line, _ := de.Position()
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	key, rhs := profileRawLine(data, line)
	fl := fset.Lookup(key)
	if fl == nil {
		key = ""
	} else if fl.Value.Type() == secretType {
		msg = "syntax error in the value (not shown: it is a secret)"
	}
	if key != "" && strings.HasSuffix(msg, " is already defined") {
		msg = "duplicate key"
	}
	if profileUnquoted(rhs) {
		msg += "; put the value in quotes"
	}
	return &ProfileError{Path: path, Line: line, Key: key, Err: errors.New(msg)}
}

// profileRawLine splits line (1-based) of data as `key = rest`, the key in
// canonical form, the rest without a trailing comment. Both are empty if the
// line has no '='.
func profileRawLine(data []byte, line int) (key, rhs string) {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return "", ""
	}
	lhs, rhs, ok := strings.Cut(string(lines[line-1]), "=")
	if !ok {
		return "", ""
	}
	key = strings.ReplaceAll(strings.Trim(strings.TrimSpace(lhs), `"'`), "_", "-")
	if i := strings.IndexByte(rhs, '#'); i >= 0 && !strings.ContainsAny(rhs[:i], `"'`) {
		rhs = rhs[:i]
	}
	return key, strings.TrimSpace(rhs)
}

// profileUnquoted reports whether rhs is not valid TOML but would be as a
// quoted string, as in `server = 192.0.2.1`.
func profileUnquoted(rhs string) bool {
	if rhs == "" || strings.ContainsAny(rhs, "\"'[{\\#") {
		return false
	}
	var m map[string]any
	return toml.Unmarshal([]byte("x = "+rhs), &m) != nil && toml.Unmarshal([]byte(`x = "`+rhs+`"`), &m) == nil
}

// profileEntries lists the top-level keys of an already validated document
// with their lines, and refuses tables, dotted keys and inline tables.
func profileEntries(path string, data []byte) ([]profileEntry, error) {
	var ps unstable.Parser
	ps.Reset(data)
	var out []profileEntry
	for ps.NextExpression() {
		n := ps.Expression()
		if n.Kind != unstable.KeyValue && n.Kind != unstable.Table && n.Kind != unstable.ArrayTable {
			continue
		}
		var parts []string
		line := 0
		it := n.Key()
		for it.Next() {
			k := it.Node()
			if line == 0 {
				line = ps.Shape(k.Raw).Start.Line
			}
			parts = append(parts, string(k.Data))
		}
		tableErr := &ProfileError{Path: path, Line: line, Key: strings.Join(parts, "."),
			Err: errors.New("tables are not used; write key = value at top level")}
		if n.Kind != unstable.KeyValue || len(parts) != 1 {
			return nil, tableErr
		}
		if v := n.Value(); v != nil && v.Kind == unstable.InlineTable {
			return nil, tableErr
		}
		out = append(out, profileEntry{raw: parts[0], line: line})
	}
	if err := ps.Error(); err != nil {
		// toml.Unmarshal accepted the document, so this should not happen.
		return nil, &ProfileError{Path: path, Err: err}
	}
	return out, nil
}

// profileAllowed reports whether the flag may be set from a profile.
func profileAllowed(fl *pflag.Flag) bool {
	return !slices.Contains(fl.Annotations["profile"], "no")
}

// profileApply converts one TOML value to the flag's text form and sets it.
func profileApply(fset *pflag.FlagSet, fl *pflag.Flag, v any) error {
	typ := fl.Value.Type()
	set := func(s string) error {
		err := fset.Set(fl.Name, s)
		if err == nil {
			return nil
		}
		var ive *pflag.InvalidValueError
		if errors.As(err, &ive) && ive.Unwrap() != nil {
			err = ive.Unwrap()
		}
		if typ == secretType {
			// Only our own spec errors are known not to quote the value.
			var se *secretSpecError
			if errors.As(err, &se) {
				return fmt.Errorf("value rejected: %v", se)
			}
			return errors.New("value rejected")
		}
		return err
	}
	switch {
	case typ == secretType:
		s, ok := v.(string)
		if !ok {
			return profileWant(`a string such as "env:VAR", "file:PATH" or "prompt"`, v)
		}
		return set(s)
	case typ == "string":
		switch x := v.(type) {
		case string:
			return set(x)
		case bool:
			return set(strconv.FormatBool(x))
		}
		return profileWant("a string", v)
	case typ == "port": // local-port = 1701 or "auto"
		switch x := v.(type) {
		case string:
			return set(x)
		case int64:
			return set(strconv.FormatInt(x, 10))
		}
		return profileWant(`a port number, "auto" or "ephemeral"`, v)
	case typ == "bool":
		b, ok := v.(bool)
		if !ok {
			return profileWant("true or false", v)
		}
		return set(strconv.FormatBool(b))
	case typ == "duration":
		switch x := v.(type) {
		case string:
			return set(x)
		case int64:
			return set(strconv.FormatInt(x, 10) + "s")
		}
		return profileWant(`a string like "30s"`, v)
	case profileIntType(typ):
		n, ok := v.(int64)
		if !ok {
			return profileWant("an integer", v)
		}
		return set(strconv.FormatInt(n, 10))
	case typ == "stringSlice":
		switch x := v.(type) {
		case string:
			return set(x)
		case []any:
			elems := make([]string, 0, len(x))
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return profileWant("an array of strings", v)
				}
				elems = append(elems, s)
			}
			return set(profileCSV(elems))
		}
		return profileWant("an array of strings", v)
	}
	// Other flag types: scalars in their text form, arrays element by element.
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			s, ok := profileScalar(e)
			if !ok {
				return profileWant("an array of plain values", v)
			}
			if err := set(s); err != nil {
				return err
			}
		}
		return nil
	}
	s, ok := profileScalar(v)
	if !ok {
		return profileWant("a plain value", v)
	}
	return set(s)
}

func profileIntType(t string) bool {
	switch t {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "count":
		return true
	}
	return false
}

// profileScalar gives the text form of a TOML scalar.
func profileScalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	}
	return "", false
}

// profileCSV joins elements the way pflag's stringSlice reads them back.
func profileCSV(elems []string) string {
	if len(elems) == 0 {
		return ""
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(elems)
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// profileWant reports a TOML value of the wrong type, naming the type only,
// never the value.
func profileWant(want string, v any) error {
	return fmt.Errorf("want %s, not %s", want, profileTOMLType(v))
}

func profileTOMLType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return "a date or time"
}

// profileSuggest returns the profile-settable flag closest to key within
// edit distance 2, or "".
func profileSuggest(fset *pflag.FlagSet, key string) string {
	best, bestD := "", 3
	fset.VisitAll(func(fl *pflag.Flag) {
		if !profileAllowed(fl) || fl.Hidden {
			return
		}
		if d := profileEditDistance(key, fl.Name); d < bestD {
			best, bestD = fl.Name, d
		}
	})
	return best
}

// profileEditDistance is the Levenshtein distance between a and b.
func profileEditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Package secret holds a value that must never be printed, logged or
// serialised: a password, a pre-shared key, a tunnel secret.
//
// Every way of showing a Secret gives "[redacted]": fmt (every verb, also
// inside a struct printed with %v, %+v or %#v), log/slog (LogValue), JSON and
// text marshalling. Code that needs the bytes asks for them with Bytes, so
// each place a secret is revealed can be found with grep.
//
// A Secret is a struct around a *string, not a []byte. A named []byte would
// be assignable to any []byte parameter (an io.Writer, a hash, a log call)
// without a word, and fmt prints the bytes of a []byte it reaches through an
// unexported field (a Config inside an engine's unexported cfg field),
// because it cannot call Format there. Of a pointer to a string fmt prints
// only the address, even for a verb that does not fit (a pointer to a slice,
// array or struct would be printed as &[...] in the %!s(...) complaint).
package secret

import (
	"fmt"
	"log/slog"
)

// Redacted is what every printed or marshalled form of a Secret shows.
const Redacted = "[redacted]"

// Secret is a secret byte string. The zero value is the empty secret. A
// Secret is immutable: New copies its argument and Bytes returns a fresh
// copy, so copies of a Secret share the value safely.
type Secret struct {
	v *string // nil: empty; see the package doc for why a *string
}

// New returns a Secret holding a copy of b. An empty b gives the zero
// Secret.
func New(b []byte) Secret {
	if len(b) == 0 {
		return Secret{}
	}
	v := string(b)
	return Secret{v: &v}
}

// FromString returns a Secret holding the bytes of s.
func FromString(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{v: &s}
}

// Bytes reveals the secret: it is the one deliberate way to get at the
// value. The result is a new copy each time (nil for the empty secret); do
// not log it or keep it longer than needed.
func (s Secret) Bytes() []byte {
	if s.v == nil {
		return nil
	}
	return []byte(*s.v)
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.Len() == 0 }

// Len is the length of the secret in bytes. A length says little, but it is
// only for checks such as "is it set": never log it either.
func (s Secret) Len() int {
	if s.v == nil {
		return 0
	}
	return len(*s.v)
}

// String returns "[redacted]".
func (s Secret) String() string { return Redacted }

// GoString returns "[redacted]" (the %#v verb).
func (s Secret) GoString() string { return Redacted }

// Format prints "[redacted]" for every verb and flag (%v, %s, %q, %x, %d,
// %+v, %#v, ...), so no verb reaches the bytes.
func (s Secret) Format(f fmt.State, verb rune) { f.Write([]byte(Redacted)) }

// LogValue makes log/slog show "[redacted]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON gives the JSON string "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText gives "[redacted]" (encoding.TextMarshaler: TOML, YAML, map
// keys, slog's text handler).
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

var (
	_ fmt.Stringer   = Secret{}
	_ fmt.GoStringer = Secret{}
	_ fmt.Formatter  = Secret{}
	_ slog.LogValuer = Secret{}
)

package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const value = "Zq9-hunter2-value"

// holder is a config-like struct with the secret in an exported and an
// unexported field, as engines keep their Config.
type holder struct {
	User     string
	Password Secret
	psk      Secret
}

// engine keeps a holder in an unexported field: fmt cannot call methods
// on anything reached through it.
type engine struct {
	cfg holder
}

// leaks reports whether s shows the value in any form a formatter might
// produce: as text, hex, or the decimal bytes of %v on a []byte.
func leaks(s string) bool {
	b := []byte(value)
	dec := strings.Trim(fmt.Sprint(b), "[]") // "90 113 57 ..."
	return strings.Contains(s, value) || strings.Contains(s, fmt.Sprintf("%x", b)) ||
		strings.Contains(s, fmt.Sprintf("%X", b)) || strings.Contains(s, dec) || strings.Contains(s, "Zq9")
}

func TestFmt(t *testing.T) {
	s := FromString(value)
	h := holder{User: "alice", Password: s, psk: s}
	e := &engine{cfg: h}
	verbs := []string{"%v", "%s", "%q", "%x", "%X", "%d", "%+v", "%#v", "%10s", "%-5q", "%08x"}
	for _, verb := range verbs {
		for _, arg := range []any{s, &s, h, &h, e, *e, []Secret{s}, map[string]Secret{"k": s}} {
			got := fmt.Sprintf(verb, arg)
			if leaks(got) {
				t.Errorf("Sprintf(%q, %T) = %q shows the secret", verb, arg, got)
			}
		}
		if got := fmt.Sprintf(verb, s); !strings.Contains(got, Redacted) {
			t.Errorf("Sprintf(%q, secret) = %q, want %s", verb, got, Redacted)
		}
	}
	if got := fmt.Sprintf("%+v", h); got != "{User:alice Password:[redacted] psk:{v:"+fmt.Sprintf("%p", h.psk.v)+"}}" {
		t.Errorf("%%+v of a struct = %q", got)
	}
	if got := fmt.Sprint(s) + s.String() + s.GoString(); got != Redacted+Redacted+Redacted {
		t.Errorf("Sprint/String/GoString = %q", got)
	}
	if got := fmt.Sprintf("%v", Secret{}); got != Redacted {
		t.Errorf("zero secret prints %q", got)
	}
}

func TestSlog(t *testing.T) {
	s := FromString(value)
	h := holder{User: "alice", Password: s, psk: s}
	for _, name := range []string{"text", "json"} {
		var buf bytes.Buffer
		var hd slog.Handler = slog.NewTextHandler(&buf, nil)
		if name == "json" {
			hd = slog.NewJSONHandler(&buf, nil)
		}
		log := slog.New(hd)
		log.Info("connecting", "password", s, "ptr", &s, "cfg", h, "cfgp", &h, "engine", &engine{cfg: h}, slog.Any("list", []Secret{s}))
		log.With("psk", s).WithGroup("g").Info("x", "pw", s)
		out := buf.String()
		if leaks(out) {
			t.Errorf("%s handler shows the secret: %s", name, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s handler: no %s in %s", name, Redacted, out)
		}
	}
}

func TestMarshal(t *testing.T) {
	s := FromString(value)
	h := holder{User: "alice", Password: s, psk: s}
	b, err := json.Marshal(struct {
		H    holder
		P    *Secret
		L    []Secret
		M    map[string]Secret
		Z    Secret `json:",omitempty"`
		Zero Secret
	}{h, &s, []Secret{s}, map[string]Secret{"k": s}, Secret{}, Secret{}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"H":{"User":"alice","Password":"[redacted]"},"P":"[redacted]","L":["[redacted]"],"M":{"k":"[redacted]"},"Z":"[redacted]","Zero":"[redacted]"}`
	if string(b) != want {
		t.Errorf("json = %s\nwant   %s", b, want)
	}
	if txt, err := s.MarshalText(); err != nil || string(txt) != Redacted {
		t.Errorf("MarshalText = %q, %v", txt, err)
	}
	// A map keyed by secrets marshals its keys as text.
	if b, err := json.Marshal(map[Secret]int{s: 1}); err != nil || string(b) != `{"[redacted]":1}` {
		t.Errorf("map key: %s, %v", b, err)
	}
}

func TestValue(t *testing.T) {
	in := []byte(value)
	s := New(in)
	in[0] = 'X' // New copied
	if string(s.Bytes()) != value || s.Len() != len(value) || s.IsZero() {
		t.Errorf("New: %q len %d zero %v", s.Bytes(), s.Len(), s.IsZero())
	}
	s.Bytes()[0] = 'X' // Bytes copies
	if string(s.Bytes()) != value {
		t.Errorf("Bytes shares its memory: %q", s.Bytes())
	}
	if f := FromString(value); string(f.Bytes()) != value {
		t.Errorf("FromString: %q", f.Bytes())
	}
	for _, z := range []Secret{{}, New(nil), New([]byte{}), FromString("")} {
		if !z.IsZero() || z.Len() != 0 || z.Bytes() != nil {
			t.Errorf("empty secret: zero %v len %d bytes %v", z.IsZero(), z.Len(), z.Bytes())
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestPresetsCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"presets"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"windows:", "macos:", "legacy:", "modern:", "source: Microsoft KB 325158"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("presets output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"presets", "--json"}, &out, &errOut); code != exitOK {
		t.Fatalf("--json exit %d", code)
	}
	var v struct {
		Proposals []struct{ Name, IKE, ESP, Source string }
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || len(v.Proposals) != 4 || v.Proposals[0].IKE == "" {
		t.Fatalf("--json: %v %+v", err, v)
	}
	if code := run([]string{"presets", "extra"}, &out, &errOut); code != exitUsage {
		t.Errorf("presets extra: exit %d, want 2", code)
	}
}

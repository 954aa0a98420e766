package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The man pages in man/ are what the binary writes from its help texts and
// flags: a help or flag change without `make man` fails here. groff (a
// test dependency) formats them without errors or bad characters.
func TestManPagesCurrent(t *testing.T) {
	for _, p := range []struct{ section, file string }{{"1", "../../man/l2tpvpn.1"}, {"5", "../../man/l2tpvpn.toml.5"}} {
		var out bytes.Buffer
		if code := run([]string{manCommand, p.section}, &out, &bytes.Buffer{}); code != exitOK {
			t.Fatalf("__man %s: exit %d", p.section, code)
		}
		have, err := os.ReadFile(p.file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(have, out.Bytes()) {
			t.Errorf("%s is out of date: run 'make man'", p.file)
		}
		msg, err := exec.Command("groff", "-ww", "-z", "-man", p.file).CombinedOutput()
		if err != nil {
			t.Fatalf("groff %s: %v\n%s", p.file, err, msg)
		}
		for line := range strings.Lines(string(msg)) {
			if !strings.Contains(line, "break line") && !strings.Contains(line, "adjust line") {
				t.Errorf("groff %s: %s", p.file, line)
			}
		}
	}
	var out bytes.Buffer
	run([]string{manCommand, "5"}, &out, &bytes.Buffer{})
	for _, key := range []string{".B server = string", ".B psk = secret", ".B route = strings", ".SH PROXY MODE (NO ROOT)"} {
		if !strings.Contains(out.String(), key) {
			t.Errorf("l2tpvpn.toml(5) lacks %q", key)
		}
	}
	if strings.Contains(out.String(), ".B background") || strings.Contains(out.String(), ".B password-env") {
		t.Error("l2tpvpn.toml(5) documents command-line-only flags as profile keys")
	}
}

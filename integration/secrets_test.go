//go:build integration

package integration

// Issue 10, defect 1: no secret reaches a child process or a file. A
// background client gets the password from env: and the PSK from file:,
// and an up hook dumps its environment and arguments; neither the dump,
// the daemon's /proc environ and cmdline, its log, its status nor any file
// of the state directory may hold either secret.

import (
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSecretsNeverLeak(t *testing.T) {
	labSE.up(t)
	ns := labSE.clientNS
	const name = "l2v-leak"
	dump := filepath.Join(t.TempDir(), "hook.dump")
	// A TOML literal string: the hook is passed to sh -c as it is.
	hook := `{ env; echo "args: $0 $@"; } > ` + dump
	p := profile(t, name,
		`server = "`+labSE.server+`"`, `user = "alice"`, `password = "env:L2V_TEST_PASSWORD"`, `psk = "file:@PSKFILE@"`,
		`interface = "l2v-lk0"`, `route = ["`+labSE.service+`/32"]`, `up = '`+hook+`'`)
	background(t, ns, p, name, "-v")
	pingOnce(t, ns, labSE.service)

	type source struct{ what, text string }
	var seen []source
	add := func(what string, b []byte) { seen = append(seen, source{what, string(b)}) }

	// The hook ran before the background connect returned; wait a little
	// anyway in case a slow shell is still writing.
	var hookOut []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		b, err := os.ReadFile(dump)
		if err == nil && strings.Contains(string(b), "args: ") {
			hookOut = b
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the up hook wrote no dump (%v)", err)
		}
		time.Sleep(100 * time.Millisecond) // polling a file another process writes
	}
	add("the up hook's environment and arguments", hookOut)
	if !strings.Contains(string(hookOut), "L2TPVPN_EVENT=up") || !strings.Contains(string(hookOut), "L2TPVPN_PROFILE="+name) {
		t.Errorf("the hook dump lacks the L2TPVPN_* variables:\n%s", hookOut)
	}
	if strings.Contains(string(hookOut), "L2V_TEST_PASSWORD") {
		t.Errorf("the hook inherited the password's variable:\n%s", hookOut)
	}

	st, ok := statusOf(t, ns, name)
	if !ok || st.PID <= 0 {
		t.Fatalf("status: %+v", st)
	}
	stJSON, stErr, code := l2tpvpn(t, ns, "status", name, "--json")
	if code != 0 {
		t.Fatalf("status --json: exit %d: %s", code, stErr)
	}
	add("status --json", []byte(stJSON))

	proc := filepath.Join("/proc", strconv.Itoa(st.PID))
	for _, f := range []string{"environ", "cmdline"} {
		b, err := os.ReadFile(filepath.Join(proc, f))
		if err != nil {
			t.Fatalf("daemon %s: %v", f, err)
		}
		add("/proc/<daemon>/"+f, b)
		if strings.Contains(string(b), "L2V_TEST_PASSWORD=") {
			t.Errorf("the daemon's %s holds the password's variable", f)
		}
	}

	// Every file of the state directory while the connection is up
	// (journal, log; the control socket cannot be read).
	stateFiles := func(when string) {
		filepath.WalkDir(stateRoot, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if b, err := os.ReadFile(path); err == nil {
				add(when+": "+path, b)
			}
			return nil
		})
	}
	stateFiles("up")

	disconnectOK(t, ns, name)
	// The log once the daemon has ended, and whatever else is left.
	log, err := os.ReadFile(filepath.Join(stateRoot, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "level=DEBUG") {
		t.Errorf("the background run did not log at debug level")
	}
	add("the background log", log)
	stateFiles("after disconnect")

	total := 0
	for _, s := range seen {
		total += len(s.text)
		low := strings.ToLower(s.text)
		for _, sec := range []struct{ what, value string }{{"password", password}, {"PSK", psk}} {
			for _, form := range []string{sec.value, hex.EncodeToString([]byte(sec.value)),
				base64.RawStdEncoding.EncodeToString([]byte(sec.value))} {
				if strings.Contains(low, strings.ToLower(form)) {
					t.Errorf("the %s appears in %s", sec.what, s.what)
				}
			}
		}
	}
	t.Logf("checked %d sources, %d bytes: no password, no PSK", len(seen), total)
}

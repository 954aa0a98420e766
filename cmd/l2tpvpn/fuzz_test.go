package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/ike/vici"
	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// FuzzParseSecretSpec: a spec is split as its form says, a refusal's text
// is one of the fixed messages (it never depends on, so never shows, the
// spec), and a secret flag never prints a literal.
func FuzzParseSecretSpec(f *testing.F) {
	for _, s := range []string{"env:L2TP_PSK", "file:/etc/l2tpvpn/psk", "prompt", "hunter2", "", "env:", "env:1X", "file:", "env:A-B", "Prompt", "env:_x9"} {
		f.Add(s)
	}
	fixed := map[string]bool{}
	for _, s := range []string{"", "env:", "env:1", "file:"} {
		_, _, err := ParseSecretSpec(s)
		fixed[err.Error()] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		src, arg, err := ParseSecretSpec(s)
		var v secretValue
		if setErr := v.Set(s); (setErr == nil) != (err == nil) {
			t.Fatalf("%q: Set %v, ParseSecretSpec %v", s, setErr, err)
		}
		if err != nil {
			if !fixed[err.Error()] {
				t.Fatalf("%q: error text %q depends on the spec", s, err)
			}
			return
		}
		ok := false
		switch src {
		case SecretPrompt:
			ok = s == "prompt" && arg == ""
		case SecretEnv:
			ok = s == "env:"+arg && arg != "" && secretEnvNameOK(arg)
		case SecretFile:
			ok = s == "file:"+arg && arg != ""
		case SecretLiteral:
			ok = arg == "" && s != "" && s != "prompt" && !strings.HasPrefix(s, "env:") && !strings.HasPrefix(s, "file:")
		}
		if !ok {
			t.Fatalf("%q parsed as %v %q", s, src, arg)
		}
		if want := map[bool]string{true: "<redacted>", false: s}[src == SecretLiteral]; v.String() != want || v.Spec() != s {
			t.Fatalf("%q: String %q, Spec %q", s, v.String(), v.Spec())
		}
	})
}

// FuzzParsePrefix: a --route value that is accepted is a valid, masked
// prefix that parses back to itself; a plain address is its host prefix.
func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"203.0.113.0/24", " 10.1.2.3/8 ", "192.0.2.7", "2001:db8::/32", "2001:db8::1", "fe80::1%eth0", "10.0.0.0/33", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePrefix(s)
		if err != nil {
			if p != (netip.Prefix{}) {
				t.Fatalf("%q: %v with an error", s, p)
			}
			return
		}
		if !p.IsValid() || p != p.Masked() {
			t.Fatalf("%q: %v", s, p)
		}
		if p2, err := parsePrefix(p.String()); err != nil || p2 != p {
			t.Fatalf("%q: %v -> %v, %v", s, p, p2, err)
		}
		if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil && p != netip.PrefixFrom(a, a.BitLen()).Masked() {
			t.Fatalf("%q: address as %v", s, p)
		}
	})
}

// secretLine reports whether line sets a secret key (psk, password,
// l2tp-secret, in any of TOML's key spellings) on the line itself.
func secretLine(line string) bool {
	k, _, ok := strings.Cut(line, "=")
	k = strings.ReplaceAll(strings.Trim(strings.TrimSpace(k), `"'`), "_", "-")
	return ok && (k == "psk" || k == "password" || k == "l2tp-secret")
}

// rot13 maps each ASCII letter to another one.
func rot13(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return 'a' + (r-'a'+13)%26
		case r >= 'A' && r <= 'Z':
			return 'A' + (r-'A'+13)%26
		}
		return r
	}, s)
}

// FuzzLoadProfile loads any profile in which SECRET stands for a secret
// value (8 or more letters) written on psk, password or l2tp-secret lines.
// Whatever is wrong with the file, and wherever, the error does not depend
// on the secret: it is the same for another secret of the same shape, so
// it shows neither the secret nor a character of it.
func FuzzLoadProfile(f *testing.F) {
	for _, s := range []string{
		"server = \"192.0.2.1\"\npsk = \"SECRET\"\n",
		"psk = SECRET\n",
		"password = \"SECRET\n",
		"password = 'SECRET'\npassword = 'SECRET'\n",
		"psk = [\"SECRET\"]\n",
		"l2tp_secret = \"SECRET\"\nmtu = \"x\"\n",
		"psk = \"SECRET\" # comment\n[table]\nx = 1\n",
		"\"psk\" = \"\"\"SECRET\"\"\"\nmtu = 99999\n",
		"psk = \"env:SECRET\"\nuser = 3\n",
		"psk = { v = \"SECRET\" }\n",
		"psk = \"SECRET\\q\"\n",
		"psk = 'SECRET' 'SECRET'\n",
		"psk = \"file:/SECRET\"\n",
	} {
		f.Add(s, "hunterTwoHunter")
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "fuzz.toml")
	load := func(t *testing.T, body string) string {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadProfile(path, newTestFlags().fs)
		if err == nil {
			return ""
		}
		return err.Error()
	}
	f.Fuzz(func(t *testing.T, body, secret string) {
		if len(secret) < 8 || strings.Trim(secret, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" ||
			strings.Contains(body, secret) || strings.Contains(body, rot13(secret)) {
			return
		}
		for _, l := range strings.Split(body, "\n") {
			if strings.Contains(l, "SECRET") && !secretLine(l) {
				return // only secrets on a secret key's own line are checked
			}
		}
		e1 := load(t, strings.ReplaceAll(body, "SECRET", secret))
		e2 := load(t, strings.ReplaceAll(body, "SECRET", rot13(secret)))
		if e1 != e2 || strings.Contains(e1, secret) {
			t.Fatalf("the error depends on the secret:\n%s\n%s", e1, e2)
		}
	})
}

// FuzzControlRequest sends any request to a control socket: the server
// answers each with exactly what the protocol (control.go) says — a status,
// an ok then done, or one error line — and keeps serving.
func FuzzControlRequest(f *testing.F) {
	for _, s := range []string{`{"cmd":"status"}` + "\n", `{"cmd":"disconnect"}` + "\n", `{"cmd":"reboot"}` + "\n",
		`{"cmd":1}` + "\n", "{}\n", "not json\n", `{"cmd":"status"}`, `{"cmd":"status"}` + "\n" + `{"cmd":"disconnect"}` + "\n",
		`{"cmd":"status","cmd":"disconnect"}` + "\n", `{"CMD":"Status"}` + "\n"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	s, err := listenControl(dir, "fz", "")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.close)
	s.finished(nil) // disconnect requests are answered at once
	f.Fuzz(func(t *testing.T, req []byte) {
		conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: socketPath(dir, "fz"), Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		conn.Write(req) // the server may close before reading everything
		conn.CloseWrite()
		var lines [][]byte
		rd := bufio.NewReader(conn)
		for {
			l, err := rd.ReadBytes('\n')
			if len(l) > 0 {
				lines = append(lines, l)
			}
			if err != nil {
				break
			}
		}
		var want []string
		line, _, nl := bytes.Cut(req, []byte("\n"))
		var r controlRequest
		switch {
		case !nl || json.Unmarshal(line, &r) != nil:
			want = []string{`{"error":"bad request"}`}
		case r.Cmd == "status":
			want = []string{"status"}
		case r.Cmd == "disconnect":
			want = []string{`{"ok":true}`, `{"done":true}`}
		default:
			b, _ := json.Marshal(controlReply{Error: fmt.Sprintf("unknown command %q", r.Cmd)})
			want = []string{string(b)}
		}
		if len(lines) != len(want) {
			t.Fatalf("request %q: %d answer lines %q, want %d", req, len(lines), lines, len(want))
		}
		for i, l := range lines {
			l = bytes.TrimSuffix(l, []byte("\n"))
			switch {
			case want[i] == "status":
				var st vpn.Status
				if err := json.Unmarshal(l, &st); err != nil || st.Name != "fz" || st.State != vpn.StateConnecting || st.PID != os.Getpid() {
					t.Fatalf("status answer %s: %v", l, err)
				}
			case string(l) != want[i]:
				t.Fatalf("request %q: answer %s, want %s", req, l, want[i])
			}
		}
	})
}

// FuzzControlReply answers the status and disconnect commands with any
// bytes, as a stale or foreign socket might. A status is returned only when
// the first line is a status, an error line becomes an error, and a
// disconnect succeeds only on a done line without an error; printing the
// status never fails.
func FuzzControlReply(f *testing.F) {
	st := vpn.Status{Name: "office", State: vpn.StateUp, Server: "192.0.2.1:1701", Interface: "l2tp0", IP: "10.8.0.2",
		Routes: []string{"0.0.0.0/1", "128.0.0.0/1"}, DNS: []string{"10.8.0.1"}, IPsec: "strongswan", UptimeS: 61,
		Since: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), PID: 4242,
		Charon: &vici.Status{Socket: "/run/charon.vici", IKE: &vici.IKESA{Name: "l2tpvpn-office"}, Children: 1}}
	good, _ := json.Marshal(st)
	for _, s := range []string{string(good) + "\n", `{"error":"permission denied: only root may control connections"}` + "\n",
		`{"ok":true}` + "\n" + `{"done":true}` + "\n", `{"ok":true}` + "\n" + `{"done":true,"error":"ipsec: gone"}` + "\n",
		`{"name":1}` + "\n", `{"ok":true}`, "[]\n", `{"charon":{"ike_sa":null}}` + "\n"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: socketPath(dir, "fz"), Net: "unix"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ln.Close() })
	answers := make(chan []byte)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			b := <-answers
			bufio.NewReader(conn).ReadBytes('\n') // the request
			conn.Write(b)
			conn.Close()
		}
	}()
	f.Fuzz(func(t *testing.T, b []byte) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			answers <- bytes.Clone(b)
			answers <- bytes.Clone(b)
		}()
		got, qerr := queryStatus(dir, "fz")
		derr := requestDisconnect(dir, "fz", 10*time.Second)
		<-done

		first, _, nl := bytes.Cut(b, []byte("\n"))
		var rep controlReply
		isErr := json.Unmarshal(first, &rep) == nil && rep.Error != ""
		var want vpn.Status
		isStatus := json.Unmarshal(first, &want) == nil
		if (qerr == nil) != (nl && !isErr && isStatus) {
			t.Fatalf("answer %q: status error %v", b, qerr)
		}
		if qerr == nil {
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("status %+v, want %+v", got, want)
			}
			var out bytes.Buffer
			printStatus(&out, got)
			if !strings.HasPrefix(out.String(), got.Name+": "+got.State+"\n") {
				t.Fatalf("printed %q", out.String())
			}
		} else if isErr && nl && qerr.Error() != rep.Error {
			t.Fatalf("error answer %q: %v", rep.Error, qerr)
		}

		// A disconnect succeeds on the first done line without an error
		// before any line that is not JSON or carries an error.
		ok := false
		rest := b
		for {
			l, r, nl := bytes.Cut(rest, []byte("\n"))
			if !nl {
				break
			}
			rest = r
			var rep controlReply
			if json.Unmarshal(l, &rep) != nil || rep.Error != "" {
				break
			}
			if rep.Done {
				ok = true
				break
			}
		}
		if (derr == nil) != ok || (derr != nil && errors.Is(derr, errNotRunning)) {
			t.Fatalf("answer %q: disconnect %v", b, derr)
		}
	})
}

package vici

// Dial, Status and Close against the fake charon: what is loaded, in which
// order, and that charon is left as it was found.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

const testPSK = "Tr0ub4dor&3-psk-9f2c"

var (
	testLocal  = netip.MustParseAddr("192.0.2.10")
	testRemote = netip.MustParseAddr("198.51.100.1")
	testConn   = "l2tpvpn-office"
)

// recorder collects what Config.Events reports.
type recorder chan Event

func (r recorder) events(ev Event) { r <- ev }

func (r recorder) next(t *testing.T) Event {
	t.Helper()
	select {
	case ev := <-r:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
		return Event{}
	}
}

// testConfig is a tunnel-mode connection with two IKE and two ESP
// proposals to the fake charon.
func testConfig(socket string, rec recorder) Config {
	cfg := Config{
		Socket: socket,
		Name:   "office",
		PSK:    secret.FromString(testPSK),
		IKE: []ike.IKEProposal{
			{Enc: ike.EncAESCBC, KeyBits: 256, Hash: ike.HashSHA256, Group: ike.MODP2048},
			{Enc: ike.Enc3DES, Hash: ike.HashSHA1, Group: ike.MODP1024},
		},
		ESP: []ike.ESPProposal{
			{Enc: esp.AESCBC, KeyBits: 128, Integ: esp.HMACSHA1_96},
			{Enc: esp.AESGCM16, KeyBits: 256},
		},
		Mode:   esp.Tunnel,
		Local:  testLocal,
		Remote: testRemote,
	}
	if rec != nil {
		cfg.Events = rec.events
	}
	return cfg
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial dials the fake charon with cfg and fails the test on an error.
func dial(t *testing.T, cfg Config) *Delegate {
	t.Helper()
	d, err := Dial(testContext(t), cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestDialStatusClose(t *testing.T) {
	f := newFakeCharon(t)
	rec := make(recorder, 32)
	d := dial(t, testConfig(f.path, rec))

	rs := f.reqs()
	if got, want := cmds(rs), []string{"version", "stats", "list-sas", "load-shared", "load-conn", "initiate", "list-sas"}; !slices.Equal(got, want) {
		t.Fatalf("Dial sent %v, want %v", got, want)
	}
	if got, want := rs[2].msg.tree(), map[string]any{"ike": testConn}; !reflect.DeepEqual(got, want) {
		t.Errorf("list-sas %v, want %v", got, want)
	}
	wantShared := map[string]any{"id": testConn, "type": "IKE", "data": testPSK, "owners": []string{"192.0.2.10", "198.51.100.1"}}
	if got := rs[3].msg.tree(); !reflect.DeepEqual(got, wantShared) {
		t.Errorf("load-shared\n got %v\nwant %v", got, wantShared)
	}
	wantConn := map[string]any{testConn: map[string]any{
		"version":      "1",
		"aggressive":   "no",
		"local_addrs":  []string{"192.0.2.10"},
		"remote_addrs": []string{"198.51.100.1"},
		"proposals":    []string{"aes256-sha256-modp2048", "3des-sha1-modp1024"},
		"keyingtries":  "1",
		"unique":       "never",
		"mobike":       "no",
		"encap":        "yes",
		"dpd_delay":    "30s",
		"local-1":      map[string]any{"auth": "psk", "id": "192.0.2.10"},
		"remote-1":     map[string]any{"auth": "psk", "id": "198.51.100.1"},
		"children": map[string]any{"l2tp": map[string]any{
			"mode":          "tunnel",
			"local_ts":      []string{"dynamic[udp/1701]"},
			"remote_ts":     []string{"dynamic[udp/1701]"},
			"esp_proposals": []string{"aes128-sha1", "aes256gcm16"},
			"start_action":  "none",
			"close_action":  "none",
			"dpd_action":    "clear",
		}},
	}}
	if got := rs[4].msg.tree(); !reflect.DeepEqual(got, wantConn) {
		t.Errorf("load-conn\n got %v\nwant %v", got, wantConn)
	}
	init := rs[5].msg.tree()
	if ms, err := strconv.Atoi(rs[5].msg.str("timeout")); err != nil || ms < 1000 || ms > 10000 {
		t.Errorf("initiate timeout %q, want the context's deadline less a second, in ms", rs[5].msg.str("timeout"))
	}
	delete(init, "timeout")
	if want := map[string]any{"child": "l2tp", "ike": testConn, "init-limits": "no", "loglevel": "1"}; !reflect.DeepEqual(init, want) {
		t.Errorf("initiate %v, want %v", init, want)
	}
	if rs[5].client == rs[0].client {
		t.Errorf("initiate ran on the control session; it needs one of its own")
	}

	// Dial reports phase 1 and phase 2.
	f.mu.Lock()
	sa := f.sas[0]
	child := sa.children[0]
	f.mu.Unlock()
	wantIKE := IKESA{Name: testConn, UniqueID: "1", State: "ESTABLISHED", Local: "192.0.2.10:4500", Remote: "198.51.100.1:4500",
		RemoteID: "198.51.100.1", SPIs: "5eed000000000001_7e57000000000001", Alg: "aes256-sha256-modp2048", NAT: true, RekeyS: 10186}
	wantChild := ChildSA{Name: "l2tp", UniqueID: "1", State: "INSTALLED", Mode: "tunnel", Encap: true,
		SPIIn: child.spiIn, SPIOut: child.spiOut, Alg: "aes128-sha1",
		LocalTS: []string{"192.0.2.10/32[udp/l2f]"}, RemoteTS: []string{"198.51.100.1/32[udp/l2f]"},
		LifeS: 3310, RekeyS: 2950, BytesIn: 1234, BytesOut: 5678, PacketsIn: 12, PacketsOut: 34}
	if ev := rec.next(t); !reflect.DeepEqual(ev, Event{Kind: Phase1Up, IKE: wantIKE}) {
		t.Errorf("first event %+v, want Phase1Up %+v", ev, wantIKE)
	}
	if ev := rec.next(t); !reflect.DeepEqual(ev, Event{Kind: ChildUp, IKE: wantIKE, Child: wantChild}) {
		t.Errorf("second event %+v, want ChildUp %+v", ev, wantChild)
	}

	st, err := d.Status(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	want := Status{Socket: f.path, Conn: testConn, IKE: &wantIKE, Child: &wantChild, Children: 1}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("Status\n got %+v %+v %+v\nwant %+v %+v %+v", st, st.IKE, st.Child, want, want.IKE, want.Child)
	}
	select {
	case <-d.Done():
		t.Fatalf("Done closed after Dial: %v", d.Err())
	default:
	}

	n := len(f.reqs())
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	rs = f.reqs()[n:]
	var changes []string
	for _, r := range rs {
		if r.cmd != "version" && r.cmd != "list-sas" {
			changes = append(changes, r.cmd)
		}
	}
	if want := []string{"terminate", "unload-conn", "unload-shared"}; !slices.Equal(changes, want) {
		t.Fatalf("Close sent %v, want %v (with only version and list-sas besides)", cmds(rs), want)
	}
	for cmd, want := range map[string]map[string]any{
		"terminate":     {"ike": testConn, "timeout": "3000"},
		"unload-conn":   {"name": testConn},
		"unload-shared": {"id": testConn},
	} {
		if got := find(t, rs, cmd).msg.tree(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s %v, want %v", cmd, got, want)
		}
	}
	f.assertClean(t)
	f.awaitNoClients(t)
	if len(rec) != 0 {
		t.Errorf("more events than Phase1Up and ChildUp: %+v", <-rec)
	}

	n = len(f.reqs())
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if rs := f.reqs()[n:]; len(rs) != 0 {
		t.Errorf("second Close sent %v", cmds(rs))
	}
}

// TestConnOptions covers the lifetimes and DPD settings of load-conn.
func TestConnOptions(t *testing.T) {
	for _, c := range []struct {
		name       string
		ike, esp   time.Duration
		dpd        time.Duration
		conn, kids map[string]string
	}{
		{"defaults", 0, 0, 0, map[string]string{"dpd_delay": "30s", "rekey_time": "", "over_time": ""},
			map[string]string{"life_time": "", "rekey_time": "", "rand_time": ""}},
		{"lifetimes", 3 * time.Hour, time.Hour, 10 * time.Second,
			map[string]string{"dpd_delay": "10s", "rekey_time": "9720s", "over_time": "1080s"},
			map[string]string{"life_time": "3600s", "rekey_time": "3240s", "rand_time": "180s"}},
		{"no DPD", 0, 0, -1, map[string]string{"dpd_delay": "0"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeCharon(t)
			cfg := testConfig(f.path, make(recorder, 8))
			cfg.IKELifetime, cfg.ESPLifetime, cfg.DPDDelay = c.ike, c.esp, c.dpd
			dial(t, cfg)
			conn, _ := find(t, f.reqs(), "load-conn").msg.get(testConn).(msg)
			for k, want := range c.conn {
				if got := conn.str(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			for k, want := range c.kids {
				if got := conn.str("children", ChildName, k); got != want {
					t.Errorf("children.l2tp.%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestConnName(t *testing.T) {
	for name, want := range map[string]string{
		"office":      "l2tpvpn-office",
		"my vpn/2":    "l2tpvpn-my_vpn_2",
		"A-b_c.d":     "l2tpvpn-A-b_c.d",
		"café":        "l2tpvpn-caf_",
		"":            "l2tpvpn-default",
		"x'; drop \"": "l2tpvpn-x___drop__",
	} {
		if got := ConnName(name); got != want {
			t.Errorf("ConnName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestLeftoverSA: an IKE SA of our conn that a killed earlier run left is
// terminated before anything is loaded.
func TestLeftoverSA(t *testing.T) {
	f := newFakeCharon(t)
	f.mu.Lock()
	f.conns[testConn] = msg{{"version", "1"}}
	f.shared[testConn] = msg{{"id", testConn}}
	f.mu.Unlock()
	old := f.addSA(testConn, "192.0.2.10", "198.51.100.1", "ESTABLISHED", "TUNNEL")

	d := dial(t, testConfig(f.path, make(recorder, 8)))
	rs := f.reqs()
	term, shared := slices.Index(cmds(rs), "terminate"), slices.Index(cmds(rs), "load-shared")
	if term < 0 || term > shared {
		t.Fatalf("Dial sent %v: want a terminate before load-shared", cmds(rs))
	}
	if got, want := rs[term].msg.tree(), map[string]any{"ike": testConn, "timeout": "3000"}; !reflect.DeepEqual(got, want) {
		t.Errorf("terminate %v, want %v", got, want)
	}
	st, err := d.Status(testContext(t))
	if err != nil || st.IKE == nil || st.IKE.UniqueID == strconv.Itoa(old.id) {
		t.Errorf("Status after Dial: %+v, %v: want the new IKE SA", st.IKE, err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	f.assertClean(t)
}

// TestLibipsecTransport: kernel-libipsec has no transport mode; Dial says
// so before it loads anything, and tunnel mode goes ahead.
func TestLibipsecTransport(t *testing.T) {
	t.Run("transport", func(t *testing.T) {
		f := newFakeCharon(t)
		f.setPlugins("random", "openssl", "kernel-libipsec", "kernel-netlink", "socket-default", "vici")
		cfg := testConfig(f.path, make(recorder, 8))
		cfg.Mode = esp.Transport
		_, err := Dial(testContext(t), cfg)
		if !errors.Is(err, ErrNoKernelESP) {
			t.Fatalf("Dial: %v, want ErrNoKernelESP", err)
		}
		if !strings.Contains(err.Error(), "--esp-mode tunnel") {
			t.Errorf("message %q does not suggest --esp-mode tunnel", err)
		}
		if got, want := cmds(f.reqs()), []string{"version", "stats"}; !slices.Equal(got, want) {
			t.Errorf("Dial sent %v, want %v", got, want)
		}
		f.assertClean(t)
		f.awaitNoClients(t)
	})
	t.Run("tunnel", func(t *testing.T) {
		f := newFakeCharon(t)
		f.setPlugins("random", "openssl", "kernel-libipsec", "kernel-netlink", "socket-default", "vici")
		dial(t, testConfig(f.path, make(recorder, 8)))
	})
}

func TestNoSocket(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ path, why string }{{filepath.Join(dir, "missing.vici"), "no such socket"}}
	// A socket file nobody listens on, as a stopped charon leaves it.
	if stale := filepath.Join(dir, "stale.vici"); len(stale) < 100 {
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		ln.SetUnlinkOnClose(false)
		ln.Close()
		cases = append(cases, struct{ path, why string }{stale, "connection refused"})
	}
	for _, c := range cases {
		cfg := testConfig(c.path, nil)
		_, err := Dial(testContext(t), cfg)
		if !errors.Is(err, ErrNoSocket) {
			t.Errorf("%s: Dial: %v, want ErrNoSocket", c.path, err)
			continue
		}
		if !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("message %q does not name %s and say %q", err, c.path, c.why)
		}
	}
}

// TestLoadConnRefused: when charon refuses the conn, the key loaded before
// it is unloaded again.
func TestLoadConnRefused(t *testing.T) {
	for _, c := range []struct {
		errmsg string
		kind   error
	}{
		{"invalid value for: version, config discarded", ErrNoIKEv1},
		{"invalid value for: proposals, config discarded", ErrCharon},
	} {
		t.Run(c.errmsg, func(t *testing.T) {
			f := newFakeCharon(t)
			f.handle("load-conn", func(msg) ([]msg, msg) { return nil, refused("%s", c.errmsg) })
			_, err := Dial(testContext(t), testConfig(f.path, make(recorder, 8)))
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.errmsg) {
				t.Fatalf("Dial: %v, want %v naming charon's reason", err, c.kind)
			}
			if got := cmds(f.reqs()); slices.Contains(got, "initiate") || slices.Contains(got, "unload-conn") || !slices.Contains(got, "unload-shared") {
				t.Errorf("Dial sent %v: want unload-shared and no initiate or unload-conn", got)
			}
			f.assertClean(t)
			f.awaitNoClients(t)
		})
	}
}

// TestLoaded: Loaded lists what is ours in charon, and nothing after
// Close.
func TestLoaded(t *testing.T) {
	f := newFakeCharon(t)
	f.mu.Lock()
	f.conns["other"] = msg{{"version", "2"}}
	f.shared["other"] = msg{{"id", "other"}}
	f.mu.Unlock()
	f.addSA("other", "192.0.2.10", "203.0.113.5", "ESTABLISHED", "TUNNEL")
	d := dial(t, testConfig(f.path, make(recorder, 8)))
	conns, shared, sas, err := Loaded(testContext(t), f.path)
	ours := []string{testConn}
	if err != nil || !slices.Equal(conns, ours) || !slices.Equal(shared, ours) || !slices.Equal(sas, ours) {
		t.Errorf("Loaded after Dial: %v %v %v %v, want %v each", conns, shared, sas, err, ours)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	conns, shared, sas, err = Loaded(testContext(t), f.path)
	if err != nil || len(conns)+len(shared)+len(sas) != 0 {
		t.Errorf("Loaded after Close: %v %v %v %v, want nothing", conns, shared, sas, err)
	}
	if _, _, _, err := Loaded(testContext(t), filepath.Join(t.TempDir(), "none")); !errors.Is(err, ErrNoSocket) {
		t.Errorf("Loaded without charon: %v, want ErrNoSocket", err)
	}
}

// syncBuffer is a bytes.Buffer for a logger used from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPSKNeverLogged runs a connection and a failed one with debug logging
// and looks for the key in the log, the errors and the status.
func TestPSKNeverLogged(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))

	f := newFakeCharon(t)
	cfg := testConfig(f.path, make(recorder, 8))
	cfg.Logger = logger
	d := dial(t, cfg)
	st, err := d.Status(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(st)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	f2 := newFakeCharon(t)
	f2.handle("initiate", f2.failingInitiate("CONNECTING", "", wrongPSKLines...))
	cfg = testConfig(f2.path, make(recorder, 8))
	cfg.Logger = logger
	_, err = Dial(testContext(t), cfg)
	if !errors.Is(err, ike.ErrAuthentication) {
		t.Fatalf("Dial with a wrong key: %v", err)
	}
	f2.awaitNoClients(t)

	log := buf.String()
	if !strings.Contains(log, "level=DEBUG") || !strings.Contains(log, "decryption failed") || !strings.Contains(log, "level=INFO") {
		t.Fatalf("the log lacks the debug lines it should have:\n%s", log)
	}
	for what, s := range map[string]string{"log": log, "error": err.Error(), "status": string(js)} {
		if strings.Contains(s, testPSK) {
			t.Errorf("the pre-shared key is in the %s:\n%s", what, s)
		}
	}
}

// TestUnload: what a killed run left (conn, key, SA) is terminated and
// unloaded; a second Unload, with nothing left, is not an error.
func TestUnload(t *testing.T) {
	f := newFakeCharon(t)
	f.mu.Lock()
	f.conns[testConn] = msg{{"version", "1"}}
	f.shared[testConn] = msg{{"id", testConn}}
	f.mu.Unlock()
	f.addSA(testConn, "192.0.2.10", "198.51.100.1", "ESTABLISHED", "TUNNEL")
	name := strings.TrimPrefix(testConn, "l2tpvpn-")
	if err := Unload(f.path, name, nil); err != nil {
		t.Fatal(err)
	}
	f.assertClean(t)
	if got := cmds(f.reqs()); !slices.Contains(got, "terminate") || !slices.Contains(got, "unload-conn") || !slices.Contains(got, "unload-shared") {
		t.Errorf("Unload sent %v", got)
	}
	if err := Unload(f.path, name, nil); err != nil {
		t.Errorf("second Unload: %v", err)
	}
	if err := Unload(filepath.Join(t.TempDir(), "none.vici"), name, nil); !errors.Is(err, ErrNoSocket) {
		t.Errorf("Unload without charon: %v", err)
	}
}

package tun

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestJournalRoundTrip(t *testing.T) {
	j := journal{Version: journalVersion, Name: "work", Interface: "l2tp0", Actions: []action{
		{Kind: "route", Route: &routeSpec{Family: 4, Dst: "192.0.2.1/32", Gw: "203.0.113.65", Oif: "eth0", OifIndex: 2,
			Type: "unicast", Protocol: RouteProtocol, Table: 254, Scope: "universe", Note: "server"}},
		{Kind: "route", Route: &routeSpec{Family: 6, Dst: "::/1", Type: "unreachable", Protocol: RouteProtocol, Table: 254, Scope: "universe"}},
		{Kind: "resolv.conf", ResolvConf: &resolvConfUndo{Path: "/etc/resolv.conf", Backup: "/run/l2tpvpn/work.resolv.conf.orig",
			BackupSHA256: strings.Repeat("ab", 32), Existed: true, Symlink: "../run/x", Written: []string{"# x\n"}}},
		{Kind: "resolved", Resolved: &resolvedUndo{Interface: "l2tp0"}},
	}}
	path := filepath.Join(t.TempDir(), "work.host.json")
	if err := j.save(path); err != nil {
		t.Fatal(err)
	}
	got, err := loadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, j) {
		t.Errorf("round trip:\n%+v\n%+v", *got, j)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}

	// Truncation sweep: every proper prefix is rejected cleanly.
	b, _ := os.ReadFile(path)
	for i := range len(b) - 1 {
		if _, err := decodeJournal(b[:i]); err == nil {
			t.Fatalf("prefix of %d bytes accepted", i)
		}
	}
}

func TestJournalRejects(t *testing.T) {
	dir := t.TempDir()
	path := journalPath(dir, "work")
	for name, content := range map[string]string{
		"garbled":      "{not json",
		"version":      `{"version":2,"name":"work","actions":[]}`,
		"unknown kind": `{"version":1,"name":"work","actions":[{"kind":"firewall"}]}`,
		"kind mismatch": `{"version":1,"name":"work","actions":[{"kind":"route",
			"resolved":{"interface":"l2tp0"}}]}`,
		"bad dst": `{"version":1,"name":"work","actions":[{"kind":"route","route":{"family":4,"dst":"x",
			"type":"unicast","protocol":76,"table":254,"scope":"link","oif":"a","oif_index":1}}]}`,
		"not ours": `{"version":1,"name":"work","actions":[{"kind":"route","route":{"family":4,"dst":"0.0.0.0/0",
			"type":"unicast","protocol":3,"table":254,"scope":"link","oif":"a","oif_index":1}}]}`,
		"unknown field": `{"version":1,"name":"work","actions":[],"extra":1}`,
		"other name":    `{"version":1,"name":"home","actions":[]}`,
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := cleanup(dir, "work", nil, testSys(newFake(), nil, false))
		if err == nil || !strings.Contains(err.Error(), path) || !strings.HasPrefix(err.Error(), "tun: ") {
			t.Errorf("%s: err %v", name, err)
		}
		if _, serr := os.Stat(path); serr != nil {
			t.Errorf("%s: unusable journal was removed", name)
		}
	}
	if _, err := Cleanup(dir, "nothing", nil); !errors.Is(err, ErrNoJournal) {
		t.Errorf("missing journal: %v", err)
	}
	if _, err := Cleanup(dir, "../etc", nil); err == nil {
		t.Error("bad name accepted")
	}
}

func TestJournals(t *testing.T) {
	dir := t.TempDir()
	if names, err := Journals(filepath.Join(dir, "missing")); err != nil || names != nil {
		t.Errorf("missing dir: %v %v", names, err)
	}
	for _, n := range []string{"b.host.json", "a.host.json", "a.resolv.conf.orig", "x.host.json.tmp123", "bad name.host.json"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	os.Mkdir(filepath.Join(dir, "d.host.json"), 0o700)
	if names, err := Journals(dir); err != nil || !slices.Equal(names, []string{"a", "b"}) {
		t.Errorf("got %v %v", names, err)
	}
}

func TestJournalExists(t *testing.T) {
	f := newFake()
	cfg := baseConfig(t)
	h, err := applyHost(cfg, testSys(f, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := applyHost(cfg, testSys(f, nil, false)); !errors.Is(err, ErrJournalExists) {
		t.Fatalf("err %v", err)
	}
	if len(f.dump()) != 5 {
		t.Error("second ApplyHost disturbed the first")
	}
}

// TestCrashRecovery applies, "crashes" (no Close), and undoes from the journal.
func TestCrashRecovery(t *testing.T) {
	f := newFake()
	run := &fakeRun{}
	cfg := baseConfig(t)
	cfg.IPv6 = true
	cfg.DNS = []netip.Addr{netip.MustParseAddr("10.0.0.53")}
	cfg.DNSMode = DNSResolved
	if _, err := applyHost(cfg, testSys(f, run, true)); err != nil {
		t.Fatal(err)
	}
	if names, _ := Journals(cfg.StateDir); !slices.Equal(names, []string{"work"}) {
		t.Fatalf("journals %v", names)
	}
	run.calls = nil
	undone, err := cleanup(cfg.StateDir, "work", nil, testSys(f, run, true))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"reverted systemd-resolved settings of l2tp0",
		"deleted route 8000::/1 dev l2tp0",
		"deleted route ::/1 dev l2tp0",
		"deleted route 128.0.0.0/1 dev l2tp0",
		"deleted route 0.0.0.0/1 dev l2tp0",
		"deleted route 192.0.2.1/32 via 203.0.113.65 dev eth0 (server)",
	}
	if !slices.Equal(undone, want) {
		t.Errorf("undone:\n%s", strings.Join(undone, "\n"))
	}
	if !slices.Equal(run.calls, []string{"resolvectl revert l2tp0"}) {
		t.Errorf("calls %v", run.calls)
	}
	if len(f.dump()) != 0 {
		t.Errorf("left %v", f.dump())
	}
	if names, _ := Journals(cfg.StateDir); len(names) != 0 {
		t.Errorf("journal left: %v", names)
	}
}

// TestCrashRecoveryInterfaceGone: the TUN vanished with the process, taking
// its routes; the pinned server route and the unreachable routes remain.
func TestCrashRecoveryInterfaceGone(t *testing.T) {
	f := newFake()
	run := &fakeRun{}
	cfg := baseConfig(t)
	cfg.DNS = []netip.Addr{netip.MustParseAddr("10.0.0.53")}
	cfg.DNSMode = DNSResolved
	if _, err := applyHost(cfg, testSys(f, run, true)); err != nil {
		t.Fatal(err)
	}
	f.removeLink("l2tp0")
	f.links["l2tp0"] = 9 // a new interface of the same name is not ours
	run.calls = nil
	undone, err := cleanup(cfg.StateDir, "work", nil, testSys(f, run, true))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"systemd-resolved settings of l2tp0 went with the interface",
		"deleted route unreachable 8000::/1",
		"deleted route unreachable ::/1",
		"route 128.0.0.0/1 dev l2tp0 was already gone",
		"route 0.0.0.0/1 dev l2tp0 was already gone",
		"deleted route 192.0.2.1/32 via 203.0.113.65 dev eth0 (server)",
	}
	if !slices.Equal(undone, want) {
		t.Errorf("undone:\n%s", strings.Join(undone, "\n"))
	}
	if len(run.calls) != 0 {
		t.Errorf("resolvectl called for another interface: %v", run.calls)
	}
	delete(f.links, "l2tp0")
	if len(f.dump()) != 0 {
		t.Errorf("left %v", f.dump())
	}
}

// TestCrashBetweenJournalAndChange: the journal names changes that never
// happened (write-ahead); Cleanup finds nothing and succeeds.
func TestCrashBetweenJournalAndChange(t *testing.T) {
	dir := t.TempDir()
	j := journal{Version: journalVersion, Name: "work", Interface: "l2tp0", Actions: []action{
		{Kind: "route", Route: &routeSpec{Family: 4, Dst: "0.0.0.0/1", Oif: "l2tp0", OifIndex: 5, Type: "unicast",
			Protocol: RouteProtocol, Table: 254, Scope: "link"}},
	}}
	if err := j.save(journalPath(dir, "work")); err != nil {
		t.Fatal(err)
	}
	undone, err := cleanup(dir, "work", nil, testSys(newFake(), nil, false))
	if err != nil || !slices.Equal(undone, []string{"route 0.0.0.0/1 dev l2tp0 was already gone"}) {
		t.Fatalf("%v %v", undone, err)
	}
}

// TestUndoFailureKeepsJournal: what cannot be undone stays for a retry.
func TestUndoFailureKeepsJournal(t *testing.T) {
	f := newFake()
	cfg := baseConfig(t)
	h, err := applyHost(cfg, testSys(f, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	f.delErr["0.0.0.0/1"] = syscall.EPERM
	if err := h.Close(); err == nil || !strings.Contains(err.Error(), "journal") {
		t.Fatalf("err %v", err)
	}
	j, err := loadJournal(journalPath(cfg.StateDir, "work"))
	if err != nil || len(j.Actions) != 1 || j.Actions[0].Route.Dst != "0.0.0.0/1" {
		t.Fatalf("journal %+v %v", j, err)
	}
	delete(f.delErr, "0.0.0.0/1")
	undone, err := cleanup(cfg.StateDir, "work", nil, testSys(f, nil, false))
	if err != nil || len(undone) != 1 || len(f.dump()) != 0 {
		t.Fatalf("%v %v %v", undone, err, f.dump())
	}
}

func FuzzDecodeJournal(f *testing.F) {
	j := journal{Version: journalVersion, Name: "work", Interface: "l2tp0", Actions: []action{
		{Kind: "route", Route: &routeSpec{Family: 4, Dst: "0.0.0.0/1", Oif: "l2tp0", OifIndex: 5, Type: "unicast",
			Protocol: RouteProtocol, Table: 254, Scope: "link"}},
		{Kind: "resolved", Resolved: &resolvedUndo{Interface: "l2tp0"}},
	}}
	b, _ := json.Marshal(j)
	f.Add(b)
	f.Add([]byte(`{"version":1,"name":"x","actions":[{"kind":"resolv.conf","resolv_conf":{}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := decodeJournal(b)
		if err != nil {
			return
		}
		for _, a := range j.Actions {
			if a.check() != nil {
				t.Fatal("decoded an invalid action")
			}
			if a.Route != nil {
				if _, err := a.Route.netlink(); err != nil {
					t.Fatalf("checked route does not convert: %v", err)
				}
			}
		}
	})
}

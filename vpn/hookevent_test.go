package vpn

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/tun"
)

// Issue 17 point 15: what a hook prints, and why it failed, is a hook
// event for the command to show; the log has it at info level only, so a
// foreground run (warnings only) shows no raw log line for it.
func TestHookEvent(t *testing.T) {
	var evs []Event
	var warnings bytes.Buffer
	cl := &Client{cfg: Config{Name: "work", HookTimeout: 10 * time.Second, OnEvent: func(ev Event) { evs = append(evs, ev) }},
		log: slog.New(slog.NewTextHandler(&warnings, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	run := func(command string) error {
		evs = nil
		return cl.hook("up", command, Info{Interface: "l2tp0"}, tun.HostSummary{}, 0)
	}

	if err := run("echo first; echo second >&2; exit 3"); err == nil || err.Error() != "exit status 3" {
		t.Errorf("failing hook returned %v, want exit status 3", err)
	}
	if len(evs) != 1 || evs[0].Event != EventHook || evs[0].Hook != "up" || evs[0].Output != "first\nsecond" ||
		evs[0].Error != "exit status 3" || evs[0].Schema != SchemaVersion {
		t.Errorf("failing hook: events %+v", evs)
	}
	if err := run("echo fine"); err != nil {
		t.Errorf("hook that succeeded returned %v", err)
	}
	if len(evs) != 1 || evs[0].Output != "fine" || evs[0].Error != "" {
		t.Errorf("hook with output: events %+v", evs)
	}
	if err := run("true"); err != nil || len(evs) != 0 {
		t.Errorf("silent hook: %v, events %+v; want none", err, evs)
	}
	cl.cfg.HookTimeout = 50 * time.Millisecond
	if err := run("exec sleep 5"); err == nil || !strings.Contains(err.Error(), "timed out after 50ms") {
		t.Errorf("hook past its timeout returned %v", err)
	}
	if warnings.Len() != 0 {
		t.Errorf("warning-level log lines: %q", warnings.String())
	}
}

func TestHookOutputCut(t *testing.T) {
	long := strings.Repeat("0123456789abcdef\n", 1000)
	got := hookOutput(long)
	if len(got) > maxHookOutput+20 || !strings.HasSuffix(got, "\n[output cut]") || !strings.HasPrefix(got, "0123456789abcdef\n") {
		t.Errorf("cut output: %d bytes, ends %q", len(got), got[len(got)-30:])
	}
	if hookOutput("  a\nb \n") != "a\nb" {
		t.Error("short output not just trimmed")
	}
}

package main

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

func listenNotify(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readNotify(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 4096)
	n, err := c.Read(b)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	return string(b[:n])
}

// The notifier speaks sd_notify to a path or an abstract socket, removes
// NOTIFY_SOCKET from the environment, and turns events into STATUS lines.
func TestNotifier(t *testing.T) {
	for _, name := range []string{filepath.Join(t.TempDir(), "notify"), "@l2tpvpn-unit-notify-" + strconv.Itoa(os.Getpid())} {
		c := listenNotify(t, name)
		t.Setenv("NOTIFY_SOCKET", name)
		n := newNotifier()
		if n == nil {
			t.Fatalf("%s: no notifier", name)
		}
		if _, set := os.LookupEnv("NOTIFY_SOCKET"); set {
			t.Error("NOTIFY_SOCKET is still set (hooks and children would notify in our name)")
		}
		n.event(vpn.Event{Event: vpn.EventConnecting})
		if got := readNotify(t, c); !strings.HasPrefix(got, "STATUS=connecting: waiting for the server") {
			t.Errorf("%s: %q", name, got)
		}
		n.send("READY=1", "STATUS=up")
		if got := readNotify(t, c); got != "READY=1\nSTATUS=up" {
			t.Errorf("%s: %q", name, got)
		}
		n.close()
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if n := newNotifier(); n != nil {
		t.Error("a notifier without NOTIFY_SOCKET")
	}
	var n *notifier
	n.send("READY=1") // nil: nothing, no panic
	n.event(vpn.Event{Event: vpn.EventUp})
}

// The unit does not restart on the exit codes a restart cannot fix; they
// are the command's own.
func TestSystemdUnitExitCodes(t *testing.T) {
	b, err := os.ReadFile("../../contrib/systemd/l2tpvpn@.service")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^RestartPreventExitStatus=(.*)$`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("no RestartPreventExitStatus")
	}
	want := []string{strconv.Itoa(exitUsage), strconv.Itoa(exitAuth), strconv.Itoa(exitIKEAuth), strconv.Itoa(exitPermission), strconv.Itoa(exitIKEServerID)}
	if got := strings.Fields(m[1]); !slices.Equal(got, want) {
		t.Errorf("RestartPreventExitStatus %v, want %v", got, want)
	}
	for _, line := range []string{"Type=notify", "ExecStart=/usr/bin/l2tpvpn connect %i", "Restart=on-failure"} {
		if !strings.Contains(string(b), "\n"+line+"\n") {
			t.Errorf("the unit lacks %q", line)
		}
	}
}

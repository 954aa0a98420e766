package vpn

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/tun"
)

// A hook sees PATH and the L2TPVPN_* variables only: not a variable of our
// own environment, such as a secret given as env:VAR.
func TestHookEnvironment(t *testing.T) {
	const leak = "Zq9-hook-leak-value"
	t.Setenv("VPN_UNIT_LEAK_PW", leak)
	dump := filepath.Join(t.TempDir(), "env")
	var logs bytes.Buffer
	cl := &Client{cfg: Config{Name: "work", HookTimeout: 10 * time.Second},
		log: slog.New(slog.NewTextHandler(&logs, nil))}
	cl.hook("up", "env > '"+dump+"'", Info{Interface: "l2tp0"}, tun.HostSummary{Mode: "full"}, 0)
	data, err := os.ReadFile(dump)
	if err != nil {
		t.Fatalf("the hook did not run: %v\nlog: %s", err, logs.String())
	}
	env := string(data)
	if strings.Contains(env, leak) || strings.Contains(env, "VPN_UNIT_LEAK_PW") {
		t.Errorf("the hook sees our environment:\n%s", env)
	}
	for _, want := range []string{"PATH=" + os.Getenv("PATH") + "\n", "L2TPVPN_EVENT=up\n", "L2TPVPN_PROFILE=work\n", "L2TPVPN_INTERFACE=l2tp0\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("hook environment lacks %q:\n%s", want, env)
		}
	}
	// Nothing else, but what the shell sets by itself.
	shell := []string{"PWD", "OLDPWD", "SHLVL", "_"}
	for _, line := range strings.Split(strings.TrimSpace(env), "\n") {
		name, _, _ := strings.Cut(line, "=")
		if name != "PATH" && !strings.HasPrefix(name, "L2TPVPN_") && !slices.Contains(shell, name) {
			t.Errorf("hook environment has %s", name)
		}
	}
}

func TestHookEnviron(t *testing.T) {
	vars := []string{"L2TPVPN_EVENT=down"}
	if got := hookEnviron("", vars); !slices.Equal(got, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "L2TPVPN_EVENT=down"}) {
		t.Errorf("without PATH: %q", got)
	}
	if got := hookEnviron("/opt/bin:/bin", vars); !slices.Equal(got, []string{"PATH=/opt/bin:/bin", "L2TPVPN_EVENT=down"}) {
		t.Errorf("with PATH: %q", got)
	}
}

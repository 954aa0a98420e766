package main

import (
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/ppp"
)

func TestMPPEOption(t *testing.T) {
	for arg, want := range map[string]ppp.MPPEPolicy{"": ppp.MPPEAllow, "off": ppp.MPPEOff, "require": ppp.MPPERequire, "Allow": ppp.MPPEAllow} {
		args := []string{}
		if arg != "" {
			args = []string{"--mppe", arg}
		}
		cfg, err := ikeOptsConfig(t, args...)
		if err != nil || cfg.MPPE != want {
			t.Errorf("--mppe %q: %v %v, want %v", arg, cfg.MPPE, err, want)
		}
	}
	if _, err := ikeOptsConfig(t, "--mppe", "maybe"); err == nil || !strings.Contains(err.Error(), "mppe") {
		t.Errorf("--mppe maybe: %v", err)
	}
}

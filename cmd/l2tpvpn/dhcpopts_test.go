package main

import (
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

func TestDHCPOptions(t *testing.T) {
	cfg, err := ikeOptsConfig(t)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DHCPInform != vpn.DHCPInformAuto || cfg.IgnoreServerRoutes || cfg.ClassRoute {
		t.Fatalf("defaults: %v %v %v", cfg.DHCPInform, cfg.IgnoreServerRoutes, cfg.ClassRoute)
	}
	cfg, err = ikeOptsConfig(t, "--dhcp-inform", "on", "--routes-from-server=false", "--class-route")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DHCPInform != vpn.DHCPInformOn || !cfg.IgnoreServerRoutes || !cfg.ClassRoute {
		t.Fatalf("%v %v %v", cfg.DHCPInform, cfg.IgnoreServerRoutes, cfg.ClassRoute)
	}
	if _, err := ikeOptsConfig(t, "--dhcp-inform", "yes"); err == nil || !strings.Contains(err.Error(), "dhcp-inform") {
		t.Fatalf("yes: %v", err)
	}
}

func TestDHCPLine(t *testing.T) {
	got := dhcpLine(vpn.Event{Server: "198.51.100.1", Routes: []string{"203.0.113.64/26 via 198.51.100.1"}, Domain: "corp.example", DNS: []string{"198.51.100.1"}})
	want := "dhcp answer from 198.51.100.1; routes 203.0.113.64/26 via 198.51.100.1; domain corp.example; dns 198.51.100.1"
	if got != want {
		t.Fatalf("%q", got)
	}
}

package main

// nat = true: the clients' traffic leaves through the host with its
// address (nftables masquerade), and forwarding is on; both are undone at
// exit. The rules live in a table of their own, so nothing else is touched.

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
)

const natTable = "l2tpvpn_serve"

type natRule struct {
	forward []byte // ip_forward before us
}

func nft(args ...string) error {
	out, err := exec.Command("nft", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("nft %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// addNAT masquerades packets from pool (a prefix or a range) leaving
// through out (any interface when empty).
func addNAT(pool, out string) (*natRule, error) {
	_ = nft("delete", "table", "ip", natTable) // one a killed run left
	rule := []string{"add", "rule", "ip", natTable, "postrouting", "ip", "saddr", pool}
	if out != "" {
		rule = append(rule, "oifname", out)
	}
	rule = append(rule, "masquerade")
	for _, args := range [][]string{
		{"add", "table", "ip", natTable},
		{"add", "chain", "ip", natTable, "postrouting", "{ type nat hook postrouting priority srcnat; }"},
		rule,
	} {
		if err := nft(args...); err != nil {
			_ = nft("delete", "table", "ip", natTable)
			return nil, err
		}
	}
	n := &natRule{}
	n.forward, _ = os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0); err != nil {
		_ = nft("delete", "table", "ip", natTable)
		return nil, fmt.Errorf("turning on forwarding: %w", err)
	}
	return n, nil
}

func (n *natRule) remove(log *slog.Logger) {
	if err := nft("delete", "table", "ip", natTable); err != nil {
		log.Warn("removing the NAT rules", "err", err)
	}
	if len(n.forward) > 0 {
		os.WriteFile("/proc/sys/net/ipv4/ip_forward", n.forward, 0)
	}
}

#!/usr/bin/env bash
# demo: a real SoftEther server in a network namespace, l2tpvpn connecting to
# it from a client namespace, traffic through the tunnel, clean disconnect.
# Run by `make demo` (root) after the packages are installed and the binary built.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/bin/l2tpvpn
CLIENT_NS=l2v-se-c
SERVICE=203.0.113.10
OUT=$(mktemp -d /tmp/l2tpvpn-demo.XXXXXX)

cleanup() {
	# A demo interrupted half-way: disconnect the background client (and
	# undo its host changes if it died).
	ip netns exec "$CLIENT_NS" "$BIN" disconnect --cleanup l2v-demo >/dev/null 2>&1 || true
	scripts/lab.sh down se >/dev/null 2>&1 || true
	rm -rf "$OUT"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "starting SoftEther VPN Server (L2TP/IPsec, PSK l2v-psk) in namespace l2v-se-s"
scripts/lab.sh down se >/dev/null 2>&1 || true
scripts/lab.sh up se

step "host routes in the client namespace before connecting"
ip -n "$CLIENT_NS" route

step "a profile (secrets from the environment and from a 0600 file)"
mkdir -p "$OUT/profile"
printf 'l2v-psk\n' >"$OUT/profile/psk"
chmod 600 "$OUT/profile/psk"
cat >"$OUT/profile/demo.toml" <<EOF
server = "192.0.2.1"
user = "alice"
password = "env:VPN_PASSWORD"
psk = "file:$OUT/profile/psk"
auth = ["mschapv2"]
interface = "l2v-tun0"
route = ["$SERVICE/32"]
EOF
chmod 600 "$OUT/profile/demo.toml"
cat "$OUT/profile/demo.toml"

step "l2tpvpn connect --background (L2TP/IPsec: our own IKEv1 and ESP, MS-CHAPv2) from namespace $CLIENT_NS"
VPN_PASSWORD=l2v-pass ip netns exec "$CLIENT_NS" "$BIN" connect "$OUT/profile/demo.toml" --name l2v-demo --background ||
	{ echo "demo: connect failed"; cat /run/l2tpvpn/l2v-demo.log 2>/dev/null; exit 1; }

step "l2tpvpn status"
ip netns exec "$CLIENT_NS" "$BIN" status l2v-demo

step "the interface and routes the client set up"
ip -n "$CLIENT_NS" addr show dev l2v-tun0
ip -n "$CLIENT_NS" route

step "ping $SERVICE (behind the server) through the tunnel"
ip netns exec "$CLIENT_NS" ping -c 3 -I l2v-tun0 "$SERVICE"

step "TCP throughput through the tunnel (iperf3 to $SERVICE, 3 s)"
ip netns exec "$CLIENT_NS" iperf3 -c "$SERVICE" -t 3 -f m | grep -E 'sender|receiver'

step "server's session list"
scripts/lab.sh sessions se

step "l2tpvpn disconnect"
ip netns exec "$CLIENT_NS" "$BIN" disconnect l2v-demo && echo "l2tpvpn disconnect exited 0"
tail -n 2 /run/l2tpvpn/l2v-demo.log

step "server's session list after disconnect (empty)"
for _ in $(seq 1 25); do # SoftEther drops a session up to ~1.5 s after the CDN
	[ -z "$(scripts/lab.sh sessions se)" ] && break
	sleep 0.2
done
scripts/lab.sh sessions se
echo "(no sessions)"
step "host routes after (identical to before)"
ip -n "$CLIENT_NS" route

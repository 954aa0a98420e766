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
client_pid=

cleanup() {
	if [ -n "$client_pid" ] && kill -0 "$client_pid" 2>/dev/null; then
		kill -INT "$client_pid" 2>/dev/null || true
		wait "$client_pid" 2>/dev/null || true
	fi
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

step "l2tpvpn connect (L2TP/IPsec: our own IKEv1 and ESP, MS-CHAPv2) from namespace $CLIENT_NS"
VPN_PASSWORD=l2v-pass VPN_PSK=l2v-psk ip netns exec "$CLIENT_NS" "$BIN" connect \
	--server 192.0.2.1 --user alice --password-env VPN_PASSWORD --psk-env VPN_PSK --auth mschapv2 \
	--interface l2v-tun0 --route "$SERVICE/32" >"$OUT/client.out" 2>"$OUT/client.err" &
client_pid=$!
for _ in $(seq 1 150); do
	grep -q '^connected:' "$OUT/client.out" && break
	kill -0 "$client_pid" 2>/dev/null || break
	sleep 0.2
done
cat "$OUT/client.out"
grep -q '^connected:' "$OUT/client.out" || { echo "demo: connect failed"; cat "$OUT/client.err"; exit 1; }

step "the interface and routes the client set up"
ip -n "$CLIENT_NS" addr show dev l2v-tun0
ip -n "$CLIENT_NS" route

step "ping $SERVICE (behind the server) through the tunnel"
ip netns exec "$CLIENT_NS" ping -c 3 -I l2v-tun0 "$SERVICE"

step "TCP throughput through the tunnel (iperf3 to $SERVICE, 3 s)"
ip netns exec "$CLIENT_NS" iperf3 -c "$SERVICE" -t 3 -f m | grep -E 'sender|receiver'

step "server's session list"
scripts/lab.sh sessions se

step "disconnecting (SIGINT, like Ctrl-C)"
kill -INT "$client_pid"
wait "$client_pid" && echo "l2tpvpn exited 0"
client_pid=
cat "$OUT/client.out" | tail -n 2

step "server's session list after disconnect (empty)"
for _ in $(seq 1 25); do # SoftEther drops a session up to ~1.5 s after the CDN
	[ -z "$(scripts/lab.sh sessions se)" ] && break
	sleep 0.2
done
scripts/lab.sh sessions se
echo "(no sessions)"
step "host routes after (identical to before)"
ip -n "$CLIENT_NS" route

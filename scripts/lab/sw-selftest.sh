#!/usr/bin/env bash
# sw-selftest.sh: checks the sw lab (strongSwan + l2tpns) end to end without
# the project's own IKE. A second charon in the client namespace l2v-sw-c
# (IKEv1 initiator, tunnel mode, kernel-libipsec) protects UDP 1701 <-> 1701;
# l2tpvpn then runs as plain L2TP (--ipsec=off, --local-port 1701) through
# it, pings the service address and disconnects. Passes when the tunnel came
# up, the ping was answered, l2tpns listed the session, the l2tp-clear drop
# counter stayed 0 and the capture on l2v-sw-c0 holds only UDP 500/4500.
#
# Brings the lab up (and down again) unless it is already up. Not run by CI.
# Run as root from anywhere. Client proposals: L2V_SW_CLIENT_IKE and
# L2V_SW_CLIENT_ESP (swanctl syntax). Builds the client into /tmp/l2v-lab.
set -euo pipefail

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SELF_DIR
readonly REPO=$SELF_DIR/../..
readonly CLIENT_BIN=/tmp/l2v-lab/l2tpvpn
readonly TUN=l2v-swt0
readonly CLIENT_IKE=${L2V_SW_CLIENT_IKE:-aes256-sha256-modp2048}
readonly CLIENT_ESP=${L2V_SW_CLIENT_ESP:-aes256-sha1-modp2048}

# shellcheck source=scripts/lab.sh
source "$SELF_DIR/../lab.sh"

say() {
	printf 'sw-selftest: %s\n' "$*"
}

fail() {
	printf 'sw-selftest: FAIL: %s\n' "$*" >&2
	exit 1
}

has_ipv4() { # NETNS DEV
	[[ $(ip -n "$1" -4 -o addr show dev "$2" 2>/dev/null) == *inet* ]]
}

need_root
lab_vars sw
CDIR=$STATE/client
WE_UP=0
cleanup() {
	local rc=$?
	trap '' PIPE
	stop_daemon l2tpvpn || true
	stop_daemon tshark || true
	stop_daemon charon-client || true
	ip -n "$CNS" rule del priority 100 fwmark "$SW_FWMARK" lookup main 2>/dev/null || true
	if ((WE_UP)); then
		"$SELF_DIR/../lab.sh" down sw || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ ! -d $STATE ]]; then
	t0=$(now_us)
	WE_UP=1
	"$SELF_DIR/../lab.sh" up sw
	t1=$(now_us)
	say "lab sw up in $(((t1 - t0) / 1000)) ms"
fi
require_up

say "building $CLIENT_BIN"
mkdir -p "${CLIENT_BIN%/*}"
(cd "$REPO" && PATH=$PATH:/usr/local/go/bin go build -o "$CLIENT_BIN" ./cmd/l2tpvpn)

# The initiator: its own directory, vici socket and private /run.
rm -rf "$CDIR"
mkdir -m 0700 "$CDIR"
render "$TEMPLATES/strongswan.conf.in" "$CDIR/strongswan.conf"
render "$TEMPLATES/swanctl-sw-client.conf.in" "$CDIR/swanctl.conf" \
	CADDR="$CADDR" SADDR="$SADDR" IKE="$CLIENT_IKE" ESP="$CLIENT_ESP" \
	PSK="$(<"$STATE/psk")"
ip -n "$CNS" rule add priority 100 fwmark "$SW_FWMARK" lookup main

start_daemon tshark "$CNS" tshark -q -i "$CVETH" -f udp -w "$CDIR/selftest.pcap"
wait_for "tshark to capture on $CVETH" grep -qs "^Capturing on" "$STATE/tshark.out"
sleep 0.5 # dumpcap announces itself just before its capture starts

t0=$(now_us)
charon_start charon-client "$CNS" "$CDIR"
swanctl_in "$CDIR" --load-all --noprompt --file "$CDIR/swanctl.conf" >"$CDIR/swanctl.out" 2>&1 ||
	fail "client swanctl --load-all: $(cat "$CDIR/swanctl.out")"
swanctl_in "$CDIR" --initiate --child l2tp --timeout 20 >"$CDIR/initiate.out" 2>&1 ||
	fail "client swanctl --initiate: $(tail -n 20 "$CDIR/initiate.out")"
t1=$(now_us)
say "IKE + CHILD_SA up in $(((t1 - t0) / 1000)) ms ($CLIENT_IKE / $CLIENT_ESP)"

before=$("$SELF_DIR/../lab.sh" counter sw l2tp-clear)
t0=$(now_us)
start_daemon l2tpvpn "$CNS" env P=l2v-pass "$CLIENT_BIN" connect --ipsec=off \
	--server "$SADDR" --local-port 1701 --user alice --password-env P --auth pap \
	--interface "$TUN" --route "$SVC_ADDR/32" --json
wait_for "l2tpvpn's address on $TUN" has_ipv4 "$CNS" "$TUN"
t1=$(now_us)
say "L2TP/PPP up in $(((t1 - t0) / 1000)) ms: $(ip -n "$CNS" -4 -o addr show dev "$TUN" | awk '{print $4}')"

ip netns exec "$CNS" ping -c 5 -i 0.2 -W 2 -I "$TUN" "$SVC_ADDR" >"$CDIR/ping.out" 2>&1 ||
	fail "ping $SVC_ADDR through $TUN: $(cat "$CDIR/ping.out")"
say "$(grep 'packets transmitted' "$CDIR/ping.out")"

sessions=$("$SELF_DIR/../lab.sh" sessions sw)
[[ $sessions == *user=alice* ]] || fail "lab.sh sessions sw does not list alice: $sessions"
say "sessions: $sessions"

sas=$("$SELF_DIR/../lab.sh" sas sw)
say "server SAs: $(grep -Eo 'ESTABLISHED|INSTALLED, TUNNEL[^ ,]*|(in|out) +[0-9a-f]{8}, +[0-9]+ bytes, +[0-9]+ packets' <<<"$sas" |
	tr -s ' ' | paste -sd' ')"

stop_daemon l2tpvpn
sleep 0.5
after=$("$SELF_DIR/../lab.sh" counter sw l2tp-clear)
stop_daemon tshark
((after == before)) || fail "l2tp-clear counter went from $before to $after"
say "l2tp-clear counter: $after"

# count FILTER: packets of the capture that match a display filter. l2tpns's
# cluster heartbeat (multicast from the server) is not client traffic.
count() {
	ip netns exec "$CNS" tshark -r "$CDIR/selftest.pcap" \
		-Y "udp && !(ip.dst == 224.0.0.0/4) && ($1)" 2>/dev/null | wc -l
}
ike=$(count 'udp.port == 500 && isakmp')
nat_t=$(count 'udp.port == 4500')
esp=$(count 'udp.port == 4500 && esp')
clear=$(count 'udp.port == 1701 || l2tp')
other=$(count '!(udp.port == 500 || udp.port == 4500)')
say "capture on $CVETH: $ike IKE on 500, $nat_t on 4500 ($esp ESP), $clear cleartext L2TP, $other other UDP"
((ike > 0 && esp > 0 && clear == 0 && other == 0)) || fail "the capture has cleartext or foreign UDP"

stop_daemon charon-client
say "PASS"

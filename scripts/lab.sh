#!/usr/bin/env bash
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# lab.sh: real L2TP servers in network namespaces, for the integration tests and
# the demo. Each lab is a server namespace and a client namespace joined by a veth
# pair:
#
#   se      SoftEther VPN Server (raw L2TP and L2TP/IPsec, PSK l2v-psk)
#           l2v-se-s 192.0.2.1/28 <-> l2v-se-c 192.0.2.2/28
#           hub DEFAULT with SecureNAT 198.51.100.1/24, DHCP .10-.100;
#           service address 203.0.113.10 in l2v-se-s (reached through SecureNAT)
#           The hub checks users mfa-push and mfa-otp against FreeRADIUS on
#           127.0.0.1 in l2v-se-s (second factor: see radius-users); SoftEther
#           gives RADIUS at most 15 s, so the push delay is
#           L2V_RADIUS_PUSH_DELAY (default 12 s) at "up".
#   l2tpns  l2tpns + FreeRADIUS (plain L2TP, PAP and CHAP-MD5). With
#           L2V_L2TP_SECRET set at "up", l2tpns answers a client's Challenge
#           AVP with that secret (it never challenges the client itself);
#           with L2V_LNS_DNS=ADDR it hands out that DNS server in IPCP
#           l2v-ns-s 192.0.2.17/28 <-> l2v-ns-c 192.0.2.18/28
#           PPP pool 198.51.100.192/26; service address 203.0.113.20 in l2v-ns-s
#   sw      strongSwan charon (IKEv1 Main Mode responder, PSK, tunnel mode over
#           kernel-libipsec's ipsec0) in front of l2tpns + FreeRADIUS: L2TP/IPsec
#           l2v-sw-s 192.0.2.33/28 <-> l2v-sw-c 192.0.2.34/28
#           PPP pool 198.51.100.128/26; service address 203.0.113.30 in l2v-sw-s
#           Child SA: local_ts dynamic[udp/1701], remote_ts dynamic[udp]. An
#           nftables rule drops (and counts as "l2tp-clear") UDP 1701 that did
#           not come out of ipsec0, so only encrypted L2TP reaches the LNS.
#           L2V_SW_LNS=softether at "up": SoftEther's raw L2TP (no IPsec or
#           EtherIP of its own, so charon keeps UDP 500 and 4500; "up" checks)
#           is the LNS instead of l2tpns, listening on IPv4 and IPv6 (ListenIP
#           ::; l2tpns binds IPv4 only), hub DEFAULT with SecureNAT
#           198.51.100.113/28, DHCP .114-.126, state in $LAB_ROOT/sw/softether;
#           the service address 203.0.113.30 is reached through SecureNAT as in
#           the se lab, and "sessions sw" lists SoftEther's sessions.
#           Settings read at "up": L2V_SE_IPV6=1 (se: listen on IPv6 too),
#           L2V_SW_LNS (l2tpns, the default, or softether),
#           L2V_SW_PSK (default l2v-psk), L2V_SW_IKE and
#           L2V_SW_ESP (swanctl proposal lists; the defaults accept everything
#           charon can do in IKEv1 with AES-CBC/3DES, MD5/SHA1/SHA2, MODP
#           1024-4096, ECP 256/384, and ESP AES-GCM, with and without PFS),
#           L2V_SW_REKEY (seconds: only the CHILD_SA rekeys, at exactly that age;
#           unset: strongSwan's defaults, no rekey within a test).
#           charon's vici socket: $LAB_ROOT/sw/charon.vici; log: charon.log
#   senat   a NAT router in front of the running se lab (needs "up se"; only on
#           request, not part of "all"): client l2v-sen-c 203.0.113.66/28, default
#           route via router l2v-sen-r 203.0.113.65/28, which masquerades out of
#           192.0.2.50/28 to SoftEther's second address 192.0.2.49/28
#           (l2v-se-s1 in l2v-se-s). The server sees the client as 192.0.2.50.
#   swc     a second, standalone charon in the sw lab's client namespace
#           l2v-sw-c (needs "up sw"; only on request), with no connections
#           of its own: the client drives it over its vici socket
#           $LAB_ROOT/swc/charon.vici (--ipsec=strongswan). kernel-libipsec,
#           so tunnel mode only; fwmark 0x42 keeps its IKE and ESP-in-UDP out
#           of table 220. Log: $LAB_ROOT/swc/charon.log
#           L2V_SWC_ESP=kernel at "up": no kernel-libipsec, so ESP is the
#           kernel's (xfrm), which this lab's kernel may lack.
#   dual    joins the running se and l2tpns labs (needs both "up"; only on
#           request): a second veth from the se client namespace l2v-se-c
#           (l2v-du-c0 192.0.2.66/28) to l2tpns's namespace (l2v-du-s0
#           192.0.2.65/28), and a host route to l2tpns at 192.0.2.17 over it,
#           so one client reaches both servers at once.
#
# Each client namespace gets /etc/netns/<ns>/resolv.conf ("nameserver
# 192.0.2.53", "search lab.example"), which "ip netns exec" mounts over
# /etc/resolv.conf: a client's DNS changes land there, never on the host.
#
# Each service address has an iperf3 server (TCP 5201) for traffic tests.
#
# "sessions" prints one "session=... user=... from=..." line per live session:
# SoftEther lists a session only once PPP has authenticated (an L2TP session
# alone is not a hub session) and drops it about 1 s after the client's
# CDN/StopCCN; l2tpns lists a session from its ICRQ on, until its CDN.
#
# User alice, password l2v-pass, on every server. Everything the lab creates is
# named l2v-*; its configs, pid files and logs live in
# ${L2V_LAB_DIR:-/run/l2tpvpn-lab}/<lab>/. Daemons run under setsid and are
# stopped by process group id only. Run as root.
# L2V_LAB_READY_TIMEOUT (seconds, default 20) bounds each readiness wait.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly TEMPLATES=$SCRIPT_DIR/lab
readonly LAB_ROOT=${L2V_LAB_DIR:-/run/l2tpvpn-lab}
readonly LABS=(se l2tpns sw) # "all"; senat and dual only on request
readonly PREFIXLEN=28 # veth addresses; the tests hard-code the same values
readonly SVC_PORT=5201 # iperf3 server on each lab's service address

readonly SE_BIN=/usr/libexec/softether/vpnserver/vpnserver
readonly SE_CMD=/usr/libexec/softether/vpncmd/vpncmd
readonly SE_DIRS=(/var/lib/softether /var/log/softether /run/softether)
readonly L2TPNS_BIN=/usr/sbin/l2tpns
readonly RADIUSD_BIN=/usr/sbin/freeradius
readonly CHARON_BIN=/usr/lib/ipsec/charon
readonly SWANCTL_BIN=/usr/sbin/swanctl
readonly SW_FWMARK=0x42
# Default proposals of the sw lab: everything charon can do in IKEv1 with
# these algorithms. One swanctl proposal may list several algorithms of each
# kind; AEAD (GCM) and non-AEAD ESP need separate proposals, and an ESP
# proposal without a DH group is the no-PFS variant.
readonly SW_GROUPS=modp1024-modp1536-modp2048-modp3072-modp4096-ecp256-ecp384
readonly SW_IKE_DEFAULT=aes128-aes192-aes256-3des-md5-sha1-sha256-sha384-sha512-$SW_GROUPS
readonly SW_ESP_CBC=aes128-aes192-aes256-3des-sha1-md5-sha256-sha384-sha512
readonly SW_ESP_GCM=aes128gcm16-aes256gcm16
readonly SW_ESP_DEFAULT=$SW_ESP_CBC-$SW_GROUPS,$SW_ESP_CBC,$SW_ESP_GCM-$SW_GROUPS,$SW_ESP_GCM

READY_TIMEOUT=${L2V_LAB_READY_TIMEOUT:-20} # seconds

usage() {
	cat <<'EOF'
usage: lab.sh up <se|l2tpns|sw|senat|dual|swc|all>
                                            start a lab; prints "lab <name> up"
                                            when ready (all: se l2tpns sw);
                                            sw with L2V_SW_LNS=softether:
                                            SoftEther's raw L2TP (IPv4 and
                                            IPv6) behind charon, not l2tpns
       lab.sh down <se|l2tpns|sw|senat|dual|swc|all>
                                            stop daemons, delete namespaces and
                                            state (se and all: senat first;
                                            sw: swc first)
       lab.sh sessions <se|l2tpns|sw>       the server's live sessions, one per line
                                            (sw: of l2tpns, or of SoftEther with
                                            L2V_SW_LNS=softether)
       lab.sh attach se                     a veth from this network namespace to
                                            the se server: SoftEther at 192.0.2.241
                                            (the GitHub workflow's Action job)
       lab.sh detach se                     remove that veth
       lab.sh restart-server se             restart the SoftEther daemon, same config
       lab.sh logs <se|l2tpns|sw|senat|swc>   print the server logs
       lab.sh sas sw                        swanctl --list-sas of the sw responder
       lab.sh vpncmd se CMD [ARGS...]       one vpncmd command on the se hub DEFAULT
       lab.sh counter sw l2tp-clear         packets of that nftables counter
       lab.sh swconf IKE ESP [REKEY]        reload the sw responder's conn with
                                            these proposals (and child rekey
                                            seconds), terminating its IKE SAs;
                                            prints "swconf ok"
       lab.sh swload FILE                   replace the sw responder's conns and
                                            secrets with those of swanctl.conf
                                            FILE (absolute paths for certs and
                                            keys), terminating its IKE SAs;
                                            "swconf" restores the default;
                                            prints "swload ok"
EOF
}

die() {
	printf 'lab.sh: %s\n' "$*" >&2
	exit 1
}

# lab_vars sets the fixed names and addresses of one lab (the Go tests
# hard-code the same values).
lab_vars() {
	LAB=$1
	STATE=$LAB_ROOT/$LAB
	case $LAB in
	se)
		SNS=l2v-se-s CNS=l2v-se-c
		CVETH=l2v-se-c0 SVETH=l2v-se-s0
		SADDR=192.0.2.1 CADDR=192.0.2.2
		SVC_DEV=l2v-se-svc SVC_ADDR=203.0.113.10
		SE_UDP='1701 500 4500' # SoftEther is ready once it binds these
		;;
	l2tpns)
		SNS=l2v-ns-s CNS=l2v-ns-c
		CVETH=l2v-ns-c0 SVETH=l2v-ns-s0
		SADDR=192.0.2.17 CADDR=192.0.2.18
		SVC_DEV=l2v-ns-svc SVC_ADDR=203.0.113.20
		LNS_TUN=l2v-ns-tun LNS_POOL=198.51.100.192/26
		;;
	sw)
		SNS=l2v-sw-s CNS=l2v-sw-c
		CVETH=l2v-sw-c0 SVETH=l2v-sw-s0
		SADDR=192.0.2.33 CADDR=192.0.2.34
		SVC_DEV=l2v-sw-svc SVC_ADDR=203.0.113.30
		LNS_TUN=l2v-sw-tun LNS_POOL=198.51.100.128/26
		# With L2V_SW_LNS=softether: raw L2TP only, charon has IKE.
		SE_UDP='1701'
		;;
	senat)
		# SNS is the router here; SVETH/CVETH are its two ends.
		SNS=l2v-sen-r CNS=l2v-sen-c
		SVETH=l2v-sen-r0 CVETH=l2v-sen-c0
		RVETH=l2v-sen-r1 SE_VETH=l2v-se-s1
		SADDR=192.0.2.50 SE_ADDR=192.0.2.49
		RADDR=203.0.113.65 CADDR=203.0.113.66
		SVC_DEV=$RVETH # a device the lab creates; see net_down
		;;
	swc)
		# Joins the sw lab's client namespace; creates no namespace.
		SNS=l2v-sw-s CNS=l2v-sw-c
		SADDR=192.0.2.33 CADDR=192.0.2.34
		;;
	dual)
		# Joins two labs' namespaces; creates no namespace of its own.
		SNS=l2v-ns-s CNS=l2v-se-c
		SVETH=l2v-du-s0 CVETH=l2v-du-c0
		SADDR=192.0.2.65 CADDR=192.0.2.66 NS_SERVER=192.0.2.17
		;;
	*)
		die "unknown lab '$1' (want: ${LABS[*]} senat dual swc)"
		;;
	esac
}

need_root() {
	[[ $EUID -eq 0 ]] || die "must run as root"
}

# lock serialises up/down/restart-server across concurrent callers.
lock() {
	mkdir -p "$LAB_ROOT"
	exec 9<"$LAB_ROOT"
	flock -w 60 9 || die "timed out waiting for the lock on $LAB_ROOT"
}

ns_exists() {
	[[ -e /run/netns/$1 ]]
}

# render TEMPLATE OUT KEY=VALUE... replaces every @KEY@ in TEMPLATE.
render() {
	local tpl=$1 out=$2 text kv
	shift 2
	text=$(<"$tpl")
	for kv in "$@"; do
		text=${text//"@${kv%%=*}@"/"${kv#*=}"}
	done
	printf '%s\n' "$text" >"$out"
}

# ---------------------------------------------------------------- processes

# group_pids PGID prints the live (non-zombie) members of a process group.
group_pids() {
	local pg=$1 f line rest state
	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		# After "pid (comm) ": state ppid pgrp ...
		rest=${line##*) }
		state=${rest%% *}
		rest=${rest#* }
		rest=${rest#* }
		if [[ ${rest%% *} == "$pg" && $state != Z ]]; then
			f=${f#/proc/}
			printf '%s\n' "${f%/stat}"
		fi
	done
}

# now_us prints the wall clock in microseconds.
now_us() {
	printf '%s\n' "${EPOCHREALTIME//[!0-9]/}"
}

# wait_group_gone PGID SECONDS waits until the group has no live member.
wait_group_gone() {
	local pg=$1 end
	end=$(($(now_us) + $2 * 1000000))
	while kill -0 -- "-$pg" 2>/dev/null && [[ -n $(group_pids "$pg") ]]; do
		(($(now_us) < end)) || return 1
		sleep 0.1
	done
}

netns_inode() {
	stat -L -c %i "/run/netns/$1"
}

# start_daemon NAME NETNS CMD... runs CMD in NETNS in a new session; records
# "PGID NETNS-INODE" in $STATE/NAME.pgid; output goes to $STATE/NAME.out.
start_daemon() {
	local name=$1 ns=$2 pidf=$STATE/$1.pgid i
	shift 2
	rm -f "$pidf" "$pidf.tmp"
	# setsid -f always forks, so the sh is a session and process group leader
	# and $$ is the process group id; exec keeps that pid for the daemon.
	setsid -f sh -c 'echo "$$ $1" >"$0.tmp" && mv "$0.tmp" "$0" && shift && exec "$@"' \
		"$pidf" "$(netns_inode "$ns")" ip netns exec "$ns" "$@" \
		</dev/null >>"$STATE/$name.out" 2>&1 9<&-
	for ((i = 0; i < 50; i++)); do
		[[ -s $pidf ]] && return 0
		sleep 0.1
	done
	die "$name did not start"
}

# stop_daemon NAME sends TERM to the daemon's process group, KILL after 2 s.
stop_daemon() {
	local pidf=$STATE/$1.pgid pg ino pid ours=0
	[[ -s $pidf ]] || return 0
	read -r pg ino <"$pidf"
	[[ $pg =~ ^[0-9]+$ && $pg -gt 1 ]] || {
		rm -f "$pidf"
		return 0
	}
	# Only signal the group if one of its members is in the lab's namespace:
	# a stale file must never make us kill someone else's process group.
	for pid in $(group_pids "$pg"); do
		if [[ $(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null) == "$ino" ]]; then
			ours=1
			break
		fi
	done
	if ((ours)); then
		kill -TERM -- "-$pg" 2>/dev/null || true
		if ! wait_group_gone "$pg" 2; then
			kill -KILL -- "-$pg" 2>/dev/null || true
			wait_group_gone "$pg" 5 || true
		fi
	fi
	rm -f "$pidf"
}

# kill_ns_leftovers NETNS ends, by pid, whatever still runs in a lab namespace
# (clients or helpers that tests started there). Not by process group: such a
# process may share its group with the test runner that started it.
kill_ns_leftovers() {
	local ns=$1 i
	local -a pids
	ns_exists "$ns" || return 0
	mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
	((${#pids[@]})) || return 0
	kill -TERM "${pids[@]}" 2>/dev/null || true
	for ((i = 0; i < 20; i++)); do
		mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
		((${#pids[@]})) || return 0
		sleep 0.1
	done
	kill -KILL "${pids[@]}" 2>/dev/null || true
	sleep 0.1
}

# wait_for WHAT CMD... polls CMD every 0.1 s until it succeeds or READY_TIMEOUT.
wait_for() {
	local what=$1 end
	shift
	end=$(($(now_us) + READY_TIMEOUT * 1000000))
	until "$@"; do
		(($(now_us) < end)) || die "$LAB: timed out after ${READY_TIMEOUT}s waiting for $what"
		sleep 0.1
	done
}

tcp_listening() { # NETNS PORT
	[[ -n $(ip netns exec "$1" ss -Hlnt "sport = :$2") ]]
}

udp_port_bound() { # NETNS PORT
	[[ -n $(ip netns exec "$1" ss -Hlnu "sport = :$2") ]]
}

pings() { # NETNS ADDRESS
	ip netns exec "$1" ping -c 1 -W 1 -q "$2" >/dev/null 2>&1
}

# ------------------------------------------------------------------ network

net_up() {
	ip netns add "$SNS"
	ip netns add "$CNS"
	ip -n "$SNS" link set lo up
	ip -n "$CNS" link set lo up
	ip link add "$CVETH" netns "$CNS" type veth peer name "$SVETH" netns "$SNS"
	ip -n "$SNS" addr add "$SADDR/$PREFIXLEN" dev "$SVETH"
	ip -n "$CNS" addr add "$CADDR/$PREFIXLEN" dev "$CVETH"
	ip -n "$SNS" link set "$SVETH" up
	ip -n "$CNS" link set "$CVETH" up
	netns_etc_up "$CNS"
	# The service address lives on a dummy; kernels without the dummy driver
	# get an ifb device instead, which holds a local address just the same.
	ip -n "$SNS" link add "$SVC_DEV" type dummy 2>/dev/null ||
		ip -n "$SNS" link add "$SVC_DEV" type ifb
	ip -n "$SNS" addr add "$SVC_ADDR/32" dev "$SVC_DEV"
	ip -n "$SNS" link set "$SVC_DEV" up
	# The server namespace routes between the veth, the service address and
	# the servers' own tunnels (l2tpns: its TUN, with a route to the pool).
	ip netns exec "$SNS" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	ip netns exec "$CNS" sysctl -qw \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

# service_up starts an iperf3 server on the service address (TCP 5201), so
# traffic through the tunnel has a TCP peer to talk to.
service_up() {
	start_daemon iperf3 "$SNS" iperf3 -s -B "$SVC_ADDR" -p "$SVC_PORT"
	wait_for "iperf3 on $SVC_ADDR:$SVC_PORT" tcp_listening "$SNS" "$SVC_PORT"
}

# netns_etc_up gives a client namespace its own resolv.conf (see the top).
netns_etc_up() { # NETNS
	mkdir -p "/etc/netns/$1"
	printf '# l2tpvpn lab resolver of %s\nnameserver 192.0.2.53\nsearch lab.example\n' "$1" >"/etc/netns/$1/resolv.conf"
}

net_down() {
	local ns dev
	rm -rf "/etc/netns/$CNS"
	rmdir /etc/netns 2>/dev/null || true
	for ns in "$SNS" "$CNS"; do
		kill_ns_leftovers "$ns"
		if ns_exists "$ns"; then
			ip netns del "$ns" 2>/dev/null || true
		fi
	done
	# Only a half-finished "up" can leave a lab device in the host namespace.
	for dev in "$CVETH" "$SVETH" "$SVC_DEV"; do
		if ip link show dev "$dev" >/dev/null 2>&1; then
			ip link del dev "$dev" 2>/dev/null || true
		fi
	done
}

# ----------------------------------------------------------------- SoftEther

# The se_* functions run a SoftEther server in the current lab's server
# namespace $SNS with its state under $STATE: the se lab's, and the sw lab's
# with L2V_SW_LNS=softether.

# se_vpncmd ARGS... runs vpncmd against the lab's server, in the server namespace
# and in a private mount namespace so its lang.config stays in the state dir.
# A server stuck in its known 100 % CPU bug may not answer: give up after 20 s.
se_vpncmd() {
	timeout 20 ip netns exec "$SNS" unshare -m --propagation private \
		sh -c 'mount --bind "$1" /var/lib/softether && shift && exec "$@"' \
		sh "$STATE/vpncmd" "$SE_CMD" localhost:5555 /SERVER "$@"
}

se_start() {
	local d
	for d in "${SE_DIRS[@]}"; do
		# Mount points for the private copies; the package's own service
		# would create the same directories.
		[[ -d $d ]] || mkdir -m 0700 "$d"
	done
	mkdir -p "$STATE/softether/lib" "$STATE/softether/log" "$STATE/softether/run" "$STATE/vpncmd"
	start_daemon vpnserver "$SNS" unshare -m --propagation private sh -c '
		mount --bind "$1/lib" /var/lib/softether &&
		mount --bind "$1/log" /var/log/softether &&
		mount --bind "$1/run" /run/softether &&
		exec "$2" execsvc' sh "$STATE/softether" "$SE_BIN"
	wait_for "SoftEther admin port 5555" tcp_listening "$SNS" 5555
}

# Ready: the UDP ports $SE_UDP are bound (se: raw L2TP 1701 and IKE 500,
# 4500, which all come up together about 1 s after IPsecEnable).
se_wait_l2tp() {
	local port
	for port in $SE_UDP; do
		wait_for "SoftEther on UDP $port" udp_port_bound "$SNS" "$port"
	done
}

se_up() {
	radius_start "${L2V_RADIUS_PUSH_DELAY:-12}"
	se_serve "$TEMPLATES/se.vpncmd" "${L2V_SE_IPV6-}"
}

# radius_start DELAY starts FreeRADIUS on 127.0.0.1:1812 in $SNS with the
# lab's users (alice; mfa-push, answered after DELAY seconds as a push
# approval is; mfa-otp, "password,TOTP code").
radius_start() {
	mkdir -p "$STATE/raddb" "$STATE/radius"
	render "$TEMPLATES/radiusd.conf.in" "$STATE/raddb/radiusd.conf" \
		RADDB="$STATE/raddb" RUN="$STATE/radius" PUSH_DELAY="$1"
	cp "$TEMPLATES/radius-users" "$STATE/raddb/users"
	start_daemon radiusd "$SNS" "$RADIUSD_BIN" -f -d "$STATE/raddb"
	wait_for "FreeRADIUS on 127.0.0.1:1812" udp_port_bound "$SNS" 1812
	ip netns exec "$SNS" radtest -t pap alice l2v-pass 127.0.0.1 0 l2v-radius >/dev/null 2>&1 ||
		die "$LAB: FreeRADIUS does not accept alice"
}

# se_serve VPNCMD IPV6 starts SoftEther, configures it with the vpncmd script
# VPNCMD and, with IPV6=1, makes it listen on every address family.
se_serve() {
	local script=$1 ipv6=$2
	se_start
	if ! se_vpncmd /IN:"$script" >"$STATE/vpncmd.out" 2>&1 ||
		grep -q '^Error occurred' "$STATE/vpncmd.out"; then
		cat "$STATE/vpncmd.out" >&2
		die "$LAB: vpncmd configuration failed (see above)"
	fi
	# Keep the flushed configuration: restart-server starts from this copy.
	cp "$STATE/softether/lib/vpn_server.config" "$STATE/vpn_server.config.lab"
	if [[ $ipv6 == 1 ]]; then
		# ListenIP 0.0.0.0 (the default) binds IPv4 only; "::" binds every
		# family. There is no vpncmd for it: edit the config and restart.
		sed -i 's/^\([[:space:]]*string ListenIP\) .*/\1 ::/' "$STATE/vpn_server.config.lab"
		grep -q 'string ListenIP ::' "$STATE/vpn_server.config.lab" || die "$LAB: no ListenIP in SoftEther's config to change"
		se_restart
		return
	fi
	se_wait_l2tp
}

se_restart() {
	stop_daemon vpnserver
	[[ -s $STATE/vpn_server.config.lab ]] &&
		cp "$STATE/vpn_server.config.lab" "$STATE/softether/lib/vpn_server.config"
	se_start
	se_wait_l2tp
}

# SessionList in CSV: Session Name,VLAN ID,Location,User Name,Source Host
# Name,... The SecureNAT virtual host is a session of its own; it is not a
# client and is left out.
se_sessions() {
	local out name loc user host rest
	out=$(se_vpncmd /ADMINHUB:DEFAULT /CSV /CMD SessionList 2>&1) ||
		die "se: vpncmd SessionList failed: $out"
	while IFS=, read -r name _ loc user host rest; do
		[[ $name == SID-* ]] || continue
		[[ $name == SID-SECURENAT-* || $loc == "SecureNAT Session" ]] && continue
		printf 'session=%s user=%s from=%s\n' "$name" "$user" "$host"
	done <<<"$out"
}

se_logs() {
	# The set-up transcript first: a failing test shows the tail of this,
	# which should be the server's own log.
	show_file "$STATE/vpncmd.out"
	show_file "$STATE/vpnserver.out"
	local f
	for f in "$STATE"/softether/log/server_log/*.log "$STATE"/softether/log/security_log/*/*.log; do
		show_file "$f"
	done
}

# -------------------------------------------------------- l2tpns + FreeRADIUS

# lns_up starts FreeRADIUS and l2tpns in $SNS, bound to $SADDR, with the PPP
# pool $LNS_POOL on the TUN $LNS_TUN (the l2tpns and sw labs).
lns_up() {
	local secret=${L2V_L2TP_SECRET-}
	mkdir -p "$STATE/etc"
	radius_start "${L2V_RADIUS_PUSH_DELAY:-12}"
	# /etc/l2tpns/{startup-config,ip_pool,users} are hard-coded: l2tpns runs in
	# a private mount namespace with this directory bind-mounted over /etc/l2tpns.
	render "$TEMPLATES/l2tpns.conf.in" "$STATE/etc/startup-config" \
		STATE="$STATE" BIND="$SADDR" IFACE="$SVETH" TUN="$LNS_TUN"
	if [[ -n $secret ]]; then
		printf 'set l2tp_secret "%s"\n' "$secret" >>"$STATE/etc/startup-config"
	fi
	if [[ -n ${L2V_LNS_DNS-} ]]; then
		printf 'set primary_dns %s\n' "$L2V_LNS_DNS" >>"$STATE/etc/startup-config"
	fi
	chmod 0600 "$STATE/etc/startup-config"
	echo "$LNS_POOL" >"$STATE/etc/ip_pool"
	# An empty CLI users file: connections from 127.0.0.1 need no login.
	: >"$STATE/etc/users"

	start_daemon l2tpns "$SNS" unshare -m --propagation private sh -c '
		mount --bind "$1" /etc/l2tpns && exec "$2" -c /etc/l2tpns/startup-config' \
		sh "$STATE/etc" "$L2TPNS_BIN"

	wait_for "l2tpns to declare itself the master" \
		grep -qs 'I am declaring myself the master' "$STATE/l2tpns.log"
	wait_for "l2tpns on UDP 1701" udp_port_bound "$SNS" 1701
}

l2tpns_up() {
	lns_up
}

# l2tpns_cli COMMAND... runs CLI commands over TCP 23 (no login from
# 127.0.0.1) and prints the raw output. The CLI takes CR as end of line.
l2tpns_cli() {
	local script='exec 3<>/dev/tcp/127.0.0.1/23 || exit 1
		for c in "$@"; do printf "%s\r" "$c" >&3; done
		printf "exit\r" >&3
		cat <&3'
	timeout 5 ip netns exec "$SNS" bash -c "$script" bash "$@" | tr -d '\r'
}

# A session that got a CDN stays in "show session" for 15 s more (l2tpns
# kills it later), so only the sessions that "show tunnel <id>" lists under
# their tunnel (l2tpns's own "not dying" test) count as live.
l2tpns_sessions() {
	local out line sid tid user ip lac rest
	local -a rows=() cmds=()
	local -A tids=() live=()
	out=$(l2tpns_cli "show session") || die "l2tpns: CLI not reachable"
	# SID LkToSID TID Username IP I T G 6 opened downloaded uploaded idle
	# Rem.Time LAC CLI
	while IFS= read -r line; do
		read -r sid _ tid _ <<<"$line"
		if [[ $sid =~ ^[0-9]+$ && $tid =~ ^[0-9]+$ ]]; then
			rows+=("$line")
			tids[$tid]=1
		fi
	done <<<"$out"
	((${#rows[@]})) || return 0
	for tid in "${!tids[@]}"; do
		cmds+=("show tunnel $tid")
	done
	out=$(l2tpns_cli "${cmds[@]}") || die "l2tpns: CLI not reachable"
	while IFS= read -r line; do
		if [[ $line =~ ^[[:space:]]*Sessions:[[:space:]]*(.*)$ ]]; then
			for sid in ${BASH_REMATCH[1]}; do
				live[$sid]=1
			done
		fi
	done <<<"$out"
	for line in "${rows[@]}"; do
		read -r sid _ tid user ip _ _ _ _ _ _ _ _ _ lac rest <<<"$line"
		[[ -n ${live[$sid]-} ]] || continue
		printf 'session=%s tunnel=%s user=%s ip=%s from=%s\n' \
			"$sid" "$tid" "$user" "$ip" "${lac#(?)}"
	done
}

l2tpns_logs() {
	# l2tpns logs every setting it reads, secrets included: mask them.
	show_file "$STATE/l2tpns.log" | sed -E 's/(Setting "[a-z0-9_]*secret" to ")[^"]*"/\1***"/'
	show_file "$STATE/l2tpns.out" | sed -E 's/(Setting "[a-z0-9_]*secret" to ")[^"]*"/\1***"/'
	show_file "$STATE/radius/radius.log"
	show_file "$STATE/radiusd.out"
}

# ------------------------------------------------- strongSwan charon (sw lab)

# swanctl_in DIR COMMAND ARGS... runs swanctl against the charon whose working
# directory (config, vici socket) is DIR. The socket is a path, so no
# namespace is needed. swanctl takes --uri after the command only.
swanctl_in() {
	local dir=$1 cmd=$2
	shift 2
	STRONGSWAN_CONF=$dir/strongswan.conf timeout 30 "$SWANCTL_BIN" "$cmd" \
		--uri "unix://$dir/charon.vici" "$@"
}

# charon_start NAME NETNS DIR runs charon in NETNS with DIR as its working
# directory (strongswan.conf, vici socket and log are relative to it) and
# DIR/run bind-mounted over /run in a private mount namespace: its pid file
# /run/charon.pid is hard-coded, and two lab charons must not share it.
charon_start() {
	mkdir -p "$3/run"
	start_daemon "$1" "$2" unshare -m --propagation private sh -c '
		cd "$1" && mount --bind run /run &&
		STRONGSWAN_CONF=strongswan.conf exec "$2"' sh "$3" "$CHARON_BIN"
	wait_for "charon's vici socket $3/charon.vici" test -S "$3/charon.vici"
	wait_for "charon on UDP 4500" udp_port_bound "$2" 4500
}

# sw_render_conns IKE ESP REKEY writes the responder's swanctl.conf.
sw_render_conns() {
	local ike=$1 esp=$2 rekey=$3 ike_rekey='' child_rekey=''
	if [[ -n $rekey ]]; then
		# Only the CHILD_SA rekeys, at exactly REKEY seconds (no random
		# jitter); the IKE SA outlives any test.
		ike_rekey='rekey_time = 24h'
		child_rekey="rekey_time = ${rekey}s
				life_time = $((rekey * 3 / 2))s
				rand_time = 0s"
	fi
	render "$TEMPLATES/swanctl-sw.conf.in" "$STATE/swanctl.conf" \
		IKE="$ike" ESP="$esp" IKE_REKEY="$ike_rekey" CHILD_REKEY="$child_rekey" \
		PSK="$(<"$STATE/psk")"
	printf '%s\n' "ike=$ike" "esp=$esp" "rekey=$rekey" >"$STATE/proposals"
}

sw_check_proposals() { # IKE ESP REKEY
	local list='^[a-z0-9_]+(-[a-z0-9_]+)*(,[a-z0-9_]+(-[a-z0-9_]+)*)*$'
	[[ $1 =~ $list ]] ||
		die "sw: IKE proposals '$1' are not a swanctl list like aes128-sha1-modp2048,3des-md5-modp1024"
	[[ $2 =~ $list ]] ||
		die "sw: ESP proposals '$2' are not a swanctl list like aes128-sha1,aes256-sha1-modp2048"
	[[ -z $3 || $3 =~ ^[1-9][0-9]{0,5}$ ]] ||
		die "sw: rekey '$3' is not a number of seconds"
}

sw_up() {
	local psk=${L2V_SW_PSK-l2v-psk}
	local ike=${L2V_SW_IKE:-$SW_IKE_DEFAULT} esp=${L2V_SW_ESP:-$SW_ESP_DEFAULT}
	local rekey=${L2V_SW_REKEY-}
	sw_check_proposals "$ike" "$esp" "$rekey"
	printf '%s\n' "${L2V_SW_LNS:-l2tpns}" >"$STATE/lns" # checked by cmd_up
	(umask 077 && printf '%s\n' "$psk" >"$STATE/psk")
	render "$TEMPLATES/strongswan.conf.in" "$STATE/strongswan.conf"
	sw_render_conns "$ike" "$esp" "$rekey"
	cp "$TEMPLATES/sw.nft" "$STATE/sw.nft"
	ip netns exec "$SNS" nft -f "$STATE/sw.nft"
	# IKE and ESP-in-UDP (marked by charon) bypass table 220, which routes
	# the whole peer address into ipsec0; for an IPv6 peer (charon's table
	# 220 rule covers both families) too.
	ip -n "$SNS" rule add priority 100 fwmark "$SW_FWMARK" lookup main
	ip -6 -n "$SNS" rule add priority 100 fwmark "$SW_FWMARK" lookup main
	charon_start charon "$SNS" "$STATE"
	if ! swanctl_in "$STATE" --load-all --noprompt --file "$STATE/swanctl.conf" \
		>"$STATE/swanctl.out" 2>&1; then
		cat "$STATE/swanctl.out" >&2
		die "sw: swanctl --load-all failed (see above)"
	fi
	case $(sw_lns) in
	l2tpns) lns_up ;;
	softether) sw_softether_up ;;
	esac
}

# sw_lns prints the sw lab's L2TP server: l2tpns or softether.
sw_lns() {
	if [[ -s $STATE/lns ]]; then
		cat "$STATE/lns"
	else
		echo l2tpns
	fi
}

# sw_softether_up starts SoftEther as the LNS behind charon: raw L2TP only
# (see scripts/lab/sw-se.vpncmd), on every address family. It must leave
# UDP 500 and 4500 to charon: its IPsec server binds them only with L2TP over
# IPsec or EtherIP on, which the script leaves off.
sw_softether_up() {
	se_serve "$TEMPLATES/sw-se.vpncmd" 1
	# SoftEther binds all of its ports at once, so with 1701 bound it would
	# hold 500 and 4500 by now too.
	local port out
	for port in 500 4500; do
		out=$(ip netns exec "$SNS" ss -Hlunp "sport = :$port")
		[[ -n $out ]] || die "sw: nothing listens on UDP $port"
		if grep -qv 'users:(("charon",' <<<"$out" || grep -q '"vpnserver"' <<<"$out"; then
			die "sw: UDP $port is not charon's alone:"$'\n'"$out"
		fi
	done
}

sw_sessions() {
	if [[ $(sw_lns) == softether ]]; then
		se_sessions
	else
		l2tpns_sessions
	fi
}

sw_logs() {
	if [[ $(sw_lns) == softether ]]; then
		se_logs
	else
		l2tpns_logs
	fi
	show_file "$STATE/swanctl.out"
	show_file "$STATE/charon.out"
	if [[ -f $STATE/charon.log ]]; then
		printf '==> %s (last 200 lines) <==\n' "$STATE/charon.log"
		tail -n 200 "$STATE/charon.log"
	fi
}

# sw_swconf IKE ESP REKEY replaces the responder's conn and ends its IKE SAs,
# so the next client negotiates against the new proposals. charon keeps
# running.
sw_swconf() {
	local out
	sw_check_proposals "$@"
	sw_render_conns "$@"
	# --load-all --clear: also puts back the default PSK after a swload.
	out=$(swanctl_in "$STATE" --load-all --noprompt --clear --file "$STATE/swanctl.conf" 2>&1) ||
		die "sw: swanctl --load-all failed: $out"
	# swanctl --terminate fails when there is no SA: ask first.
	if swanctl_in "$STATE" --list-sas --ike l2v-sw 2>/dev/null | grep -q '^l2v-sw:'; then
		out=$(swanctl_in "$STATE" --terminate --ike l2v-sw --timeout 5 2>&1) ||
			die "sw: swanctl --terminate failed: $out"
	fi
	local sa
	for sa in $(swanctl_in "$STATE" --list-sas 2>/dev/null | sed -n 's/^\([A-Za-z0-9_-]*\): #.*/\1/p' | sort -u); do
		[[ $sa == l2v-sw ]] || swanctl_in "$STATE" --terminate --ike "$sa" --timeout 5 >/dev/null 2>&1 || true
	done
}

# ------------------------------------------------------- NAT router (senat)

# senat_up adds the NAT router and its client to the running se lab (cmd_up
# checked that it runs).
senat_up() {
	ip netns add "$SNS"
	ip netns add "$CNS"
	ip -n "$SNS" link set lo up
	ip -n "$CNS" link set lo up
	# Router <-> SoftEther's namespace: a second address of the server,
	# on-link for the router's outer address, so the server needs no route.
	ip link add "$SVETH" netns "$SNS" type veth peer name "$SE_VETH" netns l2v-se-s
	ip -n "$SNS" addr add "$SADDR/$PREFIXLEN" dev "$SVETH"
	ip -n l2v-se-s addr add "$SE_ADDR/$PREFIXLEN" dev "$SE_VETH"
	ip -n "$SNS" link set "$SVETH" up
	ip -n l2v-se-s link set "$SE_VETH" up
	# Client <-> router.
	ip link add "$CVETH" netns "$CNS" type veth peer name "$RVETH" netns "$SNS"
	ip -n "$SNS" addr add "$RADDR/$PREFIXLEN" dev "$RVETH"
	ip -n "$CNS" addr add "$CADDR/$PREFIXLEN" dev "$CVETH"
	ip -n "$SNS" link set "$RVETH" up
	ip -n "$CNS" link set "$CVETH" up
	ip -n "$CNS" route add default via "$RADDR"
	netns_etc_up "$CNS"
	ip netns exec "$SNS" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	ip netns exec "$CNS" sysctl -qw \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	ip netns exec "$SNS" nft -f - <<EOF
table ip l2v-nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "$SVETH" masquerade
	}
}
EOF
	wait_for "a ping from $CNS to the server at $SE_ADDR" pings "$CNS" "$SE_ADDR"
}

senat_logs() {
	printf '==> nft ruleset of %s <==\n' "$SNS"
	ip netns exec "$SNS" nft list ruleset 2>&1 || true
}

# senat_down deletes the router and client namespaces; SoftEther's end of the
# router's veth (l2v-se-s1) goes with its peer.
senat_down() {
	net_down || true
	rm -rf "$STATE"
}

# ------------------------------------------- client-side charon (swc, on sw)

swc_up() {
	render "$TEMPLATES/strongswan.conf.in" "$STATE/strongswan.conf"
	case ${L2V_SWC_ESP:-libipsec} in
	libipsec) ;;
	kernel) # kernel ESP (xfrm) only: without it in the kernel, no SA installs
		sed -i 's/ kernel-libipsec / /' "$STATE/strongswan.conf" ;;
	*) die "swc: L2V_SWC_ESP must be libipsec or kernel" ;;
	esac
	ip -n "$CNS" rule add priority 100 fwmark "$SW_FWMARK" lookup main
	charon_start charon "$CNS" "$STATE"
}

swc_logs() {
	show_file "$STATE/charon.out"
	if [[ -f $STATE/charon.log ]]; then
		printf '==> %s (last 200 lines) <==\n' "$STATE/charon.log"
		tail -n 200 "$STATE/charon.log"
	fi
}

# swc_down stops the charon; kernel-libipsec removes ipsec0 and table 220's
# routes as it exits.
swc_down() {
	stop_daemon charon || true
	if ns_exists "$CNS"; then
		ip -n "$CNS" rule del priority 100 fwmark "$SW_FWMARK" lookup main 2>/dev/null || true
	fi
	rm -rf "$STATE"
}

# ------------------------------------------------------------ dual (se + l2tpns)

dual_up() {
	ip link add "$CVETH" netns "$CNS" type veth peer name "$SVETH" netns "$SNS"
	ip -n "$SNS" addr add "$SADDR/$PREFIXLEN" dev "$SVETH"
	ip -n "$CNS" addr add "$CADDR/$PREFIXLEN" dev "$CVETH"
	ip -n "$SNS" link set "$SVETH" up
	ip -n "$CNS" link set "$CVETH" up
	ip -n "$CNS" route add "$NS_SERVER/32" via "$SADDR"
	wait_for "a ping from $CNS to l2tpns at $NS_SERVER" pings "$CNS" "$NS_SERVER"
}

dual_logs() { :; }

dual_down() {
	if ns_exists "$CNS" && ip -n "$CNS" link show dev "$CVETH" >/dev/null 2>&1; then
		ip -n "$CNS" link del dev "$CVETH" 2>/dev/null || true
	fi
	rm -rf "$STATE"
}

# ------------------------------------------------------------------ commands

show_file() {
	[[ -f $1 ]] || return 0
	printf '==> %s <==\n' "$1"
	cat "$1"
}

is_up() {
	if [[ $LAB == dual || $LAB == swc ]]; then
		[[ -d $STATE ]]
		return
	fi
	[[ -d $STATE ]] || ns_exists "$SNS" || ns_exists "$CNS"
}

require_up() {
	if [[ ! -d $STATE ]] || ! ns_exists "$SNS"; then
		die "lab $LAB is not up"
	fi
}

cmd_up() {
	local lab
	if [[ $1 == all ]]; then
		# One lab per run of this script: each takes the lock and cleans up
		# after itself if it fails.
		for lab in "${LABS[@]}"; do
			"${BASH_SOURCE[0]}" up "$lab" || exit
		done
		return
	fi
	lab_vars "$1"
	need_root
	lock
	if is_up; then
		die "lab $LAB is already up (or was not taken down): run 'lab.sh down $LAB' first"
	fi
	if [[ ($LAB == l2tpns || $LAB == sw) && ${L2V_L2TP_SECRET-} == *[\"\\$'\n']* ]]; then
		die "L2V_L2TP_SECRET must not contain a quote, backslash or newline"
	fi
	if [[ $LAB == sw && (${L2V_SW_PSK-l2v-psk} == *[\"\\$'\n']* || ${L2V_SW_PSK-l2v-psk} == '') ]]; then
		die "L2V_SW_PSK must not be empty or contain a quote, backslash or newline"
	fi
	if [[ $LAB == sw ]]; then
		case ${L2V_SW_LNS:-l2tpns} in
		l2tpns) ;;
		softether)
			[[ -z ${L2V_L2TP_SECRET-} ]] ||
				die "L2V_L2TP_SECRET is l2tpns's: not with L2V_SW_LNS=softether"
			;;
		*) die "L2V_SW_LNS must be l2tpns or softether" ;;
		esac
	fi
	if [[ $LAB == senat ]] && { [[ ! -d $LAB_ROOT/se ]] || ! ns_exists l2v-se-s; }; then
		die "senat: lab se is not up (run 'lab.sh up se' first)"
	fi
	if [[ $LAB == dual ]] && { [[ ! -d $LAB_ROOT/se ]] || [[ ! -d $LAB_ROOT/l2tpns ]]; }; then
		die "dual: labs se and l2tpns must be up first"
	fi
	if [[ $LAB == swc ]] && { [[ ! -d $LAB_ROOT/sw ]] || ! ns_exists l2v-sw-c; }; then
		die "swc: lab sw must be up first"
	fi
	mkdir -m 0700 "$STATE"
	trap 'up_failed' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if [[ $LAB != senat && $LAB != dual && $LAB != swc ]]; then
		net_up
		service_up
	fi
	"${LAB}_up"
	trap - EXIT INT TERM
	echo "lab $LAB up"
}

up_failed() {
	local rc=$? logs
	# Clean up even if whoever reads our stderr has gone away.
	trap '' PIPE
	logs=$("${LAB}_logs" 2>/dev/null | tail -n 40) || true
	lab_down
	printf 'lab.sh: lab %s failed to come up; the end of its logs:\n%s\n' "$LAB" "$logs" >&2 || true
	exit "$rc"
}

lab_down() {
	local name
	if [[ $LAB == senat ]]; then
		senat_down
		return
	fi
	if [[ $LAB == dual || $LAB == swc ]]; then
		"${LAB}_down"
		return
	fi
	# charon-client: the initiator of scripts/lab/sw-selftest.sh.
	for name in vpnserver l2tpns radiusd charon-client charon iperf3; do
		stop_daemon "$name" || true
	done
	net_down || true
	rm -rf "$STATE"
}

cmd_down() {
	need_root
	lock
	local lab
	if [[ $1 == all ]]; then
		for lab in dual senat swc "${LABS[@]}"; do
			lab_vars "$lab"
			lab_down
		done
	else
		lab_vars "$1"
		if [[ $LAB == sw ]]; then
			lab_vars swc # runs in sw's client namespace
			lab_down
			lab_vars sw
		fi
		if [[ $LAB == se || $LAB == l2tpns ]]; then
			# senat and dual hang off se's (and l2tpns's) namespaces.
			local keep=$LAB
			lab_vars dual
			lab_down
			if [[ $keep == se ]]; then
				lab_vars senat
				lab_down
			fi
			lab_vars "$keep"
		fi
		lab_down
	fi
}

cmd_sessions() {
	lab_vars "$1"
	[[ $LAB != senat ]] || die "sessions: senat has no server of its own (use 'sessions se')"
	need_root
	require_up
	"${LAB}_sessions"
}

# cmd_vpncmd se ARGS...: one vpncmd command on the se lab's hub DEFAULT
# (integration tests change its DHCP settings with it).
cmd_vpncmd() {
	[[ $1 == se ]] || die "vpncmd: only the se lab runs SoftEther"
	lab_vars se
	need_root
	require_up
	shift
	se_vpncmd /ADMINHUB:DEFAULT /CMD "$@"
}

cmd_sas() {
	[[ $1 == sw ]] || die "sas: only the sw lab runs charon"
	lab_vars sw
	need_root
	require_up
	swanctl_in "$STATE" --list-sas
}

# attach se: a veth from the calling network namespace (in the GitHub
# workflow: the job's container) to the se server namespace, so a client
# that runs there (the Action) reaches SoftEther at 192.0.2.241. Only the
# server's address is routed: the service behind it is the tunnel's.
readonly ATTACH_HERE=l2v-at-c0 ATTACH_THERE=l2v-at-s0
cmd_attach() {
	[[ $1 == se ]] || die "attach: only the se lab"
	lab_vars se
	need_root
	require_up
	ip link show "$ATTACH_HERE" >/dev/null 2>&1 && die "attach: $ATTACH_HERE exists already here"
	ip link add "$ATTACH_HERE" type veth peer name "$ATTACH_THERE" netns "$SNS"
	# No IPv6 link-local (its duplicate address detection would change the
	# interface's state while a test compares it).
	ip link set dev "$ATTACH_HERE" addrgenmode none
	ip addr add 192.0.2.242/29 dev "$ATTACH_HERE"
	ip link set "$ATTACH_HERE" up
	ip -n "$SNS" addr add 192.0.2.241/29 dev "$ATTACH_THERE"
	ip -n "$SNS" link set "$ATTACH_THERE" up
	echo "lab se attached: server 192.0.2.241 from here (192.0.2.242)"
}

# detach se: removes attach's veth (deleting the se lab removes it too).
cmd_detach() {
	[[ $1 == se ]] || die "detach: only the se lab"
	need_root
	ip link del "$ATTACH_HERE" 2>/dev/null || true
	echo "lab se detached"
}

cmd_counter() {
	local out
	[[ $1 == sw ]] || die "counter: only the sw lab has counters"
	lab_vars sw
	need_root
	require_up
	[[ $2 =~ ^[a-z][a-z0-9-]*$ ]] || die "counter: bad counter name '$2'"
	out=$(ip netns exec "$SNS" nft list counter inet l2v "$2" 2>&1) ||
		die "counter: no counter '$2' in $SNS: $out"
	[[ $out =~ packets\ ([0-9]+) ]] || die "counter: cannot read '$2': $out"
	printf '%s\n' "${BASH_REMATCH[1]}"
}

cmd_swconf() {
	lab_vars sw
	need_root
	lock
	require_up
	# An empty list means the lab's broad default.
	sw_swconf "${1:-$SW_IKE_DEFAULT}" "${2:-$SW_ESP_DEFAULT}" "${3-}"
	echo "swconf ok"
}

cmd_swload() {
	local out file=$1
	lab_vars sw
	need_root
	lock
	require_up
	[[ -f $file ]] || die "swload: no file $file"
	# Unload what the file does not hold (conns, shared keys), then end the
	# responder's IKE SAs so the next client meets the new config.
	out=$(swanctl_in "$STATE" --load-all --noprompt --clear --file "$file" 2>&1) ||
		die "sw: swanctl --load-all $file failed: $out"
	printf '%s\n' "$out" >"$STATE/swload.out"
	local sa
	for sa in $(swanctl_in "$STATE" --list-sas 2>/dev/null | sed -n 's/^\([A-Za-z0-9_-]*\): #.*/\1/p' | sort -u); do
		swanctl_in "$STATE" --terminate --ike "$sa" --timeout 5 >/dev/null 2>&1 || true
	done
	echo "swload ok"
}

cmd_restart_server() {
	[[ $1 == se ]] || die "restart-server: only the se lab has a restartable server"
	lab_vars se
	need_root
	lock
	require_up
	se_restart
	echo "lab se server restarted"
}

cmd_logs() {
	lab_vars "$1"
	[[ -d $STATE ]] || die "lab $LAB has no state dir ($STATE)"
	"${LAB}_logs"
}

main() {
	local nargs=2
	case ${1-} in
	counter) nargs=3 ;;
	swconf) nargs=$(($# == 4 ? 4 : 3)) ;;
	vpncmd) nargs=$(($# >= 3 ? $# : 3)) ;;
	esac
	(($# == nargs)) || {
		usage >&2
		exit 2
	}
	case $1 in
	up) cmd_up "$2" ;;
	down) cmd_down "$2" ;;
	sessions) cmd_sessions "$2" ;;
	attach) cmd_attach "$2" ;;
	detach) cmd_detach "$2" ;;
	restart-server) cmd_restart_server "$2" ;;
	logs) cmd_logs "$2" ;;
	sas) cmd_sas "$2" ;;
	counter) cmd_counter "$2" "$3" ;;
	swconf) cmd_swconf "$2" "$3" "${4-}" ;;
	swload) cmd_swload "$2" ;;
	vpncmd) cmd_vpncmd "${@:2}" ;;
	*)
		usage >&2
		exit 2
		;;
	esac
}

# scripts/lab/sw-selftest.sh sources this file for its functions.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi

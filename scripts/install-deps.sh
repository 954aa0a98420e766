#!/usr/bin/env bash
# install-deps.sh: install the Debian 12 packages the lab (scripts/lab.sh) and
# the integration tests need. Idempotent: installs only what is missing.
# The packages' own services must not keep running on the host (the lab runs
# its own instances in network namespaces): while installing, a policy-rc.d
# denies service starts; any service of ours that runs afterwards and did not
# run before is stopped again. Run as root.
set -euo pipefail

readonly PKGS=(
	softether-vpnserver softether-vpncmd
	l2tpns freeradius freeradius-utils
	strongswan-charon strongswan-swanctl libcharon-extra-plugins
	xl2tpd tshark iperf3 iproute2 nftables
	iputils-ping # the integration tests and the demo ping through the tunnel
	dnsmasq-base # integration: the lab DNS server of TestSurviveHostNameRestart
	zsh fish     # unit tests: the completion scripts are checked with zsh -n and fish -n
	groff-base   # unit tests: the man pages are formatted with groff
	man-db bash-completion # deb-test: man -w and the bash-completion loader find the package's files
)
# The services these packages ship (init script / unit name -> daemon binary).
declare -rA SERVICES=(
	[softether-vpnserver]=/usr/libexec/softether/vpnserver/vpnserver
	[l2tpns]=/usr/sbin/l2tpns
	[freeradius]=/usr/sbin/freeradius
	[xl2tpd]=/usr/sbin/xl2tpd
	[ipsec]=/usr/lib/ipsec/starter # strongswan-starter, pulled in by strongswan-charon
)
readonly POLICY=/usr/sbin/policy-rc.d

die() {
	printf 'install-deps.sh: %s\n' "$*" >&2
	exit 1
}

installed() {
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

have_systemd() {
	[[ -d /run/systemd/system ]]
}

# service_running NAME: with systemd, ask it; without, look for the daemon
# binary in the host's network namespace (the lab's own instances live in
# l2v-* namespaces and do not count; several init scripts have no "status").
service_running() {
	if have_systemd; then
		systemctl is-active --quiet "$1.service" 2>/dev/null
		return
	fi
	local exe=${SERVICES[$1]} host_net p
	host_net=$(stat -L -c %i /proc/self/ns/net)
	for p in /proc/[0-9]*; do
		if [[ $(readlink "$p/exe" 2>/dev/null) == "$exe" &&
			$(stat -L -c %i "$p/ns/net" 2>/dev/null) == "$host_net" ]]; then
			return 0
		fi
	done
	return 1
}

service_stop() {
	if have_systemd; then
		systemctl stop "$1.service" || true
	elif [[ -x /etc/init.d/$1 ]]; then
		/etc/init.d/"$1" stop || true
	fi
}

main() {
	[[ $EUID -eq 0 ]] || die "must run as root"

	local -a missing=()
	local p
	for p in "${PKGS[@]}"; do
		installed "$p" || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then
		echo "install-deps.sh: all packages already installed"
		return 0
	fi

	local -A was_running=()
	local s
	for s in "${!SERVICES[@]}"; do
		if service_running "$s"; then
			was_running[$s]=1
		fi
	done

	# Deny service starts during the installation, unless the system already
	# has a policy of its own (then leave it alone).
	if [[ ! -e $POLICY ]]; then
		printf '#!/bin/sh\n# installed by l2tpvpn scripts/install-deps.sh\nexit 101\n' >"$POLICY"
		chmod 0755 "$POLICY"
		trap 'rm -f "$POLICY"' EXIT
	fi

	export DEBIAN_FRONTEND=noninteractive
	# tshark would ask whether non-root users may capture.
	echo 'wireshark-common wireshark-common/install-setuid boolean false' |
		debconf-set-selections
	apt-get update -q
	apt-get install -y -q -o Dpkg::Options::=--force-confdef \
		-o Dpkg::Options::=--force-confold "${missing[@]}"

	for s in "${!SERVICES[@]}"; do
		if [[ -z ${was_running[$s]-} ]] && service_running "$s"; then
			echo "install-deps.sh: stopping $s, started by its package"
			service_stop "$s"
		fi
	done
	echo "install-deps.sh: installed ${missing[*]}"
}

main "$@"

#!/usr/bin/env bash
# deb-test.sh: install the l2tpvpn .deb on this machine with apt-get, check that
# the binary runs and that the man pages, completions, unit and /etc/l2tpvpn are
# where the system looks for them, then purge the package again. Part of
# `make test` (target deb-test, which builds the package and sets DEB, VERSION and
# DEB_VERSION); run directly, it runs `make deb-test`. Root only: it changes the
# machine's package set, and puts it back even when a check fails.
set -euo pipefail

PKG=l2tpvpn
root=$(cd "$(dirname "$0")/.." && pwd)

die() {
	printf 'deb-test: %s\n' "$*" >&2
	exit 1
}

[[ $(id -u) == 0 ]] || die "must run as root: it installs and removes the package $PKG on this machine"
if [[ -z ${DEB:-} ]]; then
	exec make --no-print-directory -C "$root" deb-test
fi
: "${VERSION:?set by make deb-test}" "${DEB_VERSION:?set by make deb-test}"
deb=$(realpath "$DEB")
[[ -f $deb ]] || die "no package at $DEB (make deb builds it)"
export DEBIAN_FRONTEND=noninteractive

# Refuse to touch an l2tpvpn the test did not install: removing it afterwards
# would change the machine.
status() { dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null || true; }
if [[ -n $(status) && $(status) != not-installed ]]; then
	die "the package $PKG is already on this machine ($(status) $(dpkg-query -W -f='${Version}' "$PKG")): the test installs and purges it; purge it first (apt-get purge $PKG)"
fi
mapfile -t files < <(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -n 's|^\./|/|; /[^/]$/p')
[[ ${#files[@]} -gt 0 ]] || die "$deb lists no files"
other=$(command -v l2tpvpn || true)
[[ -z $other ]] || die "another l2tpvpn is installed at $other (make install?): the checks would find it instead of the package's; remove it first (make uninstall)"
for f in "${files[@]}"; do
	[[ ! -e $f && ! -L $f ]] || die "$f exists but belongs to no package: the test would overwrite and then remove it (left by make install PREFIX=/usr?)"
done

# Minimal images (debian:*-slim, Ubuntu's minimized images) tell dpkg not to
# unpack man pages or docs (path-exclude in /etc/dpkg/dpkg.cfg.d/). The package
# would install without them and the checks below could not say why.
filters=()
for cfg in /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/*; do
	[[ -f $cfg ]] || continue
	while read -r key pattern; do
		filters+=("$key $pattern $cfg")
	done < <(sed -nE 's/^[[:space:]]*(path-(exclude|include))[[:space:]=]+([^[:space:]]+).*/\1 \3/p' "$cfg")
done
excluded=()
for f in "${files[@]}"; do
	verdict= why=
	for filt in "${filters[@]}"; do
		read -r key pattern cfg <<<"$filt"
		# dpkg matches with fnmatch(3) without FNM_PATHNAME: * crosses /, as here.
		# shellcheck disable=SC2053
		if [[ $f == $pattern ]]; then
			verdict=$key why="$pattern in $cfg"
		fi
	done
	[[ $verdict != path-exclude ]] || excluded+=("$f (path-exclude $why)")
done
if [[ ${#excluded[@]} -gt 0 ]]; then
	printf 'deb-test: dpkg on this machine is set not to install these files of the package:\n' >&2
	printf '  %s\n' "${excluded[@]}" >&2
	die "a minimal image's dpkg path-exclude; remove those lines (or run unminimize) and run again"
fi

dir_existed=
[[ ! -d /etc/l2tpvpn ]] || dir_existed=$(stat -c '%a %u %g' /etc/l2tpvpn)
cleanup() {
	local rc=$?
	if [[ -n $(status) && $(status) != not-installed ]]; then
		echo "deb-test: purging $PKG"
		dpkg --purge "$PKG" >/dev/null || { echo "deb-test: dpkg --purge $PKG failed" >&2; rc=1; }
	fi
	# dpkg removes the directory when empty; put back one that was there before.
	if [[ -n $dir_existed && ! -d /etc/l2tpvpn ]]; then
		read -r mode uid gid <<<"$dir_existed"
		install -d -m "$mode" -o "$uid" -g "$gid" /etc/l2tpvpn
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failures=0
check() { # check DESCRIPTION COMMAND...: run it, say ok or FAIL with its output
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		printf 'ok    %s\n' "$desc"
	else
		printf 'FAIL  %s\n' "$desc"
		[[ -z $out ]] || printf '%s\n' "$out" | sed 's/^/      /'
		failures=$((failures + 1))
	fi
}
expect() { # expect WANT COMMAND...: the command's output is exactly WANT
	local want=$1 got
	shift
	got=$("$@") || return
	[[ $got == "$want" ]] || {
		printf 'got:  %s\nwant: %s\n' "$got" "$want"
		return 1
	}
}
mode_is() { # mode_is MODE OWNER PATH
	local got
	got=$(stat -c '%a %U:%G' "$3") || return
	[[ $got == "$1 $2" ]] || {
		printf '%s is %s, want %s %s\n' "$3" "$got" "$1" "$2"
		return 1
	}
}

echo "deb-test: apt-get install $deb"
apt-get install -y -q "$deb" || die "apt-get install $deb failed"

check "dpkg: $PKG $DEB_VERSION installed" expect "install ok installed $DEB_VERSION" dpkg-query -W -f='${Status} ${Version}' "$PKG"
check "dpkg: no Depends, Suggests strongswan-charon" expect "|strongswan-charon" dpkg-query -W -f='${Depends}|${Suggests}' "$PKG"
check "l2tpvpn on PATH is /usr/bin/l2tpvpn" expect /usr/bin/l2tpvpn bash -c 'command -v l2tpvpn'
check "l2tpvpn version prints $VERSION" expect "l2tpvpn $VERSION" /usr/bin/l2tpvpn version
check "/usr/bin/l2tpvpn is 0755 root:root" mode_is 755 root:root /usr/bin/l2tpvpn
check "/usr/bin/l2tpvpn is static" bash -c 'LC_ALL=C ldd /usr/bin/l2tpvpn 2>&1 | grep -q "not a dynamic executable"'
check "man -w l2tpvpn" expect /usr/share/man/man1/l2tpvpn.1.gz man -w l2tpvpn
check "man -w 5 l2tpvpn.toml" expect /usr/share/man/man5/l2tpvpn.toml.5.gz man -w 5 l2tpvpn.toml
check "man renders l2tpvpn(1) with its NAME section" bash -c 'MANWIDTH=80 man -P cat l2tpvpn 2>&1 | grep -q "^NAME"'
check "bash: the completion script defines complete -F _l2tpvpn" \
	bash -c 'source /usr/share/bash-completion/completions/l2tpvpn && complete -p l2tpvpn | grep -q -- "-F _l2tpvpn l2tpvpn$"'
if [[ -r /usr/share/bash-completion/bash_completion ]]; then
	check "bash: bash-completion's loader finds it" \
		bash -c 'source /usr/share/bash-completion/bash_completion && __load_completion l2tpvpn && complete -p l2tpvpn'
else
	echo "skip  bash-completion's loader (package bash-completion not installed)"
fi
if command -v zsh >/dev/null; then
	check "zsh: compinit finds _l2tpvpn in its default fpath" \
		zsh -f -c 'autoload -Uz compinit && compinit -u -D && [[ $_comps[l2tpvpn] == _l2tpvpn ]] && print -l $^fpath/_l2tpvpn(N) | grep -qx /usr/share/zsh/vendor-completions/_l2tpvpn'
else
	echo "skip  zsh (not installed)"
fi
if command -v fish >/dev/null; then
	# A throwaway config and data home: the user's own fish set-up stays out of it
	# (fish --no-config would also skip fish's own search path set-up).
	check "fish: completes l2tpvpn's commands from its vendor directory" bash -c '
		home=$(mktemp -d); trap "rm -rf $home" EXIT
		env -u XDG_DATA_DIRS HOME="$home" XDG_CONFIG_HOME="$home" XDG_DATA_HOME="$home" \
			fish -c "complete -C \"l2tpvpn \"" | grep -qx "connect.*"'
else
	echo "skip  fish (not installed)"
fi
check "/etc/l2tpvpn in the package is 0700 root:root" \
	bash -c 'dpkg-deb -c "$1" | grep -q "^drwx------ root/root .* \./etc/l2tpvpn/$"' _ "$deb"
if [[ -z $dir_existed ]]; then
	check "/etc/l2tpvpn is 0700 root:root" mode_is 700 root:root /etc/l2tpvpn
else
	echo "note  /etc/l2tpvpn was here before (mode ${dir_existed%% *}): dpkg keeps an existing directory's mode"
fi
check "examples in /usr/share/doc/l2tpvpn/examples" test -r /usr/share/doc/l2tpvpn/examples/softether.toml
check "unit /lib/systemd/system/l2tpvpn@.service" test -r /lib/systemd/system/l2tpvpn@.service
if command -v systemd-analyze >/dev/null; then
	# Other units on the machine may draw warnings of their own: only ours count.
	check "systemd-analyze verify l2tpvpn@.service" bash -c '
		out=$(systemd-analyze verify /lib/systemd/system/l2tpvpn@.service 2>&1); rc=$?
		mine=$(grep -E "l2tpvpn@" <<<"$out"); [[ -z $mine ]] || { echo "$mine"; exit 1; }
		[[ $rc == 0 ]] || { echo "$out"; exit 1; }'
else
	echo "note  systemd-analyze not installed: the unit is not verified"
fi
check "dpkg: nothing starts at install (no maintainer scripts)" \
	bash -c '! ls /var/lib/dpkg/info/l2tpvpn.{preinst,postinst,prerm,postrm} 2>/dev/null | grep -q .'

echo "deb-test: apt-get remove $PKG"
apt-get remove -y -q "$PKG" >/dev/null || die "apt-get remove $PKG failed"
check "removed: /usr/bin/l2tpvpn and the man pages are gone" \
	bash -c '! ls /usr/bin/l2tpvpn /usr/share/man/man1/l2tpvpn.1.gz /usr/share/bash-completion/completions/l2tpvpn 2>/dev/null | grep -q .'
# Without conffiles, remove leaves nothing behind; purge whatever it did.
if [[ -n $(status) && $(status) != not-installed ]]; then
	dpkg --purge "$PKG" >/dev/null || die "dpkg --purge $PKG failed"
fi
check "purged: dpkg knows no $PKG" bash -c '[[ -z $(dpkg-query -W -f="\${db:Status-Status}" "$1" 2>/dev/null | grep -v not-installed) ]]' _ "$PKG"

if ((failures > 0)); then
	die "$failures check(s) failed"
fi
echo "deb-test: all checks passed; $PKG purged"

#!/usr/bin/env bash
# deb-version VERSION: the Debian package version for the binary's version
# string (the Makefile's VERSION, from `git describe --always --dirty`).
#
#   v1.2.0                  -> 1.2.0
#   v1.2.0-rc1              -> 1.2.0~rc1            (sorts before 1.2.0)
#   v1.2.0-3-gabc1234       -> 1.2.0+git3.abc1234   (3 commits after the tag)
#   v1.2.0-3-gabc1234-dirty -> 1.2.0+git3.abc1234.dirty
#   abc1234 (no tag)        -> 0.0.0~git20260523153012.abc1234 (commit time, UTC)
#   anything else (dev)     -> 0.0.0~dev
#
# The result has no hyphen: the package has no Debian revision.
set -euo pipefail
v=${1:?usage: deb-version.sh VERSION}
v=${v#v}
dirty=
if [[ $v == *-dirty ]]; then
	dirty=.dirty
	v=${v%-dirty}
fi
# A commit name without a tag (git describe --always) may be all digits:
# it is recognised as a commit before it could pass for a version.
if [[ $v =~ ^[0-9a-f]{7,40}$ ]] && when=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S "$v" 2>/dev/null); then
	out="0.0.0~git$when.$v$dirty"
elif [[ $v =~ ^([0-9][0-9A-Za-z.~+-]*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
	out="${BASH_REMATCH[1]//-/\~}+git${BASH_REMATCH[2]}.${BASH_REMATCH[3]}$dirty"
elif [[ $v =~ ^[0-9] ]]; then
	out="${v//-/\~}"
	[ -z "$dirty" ] || out+="+dirty"
else
	out="0.0.0~dev"
fi
if ! [[ $out =~ ^[0-9][A-Za-z0-9.+~]*$ ]]; then
	echo "deb-version: cannot make a Debian version of '$1' (got '$out')" >&2
	exit 1
fi
printf '%s\n' "$out"

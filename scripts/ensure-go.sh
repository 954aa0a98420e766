#!/usr/bin/env bash
# ensure-go: make sure a Go toolchain new enough for go.mod is available.
# Debian 12's golang package is too old, so when no suitable go is found this
# installs the official toolchain from the Go module proxy (the same archive
# `go` itself downloads for GOTOOLCHAIN) into /usr/local/go.
set -euo pipefail
want=${GO_VERSION:-1.26.8}
for g in go /usr/local/go/bin/go; do
	if v=$("$g" env GOVERSION 2>/dev/null); then
		v=${v#go}
		major_minor=${v%.*}
		if [ "$(printf '%s\n' "1.26" "$major_minor" | sort -V | head -n1)" = "1.26" ]; then
			exit 0
		fi
	fi
done
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
mod="golang.org/toolchain@v0.0.1-go${want}.linux-${arch}"
url="https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go${want}.linux-${arch}.zip"
echo "ensure-go: installing Go ${want} from the module proxy into /usr/local/go"
command -v unzip >/dev/null || apt-get install -y -qq unzip curl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL -o "$tmp/go.zip" "$url"
unzip -q "$tmp/go.zip" -d "$tmp"
rm -rf /usr/local/go
mv "$tmp/$mod" /usr/local/go
chmod +x /usr/local/go/bin/* /usr/local/go/pkg/tool/*/* 2>/dev/null || true
/usr/local/go/bin/go version

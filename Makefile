# l2tpvpn — see README.md. `make demo` and `make test` are the two set-up commands.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# The smoke run is count-based: a duration-based -fuzztime races Go 1.26's fuzz coordinator
# at the deadline and can fail with a bare "context deadline exceeded" and no failing input
# (go.dev/issue/75804, fixed in Go 1.27). A count has no deadline to race.
FUZZTIME ?= 20000x
FUZZTIME_LONG ?= 120s
# Workers per target: 1 leaves a core for the rest of the machine during the long campaign.
FUZZPAR ?= 1
FUZZ_PKGS := ./dhcp ./l2tp ./ppp ./esp ./ike ./ike/vici ./tun ./vpn ./cmd/l2tpvpn ./proxy

.PHONY: all build install build-all dist deps test test-qemu unit hostroot fuzz-smoke fuzz integration lab-up lab-down demo vet clean bench man bench-e2e

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/l2tpvpn ./cmd/l2tpvpn

# install copies the binary to $(DESTDIR)$(PREFIX)/bin (default /usr/local/bin).
PREFIX ?= /usr/local
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 bin/l2tpvpn $(DESTDIR)$(PREFIX)/bin/l2tpvpn

# build-all cross-compiles for every linux target we ship (routers and Raspberry Pi OS are
# 32-bit: arm and mips) and vets the tree for each, since struct layouts differ there.
CROSS_ARCHS := amd64 arm64 arm 386 mips
CROSS_ENV = CGO_ENABLED=0 GOOS=linux GOARCH=$$arch GOARM=7 GOMIPS=softfloat
build-all:
	@set -e; for arch in $(CROSS_ARCHS); do \
		echo "build and vet linux/$$arch"; \
		$(CROSS_ENV) $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/l2tpvpn-linux-$$arch ./cmd/l2tpvpn; \
		$(CROSS_ENV) $(GO) vet ./...; \
	done

# dist builds the release binaries (static, linux amd64/arm64/arm/386) into dist/ as
# l2tpvpn-linux-ARCH with a SHA256SUMS file, the layout the GitHub Action downloads.
DIST_ARCHS := amd64 arm64 arm 386
dist:
	@set -e; rm -rf dist; mkdir -p dist; for arch in $(DIST_ARCHS); do \
		echo "dist linux/$$arch"; \
		$(CROSS_ENV) $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o dist/l2tpvpn-linux-$$arch ./cmd/l2tpvpn; \
	done; \
	cd dist && sha256sum l2tpvpn-linux-* >SHA256SUMS && sha256sum -c --quiet SHA256SUMS && cat SHA256SUMS

# test-qemu runs the batched UDP tests (raw recvmmsg/sendmmsg structs) on 32-bit and
# big-endian linux under qemu-user (Debian: qemu-user-static); not part of `make test`.
# Go's async preemption signal crashes under qemu-i386 7.x ("bad g in signal handler").
QEMU_ARCHS := arm:arm 386:i386 mips:mips
test-qemu:
	@set -e; for a in $(QEMU_ARCHS); do \
		arch=$${a%%:*}; qemu=qemu-$${a##*:}-static; \
		echo "test ./vpn batch I/O on linux/$$arch under $$qemu"; \
		$(CROSS_ENV) $(GO) test -c -o /tmp/l2tpvpn-vpn-$$arch.test ./vpn; \
		(cd vpn && GODEBUG=asyncpreemptoff=1 $$qemu /tmp/l2tpvpn-vpn-$$arch.test -test.run 'Batch|Mmsg|UDP' -test.count=1 -test.v); \
	done

# deps installs the Debian packages the lab and the demo need (root).
deps:
	scripts/install-deps.sh
	scripts/ensure-go.sh

vet:
	$(GO) vet ./...
	$(GO) vet -tags integration ./integration/

# test: everything, as CI runs it. Integration needs root and fails loudly without it.
test: deps
	$(MAKE) --no-print-directory vet build-all unit hostroot fuzz-smoke integration

# hostroot: root-only unit tests against the kernel, each in a namespace of its own.
hostroot:
	$(GO) test -race -count=1 -tags hostroot ./tun/

unit:
	$(GO) test -race -count=1 ./...

# Each fuzz target briefly (go test -fuzz takes one target per run).
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME_LONG=$(FUZZTIME)

fuzz:
	@set -e; for pkg in $(FUZZ_PKGS); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$t ($(FUZZTIME_LONG))"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME_LONG) -parallel $(FUZZPAR) $$pkg > /tmp/l2tpvpn-fuzz.log 2>&1 || { cat /tmp/l2tpvpn-fuzz.log; exit 1; }; \
		done; \
	done

integration: build
	$(GO) test -tags integration -count=1 -v -timeout 20m ./integration/

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./vpn/ ./esp/

# The man pages, from the help texts and flags (TestManPagesCurrent checks
# that man/ is current).
man:
	$(GO) run ./cmd/l2tpvpn __man 1 > man/l2tpvpn.1
	$(GO) run ./cmd/l2tpvpn __man 5 > man/l2tpvpn.toml.5

# bench-e2e: the end-to-end speed campaign of issue 15 (root; not part of `make test`):
# wireguard-go, l2tpvpn connect <-> l2tpvpn serve (GCM, CBC, plain) and OpenVPN through
# iperf3, in network namespaces l2v-bench-* of its own (never the lab's). Writes
# bench/results/e2e-DATE.json, or BENCH_E2E_OUT; BENCH_E2E_FLAGS e.g. "-rounds 3 -rate 300M".
bench-e2e:
	@command -v wg >/dev/null && command -v iperf3 >/dev/null || { echo "bench-e2e needs wg and iperf3: apt-get install wireguard-tools iperf3 (and openvpn for the OpenVPN row)"; exit 1; }
	$(GO) build -o bin/bench-e2e ./bench/e2e
	bin/bench-e2e $(if $(BENCH_E2E_OUT),-out $(BENCH_E2E_OUT)) $(BENCH_E2E_FLAGS)

lab-up:
	scripts/lab.sh up se
	scripts/lab.sh up l2tpns

lab-down:
	scripts/lab.sh down all

demo: deps
	$(MAKE) --no-print-directory build
	scripts/demo.sh

clean:
	rm -rf bin dist

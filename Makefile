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

.PHONY: all build install uninstall stage deb deb-test build-all dist deps test test-qemu unit hostroot fuzz-smoke fuzz integration lab-up lab-down demo vet clean bench man bench-e2e

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/l2tpvpn ./cmd/l2tpvpn

# stage writes what the package and `make install` ship besides the binary into
# build/stage: the man pages gzipped, the completion scripts from the binary.
STAGE := build/stage
stage: build
	rm -rf $(STAGE)/man $(STAGE)/completion
	install -d $(STAGE)/man $(STAGE)/completion
	gzip -9n <man/l2tpvpn.1 >$(STAGE)/man/l2tpvpn.1.gz
	gzip -9n <man/l2tpvpn.toml.5 >$(STAGE)/man/l2tpvpn.toml.5.gz
	bin/l2tpvpn completion bash >$(STAGE)/completion/l2tpvpn.bash
	bin/l2tpvpn completion zsh >$(STAGE)/completion/_l2tpvpn
	bin/l2tpvpn completion fish >$(STAGE)/completion/l2tpvpn.fish

# install puts the package's files under $(DESTDIR)$(PREFIX) (default /usr/local):
# bin/l2tpvpn, share/man, share/bash-completion, zsh (vendor-completions for
# /usr, else site-functions) and fish completions, share/doc/l2tpvpn/examples,
# and /etc/l2tpvpn (0700) unless it exists. The systemd unit goes to
# $(SYSTEMD_DIR), set by default only for PREFIX=/usr (/lib/systemd/system); for
# another prefix pass SYSTEMD_DIR=/etc/systemd/system, and ExecStart is
# rewritten to $(PREFIX)/bin/l2tpvpn. uninstall removes the same files, not /etc/l2tpvpn's contents.
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
SYSTEMD_DIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system)
ZSH_COMPDIR ?= $(PREFIX)/share/zsh/$(if $(filter /usr,$(PREFIX)),vendor-completions,site-functions)
INSTALL_FILES = bin/l2tpvpn share/man/man1/l2tpvpn.1.gz share/man/man5/l2tpvpn.toml.5.gz \
	share/bash-completion/completions/l2tpvpn share/fish/vendor_completions.d/l2tpvpn.fish \
	share/doc/l2tpvpn/README.md $(addprefix share/doc/l2tpvpn/,$(wildcard examples/*.toml))
install: stage
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(ZSH_COMPDIR) \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d $(DESTDIR)$(PREFIX)/share/doc/l2tpvpn/examples
	install -m 0755 bin/l2tpvpn $(DESTDIR)$(PREFIX)/bin/l2tpvpn
	install -m 0644 $(STAGE)/man/l2tpvpn.1.gz $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(STAGE)/man/l2tpvpn.toml.5.gz $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 $(STAGE)/completion/l2tpvpn.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/l2tpvpn
	install -m 0644 $(STAGE)/completion/_l2tpvpn $(DESTDIR)$(ZSH_COMPDIR)/_l2tpvpn
	install -m 0644 $(STAGE)/completion/l2tpvpn.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/l2tpvpn/
	install -m 0644 examples/*.toml $(DESTDIR)$(PREFIX)/share/doc/l2tpvpn/examples/
	[ -d $(DESTDIR)$(SYSCONFDIR)/l2tpvpn ] || install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/l2tpvpn
	$(if $(SYSTEMD_DIR),install -d $(DESTDIR)$(SYSTEMD_DIR) && sed 's|^ExecStart=/usr/bin/l2tpvpn |ExecStart=$(PREFIX)/bin/l2tpvpn |' \
		contrib/systemd/l2tpvpn@.service >$(DESTDIR)$(SYSTEMD_DIR)/l2tpvpn@.service && chmod 0644 $(DESTDIR)$(SYSTEMD_DIR)/l2tpvpn@.service)

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/,$(INSTALL_FILES)) $(DESTDIR)$(ZSH_COMPDIR)/_l2tpvpn
	$(if $(SYSTEMD_DIR),rm -f $(DESTDIR)$(SYSTEMD_DIR)/l2tpvpn@.service)
	rmdir $(DESTDIR)$(PREFIX)/share/doc/l2tpvpn/examples $(DESTDIR)$(PREFIX)/share/doc/l2tpvpn $(DESTDIR)$(SYSCONFDIR)/l2tpvpn 2>/dev/null || true

# deb builds dist/l2tpvpn_VERSION_ARCH.deb with nfpm (a Go tool dependency, see
# packaging/nfpm.yaml) for DEB_GOARCH (default: this machine's). The Debian version
# comes from VERSION (scripts/deb-version.sh): 0.0.0~gitDATE.SHA before the first tag.
DEB_GOARCH ?= $(shell $(GO) env GOARCH)
DEB_ARCH = $(or $(patsubst $(DEB_GOARCH):%,%,$(filter $(DEB_GOARCH):%,386:i386 arm:armhf mipsle:mipsel ppc64le:ppc64el)),$(DEB_GOARCH))
DEB_VERSION ?= $(shell scripts/deb-version.sh '$(VERSION)')
DEB_MAINTAINER ?= l2tpvpn maintainers <maintainers@l2tpvpn.invalid>
DEB_FILE = dist/l2tpvpn_$(DEB_VERSION)_$(DEB_ARCH).deb
deb: stage
	@[ -n "$(DEB_VERSION)" ] || { echo "make deb: no Debian version for VERSION=$(VERSION)" >&2; exit 1; }
	CGO_ENABLED=0 GOOS=linux GOARCH=$(DEB_GOARCH) GOARM=7 GOMIPS=softfloat \
		$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(STAGE)/$(DEB_GOARCH)/l2tpvpn ./cmd/l2tpvpn
	install -d dist
	rm -f dist/l2tpvpn_*_$(DEB_ARCH).deb
	DEB_VERSION='$(DEB_VERSION)' DEB_ARCH='$(DEB_ARCH)' DEB_GOARCH='$(DEB_GOARCH)' DEB_MAINTAINER='$(DEB_MAINTAINER)' \
		SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || date +%s) \
		$(GO) tool nfpm package --config packaging/nfpm.yaml --packager deb --target $(DEB_FILE)

# deb-test (root; part of `make test`) installs the package on this machine with
# apt-get, checks the binary, man pages, completions and /etc/l2tpvpn, and purges it.
deb-test: deb
	DEB='$(DEB_FILE)' VERSION='$(VERSION)' DEB_VERSION='$(DEB_VERSION)' scripts/deb-test.sh

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
	$(MAKE) --no-print-directory vet build-all unit deb-test hostroot fuzz-smoke integration

# hostroot: root-only unit tests against the kernel, each in a namespace of its own.
hostroot:
	$(GO) test -race -count=1 -tags hostroot ./tun/
	$(GO) test -race -count=1 -tags hostroot -run '^TestRoot' ./vpn/ ./datapath/

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

# The integration tests run in three test processes at once, each with its
# own binaries (L2V_BIN_DIR) and client state directory: the serve tests
# (our own server in namespaces of their own, l2v-sv-*), the tests of the
# strongSwan lab (sw; every test that brings it up has StrongSwan in its
# name and no other lab, which lab.up enforces; most of their time is spent
# waiting for rekeys) and all the others. lab.sh serialises
# bringing labs up and down. The side processes' output follows the main one.
# Their clients and servers spread ESP over 2 workers (L2TPVPN_CRYPTO_WORKERS;
# by default only from 4 cores on), so that path meets real servers too.
SERVE_TESTS := ^TestServe(OwnClient|ManyClients|TwoBehindOneNAT|Background|NAT|Rekey|ConnectTime)$$
SW_TESTS := ^Test.*StrongSwan.*$$
integration: build
	@mkdir -p build; \
	L2V_BIN_DIR=$(CURDIR)/build/serve-bin L2TPVPN_STATE_DIR=/run/l2tpvpn-serve-tests L2TPVPN_CRYPTO_WORKERS=2 \
	  $(GO) test -tags integration -count=1 -v -timeout 30m -run '$(SERVE_TESTS)' ./integration/ > build/integration-serve.log 2>&1 & sp=$$!; \
	L2V_BIN_DIR=$(CURDIR)/build/sw-bin L2TPVPN_STATE_DIR=/run/l2tpvpn-sw-tests L2TPVPN_CRYPTO_WORKERS=2 \
	  $(GO) test -tags integration -count=1 -v -timeout 40m -run '$(SW_TESTS)' ./integration/ > build/integration-sw.log 2>&1 & wp=$$!; \
	$(GO) test -tags integration -count=1 -v -timeout 40m -skip '$(SERVE_TESTS)|$(SW_TESTS)' ./integration/; rc=$$?; \
	wait $$sp; src=$$?; wait $$wp; wrc=$$?; \
	echo "== the serve tests (run beside the others):"; cat build/integration-serve.log; \
	echo "== the strongSwan lab tests (run beside the others):"; cat build/integration-sw.log; \
	rm -rf /run/l2tpvpn-serve-tests /run/l2tpvpn-sw-tests; \
	test $$rc -eq 0 && test $$src -eq 0 && test $$wrc -eq 0

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
	rm -rf bin dist build

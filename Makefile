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
FUZZTIME_LONG ?= 60s
FUZZ_PKGS := ./l2tp ./ppp ./esp ./ike

.PHONY: all build deps test unit fuzz-smoke fuzz integration lab-up lab-down demo vet clean bench

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/l2tpvpn ./cmd/l2tpvpn

# deps installs the Debian packages the lab and the demo need (root).
deps:
	scripts/install-deps.sh
	scripts/ensure-go.sh

vet:
	$(GO) vet ./...
	$(GO) vet -tags integration ./integration/

# test: everything, as CI runs it. Integration needs root and fails loudly without it.
test: deps
	$(MAKE) --no-print-directory vet unit fuzz-smoke integration

unit:
	$(GO) test -race -count=1 ./...

# Each fuzz target briefly (go test -fuzz takes one target per run).
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME_LONG=$(FUZZTIME)

fuzz:
	@set -e; for pkg in $(FUZZ_PKGS); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$t ($(FUZZTIME_LONG))"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME_LONG) $$pkg > /tmp/l2tpvpn-fuzz.log 2>&1 || { cat /tmp/l2tpvpn-fuzz.log; exit 1; }; \
		done; \
	done

integration: build
	$(GO) test -tags integration -count=1 -v -timeout 20m ./integration/

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./vpn/ ./esp/

lab-up:
	scripts/lab.sh up se
	scripts/lab.sh up l2tpns

lab-down:
	scripts/lab.sh down all

demo: deps
	$(MAKE) --no-print-directory build
	scripts/demo.sh

clean:
	rm -rf bin

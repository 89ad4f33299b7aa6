# bpfsh: one static binary, built without cgo.
#
#   make            build ./bpfsh
#   make test       all tests; as root the privileged ones run for real
#                   (BPFSH_REQUIRE_PRIV=1 makes them fail instead of skip).
#                   First scripts/test-setup.sh installs what the tests need
#                   (apt-get, as root) and mounts tracefs and bpffs
#   make lint       gofmt, go vet, import layering (scripts/importdag.sh)
#   make fuzz       every Fuzz* target for FUZZTIME (default 30s) each
#   make vmtest     kprobes, fentry/fexit and USB on Debian's stock 6.12 kernel in a
#                   QEMU VM (tests/vm/run.sh; root; about 2 minutes, more on the first
#                   run, which fetches ~110 MB into /var/cache/bpfsh-vm);
#                   VMTESTFLAGS=11 runs one case, VMTESTFLAGS=--shell gives a shell
#   make bench      bpfsh vs bpftrace side by side (root, about 5 minutes);
#                   writes bench/RESULTS.md (BENCHFLAGS=-quick: 3 runs each)
#   make clean

GO          ?= go
# git describe without its leading v (main prints "bpfsh v$(VERSION)").
GITVERSION  := $(shell git describe --tags --dirty 2>/dev/null)
VERSION     ?= $(if $(GITVERSION),$(patsubst v%,%,$(GITVERSION)),0.1.0-dev)
TESTTIMEOUT ?= 30m
TESTFLAGS   ?=
FUZZTIME    ?= 30s

.DEFAULT_GOAL := build
.PHONY: build test lint fmt fuzz bench vmtest clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -X main.version=$(VERSION)' -o bpfsh ./cmd/bpfsh

test:
	./scripts/test-setup.sh
	$(GO) test -count=1 -timeout $(TESTTIMEOUT) $(TESTFLAGS) ./...

GOFILES = find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*'

lint:
	@echo "gofmt -l"; bad=$$($(GOFILES) | xargs gofmt -l); \
	if [ -n "$$bad" ]; then echo "gofmt: these files need formatting (make fmt):"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	./scripts/importdag.sh

fmt:
	$(GOFILES) | xargs gofmt -w

fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

BENCHFLAGS  ?=
bench:
	$(GO) run ./bench $(BENCHFLAGS)

VMTESTFLAGS ?=
vmtest: build
	./tests/vm/run.sh $(VMTESTFLAGS)

clean:
	rm -f bpfsh tests/trig/trig
	rm -rf bench/out

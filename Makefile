# bpfsh: one static binary, built without cgo.
#
#   make            build ./bpfsh
#   make test       all tests; as root the privileged ones run for real
#                   (BPFSH_REQUIRE_PRIV=1 makes them fail instead of skip).
#                   First scripts/test-setup.sh installs what the tests need
#                   (apt-get, as root) and mounts tracefs and bpffs
#   make lint       gofmt, go vet, import layering (scripts/importdag.sh)
#   make install    the binary, the man page bpfsh.1, the examples and the
#                   systemd unit bpfsh-policy@.service under PREFIX (default
#                   /usr/local), into DESTDIR if set; make uninstall removes them
#   make image      the container image (Containerfile: the binary alone) with
#                   podman, tagged IMAGE (default localhost/bpfsh:latest)
#   make fuzz       every Fuzz* target for FUZZTIME (default 30s) each
#   make vmtest     kprobes, fentry/fexit and USB on Debian's stock 6.12 kernel in a
#                   QEMU VM (tests/vm/run.sh; root; about 2 minutes, more on the first
#                   run, which fetches ~110 MB into /var/cache/bpfsh-vm);
#                   VMTESTFLAGS=11 runs one case, VMTESTFLAGS=--shell gives a shell;
#                   KERNEL=5.10|6.1|6.12 (or a package name) picks the kernel,
#                   VMTEST_SCRIPTS=DIR checks every *.bt below DIR with --dry-run,
#                   VMTEST_CORPUS=1 also runs tests/runtime/*.test in the guest
#   make vmtest-matrix  the VM cases and the runtime corpus on Debian's newest 5.10,
#                   6.1 and 6.12 kernels, two VMs at a time; one summary line each
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
.PHONY: build test lint fmt fuzz bench vmtest vmtest-matrix clean install uninstall image

# Installation paths. The unit reads policies from $(SYSCONFDIR)/bpfsh and
# runs $(BINDIR)/bpfsh: both are written into it at install time.
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
DATADIR     ?= $(PREFIX)/share/bpfsh
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR  ?= /etc
IMAGE       ?= localhost/bpfsh:latest

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -X main.version=$(VERSION)' -o bpfsh ./cmd/bpfsh

# The man page is rendered from the help text (cmd/bpfsh/help/help.txt):
# one source for bpfsh.1 and --help.
bpfsh.1: cmd/bpfsh/help/help.txt cmd/bpfsh/help/help.go cmd/bpfsh/genman/main.go
	$(GO) run ./cmd/bpfsh/genman $(VERSION) > $@.tmp && mv $@.tmp $@

install: build bpfsh.1
	install -D -m 0755 bpfsh $(DESTDIR)$(BINDIR)/bpfsh
	install -D -m 0644 bpfsh.1 $(DESTDIR)$(MANDIR)/man1/bpfsh.1
	install -d $(DESTDIR)$(DATADIR)/examples $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/bpfsh
	# Scripts keep their modes: those with a #! line run as ./NAME.bt.
	for f in examples/*.bt; do install -m $$(test -x $$f && echo 0755 || echo 0644) $$f $(DESTDIR)$(DATADIR)/examples/; done
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		'deploy/systemd/bpfsh-policy@.service' > '$(DESTDIR)$(UNITDIR)/bpfsh-policy@.service'

# Leaves $(SYSCONFDIR)/bpfsh: the policies in it are the administrator's.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/bpfsh $(DESTDIR)$(MANDIR)/man1/bpfsh.1 '$(DESTDIR)$(UNITDIR)/bpfsh-policy@.service'
	rm -rf $(DESTDIR)$(DATADIR)

image: build
	podman build -f Containerfile -t $(IMAGE) .

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
KERNEL      ?=
VMTEST_SCRIPTS ?=
VMTEST_CORPUS  ?=
vmtest: $(if $(VMTEST_NOBUILD),,build)
	$(if $(KERNEL),BPFSH_VM_KERNEL='$(KERNEL)') $(if $(VMTEST_SCRIPTS),BPFSH_VM_SCRIPTS='$(VMTEST_SCRIPTS)') \
		$(if $(VMTEST_CORPUS),BPFSH_VM_CORPUS='$(VMTEST_CORPUS)') ./tests/vm/run.sh $(VMTESTFLAGS)

MATRIX_KERNELS ?= 5.10 6.1 6.12
vmtest-matrix: build
	KERNELS='$(MATRIX_KERNELS)' ./tests/vm/matrix.sh

clean:
	rm -f bpfsh bpfsh.1 tests/trig/trig
	rm -rf bench/out

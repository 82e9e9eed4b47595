# uicctl: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
SOPS_VERSION := v3.13.3
TOOLS := $(CURDIR)/.tools/bin
export PATH := $(TOOLS):$(PATH)
export SOPS_DISABLE_VERSION_CHECK := 1

.PHONY: build test check fmt vet tools chromium shellcheck demo bench clean

build:
	$(GO) build -o bin/uicctl ./cmd/uicctl

# Everything, hermetic: formatting, vet, then every test (the sops CLI is installed first
# for the cross-check tests).
test: tools check
	$(GO) test -count=1 ./...

check: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# What the cross-check tests use: the real sops CLI (pinned), Chromium and shellcheck.
tools: $(TOOLS)/sops chromium shellcheck

$(TOOLS)/sops:
	GOBIN=$(TOOLS) $(GO) install github.com/getsops/sops/v3/cmd/sops@$(SOPS_VERSION)

# Headless Chromium for the consent sign-in test (TestConsentChromium skips without it):
# installed through apt only when missing, and only as root with apt (CI runs as root).
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi

# shellcheck for the run: scripts of the example CI workflows (examples/ci's lint test runs
# it when installed): through apt, as Chromium.
shellcheck:
	@if ! command -v shellcheck >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends shellcheck; \
	fi

demo: build
	@./scripts/demo.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin .demo

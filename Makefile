# uicctl: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
SOPS_VERSION := v3.13.3
TOOLS := $(CURDIR)/.tools/bin
export PATH := $(TOOLS):$(PATH)
export SOPS_DISABLE_VERSION_CHECK := 1

.PHONY: build test check fmt vet tools demo bench clean

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

# The real sops CLI, pinned, for tests that cross-check our files with it.
tools: $(TOOLS)/sops

$(TOOLS)/sops:
	GOBIN=$(TOOLS) $(GO) install github.com/getsops/sops/v3/cmd/sops@$(SOPS_VERSION)

demo: build
	@./scripts/demo.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin .demo

# etk: see README.md. `make help` lists the targets.
GO      ?= go
BIN     := bin/etk
OUT     ?= build
FUZZTIME ?= 30s
# staticcheck, pinned; fetched through the Go module proxy on first use.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: help setup build demo foundation os test lint bench fuzz clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

setup: ## install and start what etk and its tests need on Debian: Go check, Docker engine, registries, base images (root)
	./.ci/setup-debian
	./.ci/services install start auth-registry base-image debian-image

build: ## build bin/etk
	$(GO) build -o $(BIN) ./cmd/etk

demo: build ## the main job on this repo's tree: validate, plan and render the foundation
	$(BIN) tree validate
	$(BIN) plan --unresolved
	$(BIN) render --unresolved -o $(OUT)/dockerfiles
	@echo "Dockerfiles of the foundation are in $(OUT)/dockerfiles"

foundation: build ## compile the foundation for real (Debian flavor) on the local engine; again, it is a no-op
	./.ci/services start debian-image
	$(BIN) compile --flavor debian-amd64 $(COMPILE_FLAGS)

# The signing key lives outside the tree, so that a clean checkout (or
# make clean) keeps publishing to the same repositories with the same key.
KEY      ?= $(HOME)/.config/etk/keys/etk.key
REPO     ?= oci://127.0.0.1:5000/etk/foundation
OS_IMAGE ?= 127.0.0.1:5000/etk/os:0.1.0

os: foundation ## the main job: compile the foundation, publish it signed, install it into a folder, assemble its OS image, announce it on the stable channel
	@[ -f $(KEY) ] || { mkdir -p $(dir $(KEY)) && $(BIN) repo keygen -o $(KEY); }
	$(BIN) publish --flavor debian-amd64 $(COMPILE_FLAGS) --sign-key $(KEY) --to $(REPO) --to $(OUT)/repo
	$(BIN) repo verify --repo $(REPO) --trust $(KEY).pub
	$(BIN) install --root $(OUT)/root --repo $(OUT)/repo --trust $(KEY).pub meta/foundation
	d=$$($(BIN) image build --repo $(REPO) --trust $(KEY).pub -t $(OS_IMAGE) meta/foundation) && \
	  $(BIN) channel publish --to $(REPO) --sign-key $(KEY) --version 0.1.0 $(OS_IMAGE)@$$d

test: ## run the tests (the corpus tests need ../shared beside the repo)
	$(GO) test -race -count=1 -timeout 45m ./...

lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

bench: ## run the benchmarks and print a table against the targets
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./compiler/... | tee /dev/stderr | $(GO) run ./internal/benchtable

# Every fuzz target of the repository (git ls-files: tracked test files,
# whatever package they are in), one after the other: go test -fuzz takes
# one target at a time.
fuzz: ## fuzz every fuzz target of the repository for FUZZTIME each (default 30s)
	@n=0; for f in $$(git ls-files '*_test.go' | xargs grep -lE '^func Fuzz' | sort); do \
	  for t in $$(grep -oE '^func Fuzz[A-Za-z0-9]+' $$f | sed 's/func //'); do \
	    n=$$((n+1)); echo "== $$(dirname $$f) $$t"; \
	    $(GO) test ./$$(dirname $$f) -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s || exit 1; \
	  done; done; echo "fuzz: $$n targets, $(FUZZTIME) each"

clean: ## remove build output
	rm -rf bin $(OUT)

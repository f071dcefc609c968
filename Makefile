# Sportello — build, run and test. `make help` lists the targets.
GO      ?= go
BIN     := bin/sportello
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
export CGO_ENABLED := 0

.PHONY: help run build assets node test test-short fuzz bench vet clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: build ## load the demo data and start Sportello on http://127.0.0.1:8080 (SQLite in ./data)
	./$(BIN) demo
	./$(BIN) serve

build: assets ## build the single binary into bin/sportello
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/sportello

node: ## install Node.js and npm if missing (used only to fetch front-end assets)
	@bash -c 'source scripts/ci-deps.sh && need_node'

assets: node ## fetch Bootstrap Italia and htmx from npm into the embedded static tree
	bash scripts/assets.sh

test: assets ## run vet and every test (PostgreSQL, Chromium, Dovecot and OpenLDAP tests run when configured, see .ci/run)
	$(GO) vet ./...
	$(GO) test -count=1 ./...

test-short: ## run the tests without building assets
	$(GO) test -short ./...

FUZZTIME ?= 10000x
# Iteration counts, not durations: minimisation cannot overrun a deadline,
# and new inputs are minimised for a bounded number of runs. Targets whose
# every input goes through the database run a tenth as many iterations.
fuzz: ## run each fuzz target for FUZZTIME iterations (default 10000x)
	@set -e; for t in \
		./internal/search:FuzzParse:1 \
		./internal/api:FuzzDecodeTicket:1 \
		./internal/mail/parse:FuzzParse:1 \
		./internal/mail/pec:FuzzParseDaticert:1 \
		./internal/mail/pec:FuzzParse:1 \
		./internal/catalog:FuzzImport:1 \
		./internal/desk:FuzzParseScopes:1 \
		./internal/guard:FuzzClientIP:1 \
		./internal/mail/route:FuzzImportCSV:1 \
		./internal/catalog:FuzzCheckValues:1 \
		./internal/identity:FuzzParseRules:1 \
		./internal/mail:FuzzIngest:10 \
		./internal/mail:FuzzIngestPEC:10 ; do \
		pkg=$${t%%:*}; rest=$${t#*:}; fn=$${rest%%:*}; div=$${rest##*:}; \
		n=$$(( $${FUZZTIME%x} / div ))x; \
		echo "fuzz $$pkg $$fn ($$n)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $$n -fuzzminimizetime 100x $$pkg; \
	done

bench: ## run the in-repo benchmarks (not the 1M-ticket ones, see docs/performance.md)
	$(GO) test -run '^$$' -bench . -benchtime 2s ./internal/...

vet: ## go vet and gofmt check
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1)

clean: ## remove build output (not ./data)
	rm -rf bin

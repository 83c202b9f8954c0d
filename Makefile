# certmint: every tool the project uses is installed, pinned, by a target here.
#   make run     install dependencies and start the server on the embedded database
#   make test    install dependencies and tools, make sure PostgreSQL runs, run every test
# Every target carries a "## " description on its rule line: `make help` lists them all.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TOOLS := $(CURDIR)/.tools
BIN := $(TOOLS)/bin
VENV := $(TOOLS)/venv
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export GOFLAGS := -mod=mod
export GOTOOLCHAIN := local

# Pinned versions of the tools outside package.json.
PROTOC_VERSION := 3.21.12
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.0
GRPCURL_VERSION := v1.9.4
# The peers and load generators of bench/peers and bench/scale (Go module proxy).
STEP_CA_VERSION := v0.30.2
CFSSL_VERSION := v1.6.5
GHZ_VERSION := v0.120.0
VEGETA_VERSION := v12.13.0
# The ACME client library of test/acme (test/clients/lego/go.mod pins it; lego v4 is not on the
# module proxy here, and v5's CLI needs DNS-provider modules the proxy does not serve).
LEGO_VERSION := v5.6.0
# certbot for the ACME tests, in a virtualenv of its own (.tools/certbot), with the acme and
# josepy releases it was tested with.
CERTBOT_VERSION := 5.8.0
CERTBOT_ACME_VERSION := 5.9.0
CERTBOT_JOSEPY_VERSION := 2.2.0
PY_GRPCIO := 1.85.3
PY_PROTOBUF := 5.29.5
PY_GOOGLEAPIS := 1.70.0
## grpcio-status: the standard decoding of google.rpc error details (rpc_status.from_call) that
## the README names; 1.71.2 is the last release that accepts protobuf 5.x (PY_PROTOBUF).
PY_GRPCIO_STATUS := 1.71.2
PY_CRYPTOGRAPHY := 50.0.2
# protoc-gen-mypy (buf.gen.yaml): gen/python's .pyi stubs, with the proto comments as docstrings.
# 3.7.0 runs on PY_PROTOBUF (4.0.0 and 5.1.0 load only on protobuf 6: their gencode is 6.32);
# types-protobuf is its dependency, pinned to the PY_PROTOBUF line.
PY_MYPY_PROTOBUF := 3.7.0
PY_TYPES_PROTOBUF := 5.29.1.20250403
# The standards linters of test/standards: zlint (Go module proxy) and pkilint (PyPI, in a
# virtualenv of its own, .tools/pkilint; it and its dependencies pinned in
# test/standards/pkilint-requirements.txt, PKILINT_VERSION must match it).
ZLINT_VERSION := v3.7.3
PKILINT_VERSION := 0.13.3

BUF := node_modules/.bin/buf
GEN_DIRS := ts go/certmint python/certmint java/dev descriptor

.PHONY: help deps tools system-tools go-tools python-tools java-tools grpcurl gen gen-check lint format \
        breaking typecheck test test-db run build pack bench-signer bench-issue bench-tools bench-peers \
        bench-scale bench-fairness clean lego certbot pki-lint-tools rotate-kek

help: ## list every target (this text)
	@echo "certmint: make <target>"
	@awk -F ':.*## ' '/^[a-z][a-z-]*:.*## / { printf "  make %-14s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

## Node dependencies, exactly as locked.
deps: node_modules/.deps-stamp ## install the Node dependencies exactly as locked (npm ci)
node_modules/.deps-stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## Code generators: protoc and the grpc python/java plugins from Debian packages (checked
## against PROTOC_VERSION), protoc-gen-go and protoc-gen-go-grpc built from the Go module proxy.
tools: system-tools go-tools python-tools ## install the code generators (system-tools, go-tools, python-tools)
system-tools: ## protoc and the grpc Python/Java plugins (Debian packages), version checked
	@if ! command -v protoc >/dev/null || ! command -v grpc_python_plugin >/dev/null \
	    || ! command -v grpc_java_plugin >/dev/null; then \
	  echo "installing protoc and grpc plugins (Debian packages)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    protobuf-compiler protobuf-compiler-grpc protobuf-compiler-grpc-java-plugin >/dev/null; \
	fi
	@protoc --version | grep -qx "libprotoc $(PROTOC_VERSION)" || \
	  { echo "protoc $(PROTOC_VERSION) is required, found: $$(protoc --version)"; exit 1; }
go-tools: $(BIN)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION) $(BIN)/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION) ## protoc-gen-go and protoc-gen-go-grpc into .tools/bin
$(BIN)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION):
	GOBIN=$(BIN) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@touch $@
$(BIN)/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION):
	GOBIN=$(BIN) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	@touch $@

## Python runtime for the generated Python client, `cryptography` (CSRs, chain and CRL
## checks) for the Python client test, and mypy-protobuf's protoc-gen-mypy for `make gen`.
PY_STAMP := $(VENV)/.stamp-$(PY_GRPCIO)-$(PY_PROTOBUF)-$(PY_GOOGLEAPIS)-$(PY_GRPCIO_STATUS)-$(PY_CRYPTOGRAPHY)-$(PY_MYPY_PROTOBUF)-$(PY_TYPES_PROTOBUF)
python-tools: $(PY_STAMP) ## the Python virtualenv of the client tests and protoc-gen-mypy (.tools/venv)
$(PY_STAMP):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check grpcio==$(PY_GRPCIO) \
	  protobuf==$(PY_PROTOBUF) googleapis-common-protos==$(PY_GOOGLEAPIS) \
	  grpcio-status==$(PY_GRPCIO_STATUS) \
	  cryptography==$(PY_CRYPTOGRAPHY) mypy-protobuf==$(PY_MYPY_PROTOBUF) \
	  types-protobuf==$(PY_TYPES_PROTOBUF)
	@touch $@

## Java runtime for the generated Java client and the Java client test: the jars pinned in
## test/clients/java/pom.xml, copied into .tools/java (Maven's repository in .tools/m2).
JAVA_JARS := $(TOOLS)/java
MAVEN_DEPENDENCY_PLUGIN := org.apache.maven.plugins:maven-dependency-plugin:3.8.1
java-tools: $(JAVA_JARS)/.stamp ## the Java client test's jars (.tools/java)
$(JAVA_JARS)/.stamp: test/clients/java/pom.xml
	rm -rf $(JAVA_JARS)
	mvn -q -B -f test/clients/java/pom.xml -Dmaven.repo.local=$(TOOLS)/m2 \
	  $(MAVEN_DEPENDENCY_PLUGIN):copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(JAVA_JARS)
	@touch $@

## lego-client (test/clients/lego): the pinned lego ACME library behind a small command line,
## for the ACME tests (test/acme). Rebuilt when its sources or pins change.
LEGO_SOURCES := test/clients/lego/main.go test/clients/lego/go.mod test/clients/lego/go.sum
lego: $(BIN)/lego-client ## build the lego ACME test client into .tools/bin
$(BIN)/lego-client: $(LEGO_SOURCES)
	@grep -q "github.com/go-acme/lego/v5 $(LEGO_VERSION)" test/clients/lego/go.mod || \
	  { echo "test/clients/lego/go.mod must pin lego $(LEGO_VERSION)"; exit 1; }
	cd test/clients/lego && GOBIN=$(BIN) go install .

## certbot (PyPI) for the ACME tests, in its own virtualenv so its pins never meet the client tests'.
CERTBOT_VENV := $(TOOLS)/certbot
certbot: $(CERTBOT_VENV)/.stamp-$(CERTBOT_VERSION) ## install certbot (pinned) into .tools/certbot for the ACME tests
$(CERTBOT_VENV)/.stamp-$(CERTBOT_VERSION):
	python3 -m venv $(CERTBOT_VENV)
	$(CERTBOT_VENV)/bin/pip install -q --disable-pip-version-check certbot==$(CERTBOT_VERSION) \
	  acme==$(CERTBOT_ACME_VERSION) josepy==$(CERTBOT_JOSEPY_VERSION)
	@rm -f $(CERTBOT_VENV)/.stamp-* && touch $@

## The standards linters of test/standards (RFC 5280 and related lints of every certificate, CRL
## and OCSP response certmint signs): zlint into .tools/bin, pkilint in its own virtualenv.
PKILINT_VENV := $(TOOLS)/pkilint
pki-lint-tools: $(BIN)/zlint-$(ZLINT_VERSION) $(PKILINT_VENV)/.stamp-$(PKILINT_VERSION) ## install zlint and pkilint (pinned) for test/standards
$(BIN)/zlint-$(ZLINT_VERSION):
	GOBIN=$(BIN) go install github.com/zmap/zlint/v3/cmd/zlint@$(ZLINT_VERSION)
	@touch $@
# Every package pinned (test/standards/pkilint-requirements.txt, pip freeze of a working venv):
# a new release of one of pkilint's dependencies cannot change what the test judges.
$(PKILINT_VENV)/.stamp-$(PKILINT_VERSION): test/standards/pkilint-requirements.txt
	python3 -m venv $(PKILINT_VENV)
	$(PKILINT_VENV)/bin/pip install -q --disable-pip-version-check -r test/standards/pkilint-requirements.txt
	@rm -f $(PKILINT_VENV)/.stamp-* && touch $@

## grpcurl, for the README's examples.
grpcurl: $(BIN)/grpcurl-$(GRPCURL_VERSION) ## grpcurl into .tools/bin, for the README's examples
$(BIN)/grpcurl-$(GRPCURL_VERSION):
	GOBIN=$(BIN) go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)
	@touch $@

## Generated code: gen/ is committed; gen-check regenerates into a temporary tree and diffs.
gen: deps tools ## regenerate gen/ (ts, go, python, java, descriptor) from proto/
	rm -rf $(addprefix gen/,$(GEN_DIRS))
	$(BUF) generate
	$(BUF) generate --template buf.gen.rpc.yaml
	mkdir -p gen/descriptor && $(BUF) build -o gen/descriptor/certmint.binpb

gen-check: deps tools ## regenerate into a temporary tree; fail if gen/ differs
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(BUF) generate -o "$$tmp" && $(BUF) generate --template buf.gen.rpc.yaml -o "$$tmp" && \
	mkdir -p "$$tmp/gen/descriptor" && $(BUF) build -o "$$tmp/gen/descriptor/certmint.binpb" && \
	for d in $(GEN_DIRS); do \
	  diff -r "gen/$$d" "$$tmp/gen/$$d" >/dev/null || { echo "gen/$$d differs from proto/: run 'make gen' and commit"; diff -r "gen/$$d" "$$tmp/gen/$$d" | head -20; exit 1; }; \
	done; echo "gen/ matches proto/"

lint: deps ## buf lint, biome, tsc
	$(BUF) lint
	biome ci --colors=off .
	tsc -p tsconfig.json --noEmit

format: deps ## biome format and fix
	biome check --write .

## buf breaking against the first commit that published proto/certmint/v1 (v1 is frozen).
breaking: deps ## buf breaking against the first published v1 (additions only)
	bash scripts/buf-breaking.sh

typecheck: deps ## tsc --noEmit
	tsc -p tsconfig.json --noEmit

## The server as JavaScript in dist/ (scripts/build-server.cjs), rebuilt only when a file under
## src/ or gen/ts/ changed (the directories are prerequisites too: an added or deleted file
## counts). `make run` starts the compiled code: nothing is transpiled at start-up. The same
## script bundles the CLI (src/cli) into dist/cli/certmint.js, package.json's `bin`.
SERVER_SOURCES := $(shell find src gen/ts \( -name '*.ts' -o -type d \))
dist/.build-stamp: $(SERVER_SOURCES) scripts/build-server.cjs
	node scripts/build-server.cjs
	@touch $@
build: deps dist/.build-stamp ## compile the server and the certmint CLI into dist/ (when sources changed)

## The certmint CLI as an npm package (scripts/pack-cli.cjs): packaging/cli/package.json (no
## dependencies, Node >= 20) and the bundled dist/cli/certmint.js, packed into
## certmint-<version>.tgz here; `npm install -g certmint-<version>.tgz` fetches nothing.
pack: deps ## pack the certmint CLI into certmint-<version>.tgz (one file, no dependencies)
	node scripts/pack-cli.cjs

## PostgreSQL for the tests: TEST_DATABASE_URL if set, else the local cluster, started here.
test-db: ## make sure the PostgreSQL of the tests runs (TEST_DATABASE_URL, else the local cluster)
	@bash scripts/ensure-test-postgres.sh

test: deps python-tools java-tools grpcurl lego certbot pki-lint-tools test-db ## run every test
	@mkdir -p $(TOOLS); rc=0; \
	PATH="$(VENV)/bin:$$PATH" TEST_DATABASE_URL="$${TEST_DATABASE_URL:-postgresql://certmint:certmint@127.0.0.1:5432/certmint}" \
	  vitest run --reporter=default --reporter=json --outputFile.json=$(TOOLS)/test-report.json || rc=$$?; \
	if [ -f $(TOOLS)/test-report.json ]; then node scripts/test-summary.cjs $(TOOLS)/test-report.json; fi; \
	exit $$rc

## --max-semi-space-size=4: V8's young generation at 2 x 4 MiB instead of 2 x 16. On 2026-12-02
## (bench/profile, 64 clients) 8 MiB peaked at 160-175 MiB of RSS against 183-197 for 16 and
## 211-237 for 4, which promoted more short-lived objects. Since the issuance path allocates less
## (2026-12-05, bench/profile, the two alternately, three runs each): 4 MiB peaks at 140-143
## against 149-153 for 8 at 64 clients (130-134 against 138-141 at 16), at the same CPU per
## issuance (0.79-0.92 ms against 0.79-0.91 at 64 clients); 2 MiB costs 4-9% more CPU.
## --heap-growing-percent=50: after a full GC the old generation may grow by half its live size
## (V8 allows up to 4x under load) before the next one. Under 64 concurrent issuers the heap holds
## about 45 MiB live and the rest is garbage promoted by calls in flight: bench/profile at 64
## clients, 10 s, four runs each: peak RSS 144-148 MiB instead of 175-208, server CPU per issuance
## 4.6 ms instead of 4.3 (means; single runs vary by 15%), throughput 225/s instead of 239/s.
SERVER_NODE_FLAGS = --max-semi-space-size=4 --heap-growing-percent=50
run: build ## start certmint on the embedded database (127.0.0.1:50051)
	node $(SERVER_NODE_FLAGS) dist/src/main.js

## Offline KEK rotation (src/kek-rotation/main.ts): stop every certmint on the database first.
## The server's configuration (DATABASE_URL or CERTMINT_DATA_DIR, the current KEK) from the
## environment; the new key from NEW_KEK_FILE, or GENERATE_NEW_KEK_FILE to write a fresh one.
rotate-kek: build ## re-seal every kept key under a new KEK (NEW_KEK_FILE=... or GENERATE_NEW_KEK_FILE=...)
	@if [ -n "$(GENERATE_NEW_KEK_FILE)" ]; then \
	  node dist/src/kek-rotation/main.js --generate-new-kek-file "$(GENERATE_NEW_KEK_FILE)"; \
	elif [ -n "$(NEW_KEK_FILE)" ]; then \
	  node dist/src/kek-rotation/main.js --new-kek-file "$(NEW_KEK_FILE)"; \
	else echo "make rotate-kek NEW_KEK_FILE=path (or GENERATE_NEW_KEK_FILE=path)"; exit 2; fi

bench-signer: deps ## leaf certificates per second per CA key type
	node --require tsx/cjs bench/signer/index.ts

## IssueCertificate over gRPC against the server process on the local PostgreSQL (about 1.5 min).
bench-issue: deps test-db build ## IssueCertificate over gRPC against a server process (about 1.5 min)
	node --require tsx/cjs bench/issue/index.ts

## The pinned peers and load generators, built into .tools/bin (never committed): step-ca
## without cgo (its YubiKey support needs libpcsclite), each beside a <name>-<version> stamp.
bench-tools: $(BIN)/step-ca-$(STEP_CA_VERSION) $(BIN)/cfssl-$(CFSSL_VERSION) $(BIN)/ghz-$(GHZ_VERSION) $(BIN)/vegeta-$(VEGETA_VERSION) ## build the pinned peers and load generators into .tools/bin
$(BIN)/step-ca-$(STEP_CA_VERSION):
	CGO_ENABLED=0 GOBIN=$(BIN) go install github.com/smallstep/certificates/cmd/step-ca@$(STEP_CA_VERSION)
	@rm -f $(BIN)/step-ca-v* && touch $@
$(BIN)/cfssl-$(CFSSL_VERSION):
	GOBIN=$(BIN) go install github.com/cloudflare/cfssl/cmd/cfssl@$(CFSSL_VERSION)
	@rm -f $(BIN)/cfssl-v* && touch $@
$(BIN)/ghz-$(GHZ_VERSION):
	GOBIN=$(BIN) go install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)
	@rm -f $(BIN)/ghz-v* && touch $@
$(BIN)/vegeta-$(VEGETA_VERSION):
	GOBIN=$(BIN) go install github.com/tsenart/vegeta/v12@$(VEGETA_VERSION)
	@rm -f $(BIN)/vegeta-v* && touch $@

## certmint beside step-ca and cfssl, pinned to one core each side (about 4 min; see
## bench/peers/index.ts). Starts its own PostgreSQL 15 instance and stops it afterwards.
bench-peers: deps build bench-tools ## certmint beside step-ca and cfssl, one core each side (about 4 min)
	node --require tsx/cjs bench/peers/index.ts

## A lone client's latency alone and beside another token's flood of calls (about 1 min).
bench-fairness: deps test-db build bench-tools ## one token's flood against another token's lone client (about 1 min)
	node --require tsx/cjs bench/fairness/index.ts

## Issuance and reads at 0, 10^5 and 10^6 stored certificates (about 5-15 min; bench/scale).
bench-scale: deps build bench-tools ## issuance and reads at 0, 10^5 and 10^6 stored certificates (about 5-15 min)
	node --require tsx/cjs bench/scale/index.ts

clean: ## remove dist, .tools and node_modules
	rm -rf dist .tools node_modules

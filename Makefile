# warmpool: the README's two commands are `make run` and `make test`; the rest follows kubebuilder's names.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Every recipe runs on the project's Node (hack/node.sh installs Node 24 from npm when the machine's is too old).
WITH_NODE = PATH="$$(dirname "$$(bash hack/node.sh)"):$$PATH"
JEST = $(WITH_NODE) node --experimental-vm-modules node_modules/jest/bin/jest.js
TOOLS = $$(bash hack/tools/build.sh)
IMG ?= warmpool:dev
KIND_CLUSTER ?= warmpool-e2e

##@ General
.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-14s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Build
.PHONY: build node deps compile tools
build: deps compile tools ## Prepare everything: Node, dependencies, compile, cluster tools.

node: ## Install the project's Node when the machine's is too old.
	@bash hack/node.sh >/dev/null

deps: node node_modules/.installed ## Install npm dependencies.
# npm install, not npm ci: the lockfile holds only the platform packages a registry served when it was written (the
# one reachable here refuses other platforms' optional bindings), and npm ci rejects a lockfile without them.
# npm install keeps every locked version and fetches nothing new.
node_modules/.installed: package.json package-lock.json
	@echo "[deps] npm install (locked versions)"
	@$(WITH_NODE) npm install --no-audit --no-fund --loglevel=error
	@touch $@

compile: deps ## Compile TypeScript to dist/, and bundle the CLI into dist/warmpool.mjs (what bin/warmpool runs).
	@echo "[compile] tsc"
	@rm -rf dist && $(WITH_NODE) npx tsc -p tsconfig.build.json
	@$(WITH_NODE) node hack/bundle.mjs

tools: ## Build the local cluster's tools from Go modules (cached outside the repository).
	@bash hack/tools/build.sh >/dev/null

##@ Development
.PHONY: run dev-cluster dev-cluster-down lint crds crds-check install uninstall
run: build ## Local cluster + CRDs + operator + demo pool (with KUBECONFIG set: the operator against that cluster).
	@bin/warmpool dev

dev-cluster: build ## Start the local cluster for development (bin/warmpool cluster up).
	@bin/warmpool cluster up --metrics

dev-cluster-down: ## Stop the local development cluster.
	@bin/warmpool cluster down

lint: deps ## eslint and a full type check.
	@$(WITH_NODE) npx eslint . && $(WITH_NODE) npx tsc -p tsconfig.json --noEmit

crds: compile ## Regenerate crds/ (and the chart's copy) from operator/api/schema.ts.
	@$(WITH_NODE) node dist/hack/gen-crds.js

crds-check: compile ## Fail when crds/ differs from what operator/api/schema.ts generates.
	@$(WITH_NODE) node dist/hack/gen-crds.js --check

install: ## Install the CRDs into the cluster of $KUBECONFIG.
	@"$(TOOLS)/bin/kubectl" apply --server-side -f crds/

uninstall: ## Remove the CRDs (and with them every pool and claim) from the cluster of $KUBECONFIG.
	@"$(TOOLS)/bin/kubectl" delete --ignore-not-found -f crds/

##@ Test
.PHONY: test test-unit e2e bench bench-cluster bench-peers bench-scale chaos
test: build ## Unit, integration and e2e tests (one local cluster for the run).
	@mkdir -p .cache
	@$(JEST) --json --outputFile=.cache/jest-results.json

test-unit: deps ## Unit tests only (no cluster).
	@$(JEST) --selectProjects unit

e2e: build ## The e2e suite against $KUBECONFIG when set, else a local cluster.
	@$(JEST) e2e/ --selectProjects cluster

# Long: its own cluster, 10,000 claims by default. CHAOS_COUNT, CHAOS_RATE, CHAOS_CONCURRENCY, CHAOS_POOLS,
# CHAOS_POOL_SIZE, CHAOS_FAULTS (comma list or all), CHAOS_MIXED=0, CHAOS_SEED, CHAOS_REPORT (JSON path).
chaos: build ## Chaos run: claim load under real faults; prints the report, writes it as JSON (.cache/chaos/).
	@$(WITH_NODE) node dist/e2e/chaos/main.js

bench: build ## Benchmarks (print their figures).
	@$(WITH_NODE) node dist/bench/run.js && $(WITH_NODE) node dist/bench/scraper.js 1000 60

# Long: its own cluster; builds agent-sandbox v1.0.3 on first use (hack/tools/agent-sandbox; nothing else builds it, CI
# included). PEERS_SERIAL, PEERS_C20_EACH, PEERS_BURST, PEERS_AB_ROUNDS, PEERS_AB_BLOCK set the sizes; PEERS_ONLY=warmpool,light a subset.
bench-peers: build ## warmpool beside agent-sandbox and a speed-of-light allocator in one run: ratios (.cache/bench/).
	@bash hack/tools/agent-sandbox/build-agent-sandbox.sh >/dev/null
	@$(WITH_NODE) node dist/bench/peers.js

# Long (about 30 min at full size on a loaded 2-core machine): its own cluster of 50 fake nodes. SCALE_POOLS, SCALE_SIZE, SCALE_SERIAL,
# SCALE_BURST, SCALE_REST_SECONDS set the sizes (develop at e.g. SCALE_POOLS=50 SCALE_BURST=200).
bench-scale: build ## 1,000 pools of 10: fill, RSS, writes at rest, claim latency and a burst at that size (.cache/bench/).
	@$(WITH_NODE) node dist/bench/scale.js

bench-cluster: build ## Local cluster benchmark: start time, API round trips, 500 pods to Ready, memory.
	@$(WITH_NODE) node dist/bench/cluster.js

##@ Packaging
.PHONY: docker-build image-smoke image-test helm-lint e2e-kind
docker-build: deps ## Build the operator image (docker where a daemon runs, else buildah on a local Node base).
	@bash hack/image/build.sh $(IMG)

image-smoke: ## Run the image $(IMG) against $KUBECONFIG: non-root, brings a pool to target.
	@bash hack/image/smoke.sh $(IMG)

helm-lint: tools ## helm lint with helm 4 and helm 3.
	@"$(TOOLS)/bin/helm" lint --strict charts/warmpool && "$(TOOLS)/bin/helm3" lint --strict charts/warmpool

e2e-kind: build ## Where Docker and kind exist: kind cluster, image, chart, the same e2e suite, then delete the cluster.
	@bash hack/e2e-kind.sh $(KIND_CLUSTER) $(IMG)

image-test: build ## Build the image with buildah/podman and prove it against a local cluster (a few minutes).
	@mkdir -p .cache
	@WARMPOOL_TEST_IMAGE_BUILD=1 $(JEST) e2e/image.test.ts --selectProjects cluster

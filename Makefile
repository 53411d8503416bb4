# WhaleTrack. `make run` = the main job, `make test` = the whole suite on PostgreSQL + Redis.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# The test suite uses the machine's PostgreSQL and Redis (pytest-django creates test_whaletrack). The
# replay node is local: the Esplora request budget is lifted (its own tests set theirs).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/whaletrack
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/whaletrack_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/13

.PHONY: run serve test lint audit bench services install install-dev chain demo-chain

# `make run` installs the runtime only (requirements.txt); tests, lint and benchmarks add requirements-dev.txt.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# The real Ethereum node and contracts some tests run (anvil, Uniswap V2 builds), pinned by the lock file.
CHAIN := tests/chain
$(CHAIN)/node_modules/.installed: $(CHAIN)/package.json $(CHAIN)/package-lock.json
	cd $(CHAIN) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

chain: $(CHAIN)/node_modules/.installed

run: install
	$(PY) manage.py run_main

# The production layout on this machine (README "Production layout"): nginx in front, gunicorn, daphne, the Celery
# worker and beat and the mempool monitor, each its own process under honcho (Ctrl-C or SIGTERM stops them all).
# Needs DATABASE_URL (PostgreSQL) and REDIS_URL in the environment or .env, and Debian's nginx. serve_prepare checks
# that, migrates and collects the static files first. Settings come from the environment, then .env, read by Django
# in each process (honcho itself reads no env file, so the environment keeps the upper hand over .env).
serve: install
	$(PY) manage.py serve_prepare
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start --env /dev/null

# WhaleTrack live without mainnet: a local anvil chain with the Uniswap V2 contracts and scripted, plainly
# simulated whale activity until Ctrl-C; it prints ETH_RPC_URL and how to point `make run` at it (README).
# DEMO_CHAIN_PORT (default 8545) picks the port; DEMO_CHAIN_ARGS passes options (--help lists them).
demo-chain: install chain
	$(PY) scripts/demo_chain.py $(DEMO_CHAIN_ARGS)

services:
	@bash .ci/services.sh

test: install-dev services chain
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) WHALETRACK_SOURCES=replay \
		BITCOIN_API_BUDGET=1000000/minute WHALETRACK_REQUIRE_SERVICES=1 $(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Known vulnerabilities in the pinned requirements (pip-audit resolves them in a temporary venv). --strict: a
# package the advisory service cannot answer for fails the audit too, so an unreachable service is not a pass.
# AUDIT_SERVICE=osv queries OSV instead of PyPI's advisory data.
AUDIT_SERVICE ?= pypi
audit: install-dev
	$(VENV)/bin/pip-audit --strict --progress-spinner off --vulnerability-service $(AUDIT_SERVICE) -r requirements-dev.txt

bench: install-dev services chain
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(PY) bench/ethereum_ingest.py
	$(PY) bench/holdings.py
	$(PY) bench/mempool_monitor.py
	$(PY) bench/lru.py
	$(PY) bench/alert_latency.py
	$(PY) bench/metrics.py
	$(PY) bench/quality.py
	$(PY) bench/smart_money_api.py
	$(PY) bench/trading.py
	$(PY) bench/export.py
	# last: the longest (seeds 1,000,000 trades), and a FAIL exits non-zero, which would skip what follows
	$(PY) bench/api.py

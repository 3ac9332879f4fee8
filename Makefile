# The two commands: `make run` and `make test`. Each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Example credentials the example rules read from the environment (see README).
EXAMPLE_ENV := \
	TOCSIN_ALERTMANAGER_TOKEN=example-alertmanager-token \
	TOCSIN_PROMETHEUS_PASSWORD=example-prometheus-password \
	TOCSIN_WEBHOOK_TOKEN=example-webhook-token \
	TOCSIN_PAGERDUTY_ROUTING_KEY=example0routing0key0000000000000

.PHONY: run test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(EXAMPLE_ENV) $(BIN)/tocsin serve --rules rules/examples --store sqlite://tocsin.db

test: $(BIN)/.installed-test
	$(BIN)/pytest

lint: $(BIN)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The load generator and the peers the bench compares against (Debian packages).
bench: $(BIN)/.installed-test
	@command -v wrk >/dev/null && command -v prometheus-alertmanager >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends wrk redis-server prometheus-alertmanager)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) tocsin.db tocsin.db-wal tocsin.db-shm tocsin.db-writer report.html

# The desk's two commands: `make run` (embedded default) and `make test` (the whole suite).
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
export FLASK_APP := desk

.PHONY: run test setup services browser translations extract lint contract-examples bench wrk screenshots \
	production production-stop clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

setup: $(BIN)/.installed translations

# Compile the fi, sv and en catalogues (the .mo files are build output, not in git).
translations: $(BIN)/.installed
	$(BIN)/pybabel compile -d desk/translations -D messages --statistics
	@test -f desk/translations/fi/LC_MESSAGES/messages.mo

# Extract messages from code and templates and merge them into the catalogues.
extract: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -o desk/translations/messages.pot --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -i desk/translations/messages.pot -d desk/translations --no-fuzzy-matching --ignore-obsolete

# `make run SIMULATE=2` also posts about two synthetic deliveries a second (log in instance/).
# Beside the desk, the reference source system plays the residents' side on port 5001 (its log
# in instance/partner.log); it stops with the desk.
run: setup
	$(BIN)/flask desk init --demo
	$(BIN)/flask desk partner --output instance/partner.json
	@if [ -n "$(SIMULATE)" ]; then \
	  echo "Simulator: $(SIMULATE) deliveries a second (instance/simulate.log)"; \
	  ($(BIN)/flask desk simulate --rate $(SIMULATE) --minutes 480 > instance/simulate.log 2>&1 &); \
	fi
	@echo "Residents' side (reference source system): http://127.0.0.1:5001"
	@$(BIN)/flask --app partner run --host 127.0.0.1 --port 5001 > instance/partner.log 2>&1 & \
	  partner=$$!; trap 'kill $$partner 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/flask run --host 127.0.0.1 --port 5000

# PostgreSQL and Redis on 127.0.0.1, started when they are not running.
services:
	./scripts/services.sh

# Debian's Chromium for the browser tests (Playwright must never download its own).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

# The tests' copies of the inbound contract's examples (tests/contract_examples/).
CONTRACT := ../shared/contract/examples

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@if [ -d $(CONTRACT) ]; then for f in tests/contract_examples/*.json tests/contract_examples/outbound/*.json; do \
	  cmp -s $$f $(CONTRACT)/$${f#tests/contract_examples/} || { echo "$$f differs from the contract's: make contract-examples"; exit 1; }; \
	done; fi

contract-examples:
	for f in tests/contract_examples/*.json tests/contract_examples/outbound/*.json; do cp $(CONTRACT)/$${f#tests/contract_examples/} $$f; chmod 644 $$f; done

test: setup services browser lint
	$(BIN)/pytest

# Issue 21's figures, one after the other on the same machine (docs/performance.md): the pages
# in process and under HTTP load, the situation view, inbound, and live lists on 1,000 pages.
bench: setup services wrk
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.http
	$(BIN)/python -m bench.situation
	$(BIN)/python -m bench.inbound
	$(BIN)/python -m bench.live_lists

# wrk, for the pages under HTTP load (bench/http.py)
wrk:
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)

# The production shape on this machine: nginx (TLS) on https://127.0.0.1:8443, two gunicorns,
# two workers, the scheduler and a Keycloak stand-in, state in instance/production/
# (docs/operations.md). `scripts/production.sh status` shows it.
production: setup services
	./scripts/production.sh start

production-stop:
	./scripts/production.sh stop

# Screenshots of the main pages in fi, sv and en into docs/screenshots/.
screenshots: setup services browser
	$(BIN)/python -m tests.screenshots

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache

# dutybridge: `make run` starts everything locally, `make test` runs the test suite.
# Both create .venv and install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CHROMIUM := /usr/bin/chromium
ARTIFACTS := artifacts/browser

.PHONY: run test browser alertmanager bench demo package clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m devkit

# Lint first (ruff.toml: a small rule set of real problems); a finding fails the target.
test: $(STAMP) browser alertmanager
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# The browser tests drive Debian's chromium (never a downloaded browser). Install it when missing and
# we may (root with apt-get); never fail here: without it the browser tests skip and say why.
browser:
	@mkdir -p $(ARTIFACTS)
	@if [ ! -x $(CHROMIUM) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the browser tests (log: $(ARTIFACTS)/apt-get.log)"; \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			chromium fonts-wqy-zenhei; } >$(ARTIFACTS)/apt-get.log 2>&1 \
		|| echo "chromium could not be installed: the browser tests will skip (see $(ARTIFACTS)/apt-get.log)"; \
	fi

# The Alertmanager tests (and make run's demo) use Debian's prometheus-alertmanager, installed the same way:
# when missing and we may; never fail here, without it those tests skip and say why.
alertmanager:
	@mkdir -p artifacts/alertmanager
	@if ! command -v prometheus-alertmanager >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing prometheus-alertmanager for its tests (log: artifacts/alertmanager/apt-get.log)"; \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			prometheus-alertmanager; } >artifacts/alertmanager/apt-get.log 2>&1 \
		|| echo "prometheus-alertmanager could not be installed: its tests will skip (see artifacts/alertmanager/apt-get.log)"; \
	fi

package: $(STAMP)
	$(BIN)/python -m infra.package --stage $${STAGE:-dev} --out $${OUT:-build/package}

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache artifacts

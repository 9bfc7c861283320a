# dutybridge: `make run` starts everything locally, `make test` runs the test suite.
# Both create .venv and install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench demo package clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m devkit

test: $(STAMP)
	$(BIN)/python -m pytest

package: $(STAMP)
	$(BIN)/python -m infra.package --stage $${STAGE:-dev} --out $${OUT:-build/package}

clean:
	rm -rf $(VENV) build .pytest_cache

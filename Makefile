# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The browser the audit dashboard's tests drive: Debian's package, installed when missing (sudo unless root).
CHROMIUM := /usr/bin/chromium

.PHONY: demo test bench fuzz docs dashboard-screenshot install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(CHROMIUM):
	@echo "Installing Debian's chromium (for the audit dashboard's browser tests)"
	SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	$$SUDO apt-get update -qq && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

install: $(STAMP) $(CHROMIUM)

## The main job end to end on the embedded local sandbox, in a fresh folder.
demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

## The whole test suite, one worker per core (pytest-xdist).
test: install
	$(BIN)/python -m pytest -n auto

## docs/codes.md from the registry of diagnostic codes (sos/codes.py).
docs: $(STAMP)
	$(BIN)/python -c 'from sos.codes import markdown; from sos.engine import all_codes; print(markdown(all_codes()), end="")' > docs/codes.md

## docs/audit-dashboard.png: the audit dashboard of tests/render/audit_report.json, in headless chromium.
dashboard-screenshot: install
	$(BIN)/python -m tests.render.browser

## Benchmarks: figures printed, nothing asserted about wall time.
bench: $(STAMP)
	$(BIN)/python -m bench

## 10,000 mutated, hostile blueprints through `sos validate` (a few minutes): exits 0/1/3, hangs, unlocated errors.
fuzz: $(STAMP)
	$(BIN)/python -m bench fuzz

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache

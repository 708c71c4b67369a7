# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench fuzz docs install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## The main job end to end on the embedded local sandbox, in a fresh folder.
demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

## The whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest

## docs/codes.md from the registry of diagnostic codes (sos/codes.py).
docs: $(STAMP)
	$(BIN)/python -c 'from sos.codes import markdown; from sos.engine import all_codes; print(markdown(all_codes()), end="")' > docs/codes.md

## Benchmarks: figures printed, nothing asserted about wall time.
bench: $(STAMP)
	$(BIN)/python -m bench

## 10,000 mutated, hostile blueprints through `sos validate` (a few minutes): exits 0/1/3, hangs, unlocated errors.
fuzz: $(STAMP)
	$(BIN)/python -m bench fuzz

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache

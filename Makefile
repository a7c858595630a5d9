# grantgen: the one entry point for people and CI.
#   make demo   environment + LibreOffice/fonts when missing + the sample batch -> output/sample/
#   make test   the test suite (real LibreOffice): the fast tier and the integration tier
#   make test-fast  the tests that need no LibreOffice (under a minute)
#   make lint   ruff (lint + format check), mypy, import-linter (no cycle, stages one way),
#               and the generated docs up to date
#   make docs   regenerate docs/cli.md from the commands' --help
#   make bench  the batch benchmark (see bench/)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint docs format bench system-deps venv clean templates

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	@sh tools/install-system-deps.sh

demo: venv system-deps
	$(BIN)/grantgen generate data/grants/sample.csv --prices data/prices/atg-sample-prices.csv \
		--ledger output/sample-ledger.sqlite --out output/sample --accept-samples
	@echo
	@echo "Done: the Word agreements, PDF packets, manifest.json and the review packet"
	@echo "(review/summary.html, packet.pdf, board_consent.pdf) are in output/sample/"

test: venv system-deps
	@sh tools/install-system-deps.sh --test
	$(BIN)/python -m pytest

# The fast tier: every test that needs no LibreOffice (under a minute).
test-fast: venv
	GRANTGEN_SOFFICE=$(CURDIR)/tools/no-soffice $(BIN)/python -m pytest -m "not soffice" -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python tools/sizes.py generator
	PYTHONPATH=. $(BIN)/cog --check docs/cli.md

# Rewrite the generated parts of the docs (docs/cli.md, from the commands' --help).
docs: venv
	PYTHONPATH=. $(BIN)/cog -r docs/cli.md

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv system-deps
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

# Rebuild templates/*.docx from the approved form text (throws away edits made in Word).
templates: venv
	$(BIN)/python tools/build_templates.py
	$(BIN)/python tools/build_board_consent.py

clean:
	rm -rf output/sample output/sample-ledger.sqlite* build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache

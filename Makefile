# wirewatch: `make run` and `make test` do all the set-up on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
WW     := $(BIN)/wirewatch
STAMP  := $(VENV)/.installed

.PHONY: install run test stop status bench soak fresh-check lint fmt clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "wirewatch needs Python 3.11 or 3.12"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install  ## start Kafka + Elasticsearch, run the pipeline on seeds/, show results
	$(WW) stack up
	$(WW) init
	$(WW) rules sync
	$(WW) demo seeds/ --query "North Korea sanctions"

test: install  ## the whole suite; starts Kafka + Elasticsearch if they are not running
	$(WW) stack up
	$(BIN)/ruff check processors streams tests bench
	$(BIN)/mypy
	$(BIN)/pytest

stop:  ## stop Kafka and Elasticsearch
	$(WW) stack down

status:
	$(WW) stack status

bench: install  ## throughput: bare spaCy vs the whole pipeline; writes bench/results.json
	$(WW) stack up
	$(BIN)/python -m bench.throughput
	$(BIN)/python -m bench.alerts

soak: install  ## thousands of articles, repeated SIGKILLs; prints the ledger and worker RSS
	$(WW) stack up
	$(BIN)/python -m bench.soak

N ?= 20
fresh-check: install  ## N brand-new stacks in a row (own folder and ports): init, rules sync, demo
	$(BIN)/python -m bench.fresh_check --runs $(N)

lint: install
	$(BIN)/ruff check processors streams tests bench
	$(BIN)/ruff format --check processors streams tests bench
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff format processors streams tests bench

clean:
	rm -rf .stack

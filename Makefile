# Two commands do all set-up on a fresh Debian machine:
#   make demo   runs the workflow on the bundled demo (resources/demo)
#   make test   runs the test suite
# Each creates .venv and installs what is missing (bedtools from Debian when absent).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= 2

.PHONY: demo test env bedtools lint clean-demo bench-throughput

env: $(STAMP) bedtools

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

bedtools:
	@command -v bedtools >/dev/null 2>&1 || { \
	  echo "bedtools not found: installing Debian's bedtools package"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq bedtools >/dev/null; }

test: env
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q

demo: env
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores $(CORES) --configfile config/config.yaml
	@echo "Demo results: results/demo/"

lint: env
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --lint --configfile config/config.yaml

clean-demo:
	rm -rf results/demo logs/demo benchmarks/demo

bench-throughput: env
	$(BIN)/python bench/throughput.py

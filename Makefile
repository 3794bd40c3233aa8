# Two commands do all set-up on a fresh Debian machine:
#   make demo   runs the workflow on the bundled demo (resources/demo)
#   make test   runs the test suite
# Each creates .venv and installs what is missing (bedtools from Debian when absent).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= 2

.PHONY: demo run test env bedtools lint clean-demo bench-throughput bench-speed bench-accuracy bench-scale bench-genome bench-locality

env: $(STAMP) bedtools

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,torch,bpnet]"
	touch $(STAMP)

bedtools:
	@command -v bedtools >/dev/null 2>&1 || { \
	  echo "bedtools not found: installing Debian's bedtools package"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq bedtools >/dev/null; }

test: env
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q

# A run killed by the scheduler or SIGKILL leaves a lock; drop it when no Snakemake
# holds it, so re-running the same command resumes (finished shards are kept).
demo run: env
	$(BIN)/python scripts/unlock_if_stale.py . -- --configfile config/config.yaml
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores $(CORES) --configfile config/config.yaml
	@echo "Demo results: results/demo/"

lint: env
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --lint --configfile config/config.yaml

clean-demo:
	rm -rf results/demo logs/demo benchmarks/demo

bench-throughput: env
	$(BIN)/python bench/throughput.py

bench-speed: env
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/speed/run.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/speed/kinds.py

# The native scorer's local paths on the Basset-sized model (about 8 min on 2 cores):
# bench/results/locality.md (mutants' forward pass) and targets.md (the null's targeted windows).
bench-locality: env
	$(BIN)/python bench/speed/locality_prod.py
	$(BIN)/python bench/speed/targets.py --rounds 3

bench-accuracy: env
	$(BIN)/python bench/accuracy/run.py

# Opt-in: the demo through a real one-node SLURM on localhost with profiles/slurm
# (root + Debian's apt-get; ~15 s to install and start SLURM, ~4 min of tests).
SLURM_PLUGIN ?= snakemake-executor-plugin-slurm==2.8.0
.PHONY: test-slurm
test-slurm: env
	$(BIN)/python -m pip install --quiet "$(SLURM_PLUGIN)"
	bash tests/slurm/start_slurm.sh
	PATH="$(CURDIR)/$(BIN):$$PATH" DFIM_SLURM_TEST=1 $(BIN)/python -m pytest -q tests/test_slurm.py; \
	  rc=$$?; bash tests/slurm/stop_slurm.sh; exit $$rc

bench-scale: env
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/scale/run.py

# The workflow on Basset-sized windows with motif sources, shipped vs previous defaults
# (about 56 min on 2 cores, an AMD EPYC); bench/results/genome.md.
bench-genome: env
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/genome/run.py --linearity

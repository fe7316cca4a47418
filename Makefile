# Quick start: `make demo` then `make test`. Both create .venv and install on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check

.PHONY: install demo test test-cluster lint format bench clean

install: $(STAMP)

# torch first, pinned to the CPU build on this machine's disk: an unpinned torch pulls a
# multi-GB CUDA build. The project then finds its torch requirement already met.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[dev,envs,tracking]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/marl-ray train tune_configs/grid_world_ppo.yaml --json
	@echo "Results, checkpoints and learning_curve.png are in the run folder printed above."

# Unit tests and CLI smoke runs on one shared local Ray (604 tests in 744 s on 2 cores, fresh clone; limit 15 minutes).
test: $(STAMP)
	$(BIN)/python -m pytest -q tests --ignore=tests/cluster

# Integration tests that start their own Ray heads and nodes (token auth, jobs, dashboard,
# metrics scraped by a real Prometheus, two nodes: placement and node loss, resume).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
test-cluster: $(STAMP)
	@command -v prometheus >/dev/null || { \
	  echo "make test-cluster: installing Debian's prometheus (the metrics test scrapes with it)"; \
	  $(SUDO) apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }; }
	$(BIN)/python -m pytest -q tests/cluster

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/env_throughput.py
	$(BIN)/python benchmarks/learn_grid_world.py
	$(BIN)/python benchmarks/learn_a3c.py
	$(BIN)/python benchmarks/impala_throughput.py
	$(BIN)/python benchmarks/learn_impala.py
	$(BIN)/python benchmarks/learn_es.py
	$(BIN)/python benchmarks/es_scaling.py
	$(BIN)/python benchmarks/pbt_impala.py
	$(BIN)/python benchmarks/learn_resource_allocation.py
	$(BIN)/python benchmarks/learn_smart_grid.py
	$(BIN)/python benchmarks/mappo_vs_ippo.py
	$(BIN)/python benchmarks/self_play.py
	$(BIN)/python benchmarks/learn_simple_spread.py
	$(BIN)/python benchmarks/learn_simple_adversary.py
	$(BIN)/python benchmarks/learn_lbforaging.py
	$(BIN)/python benchmarks/mcts_speed.py
	$(BIN)/python benchmarks/alphazero_tictactoe.py
	$(BIN)/python benchmarks/alphazero_connect4.py
	$(BIN)/python benchmarks/learn_vehicles.py

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache *.egg-info

# biodyn: `make demo` runs the main job on the sample recordings, `make test` runs the tests.
# Both create .venv and install everything on first use (torch first, then the package).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?= -n 2

.PHONY: install test demo lint format bench mutate probe clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install "$(TORCH_SPEC)"
	$(PY) -m pip install -e ".[dev]"
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

demo: install
	$(VENV)/bin/biodyn demo

lint: install
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools

format: install
	$(VENV)/bin/ruff format src tests benchmarks tools
	$(VENV)/bin/ruff check --fix src tests benchmarks tools

bench: install
	for b in benchmarks/bench_*.py; do $(PY) $$b --quick --json results/bench/$$(basename $$b .py).json || exit 1; done

# mutation testing of the core (slow, not part of `make test` or CI): MUTATE_GROUPS picks groups
# (ops metrics signal io causal checkpoint; default all); writes tests/MUTATION.md (docs/testing.md)
MUTATE_GROUPS ?=
mutate: install
	nice -n 10 $(PY) tools/mutate.py run $(MUTATE_GROUPS)

# the bad-input probe of the entry points (~200 real `python -m biodyn` runs; slow, not part of `make test`,
# whose tests/faults/test_probe_edges.py runs a subset): writes tests/faults/PROBE.md (docs/reliability.md)
probe: install
	nice -n 5 $(PY) tools/probe_edges.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mutation

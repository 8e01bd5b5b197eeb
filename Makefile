# The README's two commands run through here; both bootstrap .venv/ first.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: bootstrap lint test unit bench
bootstrap:
	bash scripts/bootstrap.sh

lint: bootstrap
	$(VENV)/bin/ruff check .

# Lint, then every test, the real-engine ones included (vLLM CPU + the registered models bootstrap installs).
test: bootstrap lint
	$(PY) -m pytest -v -rA --durations=15

# Fast tests only (scripted engine).
unit: bootstrap
	$(PY) -m pytest -q -m "not engine"

bench: bootstrap
	$(PY) bench/compose_speed.py

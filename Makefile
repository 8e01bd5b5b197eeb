# The README's two commands run through here; both bootstrap .venv/ first.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: bootstrap test unit bench
bootstrap:
	bash scripts/bootstrap.sh

# Every test, the real-engine ones included (vLLM CPU + the registered models bootstrap installs).
test: bootstrap
	$(PY) -m pytest -v -rA --durations=15

# Fast tests only (scripted engine).
unit: bootstrap
	$(PY) -m pytest -q -m "not engine"

bench: bootstrap
	$(PY) bench/compose_speed.py

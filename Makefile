.PHONY: install test lint typecheck bench demo serve docs
VENV ?= .venv
PY := $(VENV)/bin/python

install:
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -e '.[test]'

test:
	$(PY) -m pytest

lint:
	$(VENV)/bin/ruff format --check src tests bench && $(VENV)/bin/ruff check src tests bench

typecheck:
	$(VENV)/bin/mypy src

bench:
	$(PY) bench/scorecard.py

demo:
	$(VENV)/bin/northstar demo

serve:
	$(VENV)/bin/northstar serve

docs:
	$(PY) -m northstar.docs

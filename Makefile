PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[plot,fast]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,plot,data,fast]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/fcnet train --hidden 128 --epochs 30 --seed 0 --out out/model.safetensors --plot out/curves.png

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/mlp.py

clean:
	rm -rf $(VENV) out build dist src/*.egg-info

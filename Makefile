PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean docs docs-serve docs-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[plot,fast]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,plot,data,docs,fast]"
	touch $@ $(VENV)/.installed $(VENV)/.installed-docs

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/fcnet train --hidden 128 --epochs 30 --seed 0 --out out/model.safetensors --plot out/curves.png

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory docs
	$(BIN)/python -m pytest -q

# The site, into site/: every number on its pages computed by fcnet during the build.
# --strict turns every warning (a broken link, a failing build-time block) into an error; the
# stamp tells tests/test_docs.py that site/ holds a strict build it may reuse.
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	touch site/.strict-build

docs-serve: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

# The built site in headless Chromium (Debian's chromium and chromium-driver, installed when
# missing): every page with formulas typeset, no console error, screenshots in out/docs-check/.
docs-check: $(VENV)/.installed-test
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update && apt-get install -y chromium chromium-driver)
	$(MAKE) --no-print-directory docs
	FCNET_DOCS_ALL_PAGES=1 FCNET_DOCS_SCREENSHOTS=out/docs-check \
		$(BIN)/python -m pytest -q tests/test_docs_browser.py

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/mlp.py

clean:
	rm -rf $(VENV) out build dist site src/*.egg-info

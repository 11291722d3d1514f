# Two commands on a fresh machine with only Python 3.11+:
#   make run    set up .venv, build the index, start the web chat on http://127.0.0.1:7860
#   make test   set up .venv and run the whole test suite
# make data fetches the external evaluation data the benchmarks read (offline: QA_DATA_DIR=folder make data)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: setup index run test test-fast bench data docs screenshot clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

index: setup
	$(BIN)/qa index

run: setup
	$(BIN)/qa index
	$(BIN)/qa serve

test: setup
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not model and not browser"

data: setup
	$(BIN)/python -m qa.data

docs: setup
	$(BIN)/python scripts/gen_docs.py

bench: setup
	$(BIN)/python benchmarks/run_all.py

screenshot: setup
	$(BIN)/python scripts/screenshot.py

clean:
	rm -rf $(VENV) index/CURRENT index/gen-* index/segments index/.tmp-* index/.lock

# Two commands matter: `make demo` and `make test`. Both create or refresh .venv when needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# One thread per process: two test processes must not fight over two cores.
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export TOKENIZERS_PARALLELISM ?= false
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: venv demo test test-fast bench bench-gpu clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# The whole loop on the sample photos and a tiny random-weight kit, every stage through its
# command (dalpsr_model/demo.py); everything goes under demo/, and a rerun reuses finished stages.
demo: venv
	$(BIN)/python -m dalpsr_model.demo

test: venv
	$(BIN)/python -m pytest -q

test-fast: venv
	$(BIN)/python -m pytest -q -m "not slow"

bench: venv
	$(BIN)/python benchmarks/degrade.py
	$(BIN)/python benchmarks/build.py
	$(BIN)/python benchmarks/caption.py
	$(BIN)/python benchmarks/loader.py
	$(BIN)/python benchmarks/train.py
	$(BIN)/python benchmarks/sr.py

# Every benchmark's GPU mode on one CUDA device, one JSON line each, within 8 minutes: each
# run has its own time limit (200 + 150 + 120 s) and a failed one does not stop the others.
bench-gpu: venv
	@$(BIN)/python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 'bench-gpu: no CUDA device visible')"
	-timeout 200 $(BIN)/python benchmarks/caption.py --device cuda
	-timeout 150 $(BIN)/python benchmarks/train.py --stack sd21 --device cuda --resolution 512 --batch 4 --steps 5
	-timeout 120 $(BIN)/python benchmarks/sr.py --device cuda

clean:
	rm -rf $(VENV) build *.egg-info

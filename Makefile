# Unrolled: the two commands a newcomer needs are `make course` and `make test`.
# Everything lives in ./.venv, created on first use from pyproject.toml.

PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
# nbgrader runs `alembic` from the venv, so the venv's bin must come first on PATH.
export PATH := $(BIN):$(PATH)
export KERAS_BACKEND := torch

.PHONY: course test release benchmark clean-generated help

help:
	@echo "make course     open the course in JupyterLab (installs into .venv on first use)"
	@echo "make test       run every test (installs the test and Keras-reference extras)"
	@echo "make release    nbgrader: generate release/ for every assignment in source/"
	@echo "make benchmark  print rnnlib's speed against PyTorch and Keras"

# Stamp files: re-install when pyproject.toml changes.
$(VENV)/.course: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[course]"
	touch $@

# torch is pinned to the CPU build; install it first so nothing pulls a CUDA build.
$(VENV)/.test: $(VENV)/.course
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[course,test,reference]"
	touch $@

# JupyterLab refuses to run as root unless told; containers often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

course: $(VENV)/.course
	$(BIN)/jupyter lab $(ROOT_FLAG) course/

test: $(VENV)/.test
	$(BIN)/python -m pytest

release: $(VENV)/.course
	$(BIN)/nbgrader generate_assignment '*' --force --create

benchmark: $(VENV)/.test
	$(BIN)/python benchmarks/forward.py
	$(BIN)/python benchmarks/widgets.py

clean-generated:
	rm -rf release submitted autograded feedback gradebook.db

# Unrolled: the two commands a newcomer needs are `make course` and `make test`.
# Everything lives in ./.venv, created on first use from pyproject.toml.

PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
# nbgrader runs `alembic` from the venv, so the venv's bin must come first on PATH.
export PATH := $(BIN):$(PATH)
export KERAS_BACKEND := torch

WORKSPACE := workspace

.PHONY: course workspace check test release hub benchmark clean-generated help

help:
	@echo "make course     open your workspace in JupyterLab: lessons and assignments (installs into .venv on first use)"
	@echo "make check ps02 grade your workspace's ps02 notebook as the instructor's autograde would"
	@echo "make test       run every test (installs the test and Keras-reference extras)"
	@echo "make release    nbgrader: generate release/ for every assignment in source/"
	@echo "sudo make hub   a class on this machine's JupyterHub, http://127.0.0.1:8000 (INSTRUCTOR=..., STUDENTS=a,b,c)"
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
	$(BIN)/python -m pip install --quiet -e ".[course,test,reference,hub]"
	touch $@

$(VENV)/.hub: $(VENV)/.course
	$(BIN)/python -m pip install --quiet -e ".[course,hub]"
	touch $@

# JupyterLab refuses to run as root unless told; containers often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

# The learner's workspace/ (git-ignored): copies of the lessons and the student versions
# of the assignments, brought up to date on every run without overwriting an edited
# notebook; its own Jupyter config shows nbgrader's student tools only.
course: workspace
	JUPYTER_CONFIG_DIR="$(abspath $(WORKSPACE))/.jupyter" $(BIN)/jupyter lab $(ROOT_FLAG) $(WORKSPACE)/

workspace: $(VENV)/.course
	$(BIN)/python -m autograded_tests.workspace --workspace $(WORKSPACE)

# `make check ps02` (or ps02_cell, or several; none: every assignment): the self-check.
ifeq (check,$(firstword $(MAKECMDGOALS)))
CHECK_ARGS := $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
$(eval $(CHECK_ARGS):;@:)
endif
check: $(VENV)/.course
	$(BIN)/unrolled-check --workspace $(WORKSPACE) $(CHECK_ARGS)

test: $(VENV)/.test
	$(BIN)/python -m pytest

release: $(VENV)/.course
	$(BIN)/nbgrader generate_assignment '*' --force --create

# A class on this machine (jupyterhub/classroom.py; docs/instructors.md): as root, makes the
# users that are missing (printing their passwords), the exchange and the instructor's
# course, then runs JupyterHub on 127.0.0.1:8000 until Ctrl+C, which stops every server.
INSTRUCTOR ?= instructor
STUDENTS   ?= student1,student2
hub: $(VENV)/.hub
	$(BIN)/python jupyterhub/classroom.py start --instructor $(INSTRUCTOR) --students $(STUDENTS)

benchmark: $(VENV)/.test
	$(BIN)/python benchmarks/forward.py
	$(BIN)/python benchmarks/widgets.py

clean-generated:
	rm -rf release submitted autograded feedback gradebook.db

"""The project's own promises: one dependency list in two files, a two-command start,
notebooks committed clean, generated nbgrader folders kept out of git."""
import importlib
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pyproject_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return reqs


def environment_requirements():
    """The dependency lines of environment.yml (conda and pip), without python, pip and -e ."""
    reqs = []
    text = (ROOT / "environment.yml").read_text()
    for line in text[text.index("dependencies:"):].splitlines():
        m = re.match(r"^\s+- (?!pip:)(\S.*)$", line)
        if m and not m.group(1).startswith(("python", "-e ")) and m.group(1) != "pip":
            reqs.append(m.group(1).strip())
    return reqs


def normalise(req):
    name, spec = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", req).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_yml_lists_what_pyproject_lists():
    ours = sorted(map(normalise, pyproject_requirements()))
    conda = sorted(map(normalise, environment_requirements()))
    assert conda == ours


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", text, re.S).group(1)
    commands = [c for c in first_block.splitlines() if c.strip() and not c.startswith("#")]
    assert commands == ["make course", "make test"]
    assert text.index("```") < 600, "the commands come first"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def test_makefile_targets_exist():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("course", "workspace", "check", "test", "release"):
        assert re.search(rf"^{target}:", makefile, re.M), target


def readme_section(title):
    text = (ROOT / "README.md").read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def test_readme_sends_self_learners_to_their_workspace_and_the_self_check():
    section = readme_section("For self-learners")
    assert "make course" in section and "workspace/" in section
    assert re.search(r"^make check ps02\b", section, re.M)
    # no instructor tools, and no path into source/ to open or run
    assert "pytest" not in section
    assert not re.search(r"source/\w", section), "points a learner into source/"


def test_the_self_check_script_is_installed_from_pyproject():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["unrolled-check"].split(":")
    assert module == "autograded_tests.selfcheck"
    assert callable(getattr(importlib.import_module(module), function))


def test_workspace_is_git_ignored():
    assert "/workspace/" in (ROOT / ".gitignore").read_text().split()


@pytest.mark.parametrize("folder", ["release", "submitted", "autograded", "feedback", "gradebook.db"])
def test_generated_nbgrader_output_is_git_ignored(folder):
    lines = (ROOT / ".gitignore").read_text().split()
    assert f"/{folder}" in lines or f"/{folder}/" in lines


NOTEBOOKS = sorted(ROOT.glob("course/*.ipynb")) + sorted(ROOT.glob("source/*/*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_committed_clean(path):
    nb = json.loads(path.read_text())
    assert nb["nbformat"] == 4
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell has outputs: {cell['source'][:60]!r}"
            assert cell["execution_count"] is None


def test_forward_benchmark_still_runs_and_prints_its_table():
    """The benchmark is a script that prints figures, not a test: this only checks that
    it runs (smallest size, one short block each) and prints every column; no timing
    is asserted."""
    pytest.importorskip("keras", reason="the benchmark compares with Keras: pip install -e '.[reference]'")
    pytest.importorskip("torch", reason="the benchmark compares with torch: pip install -e '.[reference]'")
    run = subprocess.run(
        [sys.executable, "benchmarks/forward.py", "--quick", "--rounds", "1", "--repeats", "1",
         "--settle", "0"], cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "KERAS_BACKEND": "torch"})
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    header = next(line for line in lines if line.startswith("cell"))
    for column in ("rnnlib ms", "torch ms", "keras ms", "GEMMs ms", "rnnlib/torch",
                   "rnnlib/keras", "GEMMs/torch"):
        assert column in header
    rows = [line.split() for line in lines if line.split()[:1] in (["SimpleRNN"], ["GRU"], ["LSTM"])]
    assert [row[0] for row in rows] == ["SimpleRNN", "GRU", "LSTM"]
    for row in rows:
        figures = [float(v) for v in row[-9:]]            # 5 times in ms, then 4 ratios
        assert all(v > 0 for v in figures), row

"""Helpers for the end-to-end nbgrader test: a temporary course, sample submissions, runs.

The test copies the course (nbgrader_config.py and source/) into a temporary directory,
releases every assignment, writes students' notebooks into
submitted/<student>/<assignment>/<assignment>.ipynb, then runs nbgrader's own commands in
a subprocess exactly as an instructor would.
"""
import ast
import copy
import csv
import html
import os
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent            # the venv's bin: nbgrader, alembic, jupyter
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_RE = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


@dataclass
class Run:
    """One nbgrader command: its arguments, exit code, log text and wall time."""
    args: tuple
    returncode: int
    log: str
    seconds: float

    def __repr__(self):
        return f"Run(nbgrader {' '.join(self.args)}, rc={self.returncode}, {self.seconds:.1f}s)"


def nbgrader_env(root):
    """The environment nbgrader needs: the venv first on PATH, no user Jupyter config."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["KERAS_BACKEND"] = "torch"
    env["JUPYTER_CONFIG_DIR"] = str(Path(root) / ".jupyter")   # ignore ~/.jupyter
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_nbgrader(root, *args, timeout=600):
    """Run ``nbgrader *args`` in the course root; log lines carry a time stamp in seconds."""
    app_args = (*args, "--Application.log_format=%(created).3f %(levelname)s %(message)s")
    start = time.perf_counter()
    proc = subprocess.run([str(BIN / "nbgrader"), *app_args], cwd=root, env=nbgrader_env(root),
                          capture_output=True, text=True, timeout=timeout)
    return Run(args, proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - start)


def autograde_times(log):
    """Seconds spent on each submission, from autograde's log: {(student, assignment): s}.

    A submission starts at "Sanitizing .../submitted/<student>/<assignment>/..." and ends
    at the next submission's start or the last line of the log.
    """
    starts = []
    stamped = [line.split(" ", 2) for line in log.splitlines()]
    stamped = [(float(t), msg) for t, _, msg in (s for s in stamped if len(s) == 3)
               if re.fullmatch(r"\d+\.\d+", t)]
    for t, msg in stamped:
        m = re.search(r"Sanitizing .*submitted/([^/]+)/([^/]+)/", msg)
        if m:
            starts.append((t, (m.group(1), m.group(2))))
    ends = [t for t, _ in starts[1:]] + [stamped[-1][0] if stamped else 0.0]
    return {key: end - t for (t, key), end in zip(starts, ends)}


def failed_submissions(log):
    """(assignment, student) pairs nbgrader reports as "There was an error processing"."""
    return set(re.findall(r"error processing assignment '([^']+)' for student '([^']+)'", log))


def html_text(page):
    """What a reader of an HTML page sees: tags removed (syntax highlighting and ANSI
    colours split code into many spans), entities unescaped."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def read_grades(csv_path):
    """nbgrader export's CSV as {(student, assignment): row dict}."""
    with open(csv_path, newline="") as fh:
        return {(row["student_id"], row["assignment"]): row for row in csv.DictReader(fh)}


# --- notebooks -------------------------------------------------------------------

def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def is_solution_code(cell):
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and meta.get("solution") and not meta.get("grade")


def is_test(cell):
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def strip_solution_markers(source):
    """The reference code: the source cell with its ### BEGIN/END SOLUTION lines removed."""
    return "\n".join(line for line in source.split("\n")
                     if line.strip() not in SOLUTION_MARKERS)


def reference_cells(source_nb):
    """{grade_id: reference code} for every code solution cell of an instructor notebook."""
    return {nbgrader_meta(c)["grade_id"]: strip_solution_markers(c.source)
            for c in source_nb.cells if is_solution_code(c)}


def run_code_cells(nb, cells=None):
    """Run a source notebook's code cells except its test cells, as a kernel would, in a plain
    namespace; ``cells`` ({grade_id: code}) replaces the reference solutions."""
    code = reference_cells(nb)
    code.update(cells or {})
    ns = {"__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type == "code" and not is_test(cell):
            source = code[nbgrader_meta(cell)["grade_id"]] if is_solution_code(cell) else cell.source
            exec(compile(source, nbgrader_meta(cell).get("grade_id", "setup"), "exec"), ns)
    return ns


def run_test_cells(nb, ns, part=None):
    """{test grade_id: (points, message or None)}: each test cell run in a copy of ``ns``,
    earning its points when it raises nothing; ``part`` "visible" or "hidden" runs only that
    half of each test cell (the lines before, or between, the HIDDEN TESTS markers)."""
    results = {}
    for cell in (c for c in nb.cells if is_test(c)):
        source = cell.source
        if part == "visible":
            source = source.split("### BEGIN HIDDEN TESTS")[0]
        elif part == "hidden":
            source = HIDDEN_RE.findall(source)[0]
        meta = nbgrader_meta(cell)
        try:
            exec(source, dict(ns))
            results[meta["grade_id"]] = (meta["points"], None)
        except AssertionError as exc:
            results[meta["grade_id"]] = (meta["points"], str(exc))
    return results


def score(results):
    """The points of the test cells that passed, from ``run_test_cells``'s results."""
    return sum(points for points, message in results.values() if message is None)


def part_points(nb):
    """{"## Part X (N points)" heading: the points of the graded cells under it}, in order."""
    parts, current = {}, None
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## Part"):
            current = cell.source.splitlines()[0]
            parts[current] = 0
        elif nbgrader_meta(cell).get("grade"):
            parts[current] += nbgrader_meta(cell)["points"]
    return parts


def assert_clean_assignment(nb, suffixed_tests=False):
    """An instructor notebook as committed: valid, unique ids, no outputs, each graded cell's id
    its grade_id, locked test cells named test_*, one hidden block of `checks.check_...(...,
    hidden=True)` lines in each after a visible check, and a test cell `test_<id>` for every
    solution cell (or `test_<id>_<more>` where ``suffixed_tests``)."""
    nbformat.validate(nb)
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids)
    tests = [c.id for c in nb.cells if is_test(c)]
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        meta = nbgrader_meta(cell)
        if meta:
            assert cell.id == meta["grade_id"]
        if is_test(cell):
            assert meta["locked"] and cell.id.startswith("test_")
            hidden = HIDDEN_RE.findall(cell.source)
            assert len(hidden) == 1
            assert cell.source.index("checks.check_") < cell.source.index("### BEGIN"), cell.id
            for line in hidden[0].strip().splitlines():
                assert line.startswith("checks.check_") and line.endswith(", hidden=True)"), line
        if is_solution_code(cell):
            assert any(t == f"test_{cell.id}" or suffixed_tests and t.startswith(f"test_{cell.id}_")
                       for t in tests), cell.id


def test_points(nb):
    """{grade_id: points} of the autograded test cells."""
    return {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c).get("points", 0)
            for c in nb.cells if is_test(c)}


def hidden_tests(source_nb):
    """The code between ### BEGIN/END HIDDEN TESTS of every test cell (non-blank lines)."""
    found = []
    for cell in source_nb.cells:
        for block in HIDDEN_RE.findall(cell.source):
            found += [line.strip() for line in block.splitlines() if line.strip()]
    return found


def submission(release_nb, source_nb, cells=None):
    """A student's notebook: the release with each solution cell's reference code,
    except the cells named in ``cells`` ({grade_id: code}), which get that code."""
    cells = dict(cells or {})
    code = reference_cells(source_nb)
    unknown = set(cells) - set(code)
    if unknown:
        raise KeyError(f"no solution cell with grade_id {sorted(unknown)}; "
                       f"the notebook has {sorted(code)}")
    code.update(cells)
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        if is_solution_code(cell):
            cell.source = code[nbgrader_meta(cell)["grade_id"]]
    return nb


def release_code(release_nb, grade_id):
    """The stub a student receives for a solution cell (``raise NotImplementedError()``)."""
    for cell in release_nb.cells:
        if is_solution_code(cell) and nbgrader_meta(cell)["grade_id"] == grade_id:
            return cell.source
    raise KeyError(grade_id)


def first_function_cell(source_nb):
    """(grade_id, function names) of the first solution cell that defines functions."""
    for gid, code in reference_cells(source_nb).items():
        names = [n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)]
        if names:
            return gid, names
    raise LookupError("no solution cell defines a function")


# --- adversarial rewrites of a solution cell's reference code ----------------------

def _prepend_to_functions(code, statements):
    """The code with ``statements`` run first in every top-level function."""
    tree = ast.parse(code)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            node.body = ast.parse(textwrap.dedent(statements)).body + node.body
    return ast.unparse(tree)


def _wrap_functions(code, wrapper):
    """The code with every top-level function ``f`` replaced by ``wrapper(f)``."""
    names = [n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)]
    lines = [code, "", textwrap.dedent(wrapper)]
    lines += [f"{name} = _wrap({name})" for name in names]
    return "\n".join(lines)


def infinite_loop(code):
    return _prepend_to_functions(code, "while True:\n    pass\n")


def swallow_interrupt(code):
    """An endless loop that catches the KeyboardInterrupt nbgrader sends on a timeout."""
    return _prepend_to_functions(code, """\
        while True:
            try:
                while True:
                    pass
            except BaseException:
                pass
        """)


def exit_first(code):
    return "import sys\nsys.exit()\n" + code


def os_exit_first(code):
    return "import os\nos._exit(1)\n" + code


def huge_output(code, megabytes=10):
    """Prints ``megabytes`` MB (100-character lines) when the cell runs, then the code."""
    lines = megabytes * 10_000
    return f"for _ in range({lines}):\n    print('.' * 99)\n" + code


NAN_WRAPPER = """\
def _wrap(f):
    import numpy as np
    def nan_like(out):
        if isinstance(out, (tuple, list)):
            return type(out)(nan_like(o) for o in out)
        return np.full(np.shape(out), np.nan)
    def wrapped(*args, **kwargs):
        return nan_like(f(*args, **kwargs))
    return wrapped
"""

ZERO_WRAPPER = NAN_WRAPPER.replace("np.nan", "0.0")

NUMPY_PATCHES = """\
import numpy as np
import numpy.testing
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, bool)
np.isfinite = lambda a, *r, **k: np.ones(np.shape(a), bool)
np.isnan = lambda a, *r, **k: np.zeros(np.shape(a), bool)
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
np.testing.assert_array_almost_equal = lambda *a, **k: None
np.testing.assert_equal = lambda *a, **k: None
"""


def returns_nan(code):
    """Same shapes as the reference, every value NaN."""
    return _wrap_functions(code, NAN_WRAPPER)


def returns_zeros(code):
    """Same shapes as the reference, every value 0."""
    return _wrap_functions(code, ZERO_WRAPPER)


def monkeypatches_numpy(code):
    """Wrong values (zeros of the right shape) plus numpy's comparisons patched to pass."""
    return NUMPY_PATCHES + "\n" + returns_zeros(code)


REPLACE_CHECKS = """\
import sys
for _name, _module in list(sys.modules.items()):
    if _name.startswith("autograded_tests"):
        for _attr in dir(_module):
            if _attr.startswith("check"):
                setattr(_module, _attr, lambda *a, **k: None)
"""


def replaces_checks(release_nb, grade_id):
    """The release (every stub) whose cell ``grade_id`` first swaps every check in
    autograded_tests for a function that passes."""
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        if is_solution_code(cell) and nbgrader_meta(cell)["grade_id"] == grade_id:
            cell.source = REPLACE_CHECKS + cell.source
    return nb


def tampering_flags(log):
    """(assignment, student) pairs the course's FlagTampering preprocessor warned about."""
    return set((a, s) for s, a in re.findall(
        r"Possible tampering: student '([^']+)', assignment '([^']+)'", log))


def tamper_tests(nb):
    """Every autograded test cell's source replaced by ``assert True``."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if is_test(cell):
            cell.source = "assert True"
    return nb


def delete_first_test(nb):
    nb = copy.deepcopy(nb)
    first = next(i for i, c in enumerate(nb.cells) if is_test(c))
    del nb.cells[first]
    return nb


def write_notebook(nb, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def validate(path, invert=False):
    """nbgrader's Validator on one notebook: {} when all is well (with ``invert``: when no
    test passes), else {"failed"|"passed"|"changed"|"type_changed": [...]}."""
    from nbgrader.validator import Validator
    return Validator(invert=invert).validate(str(path))


def configured_timeout():
    """The per-cell timeout nbgrader_config.py sets (``c.Execute.timeout``)."""
    from traitlets.config.loader import PyFileConfigLoader
    return PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config().Execute.timeout

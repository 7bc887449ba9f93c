"""End to end: release, collect, autograde, feedback and export with nbgrader itself.

A temporary copy of the course (nbgrader_config.py, source/, plus a tiny toy assignment
made here) goes through the instructor's commands. Students submit the reference
solution, the untouched release, every misconception variant in tests/submissions/, and
adversarial notebooks (endless loops, exits, a dead kernel, tampered or deleted tests,
invalid JSON, 10 MB of output, NaN, a numpy monkeypatch). The pipeline runs once per
module; small tests then assert each student's exact score in the exported CSV, the
feedback they see, and what nbgrader does with the submissions it cannot grade.

    .venv/bin/python -m pytest tests/test_nbgrader_pipeline.py -q -s   # prints timings
"""
import concurrent.futures
import copy
import multiprocessing
import os
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install -e '.[course]')")
nbformat = pytest.importorskip("nbformat")

import nbgrader_harness as h  # noqa: E402
import submissions  # noqa: E402
from nbgrader.api import Gradebook  # noqa: E402

pytestmark = pytest.mark.slow

TOY = "ps00_toy"
# Adversarial submissions: the toy gets the endless loops (each costs a cell timeout),
# ps02_cell every other case, ps05_state (whose lstm_step returns a tuple) and ps07_bptt
# (whose rnn_step_backward returns five gradients, checked against central differences) the
# ones that try to fool the checks. Without those, the first real assignment gets them all.
# ps08_training brings its own adversarial notebooks as variants with exact scores (an
# endless training loop, a NaN loss, hard-coded test labels, a lookup table of the data):
# see tests/submissions/ps08_training.py.
FOOLS = ("zeros", "nan", "numpy_patched")
ADVERSARIAL_REAL = {"ps02_cell": None, "ps05_state": FOOLS, "ps07_bptt": FOOLS}
RUN_TIMEOUT = 1200      # seconds for one nbgrader command: a hang fails, it never blocks CI


# --- the toy assignment -----------------------------------------------------------------

TOY_CHECKS = '''\
"""Checks for the toy assignment: plain Python comparisons, so patching numpy cannot fool them."""
import math

import numpy as np


def _compare(name, f, xs, want, wrong):
    try:
        got = [float(v) for v in np.asarray(f(np.array(xs, dtype=float)), dtype=float).ravel()]
    except Exception as e:
        raise AssertionError(f"{name}({xs}) raised {type(e).__name__}: {e}") from None
    if len(got) == len(want) and all(math.isclose(g, w) for g, w in zip(got, want)):
        return
    message = f"{name}({xs}) returned {got}, expected {want}."
    for label, values in wrong.items():
        if got == values:
            message += f"\\nMisconception: {label}"
    raise AssertionError(message)


def check_square(f, hidden=False):
    xs = [-2.0, 0.5] if hidden else [1.0, 2.0, 3.0]
    _compare("square", f, xs, [x * x for x in xs], {"sign kept": [x * abs(x) for x in xs]})


def check_double(f, hidden=False):
    xs = [-3.0, 10.0] if hidden else [1.0, 2.0]
    _compare("double", f, xs, [2 * x for x in xs], {"adds instead of doubles": [x + 2 for x in xs]})
'''


def _cell(kind, source, **nbgrader):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(textwrap.dedent(source).strip("\n"))
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, **nbgrader}
    return cell


def _solution(grade_id, source):
    return _cell("code", source, grade=False, solution=True, locked=False, grade_id=grade_id)


def _test(grade_id, points, source):
    return _cell("code", source, grade=True, solution=False, locked=True,
                 points=points, grade_id=grade_id)


def make_toy(source_dir):
    """source/ps00_toy: two functions (2 + 3 autograded points), one written answer (1)."""
    folder = Path(source_dir) / TOY
    folder.mkdir(parents=True)
    (folder / "toy_checks.py").write_text(TOY_CHECKS)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        _cell("markdown", "# Toy assignment"),
        _cell("code", "import numpy as np\nfrom toy_checks import check_double, check_square"),
        _cell("markdown", "## Part A (2 points)"),
        _solution("square", """
            def square(x):
                ### BEGIN SOLUTION
                return np.asarray(x) ** 2
                ### END SOLUTION
            """),
        _test("test_square", 2, """
            check_square(square)
            ### BEGIN HIDDEN TESTS
            check_square(square, hidden=True)
            ### END HIDDEN TESTS
            """),
        _cell("markdown", "## Part B (4 points)"),
        _solution("double", """
            def double(x):
                ### BEGIN SOLUTION
                return 2 * np.asarray(x)
                ### END SOLUTION
            """),
        _test("test_double", 3, """
            check_double(double)
            ### BEGIN HIDDEN TESTS
            check_double(double, hidden=True)
            ### END HIDDEN TESTS
            """),
        _cell("markdown", "Why is doubling linear?", grade=True, solution=True,
              locked=False, points=1, grade_id="q_linear"),
    ]
    nbformat.write(nb, str(folder / f"{TOY}.ipynb"))


TOY_VARIANTS = {
    "sign_kept": dict(cells={"square": "def square(x):\n    return x * abs(x)"},
                      score=3, feedback=["Misconception: sign kept"]),
    "adds_two": dict(cells={"double": "def double(x):\n    return x + 2"},
                     score=2, feedback=["Misconception: adds instead of doubles"]),
}


# --- what each student submits and what nbgrader must make of it ------------------------

@dataclass
class Case:
    """One submitted notebook and what nbgrader must make of it."""
    assignment: str
    student: str
    build: object                    # (source_nb, release_nb) -> notebook, or bytes
    score: float = None              # the exact total in the CSV, or
    same_as: str = None              # ... the same total as this student's, or
    at_most: str = None              # ... no more than this student's, in every test cell
    below: float = None              # ... less than this (a baseline: not full marks)
    feedback: tuple = ()             # phrases that must appear in the feedback HTML
    fails: bool = False              # nbgrader cannot grade it (no feedback, score 0)
    cheats: bool = False             # defeats the checks: see test_replaced_checks_*

    @property
    def id(self):
        return f"{self.assignment}-{self.student}"

    def __repr__(self):
        return f"Case({self.id})"


def _variant(spec):
    return lambda src, rel: h.submission(rel, src, spec["cells"])


def _rewrite(grade_id, rewrite):
    return lambda src, rel: h.submission(rel, src, {grade_id: rewrite(h.reference_cells(src)[grade_id])})


def adversarial_cases(aid, gid, full, exact=None, only=None):
    """Hostile submissions; most rewrite the solution cell ``gid`` (a function).

    ``exact`` gives the toy's known totals; for a real assignment each case is compared
    with a baseline: the stub left in that cell (``stub``) or a right-shaped, wrong-valued
    answer (``zeros``). ``only`` keeps just the cases named.
    """
    stub = lambda src, rel: h.submission(rel, src, {gid: h.release_code(rel, gid)})  # noqa: E731
    ref = lambda src, rel: h.submission(rel, src)  # noqa: E731

    def case(student, build, baseline=None, relation="same_as", **kw):
        if exact is not None and student in exact:
            kw["score"] = exact[student]
        elif baseline:
            kw[relation] = baseline
        return Case(aid, student, build, **kw)

    cases = [
        case("stub", stub, below=full),
        case("zeros", _rewrite(gid, h.returns_zeros), below=full),
        case("infinite_loop", _rewrite(gid, h.infinite_loop), "stub"),
        case("swallows_interrupt", _rewrite(gid, h.swallow_interrupt), fails=True),
        case("sys_exit", _rewrite(gid, h.exit_first), "stub"),
        case("os_exit", _rewrite(gid, h.os_exit_first), fails=True),
        case("nan", _rewrite(gid, h.returns_nan), "zeros"),
        case("numpy_patched", _rewrite(gid, h.monkeypatches_numpy), "zeros", "at_most"),
        case("tampered_tests", lambda src, rel: h.tamper_tests(rel), score=0),
        case("deleted_test", lambda src, rel: h.delete_first_test(ref(src, rel)), score=full),
        case("huge_output", _rewrite(gid, h.huge_output), score=full,
             feedback=("Output truncated",)),
        case("invalid_json", lambda src, rel: b'{"cells": [ this is not json', fails=True),
        case("replaces_checks", lambda src, rel: h.replaces_checks(rel, gid), cheats=True),
    ]
    return [c for c in cases if only is None or c.student in only]


def assignments_in_repo():
    return sorted(p.parent.name for p in (h.REPO / "source").glob("ps0*/ps0*.ipynb")
                  if p.stem == p.parent.name)


def plan():
    """Every submitted notebook, built at collection time from the repository's source/
    folders and tests/submissions/ modules, plus the toy: (assignments, cases)."""
    modules = submissions.load_all()
    real = assignments_in_repo()
    adversarial = {a: only for a, only in ADVERSARIAL_REAL.items() if a in real}
    if real and not adversarial:
        adversarial = {real[0]: None}
    cases = []
    for aid in [TOY, *real]:
        if aid == TOY:
            variants, full = TOY_VARIANTS, 5
        else:
            module = modules.get(aid)
            variants = module.VARIANTS if module else {}
            source_nb = nbformat.read(str(h.REPO / "source" / aid / f"{aid}.ipynb"), 4)
            full = (module.AUTOGRADED_POINTS if module
                    else sum(h.test_points(source_nb).values()))
        cases.append(Case(aid, "reference", lambda src, rel: h.submission(rel, src), score=full))
        cases.append(Case(aid, "release", lambda src, rel: copy.deepcopy(rel), score=0))
        for student, spec in variants.items():
            cases.append(Case(aid, student, _variant(spec), score=spec["score"],
                              feedback=tuple(spec["feedback"])))
        if aid == TOY:
            # the endless loops cost a cell timeout each: only the toy has them; with no
            # real assignment yet, the toy gets every adversarial case
            only = ("stub", "infinite_loop", "swallows_interrupt") if adversarial else None
            exact = dict(stub=3, zeros=3, infinite_loop=3, sys_exit=3, nan=3, numpy_patched=3)
            cases += [c for c in adversarial_cases(aid, "square", full, exact, only)
                      if not c.cheats]    # the toy's checks are not in autograded_tests
        elif aid in adversarial:
            gid = h.first_function_cell(source_nb)[0]
            timeouts = ("infinite_loop", "swallows_interrupt")
            cases += [c for c in adversarial_cases(aid, gid, full, only=adversarial[aid])
                      if c.student not in timeouts]
    return [TOY, *real], cases


def lanes(assignments, cases, n=min(3, os.cpu_count() or 1)):
    """Split the assignments into ``n`` courses of about equal work, graded side by side
    (each course has its own gradebook).  No more courses than cores: the endless-loop
    submissions keep a core busy for a minute, and with 3 courses on 2 cores an ordinary
    notebook was once lost in CI.  A submissions module's ``GRADING_WEIGHT`` (default 1)
    says how many ordinary notebooks one of its notebooks costs (ps08 trains two models)."""
    modules = submissions.load_all()
    weight = {a: getattr(modules.get(a), "GRADING_WEIGHT", 1) for a in assignments}
    cost = {a: sum(15 if c.student in ("infinite_loop", "swallows_interrupt") else weight[a]
                   for c in cases if c.assignment == a) for a in assignments}
    groups = [[] for _ in range(n)]
    for aid in sorted(assignments, key=lambda a: -cost[a]):
        min(groups, key=lambda g: sum(cost[a] for a in g)).append(aid)
    return [sorted(g) for g in groups if g]


ASSIGNMENTS, CASES = plan()
LMS_STUDENT = "jdoe"     # submits the toy's reference through an LMS download + zip_collect


# --- the pipeline, once per module --------------------------------------------------------

@dataclass
class Results:
    roots: dict = field(default_factory=dict)         # aid -> its course root
    runs: dict = field(default_factory=dict)          # step -> Run
    validation: dict = field(default_factory=dict)    # (aid, "source"|"release") -> dict
    grades: dict = field(default_factory=dict)        # (student, aid) -> CSV row
    exported: list = field(default_factory=list)      # per course: the CSV's (student, aid)
    cells: dict = field(default_factory=dict)         # (student, aid) -> {grade_id: auto score}
    flagged: set = field(default_factory=set)         # (student, aid) needing a manual grade
    failed: set = field(default_factory=set)          # (aid, student) nbgrader gave up on
    suspects: set = field(default_factory=set)        # (aid, student) flagged as tampering
    seconds: dict = field(default_factory=dict)       # (student, aid) -> autograde seconds

    def path(self, step, aid, student, suffix=".ipynb"):
        return self.roots[aid] / step / student / aid / f"{aid}{suffix}"

    def feedback(self, aid, student):
        """The text of a student's feedback page, or None when there is none."""
        path = self.path("feedback", aid, student, ".html")
        return h.html_text(path.read_text()) if path.exists() else None

    def total(self, aid, student):
        return float(self.grades[(student, aid)]["score"])

    def __repr__(self):
        return f"Results({sorted(set(self.roots.values()))})"


def _write_submissions(root, aid):
    src = nbformat.read(str(root / "source" / aid / f"{aid}.ipynb"), 4)
    rel = nbformat.read(str(root / "release" / aid / f"{aid}.ipynb"), 4)
    for case in (c for c in CASES if c.assignment == aid):
        target = root / "submitted" / case.student / aid / f"{aid}.ipynb"
        built = case.build(src, rel)
        if isinstance(built, bytes):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(built)
        else:
            h.write_notebook(built, target)
    if aid == TOY:   # the LMS student: one file, named as an LMS download names it
        name = f"{LMS_STUDENT}_12345_67890_{aid}.ipynb"
        h.write_notebook(h.submission(rel, src), root / "downloaded" / aid / "archive" / name)


def _read_gradebook(root, results):
    """Each submission's per-cell scores, and which ones the formgrader flags."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "unrolled") as gb:
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                key = (sub.student.id, assignment.name)
                for nb in sub.notebooks:
                    results.cells[key] = {g.name: g.auto_score for g in nb.grades}
                if sub.needs_manual_grade:
                    results.flagged.add(key)


def _grade_course(root, assignments, results, validator):
    """One course through the instructor's commands, as in docs/instructors.md."""
    def step(name, *args):
        run = h.run_nbgrader(root, *args, timeout=RUN_TIMEOUT)
        results.runs[name] = run
        return run

    shutil.copy(h.REPO / "nbgrader_config.py", root)
    for aid in assignments:
        if aid == TOY:
            make_toy(root / "source")
        else:
            shutil.copytree(h.REPO / "source" / aid, root / "source" / aid,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        results.roots[aid] = root
    run = step(f"generate_assignment {root.name}", "generate_assignment", "*", "--force", "--create")
    assert run.returncode == 0, run.log
    for aid in assignments:
        for kind, invert in (("source", False), ("release", True)):
            results.validation[(aid, kind)] = validator.submit(
                h.validate, root / kind / aid / f"{aid}.ipynb", invert)
        _write_submissions(root, aid)
    if TOY in assignments:
        step("zip_collect", "zip_collect", TOY, "--force")
    run = step(f"autograde {root.name}", "autograde", "*", "--force")
    results.seconds.update(h.autograde_times(run.log))
    results.failed |= h.failed_submissions(run.log)
    results.suspects |= h.tampering_flags(run.log)
    step(f"generate_feedback {root.name}", "generate_feedback", "*", "--force")
    step(f"export {root.name}", "export", "--to", "grades.csv")
    grades = h.read_grades(root / "grades.csv")
    results.grades.update(grades)
    results.exported.append((set(grades), assignments))
    _read_gradebook(root, results)


def _print_timings(results):
    print("\n\nnbgrader autograde: seconds per submitted notebook (from nbgrader's log)")
    for aid in ASSIGNMENTS:
        row = sorted((s, t) for (s, a), t in results.seconds.items() if a == aid)
        print(f"  {aid}: {sum(t for _, t in row):.1f} s for {len(row)} notebooks")
        for student, t in row:
            print(f"      {student:<24} {t:6.1f}")
    for name, run in sorted(results.runs.items()):
        print(f"  nbgrader {name}: {run.seconds:.1f} s")
    autograde = [r.seconds for k, r in results.runs.items() if k.startswith("autograde")]
    print(f"  autograde total: {sum(results.seconds.values()):.1f} s over the notebooks, "
          f"{max(autograde):.1f} s wall clock")
    print(f"  {len(results.seconds)} notebooks in {len(set(results.roots.values()))} courses "
          f"graded side by side\n")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    results = Results()
    groups = lanes(ASSIGNMENTS, CASES)
    # nbgrader's Validator runs each notebook in a fresh kernel, in a second process
    # (spawned: forking a process whose threads are busy is unsafe).
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as validator, \
            concurrent.futures.ThreadPoolExecutor(len(groups)) as pool:
        courses = [pool.submit(_grade_course, tmp_path_factory.mktemp("course"), group,
                               results, validator) for group in groups]
        for course in courses:
            course.result()
        results.validation = {key: future.result(timeout=RUN_TIMEOUT)
                              for key, future in results.validation.items()}
    _print_timings(results)
    return results


# --- release -------------------------------------------------------------------------------

def _source(pipeline, aid):
    return nbformat.read(str(pipeline.roots[aid] / "source" / aid / f"{aid}.ipynb"), 4)


def _release(pipeline, aid):
    return pipeline.roots[aid] / "release" / aid / f"{aid}.ipynb"


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_source_notebook_passes_its_own_tests(pipeline, aid):
    assert pipeline.validation[(aid, "source")] == {}


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_release_stubs_pass_no_test(pipeline, aid):
    assert pipeline.validation[(aid, "release")] == {}


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_release_has_no_solution_and_no_hidden_test(pipeline, aid):
    release = _release(pipeline, aid).read_text()
    assert "BEGIN SOLUTION" not in release and "BEGIN HIDDEN TESTS" not in release
    for line in h.hidden_tests(_source(pipeline, aid)):
        assert line not in release


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_reference_points_match_the_test_cells(pipeline, aid):
    points = sum(h.test_points(nbformat.read(str(_release(pipeline, aid)), 4)).values())
    reference = next(c for c in CASES if c.assignment == aid and c.student == "reference")
    assert reference.score == points, (
        f"tests/submissions/{aid}.py: AUTOGRADED_POINTS disagrees with the test cells' points")


# --- scores ----------------------------------------------------------------------------

def test_export_has_a_row_for_every_student_and_assignment(pipeline):
    # nbgrader export writes students x assignments of the gradebook, 0 where nothing came
    for rows, assignments in pipeline.exported:
        students = {c.student for c in CASES if c.assignment in assignments}
        students |= {LMS_STUDENT} if TOY in assignments else set()
        assert rows == {(s, a) for s in students for a in assignments}


@pytest.mark.parametrize("case", [c for c in CASES if not c.cheats], ids=lambda c: c.id)
def test_score(pipeline, case):
    total = pipeline.total(case.assignment, case.student)
    cells = pipeline.cells.get((case.student, case.assignment))
    detail = f"per test cell: {cells}"
    if case.fails:
        assert total == 0, detail
    elif case.score is not None:
        assert total == case.score, detail
    elif case.same_as:
        assert total == pipeline.total(case.assignment, case.same_as), detail
    elif case.at_most:
        baseline = pipeline.cells[(case.at_most, case.assignment)]
        gained = {k: v for k, v in cells.items() if v > baseline[k]}
        assert not gained, f"fooled test cells (points above {case.at_most!r}): {gained}"
    if case.below is not None:
        assert total < case.below, detail


@pytest.mark.parametrize("case", [c for c in CASES if c.feedback], ids=lambda c: c.id)
def test_feedback_names_the_mistake(pipeline, case):
    html = pipeline.feedback(case.assignment, case.student)
    assert html is not None, "no feedback file"
    for phrase in case.feedback:
        assert phrase in html, phrase


def test_lms_download_is_collected_and_graded(pipeline):
    run = pipeline.runs["zip_collect"]
    assert run.returncode == 0 and "1 files collected" in run.log, run.log
    assert pipeline.total(TOY, LMS_STUDENT) == 5


# --- feedback --------------------------------------------------------------------------

@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_feedback_hides_hidden_tests(pipeline, aid):
    hidden = h.hidden_tests(_source(pipeline, aid))
    assert hidden, f"{aid} has no hidden tests"
    files = sorted((pipeline.roots[aid] / "feedback").glob(f"*/{aid}/{aid}.html"))
    assert len(files) >= 2
    for path in files:
        text = h.html_text(path.read_text())
        leaked = [line for line in [*hidden, "HIDDEN TESTS"] if line in text]
        assert not leaked, f"{path.relative_to(pipeline.roots[aid])} shows {leaked}"


def test_huge_output_is_truncated(pipeline):
    for case in (c for c in CASES if c.student == "huge_output"):
        size = pipeline.path("feedback", case.assignment, case.student, ".html").stat().st_size
        assert "Output truncated" in pipeline.feedback(case.assignment, case.student)
        assert size < 2_000_000, f"{case.id}: feedback is {size} bytes"


def test_deleted_test_cell_is_put_back_and_run(pipeline):
    for case in (c for c in CASES if c.student == "deleted_test"):
        assert "was missing from the submission" in pipeline.feedback(case.assignment,
                                                                        case.student)


# --- what nbgrader does with what it cannot grade ----------------------------------------

def _why_nbgrader_gave_up(pipeline, aid, student, lines=60):
    """Why nbgrader gave up on one submission: the traceback it logs right after
    "There was an error processing assignment: .../<student>/<aid>" (its summary at the
    end of the run names the student but not the reason)."""
    log = pipeline.runs[f"autograde {pipeline.roots[aid].name}"].log.splitlines()
    where = f"{student}{os.sep}{aid}"
    start = next((i for i, line in enumerate(log)
                  if "error processing assignment:" in line and where in line), None)
    if start is None:
        return f"(nothing logged for {where}; the log ends:)\n" + "\n".join(log[-lines:])
    return "\n".join(log[max(0, start - 3):start + lines])


def test_ungradable_submissions_are_reported_and_get_no_feedback(pipeline):
    expected = {(c.assignment, c.student) for c in CASES if c.fails}
    why = "\n\n".join(_why_nbgrader_gave_up(pipeline, aid, student)
                       for aid, student in sorted(pipeline.failed - expected))
    assert pipeline.failed == expected, why
    for aid, student in expected:
        assert "Traceback" in _why_nbgrader_gave_up(pipeline, aid, student)   # the reason, found
        assert pipeline.feedback(aid, student) is None
        assert not pipeline.path("autograded", aid, student).exists()


def test_ungradable_submissions_wait_for_the_instructor(pipeline):
    # the submission stays in the gradebook, every cell ungraded, flagged for grading
    failed = {(s, a) for a, s in pipeline.failed}
    assert pipeline.flagged == failed
    for key in failed:
        assert set(pipeline.cells[key].values()) == {None}, key


def test_autograde_exit_code_reports_failures(pipeline):
    for root in set(pipeline.roots.values()):
        run = pipeline.runs[f"autograde {root.name}"]
        has_failures = any(pipeline.roots[a] == root for a, _ in pipeline.failed)
        assert run.returncode == (1 if has_failures else 0), run.log[-3000:]


def test_timeout_interrupts_the_cell_and_grading_goes_on(pipeline):
    timeout = h.configured_timeout()
    for case in (c for c in CASES if c.student == "infinite_loop"):
        log = pipeline.runs[f"autograde {pipeline.roots[case.assignment].name}"].log
        assert f"Timeout waiting for execute reply ({timeout}s)" in log
        nb = pipeline.path("autograded", case.assignment, case.student).read_text()
        assert "CellTimeoutError" in nb and "KeyboardInterrupt" in nb


# --- code that reaches into the grading machinery -------------------------------------------

def test_tampering_is_flagged_in_the_autograde_log(pipeline):
    expected = {(c.assignment, c.student) for c in CASES
                if c.cheats or c.student == "numpy_patched"}
    assert pipeline.suspects == expected


@pytest.mark.xfail(strict=True, reason="code in the notebook can replace a check in "
                   "autograded_tests; nbgrader cannot stop it (FlagTampering logs it)")
@pytest.mark.parametrize("case", [c for c in CASES if c.cheats], ids=lambda c: c.id)
def test_replaced_checks_earn_nothing(pipeline, case):
    assert pipeline.total(case.assignment, case.student) == 0

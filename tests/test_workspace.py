"""The learner's workspace (`make course`) and self-check (`make check ps02`).

Everything runs on temporary copies: a copy of the repository's course/, source/ and
nbgrader_config.py is the "repository", and the workspace is built from it into another
temporary folder.  nbgrader's release runs once for the module (and once more where the
source changes); the self-check runs nbgrader autograde on a few edited notebooks.

    .venv/bin/python -m pytest tests/test_workspace.py -q
"""
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install -e '.[course]')")
nbformat = pytest.importorskip("nbformat")

import nbgrader_harness as h  # noqa: E402
from autograded_tests import selfcheck, workspace  # noqa: E402
from browser_helpers import LabServer  # noqa: E402
from submissions import ps02_cell as ps02_samples  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted(p.name for p in (REPO / "course").glob("*.ipynb"))
ASSIGNMENTS = selfcheck.assignments(REPO)
PS02 = "ps02_cell"
MISCONCEPTION = "transposed_kernel"      # a sample submission in tests/submissions/ps02_cell.py
LINK_RE = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")

pytestmark = pytest.mark.slow


class Console(list):
    """Collects what the workspace builder prints."""

    def __call__(self, line):
        self.append(line)

    @property
    def text(self):
        return "\n".join(self)


def build(ws, repo):
    console = Console()
    workspace.build(ws, repo, log=console)
    return console


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return workspace.copy_course(REPO, tmp_path_factory.mktemp("repo"))


@pytest.fixture(scope="module")
def built(repo, tmp_path_factory):
    """A workspace built once from the repository copy: (path, console, seconds)."""
    ws = tmp_path_factory.mktemp("first") / "workspace"
    start = time.perf_counter()
    console = build(ws, repo)
    return ws, console, time.perf_counter() - start


def fresh_copy(built, tmp_path):
    """A copy of the built workspace that a test may edit."""
    ws = tmp_path / "workspace"
    shutil.copytree(built[0], ws)
    return ws


def read(path):
    return nbformat.read(str(path), as_version=4)


def write(nb, path):
    nbformat.write(nb, str(path))


def append_markdown(path, text):
    nb = read(path)
    nb.cells.append(nbformat.v4.new_markdown_cell(text))
    write(nb, path)


# --- the layout ----------------------------------------------------------------------------

def test_first_build_has_every_lesson_and_assignment(built):
    ws, console, seconds = built
    assert sorted(p.name for p in (ws / "course").glob("*.ipynb")) == LESSONS
    for aid in ASSIGNMENTS:
        assert (ws / "assignments" / aid / f"{aid}.ipynb").is_file(), aid
    assert "Generating the student versions" in console.text
    print(f"\nfirst build: {seconds:.1f} s")


@pytest.mark.parametrize("lesson", LESSONS)
def test_lessons_are_copies(built, repo, lesson):
    assert (built[0] / "course" / lesson).read_bytes() == (repo / "course" / lesson).read_bytes()


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_assignments_are_the_student_release(built, repo, aid):
    """No solution, no hidden test, every solution cell a stub, test cells kept."""
    text = (built[0] / "assignments" / aid / f"{aid}.ipynb").read_text()
    source = read(repo / "source" / aid / f"{aid}.ipynb")
    release = read(built[0] / "assignments" / aid / f"{aid}.ipynb")
    for marker in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
        assert marker not in text
    for line in h.hidden_tests(source):
        assert line not in text, f"hidden test line in the student version: {line!r}"
    stubs = [c.source for c in release.cells if h.is_solution_code(c)]
    assert stubs and all("raise NotImplementedError()" in s for s in stubs)
    assert h.test_points(release) == h.test_points(source)


def test_second_build_changes_nothing_and_skips_nbgrader(built, tmp_path, repo):
    ws = fresh_copy(built, tmp_path)
    before = {p: p.stat().st_mtime_ns for p in ws.rglob("*.ipynb")}
    start = time.perf_counter()
    console = build(ws, repo)
    seconds = time.perf_counter() - start
    assert "Generating" not in console.text and "up to date" in console.text
    assert {p: p.stat().st_mtime_ns for p in ws.rglob("*.ipynb")} == before
    assert seconds < 5, f"an up-to-date workspace took {seconds:.1f} s"


# --- the learner's edits are never lost ----------------------------------------------------

def test_edits_are_kept_and_untouched_files_updated(built, tmp_path):
    repo = workspace.copy_course(REPO, tmp_path / "repo")
    ws = fresh_copy(built, tmp_path)
    lesson2, lesson3 = ws / "course" / LESSONS[1], ws / "course" / LESSONS[2]
    ps02 = ws / "assignments" / PS02 / f"{PS02}.ipynb"
    other = next(a for a in ASSIGNMENTS if a != PS02)
    untouched = ws / "assignments" / other / f"{other}.ipynb"

    # The learner edits lesson 2 and ps02, and runs lesson 3 (outputs are not an edit).
    nb = read(lesson2)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    first_code.source += "\n# my own note"
    write(nb, lesson2)
    nb = read(ps02)
    cell = next(c for c in nb.cells if h.is_solution_code(c))
    cell.source = "def simple_rnn_step(*args):\n    return 'my attempt'"
    write(nb, ps02)
    nb = read(lesson3)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.execution_count = 1
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
    write(nb, lesson3)
    mine = {p: p.read_bytes() for p in (lesson2, ps02)}

    # The course changes: both lessons, ps02 and another assignment.
    for path in (repo / "course" / LESSONS[1], repo / "course" / LESSONS[2],
                 repo / "source" / PS02 / f"{PS02}.ipynb",
                 repo / "source" / other / f"{other}.ipynb"):
        append_markdown(path, "A sentence added by the course's authors.")
    console = build(ws, repo)

    assert {p: p.read_bytes() for p in mine} == mine, "the learner's edits were overwritten"
    for path in (lesson3, untouched):
        assert read(path).cells[-1].source == "A sentence added by the course's authors.", path
    for path in mine:
        side = path.with_name(f"{path.stem}.updated.ipynb")
        assert read(side).cells[-1].source == "A sentence added by the course's authors."
        rel_path, rel_side = (str(p.relative_to(ws)) for p in (path, side))
        assert f"kept your edited {rel_path}; the new version is {rel_side}" in console.text
    assert "Generating the student versions" in console.text
    assert "2 updated, 2 kept" in console.text

    # Once more with nothing new: nothing written, nothing said again.
    before = {p: p.stat().st_mtime_ns for p in ws.rglob("*.ipynb")}
    console = build(ws, repo)
    assert "kept your edited" not in console.text and "Generating" not in console.text
    assert {p: p.stat().st_mtime_ns for p in ws.rglob("*.ipynb")} == before
    assert {p: p.read_bytes() for p in mine} == mine


def test_an_edited_updated_copy_is_kept_too(built, tmp_path):
    """Lessons only: source/ is unchanged, so nbgrader does not run again."""
    repo = workspace.copy_course(REPO, tmp_path / "repo")
    ws = fresh_copy(built, tmp_path)
    lesson = ws / "course" / LESSONS[0]
    side = lesson.with_name(f"{lesson.stem}.updated.ipynb")
    append_markdown(lesson, "my notes")
    append_markdown(repo / "course" / LESSONS[0], "first change")
    build(ws, repo)
    append_markdown(side, "my notes in the new version")
    mine = {p: p.read_bytes() for p in (lesson, side)}
    append_markdown(repo / "course" / LESSONS[0], "second change")
    console = build(ws, repo)
    assert {p: p.read_bytes() for p in mine} == mine
    assert f"you edited both; to get the course's newer version, rename {side.relative_to(ws)}" \
        in console.text
    assert "Generating" not in console.text


def test_a_deleted_notebook_comes_back(built, tmp_path, repo):
    ws = fresh_copy(built, tmp_path)
    for rel in (f"course/{LESSONS[0]}", f"assignments/{PS02}/{PS02}.ipynb"):
        (ws / rel).unlink()
    console = build(ws, repo)
    assert (ws / "course" / LESSONS[0]).read_bytes() == (repo / "course" / LESSONS[0]).read_bytes()
    assert (ws / "assignments" / PS02 / f"{PS02}.ipynb").read_bytes() == \
        (built[0] / "assignments" / PS02 / f"{PS02}.ipynb").read_bytes()
    assert "2 new" in console.text


@pytest.mark.parametrize("name, data, same", [
    ("a.ipynb", '{"cells": [{"cell_type": "code", "source": ["x = 1"], "outputs": [1]}]}', True),
    ("a.ipynb", '{"cells": [{"cell_type": "code", "source": ["x = 2"], "outputs": []}]}', False),
    ("a.ipynb", '{"cells": [{"cell_type": "markdown", "source": ["x = 1"]}]}', False),
    ("a.ipynb", "not json", False),
    ("a.md", "x = 1", False),
], ids=["outputs-ignored", "source-edited", "cell-type-changed", "invalid-json", "other-file"])
def test_fingerprint_sees_sources_not_outputs(name, data, same):
    base = '{"cells": [{"cell_type": "code", "source": ["x = 1"], "outputs": []}]}'
    assert (workspace.fingerprint(name, data.encode())
            == workspace.fingerprint("a.ipynb", base.encode())) is same


# --- links -------------------------------------------------------------------------------

def relative_links(path):
    """(cell or line, target) of every markdown link to a local .ipynb or .md file."""
    if path.suffix == ".ipynb":
        texts = [c.source for c in read(path).cells if c.cell_type == "markdown"]
    else:
        texts = [path.read_text()]
    for text in texts:
        for target in LINK_RE.findall(text):
            file = target.split("#")[0]
            if file.endswith((".ipynb", ".md")) and not re.match(r"^[a-z]+://", file):
                yield file


def workspace_documents(ws):
    return sorted(p for p in ws.rglob("*") if p.suffix in (".ipynb", ".md")
                  and ".jupyter" not in p.parts and not p.stem.endswith(".updated"))


def test_every_relative_link_resolves_in_the_workspace(built):
    ws = built[0]
    broken, seen = [], 0
    for doc in workspace_documents(ws):
        for target in relative_links(doc):
            seen += 1
            if not (doc.parent / target).resolve().is_file():
                broken.append(f"{doc.relative_to(ws)} -> {target}")
    assert not broken, "broken links:\n" + "\n".join(broken)
    assert seen >= len(ASSIGNMENTS), f"only {seen} links found"


def test_no_link_leads_a_learner_into_the_solutions(built):
    ws = built[0]
    for doc in workspace_documents(ws):
        for target in relative_links(doc):
            resolved = (doc.parent / target).resolve()
            assert resolved.is_relative_to(ws.resolve()), f"{doc.relative_to(ws)} -> {target}"


def resolved_links(doc):
    return [(doc.parent / t).resolve() for t in relative_links(doc)]


@pytest.mark.parametrize("lesson", LESSONS)
def test_each_lesson_links_to_an_assignment_and_the_next_lesson(built, lesson):
    ws = built[0].resolve()
    targets = resolved_links(ws / "course" / lesson)
    assert any(t.is_relative_to(ws / "assignments") for t in targets), \
        f"{lesson} has no 'Your turn' link into ../assignments/"
    later = LESSONS[LESSONS.index(lesson) + 1:]
    if later:
        assert ws / "course" / later[0] in targets, f"{lesson} does not link to {later[0]}"


def test_every_assignment_is_reached_from_a_lesson(built):
    ws = built[0].resolve()
    reached = {t for lesson in LESSONS for t in resolved_links(ws / "course" / lesson)}
    for aid in ASSIGNMENTS:
        assert ws / "assignments" / aid / f"{aid}.ipynb" in reached, aid


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_each_assignment_links_back_to_a_lesson(built, aid):
    targets = resolved_links(built[0] / "assignments" / aid / f"{aid}.ipynb")
    assert any(t.parent == (built[0] / "course").resolve() for t in targets), targets


# --- the student's nbgrader tools ----------------------------------------------------------

def test_workspace_config_disables_the_instructors_tools(built):
    config = built[0] / ".jupyter"
    page = json.loads((config / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"] == dict.fromkeys(workspace.INSTRUCTOR_PLUGINS, True)
    server = json.loads((config / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == dict.fromkeys(
        workspace.INSTRUCTOR_SERVER_EXTENSIONS, False)


def labextension_list(config_dir):
    run = subprocess.run([str(Path(sys.executable).with_name("jupyter")), "labextension", "list"],
                         env=workspace.nbgrader_env(config_dir.parent) | {
                             "JUPYTER_CONFIG_DIR": str(config_dir)},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    text = run.stdout + run.stderr
    return text[text.index("Disabled extensions:"):] if "Disabled extensions:" in text else ""


def test_nbgraders_plugin_ids_are_the_installed_ones():
    """The ids we disable exist in the installed nbgrader labextension."""
    static = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader"
    code = "".join(p.read_text(errors="replace") for p in static.rglob("*.js"))
    for plugin in (*workspace.INSTRUCTOR_PLUGINS, "@jupyter/nbgrader:validate-assignment",
                   "@jupyter/nbgrader:assignment-list"):
        assert f'"{plugin}"' in code, plugin


def test_jupyter_lists_the_instructor_plugins_as_disabled_in_the_workspace(built, tmp_path):
    disabled = labextension_list(built[0] / ".jupyter")
    for plugin in workspace.INSTRUCTOR_PLUGINS:
        assert plugin in disabled
    for plugin in ("validate-assignment", "assignment-list"):
        assert plugin not in disabled
    # the instructor's set-up (no workspace config) keeps every nbgrader tool
    assert "nbgrader" not in labextension_list(tmp_path / "instructor-config")


@pytest.fixture(scope="module")
def labs(built, repo, tmp_path_factory):
    """JupyterLab on a copy of the workspace with its config, and (the instructor) on the
    repository copy with an empty config."""
    home = tmp_path_factory.mktemp("labs")
    ws = home / "workspace"
    shutil.copytree(built[0], ws)
    servers = {}
    try:
        servers["learner"] = LabServer(ws, home / "learner", config_dir=ws / ".jupyter")
        servers["instructor"] = LabServer(repo, home / "instructor")
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def test_the_learners_lab_has_the_student_tools_only(labs):
    disabled = labs["learner"].page_config()["disabledExtensions"]
    assert set(workspace.INSTRUCTOR_PLUGINS) <= set(disabled)
    assert not {"@jupyter/nbgrader:validate-assignment",
                "@jupyter/nbgrader:assignment-list"} & set(disabled)
    assert labs["learner"].get("/formgrader")[0] == 404
    assert labs["learner"].get("/formgrader/api/assignments")[0] == 404


def test_the_instructors_lab_keeps_the_formgrader(labs):
    disabled = labs["instructor"].page_config()["disabledExtensions"]
    assert not [p for p in disabled if "nbgrader" in p]
    assert labs["instructor"].get("/formgrader")[0] != 404


# --- the self-check ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checked(built, repo, tmp_path_factory):
    """The self-check's report and text for edited ps02 notebooks in a workspace copy:
    the reference answers, a known misconception, and the untouched release."""
    ws = tmp_path_factory.mktemp("checked") / "workspace"
    shutil.copytree(built[0], ws)
    notebook = ws / "assignments" / PS02 / f"{PS02}.ipynb"
    source, release = read(repo / "source" / PS02 / f"{PS02}.ipynb"), read(notebook)
    variant = ps02_samples.VARIANTS[MISCONCEPTION]
    edits = {"reference": h.submission(release, source),
             MISCONCEPTION: h.submission(release, source, variant["cells"]),
             "untouched": release}
    hidden = selfcheck.hidden_lines(json.loads((repo / "source" / PS02 / f"{PS02}.ipynb").read_text()))
    results = {}
    for name, nb in edits.items():
        path = ws / "assignments" / PS02 / f"{name}.ipynb"
        write(nb, path)
        start = time.perf_counter()
        report = selfcheck.grade(path, PS02, repo)
        results[name] = (report, selfcheck.render(report, hidden), time.perf_counter() - start)
    print("\nself-check seconds: " + ", ".join(f"{k} {v[2]:.1f}" for k, v in results.items()))
    return results


def test_reference_answers_get_full_marks(checked):
    report, text, _ = checked["reference"]
    assert (report.score, report.max_score) == (ps02_samples.AUTOGRADED_POINTS,) * 2
    assert "full marks" in text and "FAILED" not in text


def test_a_misconception_gets_partial_marks_and_is_named(checked):
    report, text, _ = checked[MISCONCEPTION]
    variant = ps02_samples.VARIANTS[MISCONCEPTION]
    assert report.score == variant["score"] < report.max_score
    for phrase in variant["feedback"]:
        assert phrase in text
    assert "Part A (3 points): 0 / 3 autograded points" in text


def test_untouched_release_gets_nothing(checked):
    report, text, _ = checked["untouched"]
    assert report.score == 0 and report.max_score == ps02_samples.AUTOGRADED_POINTS
    assert "NotImplementedError" in text


def test_report_shows_the_parts_with_their_points(checked):
    text = checked[MISCONCEPTION][1]
    headings = [c.source.splitlines()[0][3:] for c in read(
        h.REPO / "source" / PS02 / f"{PS02}.ipynb").cells
        if c.cell_type == "markdown" and c.source.startswith("## Part")]
    assert headings and all(re.search(rf"^{re.escape(t)}: \d+ / \d+ autograded", text, re.M)
                            for t in headings), text
    assert "written answer" in text


@pytest.mark.parametrize("case", ["reference", MISCONCEPTION, "untouched"])
def test_self_check_never_shows_a_hidden_test(checked, repo, case):
    text = checked[case][1]
    source = read(repo / "source" / PS02 / f"{PS02}.ipynb")
    hidden = h.hidden_tests(source)
    assert hidden
    for line in hidden:
        assert line not in text
    for cell in source.cells:                 # nor any test cell's code, nor a solution
        if h.is_test(cell) or h.is_solution_code(cell):
            for line in cell.source.splitlines():
                if len(line.strip()) > 12:
                    assert line.strip() not in text, line


def test_a_notebook_nbgrader_cannot_read_is_reported_not_crashed(repo, tmp_path):
    broken = tmp_path / f"{PS02}.ipynb"
    broken.write_text('{"cells": [ half a notebook')
    report = selfcheck.grade(broken, PS02, repo)
    text = selfcheck.render(report)
    assert report.score == 0 and "NotJSONError" in report.error
    assert "nbgrader could not grade this notebook" in text and "FAILED" not in text


def test_scrub_removes_hidden_lines():
    hidden = {"checks.check_x(f, hidden=True)"}
    text = "Part A\n  >>> checks.check_x(f, hidden=True)\nAssertionError: no"
    assert selfcheck.scrub(text, hidden) == "Part A\nAssertionError: no"


def test_the_command_line_checks_a_workspace_notebook(built, repo, tmp_path):
    """`unrolled-check ps02 --workspace ...` as a learner types it (the script pip installs)."""
    ws = fresh_copy(built, tmp_path)
    notebook = ws / "assignments" / PS02 / f"{PS02}.ipynb"
    write(h.submission(read(notebook), read(repo / "source" / PS02 / f"{PS02}.ipynb"),
                       ps02_samples.VARIANTS["bias_missing"]["cells"]), notebook)
    script = Path(sys.executable).with_name("unrolled-check")
    assert script.exists(), "pip install -e . installs the unrolled-check script"
    run = subprocess.run([str(script), "ps02", "--workspace", str(ws), "--repo", str(repo)],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    assert "Misconception: bias missing" in run.stdout
    assert f"Total: {ps02_samples.VARIANTS['bias_missing']['score']} / 10" in run.stdout


def test_make_course_builds_the_workspace_then_opens_it_with_its_config():
    run = subprocess.run(["make", "-n", "course"], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    build = next(i for i, line in enumerate(lines)
                 if "-m autograded_tests.workspace --workspace workspace" in line)
    lab = next(i for i, line in enumerate(lines) if "jupyter lab" in line)
    assert build < lab
    assert re.search(rf'JUPYTER_CONFIG_DIR="{re.escape(str(REPO))}/workspace/\.jupyter" '
                     r"\S+/jupyter lab .*workspace/$", lines[lab]), lines[lab]


def test_make_check_passes_the_assignment_to_the_self_check():
    run = subprocess.run(["make", "-n", "check", "ps02"], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert re.search(r"unrolled-check --workspace workspace ps02$", run.stdout, re.M), run.stdout


@pytest.mark.parametrize("name, path", [
    ("ps02", "ws/assignments/ps02_cell/ps02_cell.ipynb"),
    ("ps02_cell", "ws/assignments/ps02_cell/ps02_cell.ipynb"),
    ("ws/assignments/ps02_cell/ps02_cell.updated.ipynb", None),
    ("elsewhere/my_ps02_cell_try.ipynb", None),
    ("ps02_cell/attempt.ipynb", None),
], ids=["prefix", "id", "updated-copy", "renamed", "in-its-folder"])
def test_resolve_finds_the_assignment(name, path):
    assert selfcheck.resolve(name, "ws") == (PS02, Path(path or name))


def test_unknown_assignment_names_the_choices(tmp_path):
    with pytest.raises(SystemExit, match="choose one of ps01_timesteps"):
        selfcheck.resolve("ps99", tmp_path)

"""Self-check: grade your own notebook as the instructor's ``nbgrader autograde`` would.

    make check ps02                          # in the repository's folder
    .venv/bin/unrolled-check ps02            # the same (the script pip installs)
    unrolled-check path/to/ps02_cell.ipynb   # any copy of an assignment notebook
    make check                               # every assignment in workspace/assignments/

Your notebook is copied as a submission into a temporary copy of the course, and
nbgrader's own ``autograde`` runs it in a fresh kernel with every test, the hidden ones
included.  The report gives the points of each part and, for each failed test, the
check's message (what was expected, what came back, and the misconception when your
answer matches a known one).  It never shows a test cell's code: a line of a hidden test
is removed from anything printed.  Written answers are graded by a person, not here.
"""
import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograded_tests.workspace import REPO, run_nbgrader, temporary_course

STUDENT = "you"
HIDDEN_RE = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
NOT_ANSWERED = "NotImplementedError"


@dataclass
class Test:
    """One graded cell: an autograded test, or a written answer (``points`` by hand)."""
    grade_id: str
    points: float
    score: float = None          # None for a written answer
    message: str = ""            # the failed check's message, "" when it passed

    def __repr__(self):
        return f"Test({self.grade_id}, {self.score}/{self.points})"


@dataclass
class Part:
    title: str
    tests: list = field(default_factory=list)

    def __repr__(self):
        return f"Part({self.title!r}, {len(self.tests)} graded cells)"


@dataclass
class Report:
    assignment: str
    notebook: Path
    parts: list
    error: str = ""              # why nbgrader could not grade the notebook, if it could not

    @property
    def auto(self):
        return [t for p in self.parts for t in p.tests if t.score is not None]

    @property
    def score(self):
        return sum(t.score for t in self.auto)

    @property
    def max_score(self):
        return sum(t.points for t in self.auto)

    def __repr__(self):
        return f"Report({self.assignment}, {self.score:g}/{self.max_score:g})"


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _text(cell):
    return "".join(cell.get("source", ""))


def hidden_lines(source_nb):
    """Every non-blank line of the hidden tests of an instructor notebook (JSON dict)."""
    return {line.strip() for cell in source_nb["cells"]
            for block in HIDDEN_RE.findall(_text(cell)) for line in block.splitlines()
            if line.strip()}


def scrub(text, hidden):
    """``text`` without any line that holds a line of a hidden test."""
    return "\n".join(line for line in text.splitlines()
                     if not any(h in line for h in hidden))


def failure_message(cell):
    """A test cell's error as the feedback shows it: ``Name: message`` (no traceback)."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            ename, evalue = out.get("ename", "Error"), ANSI_RE.sub("", out.get("evalue", ""))
            if ename == NOT_ANSWERED:
                return "not answered yet: the solution cell still raises NotImplementedError"
            return f"{ename}: {evalue}".strip()
    return ""


def parts_of(graded_nb, scores):
    """Graded cells grouped under the notebook's '## ...' headings, in notebook order."""
    parts = [Part("(before the first part)")]
    for cell in graded_nb["cells"]:
        meta, text = _meta(cell), _text(cell)
        if cell["cell_type"] == "markdown" and not meta.get("grade") and text.startswith("## "):
            parts.append(Part(text.splitlines()[0][3:].strip()))
        elif meta.get("grade"):
            gid = meta["grade_id"]
            written = bool(meta.get("solution"))
            parts[-1].tests.append(Test(
                gid, float(meta.get("points", 0)),
                None if written else float(scores.get(gid) or 0.0),
                "" if written else failure_message(cell)))
    return [p for p in parts if p.tests]


def gradebook_scores(course, assignment):
    """{grade_id: autograded score} of the one submission in the temporary course."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "unrolled") as gb:
        sub = gb.find_submission(assignment, STUDENT)
        return {g.name: g.auto_score for nb in sub.notebooks for g in nb.grades}


def grade(notebook, assignment, repo=REPO):
    """Autograde ``notebook`` as a submission for ``assignment``: a Report."""
    notebook, repo = Path(notebook), Path(repo)
    with temporary_course(repo, assignment) as course:
        target = course / "submitted" / STUDENT / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True)
        target.write_bytes(notebook.read_bytes())
        code, log = run_nbgrader(course, "autograde", assignment, "--force")
        graded = course / "autograded" / STUDENT / assignment / f"{assignment}.ipynb"
        if code != 0 or not graded.exists():
            release = json.loads((course / "release" / assignment / f"{assignment}.ipynb").read_text())
            return Report(assignment, notebook, parts_of(release, {}), why_not_graded(log))
        return Report(assignment, notebook, parts_of(json.loads(graded.read_text()),
                                                      gradebook_scores(course, assignment)))


def why_not_graded(log):
    """The last exception nbgrader's log reports (one line: no traceback, no cell code)."""
    errors = re.findall(r"^\s*((?:\w+\.)*\w*(?:Error|Exception|Exit|Interrupt)\b.*)$", log, re.M)
    return errors[-1].strip()[:300] if errors else "nbgrader autograde failed"


def render(report, hidden=()):
    """The report as text; nothing in it holds a line of a hidden test."""
    lines = [f"Self-check of {report.notebook}",
             "  (graded by nbgrader autograde in a fresh kernel, hidden tests included)", ""]
    if report.error:
        lines += ["nbgrader could not grade this notebook (0 points, as in a class):",
                  *("  " + line for line in report.error.splitlines()),
                  "Does it run from top to bottom in a fresh kernel (Kernel > Restart Kernel "
                  "and Run All Cells)?", ""]
    for part in report.parts:
        auto = [t for t in part.tests if t.score is not None]
        got, out_of = sum(t.score for t in auto), sum(t.points for t in auto)
        lines.append(f"{part.title}: {got:g} / {out_of:g} autograded points" if auto
                     else part.title)
        for t in part.tests:
            if t.score is None:
                lines.append(f"  {t.grade_id:<32} written answer, {t.points:g} points: "
                             "graded by a person, not by the self-check")
                continue
            mark = "not graded" if report.error else "ok" if t.score == t.points else "FAILED"
            lines.append(f"  {t.grade_id:<32} {t.score:g} / {t.points:g}  {mark}")
            lines += ["      " + m for m in t.message.splitlines()]
        lines.append("")
    lines.append(f"Total: {report.score:g} / {report.max_score:g} autograded points"
                 + (" - full marks." if report.score == report.max_score and not report.error
                    else "."))
    return scrub("\n".join(lines), hidden)


def assignments(repo=REPO):
    return sorted(p.name for p in (Path(repo) / "source").iterdir()
                  if (p / f"{p.name}.ipynb").exists())


def resolve(name, workspace, repo=REPO):
    """(assignment id, notebook path) for 'ps02', 'ps02_cell' or a notebook's path."""
    known = assignments(repo)
    if name.endswith(".ipynb"):
        path = Path(name)                     # e.g. ps02_cell.updated.ipynb, my_ps02_cell.ipynb
        found = [a for a in known if a in path.stem or a == path.parent.name]
        if len(found) != 1:
            raise SystemExit(f"{name}: which assignment is it? The file's name or folder must "
                             f"hold one of {', '.join(known)}")
        return found[0], path
    matches = [a for a in known if a == name or a.startswith(name + "_")]
    if len(matches) != 1:
        raise SystemExit(f"unknown assignment {name!r}: choose one of {', '.join(known)}")
    return matches[0], Path(workspace) / "assignments" / matches[0] / f"{matches[0]}.ipynb"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="unrolled-check", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="ps02, ps02_cell or a notebook's path (default: every assignment)")
    parser.add_argument("--workspace", default=str(REPO / "workspace"),
                        help="the workspace `make course` built (default: %(default)s)")
    parser.add_argument("--repo", default=str(REPO), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names = args.assignments or assignments(args.repo)
    status = 0
    for name in names:
        aid, path = resolve(name, args.workspace, args.repo)
        if not path.exists():
            print(f"{path} does not exist: run `make course` first, which creates it.")
            status = 1
            continue
        source = json.loads((Path(args.repo) / "source" / aid / f"{aid}.ipynb").read_text())
        report = grade(path, aid, args.repo)
        print(render(report, hidden_lines(source)), end="\n\n", flush=True)
        status = status or (1 if report.error else 0)
    return status


if __name__ == "__main__":
    sys.exit(main())

"""nbgrader configuration for the Unrolled course (nbgrader 0.9).

The repository root is the course directory: instructor notebooks in source/<id>/<id>.ipynb;
nbgrader writes release/, submitted/, autograded/, feedback/ and gradebook.db beside them
(all git-ignored). docs/instructors.md walks through release, collect, autograde, feedback
and export; tests/test_nbgrader_pipeline.py checks every setting below end to end.
"""
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor

import os
import re

from traitlets import List

from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearOutput,
                                    DeduplicateIds, GetGrades, NbGraderPreprocessor,
                                    OverwriteCells, OverwriteKernelspec)

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

# --- the course -------------------------------------------------------------------
c.CourseDirectory.course_id = "unrolled"
# Never copy caches or checkpoints into release/, the exchange or autograded/.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            ".pytest_cache", ".DS_Store"]
# Size limits stay at nbgrader's 100 MB (max_file_size, max_dir_size): the exchange leaves
# a larger FILE out of a submission with only a log warning, so a lower limit could drop a
# student's notebook that is full of outputs without telling them.

# --- autograding ------------------------------------------------------------------
# Every cell gets 30 s (the checks run tiny NumPy arrays in well under a second). On a
# timeout nbgrader interrupts the kernel, records a CellTimeoutError in that cell (0 points
# for a test cell) and carries on with the next cell.
c.Execute.timeout = 30
c.Execute.interrupt_on_timeout = True
# Patience for a busy grading machine (many kernels on few cores): a kernel may take long
# to start, and a finished cell's last output may arrive late. nbclient's defaults (60 s,
# 4 s) made an ordinary notebook fail now and then when the machine was loaded.
c.Execute.startup_timeout = 120
c.Execute.iopub_timeout = 15
# A deleted test cell is put back from the gradebook and run, so every submission is
# graded by every test (by default nbgrader leaves it out of the graded notebook).
c.OverwriteCells.add_missing_cells = True


class FlagTampering(NbGraderPreprocessor):
    """Autograde warns about solution code that reaches into the grading machinery.

    Code in a notebook runs in the same kernel as the tests, so it can replace a check
    (``setattr`` on the checks module, ``sys.modules``) or numpy's comparisons; nbgrader
    cannot prevent that. The log line "Possible tampering: ..." names the student and the
    cell for an instructor to read; the score is left alone.
    """

    patterns = List([
        r"\bautograded_tests\b", r"\bsys\.modules\b", r"\bsetattr\s*\(", r"\bbuiltins\b",
        r"\bimportlib\b", r"\b__dict__\b", r"^\s*(np|numpy)\.[\w.]+\s*=[^=]",
    ], help="Regular expressions that flag a solution cell").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            hits = [p for p in self.patterns if re.search(p, cell.source, re.M)]
            if hits:
                who = resources.get("nbgrader", {})
                self.log.warning("Possible tampering: student '%s', assignment '%s', cell '%s' "
                                 "matches %s", who.get("student"), who.get("assignment"),
                                 meta.get("grade_id"), hits)
        return cell, resources


c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata,
    FlagTampering,
]
# Keep graded notebooks small whatever a student prints: at most 1000 lines of stream
# output per cell and 100 traceback lines.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100


# --- feedback ---------------------------------------------------------------------
class ShortTestTracebacks(NbGraderPreprocessor):
    """Feedback shows a failed test cell's error as one line, ``AssertionError: message``.

    A full traceback quotes the lines around the failing call, which in a test cell may
    be a hidden test; the check's message (what was expected, what came back, a hint,
    the misconception) is the part a student needs.
    """

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"\x1b[0;31m{output.ename}\x1b[0m: {output.evalue}"]
        return cell, resources


# nbgrader 0.9 builds feedback from the autograded notebook, where the test cells hold
# their full source again (hidden tests included): clear the hidden regions, shorten the
# tracebacks, then grade and style as nbgrader does by default.
c.GenerateFeedback.preprocessors = [
    GetGrades,
    ClearHiddenTests,
    ShortTestTracebacks,
    CSSHTMLHeaderPreprocessor,
]

# --- the exchange (JupyterHub) ------------------------------------------------------
# Always set, so release_assignment never writes to nbgrader's built-in default
# (/usr/local/share/nbgrader/exchange).  The class's hub (jupyterhub/) gives every server
# the same folder through UNROLLED_EXCHANGE; the folder must exist, mode 1777 (writable by
# everyone, sticky bit): see docs/instructors.md.
c.Exchange.root = os.environ.get("UNROLLED_EXCHANGE", "/srv/nbgrader/exchange")
c.Exchange.timezone = "UTC"

# --- collecting from an LMS download (nbgrader zip_collect) --------------------------
# Put the LMS's files (or its zip) in downloaded/<assignment id>/archive/. A file named
# "<student_id>_<anything>_<assignment id>.ipynb", e.g. "jdoe_12345_67890_ps02_cell.ipynb",
# goes to submitted/jdoe/ps02_cell/ps02_cell.ipynb. The regexp sees the file's full path.
c.ZipCollectApp.archive_directory = "archive"
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>[^/_]+)_(?:[^/]*_)?(?P<file_id>ps\d\d_[a-z]+\.ipynb)$"
)

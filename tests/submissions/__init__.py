"""Sample submissions for the end-to-end nbgrader test, one module per assignment.

Each module ``tests/submissions/<assignment id>.py`` defines::

    ASSIGNMENT = "ps02_cell"          # = the module name = source/<id>/<id>.ipynb
    AUTOGRADED_POINTS = 10            # what the reference solution scores
    VARIANTS = {                      # student name -> a wrong solution
        "zero_state": dict(cells={"simple_rnn_step": "def simple_rnn_step(...): ..."},
                           score=6, feedback=["Misconception: zero state instead of h0"]),
    }

``cells`` replaces solution cells (by grade_id); every other solution cell keeps the
reference solution. ``score`` is the exact autograded total, ``feedback`` the phrases that
must appear in that student's feedback. :func:`load_all` imports every module and checks
this shape, so a typo fails loudly instead of silently grading nothing.
"""
import importlib
import pkgutil


def _check(module):
    name = module.__name__.rsplit(".", 1)[-1]
    problems = []
    if getattr(module, "ASSIGNMENT", None) != name:
        problems.append(f"ASSIGNMENT must be {name!r}")
    if not isinstance(getattr(module, "AUTOGRADED_POINTS", None), (int, float)):
        problems.append("AUTOGRADED_POINTS must be a number")
    variants = getattr(module, "VARIANTS", None)
    if not isinstance(variants, dict):
        problems.append("VARIANTS must be a dict")
        variants = {}
    for student, spec in variants.items():
        missing = {"cells", "score", "feedback"} - set(spec)
        if missing:
            problems.append(f"variant {student!r} lacks {sorted(missing)}")
        elif not isinstance(spec["cells"], dict) or isinstance(spec["feedback"], str):
            problems.append(f"variant {student!r}: cells is a dict, feedback a list of phrases")
    if problems:
        raise ValueError(f"tests/submissions/{name}.py: " + "; ".join(problems))
    return module


def load_all():
    """{assignment id: module} for every module in this package, checked."""
    modules = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            module = _check(importlib.import_module(f"{__name__}.{info.name}"))
            modules[module.ASSIGNMENT] = module
    return modules

"""How a failed check reads in a notebook: the message first, then only the student's lines.

A check's ``AssertionError`` travels through the checks' own code (``call``,
``check_values``, ...).  IPython would print every one of those frames with its source,
and nbgrader's Validate dialog shows that same text, so a student would read the
checker's formulas before the message.  IPython asks an exception for
``_render_traceback_()`` first and prints the lines it returns instead of the
traceback; :func:`student_facing` gives each check's error one, made by :func:`render`::

    AssertionError: Misconception: bias missing — your result is what ...
    simple_rnn_step(x_t (2, 3), ...) ...

    Cell In[7], line 1
    ----> 1 checks.check_simple_rnn_step(simple_rnn_step)

and, when the student's own function raised, where it did (their cell and line).  Frames
in the checks, in rnnlib, in the standard library and in installed packages are left out.
"""
import functools
import linecache
import os
import sysconfig

import rnnlib

RED, GREEN, RESET = "\x1b[0;31m", "\x1b[0;32m", "\x1b[0m"

#: Folders whose frames a student never sees: the checks, rnnlib, Python and its packages.
LIBRARIES = tuple(sorted({os.path.dirname(os.path.abspath(__file__)),
                          os.path.dirname(os.path.abspath(rnnlib.__file__)),
                          *(os.path.abspath(sysconfig.get_paths()[k])
                            for k in ("stdlib", "platstdlib", "purelib", "platlib"))}))


def is_students(filename):
    """True for code a student wrote: a notebook cell, or a file outside :data:`LIBRARIES`."""
    path = os.path.abspath(filename)
    return not any(path == lib or path.startswith(lib + os.sep) for lib in LIBRARIES)


def _students_frames(tb):
    """(filename, line number, function name) of the student's frames in a traceback."""
    frames = []
    while tb is not None:
        code = tb.tb_frame.f_code
        if is_students(code.co_filename):
            frames.append((code.co_filename, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    return frames


def _where(filename, lineno, name):
    """``Cell In[7], line 1`` as IPython labels a cell (else the file), then the line."""
    label = f"File {filename}"
    try:
        from IPython import get_ipython
        named = get_ipython().compile.format_code_name(filename)   # None outside a cell
        if named:
            label = " ".join(named)
    except (ImportError, AttributeError):                           # no IPython, no kernel
        pass
    place = f"{label}, line {lineno}" + ("" if name == "<module>" else f", in {name}")
    source = linecache.getline(filename, lineno).rstrip()
    return [f"{GREEN}{place}{RESET}"] + ([f"----> {lineno} {source}"] if source else [])


def render(exc):
    """The lines a notebook shows for a failed check: ``AssertionError: <message>`` (whose
    first line names the misconception, when there is one), then the student's frames."""
    lines = f"{RED}{type(exc).__name__}{RESET}: {exc}".split("\n")
    for filename, lineno, name in _students_frames(exc.__traceback__):
        lines += [""] + _where(filename, lineno, name)
    cause = exc.__cause__
    theirs = _students_frames(getattr(cause, "__traceback__", None))
    if theirs:
        lines += ["", f"Where your code raised {RED}{type(cause).__name__}{RESET}:"]
        for filename, lineno, name in theirs:
            lines += _where(filename, lineno, name)
    return lines


def student_facing(check):
    """Decorate a ``check_*``: its AssertionError renders with :func:`render` in IPython
    (in the notebook and in Validate), while Python and pytest still show everything."""
    @functools.wraps(check)
    def run(*args, **kwargs):
        try:
            return check(*args, **kwargs)
        except AssertionError as exc:
            exc._render_traceback_ = functools.partial(render, exc)
            raise
    run.student_facing = True
    return run

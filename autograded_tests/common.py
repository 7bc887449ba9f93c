"""What every assignment's checks share.

A check runs the student's function with :func:`call`, which turns anything odd
(an exception, ``None``, a wrong type, NaN) into an ``AssertionError`` a student
can act on, and refuses a solution that runs rnnlib's own cells or loop.  Then
:func:`check_shape` and :func:`check_values` compare with rnnlib's answer; when
the values are wrong, :func:`check_values` first looks for a known wrong variant
and names its misconception::

    with float64():                                  # the reference, in float64
        expected = reference(x, h0)
    got = call(student_fn, x, h0, name="rnn_forward",
               expected=f"an array of shape {expected.shape}")
    got = check_shape(got, expected.shape, "rnn_forward(x, h0, ...)")
    check_values(got, expected, "rnn_forward(x, h0, ...)",
                 variants={"zero state instead of h0": reference(x, 0 * h0)})

Every failure is an ``AssertionError`` (what nbgrader counts as a failed test)
whose message says what was expected, what came back, and a hint.
"""
import contextlib
import copy
import functools
import inspect

import numpy as np

import rnnlib as rl
from rnnlib import fast
from rnnlib.layers.gru import GRUCell
from rnnlib.layers.lstm import LSTMCell
from rnnlib.layers.rnn import RNN, Cell
from rnnlib.layers.simple_rnn import SimpleRNNCell

# NumPy's comparisons, captured when this module is imported (before any student code
# runs), so that a submission that patches them (np.allclose = lambda *a: True) cannot
# make a check pass.
_allclose, _isfinite = np.allclose, np.isfinite

# --- misconceptions: stable names and what to tell the student -------------------

MISCONCEPTIONS = {
    "zero state instead of h0":
        "your result is what a zero initial state gives. Start from the state you were "
        "given (h0, or h_tm1 for one step) instead of np.zeros.",
    "recurrent part missing":
        "your result does not depend on the previous state: it is what the step gives "
        "without h_tm1 @ recurrent_kernel (or with a zero state in its place). Add "
        "h_tm1 @ recurrent_kernel, with the h_tm1 you were given, to x_t @ kernel + bias.",
    "ReLU instead of tanh":
        "your result is what activation='relu' gives. SimpleRNN's default activation "
        "is tanh: h_t = np.tanh(x_t @ kernel + h_tm1 @ recurrent_kernel + bias).",
    "sigmoid instead of tanh":
        "your result is what a sigmoid gives. SimpleRNN's default activation is tanh: "
        "h_t = np.tanh(x_t @ kernel + h_tm1 @ recurrent_kernel + bias).",
    "activation missing":
        "your result is the linear part alone. SimpleRNN applies tanh to it: "
        "h_t = np.tanh(x_t @ kernel + h_tm1 @ recurrent_kernel + bias).",
    "every timestep holds the last output":
        "all the timesteps of your result hold the same values, those of the last step. "
        "outputs.append(h) stores the array h itself, not a copy: updating it in place "
        "afterwards (h[:] = ..., h += ..., np.tanh(..., out=h)) changes every entry already "
        "stored. Make a new array each step (h = np.tanh(...)) or append h.copy().",
    "transposed kernel":
        "your result is what kernel.T gives. In Keras's layout the kernel is "
        "(features, units) and the recurrent kernel (units, units): write x_t @ kernel "
        "and h_tm1 @ recurrent_kernel (batch first, rows of the batch times the matrix).",
    "gates in the wrong order (i|f|o|g)":
        "Keras packs the LSTM gates as i|f|c|o: columns [0:u] input gate, [u:2u] forget "
        "gate, [2u:3u] candidate c~, [3u:4u] output gate. Other courses use i|f|o|g.",
    "gates in the wrong order (r|z|h)":
        "Keras packs the GRU gates as z|r|h: columns [0:u] update gate z, [u:2u] reset "
        "gate r, [2u:3u] candidate h~.",
    "reset gate applied before instead of after":
        "with reset_after=True (Keras's default) the reset gate multiplies the recurrent "
        "product: r * (h_tm1 @ U_h + recurrent bias), after the matrix product.",
    "reset gate applied after instead of before":
        "with reset_after=False the reset gate scales the state before the product: "
        "(r * h_tm1) @ U_h.",
    "sequence not reversed for go_backwards":
        "with go_backwards=True the layer reads the timesteps from last to first "
        "(x[:, ::-1]); your result reads them in time order.",
    "sequence reversed twice":
        "with go_backwards=True the returned sequence stays in the order it was read "
        "(its first entry is the output after reading the LAST timestep), as Keras "
        "returns it. Do not flip it back into time order.",
    "first instead of last output":
        "without return_sequences a layer returns the output of the last step it read, "
        "not the first.",
    "time-major layout":
        "the input is (batch, timesteps, features): time is axis 1. Your result treats "
        "axis 0 as time; loop over x[:, t] rather than x[t].",
    "calls rnnlib instead of implementing":
        "this exercise is to write the maths yourself with NumPy (@, np.tanh, a for "
        "loop). Use rnnlib outside your function to compare your answer with it.",
}


def misconception(name, hint=None):
    """The message line for a misconception: ``Misconception: <name> — <hint>``."""
    return f"Misconception: {name} — {hint or MISCONCEPTIONS.get(name, '')}".rstrip(" —")


# --- refusing rnnlib inside the student's function ------------------------------

#: The maths of rnnlib's built-in cells: a student implementing a cell or step must not run these.
CELL_MATHS = ((Cell, "project"), (SimpleRNNCell, "step"), (GRUCell, "step"), (LSTMCell, "step"),
              (fast, "gru_unroll"), (fast, "lstm_unroll"))
#: rnnlib's time loop (and the layer call around it): a student implementing a forward
#: pass over time must not run it.
RNN_LOOP = ((RNN, "call"), (RNN, "_loop"))


class refuse_rnnlib(contextlib.ContextDecorator):
    """Fail with "Misconception: calls rnnlib instead of implementing" if, inside the
    ``with`` block, any of the ``forbid`` methods ran (pairs ``(class, method name)``).

    ``refuse_rnnlib()`` forbids the built-in cells' maths and the layers' time loop;
    ``refuse_rnnlib(CELL_MATHS)`` still lets a student's own cell drive
    ``rl.layers.RNN``.  The methods still work (they are only counted), and the
    originals are put back on the way out, also after an exception.
    """

    def __init__(self, forbid=CELL_MATHS + RNN_LOOP):
        self.forbid = tuple(forbid)
        self.used = []            # "SimpleRNNCell.step", ... in the order first seen

    def _spy(self, cls, attr, original):
        @functools.wraps(original)
        def spy(*args, **kwargs):
            label = f"{cls.__name__}.{attr}"
            if label not in self.used:
                self.used.append(label)
            return original(*args, **kwargs)
        return spy

    def __enter__(self):
        self._saved, self.used = [], []
        for cls, attr in self.forbid:
            original = cls.__dict__[attr]
            self._saved.append((cls, attr, original))
            setattr(cls, attr, self._spy(cls, attr, original))
        return self

    def __exit__(self, exc_type, exc, tb):
        for cls, attr, original in reversed(self._saved):
            setattr(cls, attr, original)
        if self.used:
            raise AssertionError(
                misconception("calls rnnlib instead of implementing") +
                f"\n(your code ran rnnlib's {', '.join(self.used)}.)"
            ) from None
        return False


@contextlib.contextmanager
def float64():
    """Compute a reference in float64 (rnnlib layers made inside get float64 weights)."""
    old = rl.floatx()
    rl.set_floatx("float64")
    try:
        yield
    finally:
        rl.set_floatx(old)


def reference_layer(layer_class, features, weights=None, **kwargs):
    """An rnnlib layer in float64, built for ``features`` and loaded with ``weights``.

    ``reference_layer(rl.layers.SimpleRNN, 3, [kernel, recurrent_kernel, bias], units=4)``.
    """
    with float64():
        layer = layer_class(**kwargs)
        layer(rl.Input(shape=(None, features)))       # builds the weights
        if weights is not None:
            layer.set_weights(list(weights))
    return layer


# --- calling the student's function safely ---------------------------------------

def call(fn, *args, name=None, expected="a result", forbid=CELL_MATHS + RNN_LOOP, none_ok=False,
         **kwargs):
    """``fn(*args, **kwargs)``, with every way of going wrong turned into an AssertionError.

    The arguments are deep-copied (a function that changes its inputs in place cannot
    spoil the reference), rnnlib's ``forbid`` methods are refused (pass ``forbid=()``
    to allow everything), and ``None`` as a result is refused too (unless ``none_ok``).
    """
    name = name or getattr(fn, "__name__", "your function")
    if not callable(fn):
        raise AssertionError(f"Expected `{name}` to be a function (or class), but it is "
                             f"{describe(fn)}. Run the cell that defines it.")
    check_signature(fn, name, args, kwargs)
    args, kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
    try:
        with refuse_rnnlib(forbid):
            result = fn(*args, **kwargs)
    except AssertionError:
        raise
    except NotImplementedError:
        raise AssertionError(f"`{name}` is not implemented yet: it raises NotImplementedError. "
                             f"Replace `raise NotImplementedError()` with your code.") from None
    except Exception as exc:
        raise AssertionError(
            f"`{name}` raised {type(exc).__name__}: {exc}\nIt was called with "
            f"{_describe(args, kwargs)}; expected {expected}. Run it yourself on inputs of "
            "these shapes to see where it fails."
        ) from exc
    if result is None and not none_ok:
        raise AssertionError(f"`{name}` returned None; expected {expected}. "
                             "Did you forget the `return` statement?")
    return result


def describe(value, depth=0):
    """A value in a few words, arrays by their shape: ``array (2, 3)``,
    ``[(array (2, 4), array (4, 4), array (4,)), ...]``, ``SimpleRNN layer``, ``'tanh'``."""
    if isinstance(value, np.ndarray):
        return f"array {value.shape}"
    if hasattr(value, "get_weights"):
        return f"{type(value).__name__} layer"
    if isinstance(value, (list, tuple)) and depth < 3:
        inner = ", ".join(describe(v, depth + 1) for v in value[:4])
        inner += ", ..." if len(value) > 4 else ("," if len(value) == 1 and isinstance(value, tuple) else "")
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, dict) and depth < 3:
        return "{" + ", ".join(f"{k!r}: {describe(v, depth + 1)}" for k, v in value.items()) + "}"
    text = repr(value)
    return text if len(text) <= 60 else f"{type(value).__name__} ({text[:50]}...)"


def _describe(args, kwargs=None):
    """``array (2, 3), array (2, 4), units=3``: what a function was called with, briefly."""
    parts = [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in (kwargs or {}).items()]
    return ", ".join(parts) or "no arguments"


def check_signature(fn, name, args, kwargs):
    """Fail when ``fn`` cannot take ``fn(*args, **kwargs)``, naming the parameters the check
    passes and those ``fn`` has (a renamed parameter, a missing or extra one)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):             # some builtins have none: just call them
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        found = ", ".join(signature.parameters) or "no parameters"
        passed = [f"{len(args)} positional argument{'s' * (len(args) != 1)}"] if args else []
        passed += list(kwargs)
        raise AssertionError(
            f"`{name}` cannot be called the way the exercise calls it ({exc}).\n"
            f"Its parameters are ({found}); the check passes {', '.join(passed) or 'nothing'}: "
            f"{name}({_describe(args, kwargs)}). Keep the def line the exercise gives "
            "(the same parameter names, in the same order)."
        ) from None


def expect_error(fn, *args, error=ValueError, name=None, mentions=(), **kwargs):
    """Check that ``fn(*args)`` raises ``error`` whose message mentions each of ``mentions``.

    Returns the exception.  ``NotImplementedError`` counts as "not implemented yet".
    """
    name = name or getattr(fn, "__name__", "your function")
    shown = _describe(args, kwargs)
    try:
        fn(*copy.deepcopy(args), **kwargs)
    except NotImplementedError:
        raise AssertionError(f"`{name}` is not implemented yet: it raises NotImplementedError.") from None
    except error as exc:
        missing = [str(m) for m in mentions if str(m) not in str(exc)]
        if missing:
            raise AssertionError(
                f"`{name}({shown})` raised {error.__name__} as it should, but its message "
                f"{str(exc)!r} does not mention {', '.join(missing)}. Say which sizes do not fit, "
                "so that the person who reads it can fix their call."
            ) from None
        return exc
    except Exception as exc:
        raise AssertionError(
            f"`{name}({shown})` raised {type(exc).__name__}: {exc}\nExpected a {error.__name__} "
            f"with a clear message: raise {error.__name__}(f\"...\") yourself, before the maths fails."
        ) from exc
    raise AssertionError(f"`{name}({shown})` returned normally; expected it to raise "
                         f"{error.__name__} with a clear message.")


# --- shapes and values ---------------------------------------------------------

def as_array(value, what):
    """``value`` as a float array, or an AssertionError that says what came instead."""
    if value is None:
        raise AssertionError(f"{what} is None; expected an array. Did you forget `return`?")
    if isinstance(value, (list, tuple)) and any(
            isinstance(v, np.ndarray) and v.ndim >= 2 for v in value):
        raise AssertionError(f"{what} is a {type(value).__name__} of {len(value)} arrays; "
                             "expected one array (np.stack(outputs, axis=1) makes one array "
                             "(batch, timesteps, units) of a list of (batch, units) outputs).")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{what} should be an array of numbers, but it is "
                             f"{type(value).__name__} ({exc}).") from None
    return arr


def check_shape(value, expected_shape, what, hint=""):
    """Check ``value``'s shape; returns it as a float array."""
    arr = as_array(value, what)
    expected_shape = tuple(expected_shape)
    if arr.shape != expected_shape:
        raise AssertionError(
            f"{what} has shape {arr.shape}; expected {expected_shape}." + (f" {hint}" if hint else "")
        )
    return arr


def _close(a, b, rtol, atol):
    """True when a and b (arrays, or lists of arrays) have equal shapes and close values."""
    if isinstance(b, (list, tuple)):
        return (isinstance(a, (list, tuple)) and len(a) == len(b)
                and all(_close(x, y, rtol, atol) for x, y in zip(a, b)))
    try:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(_allclose(a, b, rtol=rtol, atol=atol))


def match_misconceptions(actual, variants, hints=None, rtol=1e-5, atol=1e-6):
    """Fail with "Misconception: <name> — <hint>" if ``actual`` equals a wrong variant.

    ``variants`` maps a misconception's name to the output that misconception gives
    (or is a list of ``(name, output)`` pairs, when one name has several outputs);
    the hint comes from ``hints`` or :data:`MISCONCEPTIONS`.  Does nothing otherwise.
    """
    hints = hints or {}
    pairs = variants.items() if isinstance(variants, dict) else variants
    for name, wrong in pairs:
        if _close(actual, wrong, rtol, atol):
            raise AssertionError(misconception(name, hints.get(name)))


def repeats_last_step(actual, expected):
    """True when every timestep (axis 1) of ``actual`` holds the same values, those of
    ``expected``'s last step, while ``expected``'s timesteps differ: outputs stored by
    reference and then updated in place (``h[:] = ...``)."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    if actual.ndim != 3 or actual.shape != expected.shape or actual.shape[1] < 2:
        return False
    same = lambda a, b: bool(_allclose(a, b, rtol=1e-5, atol=1e-6))      # noqa: E731
    return (same(actual, np.broadcast_to(actual[:, -1:], actual.shape))
            and not same(expected, np.broadcast_to(expected[:, -1:], expected.shape))
            and (same(actual[:, -1], expected[:, -1]) or same(actual[:, -1], expected[:, 0])))


def check_values(actual, expected, what, variants=None, hints=None, rtol=1e-5, atol=1e-6, hint="",
                 sequence=False):
    """``assert_allclose(actual, expected, rtol, atol)`` with a message a student can act on.

    When the values differ and match one of ``variants`` (see
    :func:`match_misconceptions`), the message names that misconception instead; with
    ``sequence`` (a result (batch, timesteps, units)), so does one whose every timestep
    holds the last output (:func:`repeats_last_step`).
    """
    actual = as_array(actual, what)
    expected = np.asarray(expected, dtype=float)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what} has shape {actual.shape}; expected {expected.shape}.")
    if not _isfinite(actual).all():
        raise AssertionError(f"{what} contains NaN or inf values; expected finite numbers. "
                             "Look for a division by zero or an overflow.")
    if _close(actual, expected, rtol, atol):
        return
    match_misconceptions(actual, variants or {}, hints, rtol, atol)
    if sequence and repeats_last_step(actual, expected):
        raise AssertionError(misconception("every timestep holds the last output") +
                             f"\n{what} holds the same values at each of its {actual.shape[1]} timesteps.")
    diff = np.abs(actual - expected)
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
    raise AssertionError(
        f"{what} has the right shape {actual.shape} but wrong values "
        f"(tolerance rtol={rtol:g}, atol={atol:g}).\n"
        f"At index {worst}: expected {expected[worst]:.6g}, got {actual[worst]:.6g} "
        f"(largest difference {diff.max():.3g})." + (f"\nHint: {hint}" if hint else "")
    )

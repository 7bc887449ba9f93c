"""Checks for ps01_timesteps: flat vectors become timesteps; predicting output shapes.

Each ``check_*`` is called by one test cell, once as it is (the visible check) and
once with ``hidden=True`` (other sizes, and the rest of the predictions).
"""
import numpy as np

import rnnlib as rl
from .common import call, check_shape, check_values, expect_error, misconception
from .feedback import student_facing

# --- Part A: to_timesteps ---------------------------------------------------------

HINTS = {
    "column-major reshape":
        "timestep t must hold the consecutive values vectors[:, t*f:(t+1)*f] "
        "(f = n // timesteps). A reshape with order='F', or a reshape to "
        "(batch, f, timesteps) followed by a transpose, spreads them across timesteps instead.",
    "timesteps and features swapped":
        "Input(shape=(timesteps, features)): n values read one at a time are n timesteps "
        "of 1 feature, (n, 1); all n at once are 1 timestep of n features, (1, n).",
}


def _vectors(batch, n, seed):
    return np.random.default_rng(seed).normal(size=(batch, n))


@student_facing
def check_to_timesteps(to_timesteps, hidden=False):
    """``to_timesteps(vectors, timesteps)``: (batch, n) -> (batch, timesteps, n // timesteps)."""
    cases = [(4, 6, 3, 101), (4, 6, 2, 102)] if hidden else [(2, 6, 3, 1)]
    if hidden:
        cases += [(3, 5, 5, 103), (3, 5, 1, 104), (1, 12, 4, 105)]
    for batch, n, timesteps, seed in cases:
        vectors = _vectors(batch, n, seed)
        f = n // timesteps
        what = f"to_timesteps(<vectors of shape {vectors.shape}>, timesteps={timesteps})"
        expected = vectors.reshape(batch, timesteps, f)
        got = call(to_timesteps, vectors, timesteps, name="to_timesteps",
                   expected=f"an array of shape {expected.shape}", forbid=())
        if np.shape(got) == (batch, f, timesteps) and f != timesteps:
            raise AssertionError(
                f"{what} has shape {np.shape(got)}; expected {expected.shape} "
                "(batch, timesteps, features): the timesteps axis comes before the features axis.")
        got = check_shape(got, expected.shape, what,
                          hint="The result is (batch, timesteps, n // timesteps); keep the batch axis.")
        check_values(got, expected, what, hints=HINTS, variants=[
            ("column-major reshape", vectors.reshape(batch, timesteps, f, order="F")),
            ("column-major reshape", vectors.reshape(batch, f, timesteps).transpose(0, 2, 1))])


@student_facing
def check_to_timesteps_error(to_timesteps, hidden=False):
    """``to_timesteps`` raises a ValueError that names both sizes when n does not divide."""
    cases = [(4, 7, 2), (1, 9, 4), (3, 4, 8)] if hidden else [(2, 10, 3)]
    for batch, n, timesteps in cases:
        expect_error(to_timesteps, np.zeros((batch, n)), timesteps, error=ValueError,
                     name="to_timesteps", mentions=(n, timesteps))


# --- Part B: input shapes ----------------------------------------------------------

@student_facing
def check_input_shapes(input_shapes, hidden=False):
    """``input_shapes(n)`` -> (shape for n timesteps of 1 value, shape for 1 timestep of n)."""
    for n in ([7, 1, 32] if hidden else [2]):
        got = call(input_shapes, n, name="input_shapes", forbid=(),
                   expected=f"a pair of shapes, e.g. (({n}, 1), (1, {n}))")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise AssertionError(f"input_shapes({n}) returned {got!r}; expected a pair "
                                 "(shape for n timesteps, shape for one timestep).")
        expected = ((n, 1), (1, n))
        labels = (f"{n} values as {n} timesteps of 1 feature", f"{n} values as 1 timestep")
        if n > 1 and _as_shape(got[0]) == (1, n) and _as_shape(got[1]) == (n, 1):
            raise AssertionError(misconception("timesteps and features swapped",
                                               HINTS["timesteps and features swapped"]))
        for shape, want, label in zip(got, expected, labels):
            shape = _as_shape(shape)
            if shape == want:
                continue
            if shape is not None and len(shape) == 3:
                hint = "Input's shape leaves out the batch axis: it is (timesteps, features)."
            elif shape is not None and len(shape) == 1:
                hint = ("One axis is not enough: an RNN reads (timesteps, features) per sample; "
                        "that is the 'expected ndim=3, found ndim=2' error.")
            else:
                hint = "Input(shape=(timesteps, features))."
            raise AssertionError(f"input_shapes({n}): for {label} you wrote {shape!r}; "
                                 f"expected {want}. {hint}")


# --- Part C: predicting output shapes --------------------------------------------

def _as_shape(value):
    """A tuple shape (lists become tuples), or None when it is not one."""
    if isinstance(value, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer))
                                                for d in value):
        return tuple(None if d is None else int(d) for d in value)
    return None


def _shapes_of(out):
    """A symbolic tensor's shape (a tuple), or a list of shapes for several outputs."""
    if isinstance(out, (list, tuple)):
        return [tuple(t.shape) for t in out]
    return tuple(out.shape)


def models_snippets(lib=rl):
    """Lesson 1's models: {key: (code, symbolic output)}.

    ``lib`` is rnnlib, or anything with the same ``Input`` and ``layers`` (Keras 3).
    """
    L = lib.layers
    return {
        "dense": ("Input(shape=(2,)) -> Dense(10)", L.Dense(10)(lib.Input(shape=(2,)))),
        "two_timesteps": ("Input(shape=(2, 1)) -> SimpleRNN(10)",
                          L.SimpleRNN(10)(lib.Input(shape=(2, 1)))),
        "one_timestep": ("Input(shape=(1, 2)) -> SimpleRNN(10)",
                         L.SimpleRNN(10)(lib.Input(shape=(1, 2)))),
        "long_sequence": ("Input(shape=(200, 1)) -> SimpleRNN(10)",
                          L.SimpleRNN(10)(lib.Input(shape=(200, 1)))),
        "sensors": ("Input(shape=(3, 4)) -> SimpleRNN(6)", L.SimpleRNN(6)(lib.Input(shape=(3, 4)))),
    }


def data_snippets(lib=rl):
    """Data described in words: {key: (description, the Input that holds it)}."""
    return {
        "one_sensor": ("one sensor read 12 times", lib.Input(shape=(12, 1))),
        "four_sensors": ("4 sensors read together, 3 times", lib.Input(shape=(3, 4))),
        "one_moment": ("12 numbers that all describe one moment", lib.Input(shape=(1, 12))),
        "daily_weather": ("temperature, rain and wind once a day for a week",
                          lib.Input(shape=(7, 3))),
    }


VISIBLE = {"models": ("dense", "two_timesteps"), "data": ("one_sensor", "four_sensors")}

ONE_VECTOR = ("an RNN returns one vector of `units` numbers per sample, whatever the number "
              "of timesteps (lesson 1): (None, units).")
SWAPPED_DATA = ("Input(shape=(timesteps, features)): how many times the data is read is the "
                "timesteps; how many values are read each time (the sensors) is the features.")


def _answer_hint(key, got, want):
    """A hint for a known wrong answer, or None; a misconception's hint starts with its name."""
    if got is None or isinstance(got, list):
        return None
    if len(got) == 3 == len(want) and want[1] != want[2] and got == (None, want[2], want[1]):
        return misconception("timesteps and features swapped", SWAPPED_DATA)
    if key == "dense":
        return ("Dense maps the 2 numbers of each sample to 10 numbers: (None, 10). There is "
                "no time axis: Input(shape=(2,)) is (None, 2).")
    if key == "sensors" and got in ((None, 3), (None, 4)):
        return ("units, not the timesteps or the features, sets the output's last axis: "
                "SimpleRNN(6) gives 6 numbers per sample.")
    if len(got) == 3 and len(want) == 2 and got[0] is None:
        return ONE_VECTOR
    return None


def _shape_hint(got, want):
    """A friendly sentence about why ``got`` is not ``want``."""
    if isinstance(got, list):
        return "this layer returns one tensor, so write one shape (a tuple)."
    if len(got) + 1 == len(want) and got == want[1:]:
        return "the batch axis None comes first."
    if len(got) == len(want) and got[0] is not None:
        return "the batch axis is None (any batch size) and comes first."
    if len(want) == 3 and len(got) == 2:
        return "an RNN reads (batch, timesteps, features): write both axes after the batch."
    return ""


def _parse(predicted, key, code):
    """The student's answer for ``key`` as a shape or a list of shapes (format checks only)."""
    if key not in predicted:
        raise AssertionError(f"predicted_shapes has no entry {key!r} ({code}).")
    value = predicted[key]
    if value is None or value is Ellipsis:
        raise AssertionError(f"predicted_shapes[{key!r}] is still {value!r}: write the shape "
                             f"for {code}, e.g. (None, 3).")
    if (isinstance(value, (list, tuple)) and value
            and all(isinstance(v, (tuple, list)) for v in value)):     # several outputs
        got = [_as_shape(v) for v in value]
        if None not in got:
            return got
    elif _as_shape(value) is not None:
        return _as_shape(value)
    raise AssertionError(f"predicted_shapes[{key!r}] = {value!r} is not a shape; write a tuple "
                         "such as (None, 10).")


def _check_predictions(predicted, snippets, keys):
    """Every entry of the group must be a shape; those in ``keys`` must be rnnlib's."""
    if not isinstance(predicted, dict):
        raise AssertionError(f"predicted_shapes should be a dict {{name: shape}}, "
                             f"got {type(predicted).__name__}.")
    answers = {key: _parse(predicted, key, code) for key, (code, _) in snippets.items()}
    for key in keys:
        code, out = snippets[key]
        got, want = answers[key], _shapes_of(out)
        if got == want:
            continue
        wrote = f"predicted_shapes[{key!r}] ({code}): you wrote {predicted[key]!r}"
        hint = _answer_hint(key, got, want)
        if hint and hint.startswith("Misconception:"):
            raise AssertionError(f"{hint}\n{wrote}.")
        raise AssertionError(f"{wrote} — {hint or _shape_hint(got, want) or 'check each axis again.'}")


@student_facing
def check_shapes_models(predicted_shapes, hidden=False):
    """Predicted output shapes of lesson 1's models, against rnnlib's shape inference."""
    rl.clear_session()
    snippets = models_snippets()
    keys = [k for k in snippets if (k not in VISIBLE["models"]) == hidden]
    _check_predictions(predicted_shapes, snippets, keys)


@student_facing
def check_shapes_data(predicted_shapes, hidden=False):
    """The shape of the rl.Input that holds data described in words (batch axis None first)."""
    rl.clear_session()
    snippets = data_snippets()
    keys = [k for k in snippets if (k not in VISIBLE["data"]) == hidden]
    _check_predictions(predicted_shapes, snippets, keys)

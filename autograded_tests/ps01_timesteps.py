"""Checks for ps01_timesteps: flat vectors become timesteps; predicting output shapes.

Each ``check_*`` is called by one test cell, once as it is (the visible check) and
once with ``hidden=True`` (other sizes, and the rest of the predictions).
"""
import warnings

import numpy as np

import rnnlib as rl
from .common import call, check_shape, check_values, expect_error, misconception

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


def check_to_timesteps_error(to_timesteps, hidden=False):
    """``to_timesteps`` raises a ValueError that names both sizes when n does not divide."""
    cases = [(4, 7, 2), (1, 9, 4), (3, 4, 8)] if hidden else [(2, 10, 3)]
    for batch, n, timesteps in cases:
        expect_error(to_timesteps, np.zeros((batch, n)), timesteps, error=ValueError,
                     name="to_timesteps", mentions=(n, timesteps))


# --- Part B: input shapes ----------------------------------------------------------

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
    """rnnlib's symbolic output -> a shape, or a list of shapes for several outputs."""
    if isinstance(out, (list, tuple)):            # Keras 3 returns a tuple for return_state
        return [tuple(t.shape) for t in out]
    return tuple(out.shape)


def basics_snippets(lib=rl):
    """Short models from the lesson: {key: (code, symbolic output)}.

    ``lib`` is rnnlib, or anything with the same ``Input`` and ``layers`` (Keras 3).
    """
    L = lib.layers
    rnn_in = lib.Input(shape=(2, 1))
    seq_in = lib.Input(shape=(5, 3))
    first = L.SimpleRNN(10, return_sequences=True)(rnn_in)
    return {
        "simple_rnn": ("Input(shape=(2, 1)) -> SimpleRNN(10)", L.SimpleRNN(10)(rnn_in)),
        "return_sequences": ("Input(shape=(2, 1)) -> SimpleRNN(10, return_sequences=True)", first),
        "return_state": ("Input(shape=(5, 3)) -> SimpleRNN(4, return_state=True)",
                         L.SimpleRNN(4, return_state=True)(seq_in)),
        "lstm_state": ("Input(shape=(5, 3)) -> LSTM(4, return_sequences=True, return_state=True)",
                       L.LSTM(4, return_sequences=True, return_state=True)(seq_in)),
        "chain": ("Input(shape=(2, 1)) -> SimpleRNN(10, return_sequences=True) -> SimpleRNN(5)",
                  L.SimpleRNN(5)(first)),
        "gru_on_vectors": ("Input(shape=(7, 12)) -> GRU(6, go_backwards=True)",
                           L.GRU(6, go_backwards=True)(lib.Input(shape=(7, 12)))),
    }


def encoder_snippets(lib=rl):
    """The encoder of the second Stack Overflow question (``lib``: as in basics_snippets)."""
    L = lib.layers
    feature_map = lib.Input(shape=(32, 32, 16))
    reshaped = L.Reshape((32, 512))(feature_map)
    gru_1 = L.GRU(16)(reshaped)
    gru_1b = L.GRU(16, return_sequences=True, go_backwards=True)(reshaped)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # the silent broadcast is what the question is about
        added = L.add([gru_1, gru_1b])
    gru_2 = L.GRU(16, return_sequences=True)(added)
    gru_2b = L.GRU(16, return_sequences=True, go_backwards=True)(added)
    return {
        "reshape": ("Reshape((32, 512))", reshaped),
        "gru_1": ("GRU(16)", gru_1),
        "gru_1b": ("GRU(16, return_sequences=True, go_backwards=True)", gru_1b),
        "add": ("add([gru_1, gru_1b])", added),
        "gru_2": ("GRU(16, return_sequences=True) on add", gru_2),
        "concatenate": ("concatenate([gru_2, gru_2b])", L.concatenate([gru_2, gru_2b])),
    }


VISIBLE = {"basics": ("simple_rnn", "return_sequences"), "encoder": ("reshape", "gru_1")}


KEY_HINTS = {
    "add": "add([gru_1, gru_1b]) of (None, 16) and (None, 32, 16) does not fail: like Keras, "
           "rnnlib inserts a time axis into the lower-rank input and adds the same vector at "
           "every timestep, so the result has the shape of the sequence.",
}


def _shape_hint(got, want):
    """A friendly sentence about why ``got`` is not ``want``."""
    if isinstance(want, list):
        if not isinstance(got, list):
            return (f"with return_state=True the layer returns a list [output, *states]: "
                    f"here {len(want)} shapes, e.g. [(None, 3), (None, 3)].")
        return f"return_state=True gives [output, *states]: {len(want)} shapes, in that order."
    if isinstance(got, list):
        return "this layer returns one tensor, so write one shape (a tuple)."
    if got is not None and len(got) + 1 == len(want) and got == want[1:]:
        return "the batch axis None comes first."
    if got is not None and len(got) == len(want) and got[0] is not None:
        return "the batch axis is None (any batch size) and comes first."
    if got is not None and len(want) == 2 and len(got) == 3:
        return "without return_sequences=True an RNN returns only its last output (batch, units)."
    if got is not None and len(want) == 3 and len(got) == 2:
        return "this layer returns a whole sequence (batch, timesteps, units)."
    return ""


def _parse(predicted, key, code):
    """The student's answer for ``key`` as a shape or a list of shapes (format checks only)."""
    if key not in predicted:
        raise AssertionError(f"predicted_shapes has no entry {key!r} ({code}).")
    value = predicted[key]
    if value is None or value is Ellipsis:
        raise AssertionError(f"predicted_shapes[{key!r}] is still {value!r}: write the output "
                             f"shape of {code}, e.g. (None, 3).")
    if (isinstance(value, (list, tuple)) and value
            and all(isinstance(v, (tuple, list)) for v in value)):     # several outputs
        got = [_as_shape(v) for v in value]
        if None not in got:
            return got
    elif _as_shape(value) is not None:
        return _as_shape(value)
    raise AssertionError(f"predicted_shapes[{key!r}] = {value!r} is not a shape; write a tuple "
                         "such as (None, 10), or a list of tuples for several outputs.")


def _check_predictions(predicted, snippets, keys):
    """Every entry of the group must be a shape; those in ``keys`` must be rnnlib's."""
    if not isinstance(predicted, dict):
        raise AssertionError(f"predicted_shapes should be a dict {{name: shape}}, "
                             f"got {type(predicted).__name__}.")
    answers = {key: _parse(predicted, key, code) for key, (code, _) in snippets.items()}
    for key in keys:
        code, out = snippets[key]
        got, want = answers[key], _shapes_of(out)
        if got != want:
            hint = KEY_HINTS.get(key) or _shape_hint(got, want) or "check each axis again."
            raise AssertionError(f"predicted_shapes[{key!r}] ({code}): you wrote "
                                 f"{predicted[key]!r} — {hint}")


def check_shapes_basics(predicted_shapes, hidden=False):
    """Predicted shapes of the lesson's short models, against rnnlib's shape inference."""
    rl.clear_session()
    snippets = basics_snippets()
    keys = [k for k in snippets if (k not in VISIBLE["basics"]) == hidden]
    _check_predictions(predicted_shapes, snippets, keys)


def check_shapes_encoder(predicted_shapes, hidden=False):
    """Predicted shapes of the second question's encoder, against rnnlib's shape inference."""
    rl.clear_session()
    snippets = encoder_snippets()
    keys = [k for k in snippets if (k not in VISIBLE["encoder"]) == hidden]
    _check_predictions(predicted_shapes, snippets, keys)

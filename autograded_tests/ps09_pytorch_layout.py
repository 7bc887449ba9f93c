"""Checks for ps09_pytorch_layout: PyTorch's shapes and parameter counts, and Keras-layout
LSTM and GRU weights (and states) converted to PyTorch's layout and back.

No torch is needed to learn or to grade: :func:`torch_lstm_forward` and
:func:`torch_gru_forward` are PyTorch's equations (``torch.nn.LSTM`` / ``torch.nn.GRU``, one
layer, ``batch_first=False``) written in NumPy, and tests/test_autograded_ps09.py confirms them
against torch itself.  A conversion is graded by what it computes: the converted weights run
through the other framework's equations on the same input must give rnnlib's (Keras's) answer,
in float64.  A wrong answer that equals a known wrong variant names its misconception.

The hidden checks draw their sizes from their own seeded generators; one hidden case has
``features == units`` (and ``batch == timesteps``), so that a wrong answer of the right shape
is caught by its values.
"""
import numpy as np

import rnnlib as rl

from .common import _close, _isfinite, as_array, call, describe, float64, misconception, reference_layer
from .feedback import student_facing

RTOL, ATOL = 1e-6, 1e-8
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}

HINTS = {
    "weights not transposed":
        "PyTorch stores each weight transposed: weight_ih is (gates*hidden, input_size) = kernel.T "
        "and weight_hh is (gates*hidden, hidden) = recurrent_kernel.T (and back: kernel = weight_ih.T). "
        "reshape is not a transpose: it keeps the numbers in memory order and cuts them into new rows.",
    "gate blocks left in Keras order (z|r|h)":
        "Keras packs the GRU's gates as z|r|h, PyTorch as r|z|n (n is Keras's candidate h~): "
        "swap the first two blocks of hidden rows (of weight_ih, weight_hh and both biases).",
    "LSTM gate blocks reordered":
        "the LSTM needs no reordering: PyTorch's i|f|g|o are Keras's i|f|c|o, block for block "
        "(g is the candidate Keras calls c~).",
    "one bias where PyTorch has two":
        "PyTorch's layers have two bias vectors, bias_ih and bias_hh, both of (gates*hidden,); "
        "Keras's LSTM and SimpleRNN have one, and the step adds both of PyTorch's to the same sum, "
        "so only bias_ih + bias_hh counts: put Keras's bias in one and zeros in the other, and going "
        "back add them. (Keras's GRU with reset_after=True already has two rows, PyTorch's two.)",
    "time-major confused with batch-first":
        "PyTorch's recurrent layers are time-major by default (batch_first=False): input and output "
        "are (timesteps, batch, features); Keras's are (batch, timesteps, features). batch_first=True "
        "gives Keras's order. The states are (num_layers*num_directions, batch, hidden) either way: "
        "a Keras state (batch, units) is h_0 = state[None], and h_n[0] (one layer) is a Keras state.",
    "h_n taken as the whole output sequence":
        "output holds the last layer's h at every timestep; h_n holds only the last step's h, one "
        "(batch, hidden) slice per layer and direction: (num_layers*num_directions, batch, hidden).",
    "batch_first applied to h_n":
        "batch_first changes the input and the output only; h_n and c_n stay "
        "(num_layers*num_directions, batch, hidden).",
    "num_directions left out":
        "a bidirectional layer concatenates both directions in output, (.., 2*hidden), and keeps "
        "one h_n slice per layer AND direction: num_layers*2 of them.",
}


def _named(name, detail=""):
    return AssertionError(misconception(name, HINTS[name]) + (f"\n{detail}" if detail else ""))


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


# --- PyTorch's equations in NumPy (time-major, one layer, one direction) ---------------------

def torch_lstm_forward(x, weight_ih, weight_hh, bias_ih, bias_hh, h_0=None, c_0=None):
    """torch.nn.LSTM(input_size, hidden_size)(x, (h_0, c_0)) in NumPy: x (timesteps, batch,
    input_size), h_0 and c_0 (1, batch, hidden) -> output (timesteps, batch, hidden),
    (h_n, c_n) each (1, batch, hidden).  Rows of the weights: gates i|f|g|o."""
    hidden = weight_hh.shape[1]
    h = np.zeros((x.shape[1], hidden)) if h_0 is None else h_0[0]           # (batch, hidden)
    c = np.zeros((x.shape[1], hidden)) if c_0 is None else c_0[0]
    outputs = []
    for x_t in x:                                                           # time is axis 0
        gates = x_t @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh     # (batch, 4*hidden)
        i, f, g, o = np.split(gates, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs), (h[None], c[None])


def torch_gru_forward(x, weight_ih, weight_hh, bias_ih, bias_hh, h_0=None):
    """torch.nn.GRU(input_size, hidden_size)(x, h_0) in NumPy: x (timesteps, batch, input_size),
    h_0 (1, batch, hidden) -> output (timesteps, batch, hidden), h_n (1, batch, hidden).
    Rows: gates r|z|n; r multiplies (W_hn h + b_hn), as Keras's reset_after=True."""
    hidden = weight_hh.shape[1]
    h = np.zeros((x.shape[1], hidden)) if h_0 is None else h_0[0]           # (batch, hidden)
    outputs = []
    for x_t in x:
        x_r, x_z, x_n = np.split(x_t @ weight_ih.T + bias_ih, 3, axis=1)    # (batch, hidden) each
        h_r, h_z, h_n = np.split(h @ weight_hh.T + bias_hh, 3, axis=1)
        r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
        n = np.tanh(x_n + r * h_n)
        h = (1 - z) * n + z * h
        outputs.append(h)
    return np.stack(outputs), h[None]


# --- the right conversions and their wrong variants ------------------------------------------

def swap_zr(w):
    """Swap the first two blocks of rows: Keras's z|r|h <-> PyTorch's r|z|n (its own inverse)."""
    z, r, h = np.split(np.asarray(w), 3, axis=0)
    return np.concatenate([r, z, h])


def lstm_to_torch(kernel, recurrent_kernel, bias, mistake=None):
    """(weight_ih, weight_hh, bias_ih, bias_hh) from Keras's LSTM weights, right or wrong one way."""
    t = (lambda w: w.reshape(w.shape[::-1])) if mistake == "reshape" else (lambda w: w.T)
    w_ih, w_hh = t(kernel), t(recurrent_kernel)
    if mistake == "ifog":                        # the last two blocks swapped: i|f|o|g
        swap = lambda w: np.concatenate([np.split(w, 4)[j] for j in (0, 1, 3, 2)])  # noqa: E731
        return swap(w_ih), swap(w_hh), swap(bias), np.zeros_like(bias)
    return w_ih, w_hh, bias, (bias if mistake == "both" else np.zeros_like(bias))


def gru_to_torch(kernel, recurrent_kernel, bias, mistake=None):
    """(weight_ih, weight_hh, bias_ih, bias_hh) from Keras's GRU (reset_after=True) weights."""
    t = (lambda w: w.reshape(w.shape[::-1])) if mistake == "reshape" else (lambda w: w.T)
    order = (lambda w: np.asarray(w)) if mistake == "keras_order" else swap_zr
    if mistake == "one_bias":                                    # the two rows added into one
        return order(t(kernel)), order(t(recurrent_kernel)), order(bias[0] + bias[1]), np.zeros(bias.shape[1])
    return order(t(kernel)), order(t(recurrent_kernel)), order(bias[0]), order(bias[1])


# --- Part A: shapes and parameter counts ------------------------------------------------------

def parameter_count(kind, input_size, hidden_size, biases=2):
    """torch.nn.<kind>(input_size, hidden_size)'s parameters (``biases=1``: one bias vector)."""
    return GATES[kind] * (hidden_size * (input_size + hidden_size) + biases * hidden_size)


@student_facing
def check_torch_parameter_count(torch_parameter_count, hidden=False):
    """``torch_parameter_count(kind, input_size, hidden_size)`` -> an int, as
    ``sum(p.numel() for p in torch.nn.<kind>(input_size, hidden_size).parameters())``."""
    cases = [("RNN", 1, 10), ("LSTM", 3, 4), ("GRU", 2, 5)]
    if hidden:
        rng = np.random.default_rng(9201)
        cases = [(kind, int(rng.integers(1, 40)), int(rng.integers(1, 40))) for kind in ("GRU", "LSTM", "RNN")]
    for kind, n_in, n_h in cases:
        what = f"torch_parameter_count({kind!r}, {n_in}, {n_h})"
        want = parameter_count(kind, n_in, n_h)
        got = call(torch_parameter_count, kind, n_in, n_h, name="torch_parameter_count",
                   expected="an int")
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer, float, np.floating)):
            raise AssertionError(f"{what} returned {describe(got)}; expected a number, {want}.")
        if got == want:
            continue
        keras = parameter_count(kind, n_in, n_h, biases=1)
        if got == keras:
            raise _named("one bias where PyTorch has two",
                         f"{what} returned {got}, the count with one bias vector; PyTorch's is {want}.")
        raise AssertionError(f"{what} returned {got}; expected {want}. Count weight_ih_l0 "
                             f"({GATES[kind]}*hidden, input_size), weight_hh_l0 ({GATES[kind]}*hidden, "
                             f"hidden), bias_ih_l0 and bias_hh_l0 ({GATES[kind]}*hidden,).")


def shapes(kind, timesteps, batch, input_size, hidden_size, num_layers=1, bidirectional=False,
           batch_first=False, mistake=None):
    """What torch.nn.<kind> returns, as shapes: (output, h_n) or, for the LSTM, (output, h_n, c_n)."""
    d = 1 if mistake == "directions" else 1 + bool(bidirectional)
    major = batch_first if mistake != "time_major" else not batch_first
    output = (batch, timesteps, d * hidden_size) if major else (timesteps, batch, d * hidden_size)
    h_n = (num_layers * (d if mistake != "directions" else 1), batch, hidden_size)
    if mistake == "h_n_output":
        h_n = output
    if mistake == "h_n_batch_first" and batch_first:
        h_n = (batch, h_n[0], hidden_size)
    return (output, h_n, h_n) if kind == "LSTM" else (output, h_n)


SHAPE_MISTAKES = {"time_major": "time-major confused with batch-first",
                  "h_n_output": "h_n taken as the whole output sequence",
                  "h_n_batch_first": "batch_first applied to h_n",
                  "directions": "num_directions left out"}


def _as_shapes(value):
    """``value`` as a tuple of tuples of ints, or None."""
    try:
        return tuple(tuple(int(n) for n in s) for s in value)
    except (TypeError, ValueError):
        return None


@student_facing
def check_torch_shapes(torch_shapes, hidden=False):
    """``torch_shapes(kind, timesteps, batch, input_size, hidden_size, num_layers=1,
    bidirectional=False, batch_first=False)`` -> (output shape, h_n shape[, c_n shape])."""
    cases = [("LSTM", 5, 2, 3, 4, 1, False, False), ("GRU", 7, 3, 2, 6, 1, False, False),
             ("RNN", 5, 2, 3, 4, 1, False, True), ("LSTM", 6, 4, 3, 5, 2, True, False),
             ("GRU", 4, 3, 2, 5, 3, True, True)]
    if hidden:
        rng = np.random.default_rng(9202)
        cases = []
        for kind, bidirectional, batch_first in (("GRU", False, False), ("LSTM", True, True),
                                                 ("RNN", True, False), ("LSTM", False, True),
                                                 ("GRU", True, True), ("LSTM", False, False)):
            t, b = (int(v) for v in rng.choice(np.arange(2, 12), 2, replace=False))
            cases.append((kind, t, b, int(rng.integers(1, 9)), int(rng.integers(1, 9)),
                          int(rng.integers(1, 4)), bidirectional, batch_first))
    for case in cases:
        kind, t, b, n_in, n_h, layers, bidir, bf = case
        what = (f"torch_shapes({kind!r}, timesteps={t}, batch={b}, input_size={n_in}, hidden_size={n_h}, "
                f"num_layers={layers}, bidirectional={bidir}, batch_first={bf})")
        want = shapes(*case)
        names = "(output shape, h_n shape, c_n shape)" if kind == "LSTM" else "(output shape, h_n shape)"
        got = call(torch_shapes, kind, t, b, n_in, n_h, num_layers=layers, bidirectional=bidir,
                   batch_first=bf, name="torch_shapes", expected=f"a tuple {names}")
        got_shapes = _as_shapes(got)
        if got_shapes == want:
            continue
        if got_shapes is None or len(got_shapes) != len(want):
            raise AssertionError(f"{what} returned {got!r}; expected a tuple of {len(want)} shapes "
                                 f"{names}: {want}.")
        for mistake, name in SHAPE_MISTAKES.items():
            if got_shapes == shapes(*case, mistake=mistake):
                raise _named(name, f"{what} returned {got_shapes}; PyTorch's are {want}.")
        raise AssertionError(f"{what} returned {got_shapes}; expected {names} = {want}.")


# --- Parts B and C: weights ----------------------------------------------------------------

def _sizes(hidden, visible, seed):
    """[(batch, timesteps, features, units), ...]: the visible one, or two drawn from the
    check's own generator (the first with features == units and batch == timesteps)."""
    if not hidden:
        return [visible]
    rng = np.random.default_rng(seed)
    cases = []
    for square in (True, False):
        batch, features = int(rng.integers(1, 5)), int(rng.integers(2, 6))
        steps = batch if square else int(rng.integers(2, 6))
        units = features if square else int(rng.choice([u for u in range(1, 6) if u != features]))
        cases.append((batch, steps, features, units))
    return cases


def _tuple_of_arrays(got, names, shapes_, what):
    """``got`` as a list of float arrays of ``shapes_``; a transposed shape is named."""
    listed = ", ".join(f"{n} {s}" for n, s in zip(names, shapes_))
    if not isinstance(got, (list, tuple)) or len(got) != len(names):
        raise AssertionError(f"{what} returned {describe(got)}; expected a tuple of {len(names)} "
                             f"arrays: {listed}. End with `return {', '.join(names)}`.")
    arrays = []
    for name, value, shape in zip(names, got, shapes_):
        arr = as_array(value, f"{what}: {name}")
        if arr.shape != tuple(shape):
            if len(shape) == 2 and arr.shape == tuple(shape)[::-1]:
                raise _named("weights not transposed", f"{what}: {name} has shape {arr.shape}; "
                             f"expected {tuple(shape)} ({listed}).")
            if name == "bias" and arr.shape == (shape[-1],) and len(shape) == 2:
                raise _named("one bias where PyTorch has two", f"{what}: bias has shape {arr.shape}; "
                             f"Keras's GRU (reset_after=True) has two rows, {tuple(shape)}: "
                             "bias[0] = bias_ih, bias[1] = bias_hh, each in z|r|h order.")
            raise AssertionError(f"{what}: {name} has shape {arr.shape}; expected {tuple(shape)} "
                                 f"({listed}).")
        if not _isfinite(arr).all():
            raise AssertionError(f"{what}: {name} contains NaN or inf values.")
        arrays.append(arr)
    return arrays


def _compare_outputs(got, want, what, variants, hint):
    """``got`` and ``want``: (sequence, state, ...) in Keras's layout."""
    if _close(list(got), list(want), RTOL, ATOL):
        return
    for name, wrong in variants:
        if _close(list(got), list(wrong), RTOL, ATOL):
            raise _named(name, f"{what}: the layer your weights make computes what that mistake gives.")
    diff = max(float(np.abs(g - w).max()) for g, w in zip(got, want))
    raise AssertionError(f"{what}: your weights have the right shapes but do not compute the same "
                         f"layer: run through {hint} on the same input, the outputs differ by up to "
                         f"{diff:.3g} (tolerance rtol={RTOL:g}, atol={ATOL:g}).")


def _keras_case(rng, kind, batch, steps, features, units):
    gates = GATES[kind]
    kernel = rng.normal(0, 0.5, (features, gates * units))
    recurrent = rng.normal(0, 0.5, (units, gates * units))
    bias = rng.normal(0, 0.5, (2, gates * units) if kind == "GRU" else gates * units)
    x = rng.normal(size=(batch, steps, features))
    states = [rng.normal(size=(batch, units)) for _ in range(2 if kind == "LSTM" else 1)]
    return [kernel, recurrent, bias], x, states


def keras_run(kind, weights, x, states):
    """rnnlib's (Keras's) layer on ``x`` (batch, timesteps, features): [sequence, *states]."""
    layer = reference_layer(getattr(rl.layers, kind), x.shape[2], weights, units=weights[1].shape[0],
                            return_sequences=True, return_state=True)
    with float64():
        return [np.asarray(a, float) for a in layer(x, initial_state=list(states))]


def torch_run(kind, torch_weights, x, states):
    """PyTorch's equations on ``x`` given batch first, answered in Keras's layout:
    [sequence (batch, timesteps, hidden), *states (batch, hidden)]."""
    forward = torch_lstm_forward if kind == "LSTM" else torch_gru_forward
    output, last = forward(np.swapaxes(x, 0, 1), *torch_weights, *(s[None] for s in states))
    last = last if kind == "LSTM" else (last,)
    return [np.swapaxes(output, 0, 1), *(s[0] for s in last)]


TORCH_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
KERAS_NAMES = ("kernel", "recurrent_kernel", "bias")


def _to_torch_check(kind, fn, name, hidden, seed, mistakes):
    convert = lstm_to_torch if kind == "LSTM" else gru_to_torch
    for k, (batch, steps, features, units) in enumerate(_sizes(hidden, (2, 4, 3, 5), seed)):
        rng = np.random.default_rng(seed + 1 + k + 10 * hidden)
        weights, x, states = _keras_case(rng, kind, batch, steps, features, units)
        g = GATES[kind] * units
        what = (f"{name}(kernel {weights[0].shape}, recurrent_kernel {weights[1].shape}, "
                f"bias {weights[2].shape})")
        got = call(fn, *weights, name=name, expected="a tuple (weight_ih, weight_hh, bias_ih, bias_hh)")
        got = _tuple_of_arrays(got, TORCH_NAMES, [(g, features), (g, units), (g,), (g,)], what)
        want = keras_run(kind, weights, x, states)
        variants = [(label, torch_run(kind, convert(*weights, mistake=m), x, states))
                    for m, label in mistakes.items()]
        _compare_outputs(torch_run(kind, got, x, states), want, what, variants,
                         f"PyTorch's {kind} equations (checks.torch_{kind.lower()}_forward) and "
                         f"Keras's {kind} layer")


def _to_keras_check(kind, fn, name, hidden, seed, mistakes):
    for k, (batch, steps, features, units) in enumerate(_sizes(hidden, (3, 5, 2, 4), seed)):
        rng = np.random.default_rng(seed + 1 + k + 10 * hidden)
        g = GATES[kind] * units
        torch_weights = [rng.normal(0, 0.5, s) for s in ((g, features), (g, units), (g,), (g,))]
        x = rng.normal(size=(batch, steps, features))
        states = [rng.normal(size=(batch, units)) for _ in range(2 if kind == "LSTM" else 1)]
        what = (f"{name}(weight_ih {torch_weights[0].shape}, weight_hh {torch_weights[1].shape}, "
                f"bias_ih {torch_weights[2].shape}, bias_hh {torch_weights[3].shape})")
        got = call(fn, *torch_weights, name=name, expected="a tuple (kernel, recurrent_kernel, bias)")
        bias_shape = (2, g) if kind == "GRU" else (g,)
        got = _tuple_of_arrays(got, KERAS_NAMES, [(features, g), (units, g), bias_shape], what)
        want = torch_run(kind, torch_weights, x, states)
        variants = [(label, keras_run(kind, wrong(*torch_weights), x, states))
                    for label, wrong in mistakes]
        _compare_outputs(keras_run(kind, got, x, states), want, what, variants,
                         f"Keras's {kind} layer (rnnlib) and PyTorch's {kind} equations")


def _reshape(w):
    return w.reshape(w.shape[::-1])


@student_facing
def check_keras_lstm_to_torch(keras_lstm_to_torch, hidden=False):
    """``keras_lstm_to_torch(kernel, recurrent_kernel, bias)`` -> (weight_ih, weight_hh,
    bias_ih, bias_hh): the same LSTM in PyTorch's layout."""
    _to_torch_check("LSTM", keras_lstm_to_torch, "keras_lstm_to_torch", hidden, 9210,
                    {"reshape": "weights not transposed", "both": "one bias where PyTorch has two",
                     "ifog": "LSTM gate blocks reordered"})


@student_facing
def check_torch_lstm_to_keras(torch_lstm_to_keras, hidden=False):
    """``torch_lstm_to_keras(weight_ih, weight_hh, bias_ih, bias_hh)`` -> (kernel,
    recurrent_kernel, bias): the same LSTM in Keras's layout."""
    _to_keras_check("LSTM", torch_lstm_to_keras, "torch_lstm_to_keras", hidden, 9220, [
        ("weights not transposed", lambda w_ih, w_hh, b_ih, b_hh: (_reshape(w_ih), _reshape(w_hh), b_ih + b_hh)),
        ("one bias where PyTorch has two", lambda w_ih, w_hh, b_ih, b_hh: (w_ih.T, w_hh.T, b_ih)),
        ("one bias where PyTorch has two", lambda w_ih, w_hh, b_ih, b_hh: (w_ih.T, w_hh.T, b_hh))])


@student_facing
def check_keras_gru_to_torch(keras_gru_to_torch, hidden=False):
    """``keras_gru_to_torch(kernel, recurrent_kernel, bias)`` (bias (2, 3*units)) ->
    (weight_ih, weight_hh, bias_ih, bias_hh): the same GRU in PyTorch's layout."""
    _to_torch_check("GRU", keras_gru_to_torch, "keras_gru_to_torch", hidden, 9230,
                    {"reshape": "weights not transposed", "keras_order": "gate blocks left in Keras order (z|r|h)",
                     "one_bias": "one bias where PyTorch has two"})


@student_facing
def check_torch_gru_to_keras(torch_gru_to_keras, hidden=False):
    """``torch_gru_to_keras(weight_ih, weight_hh, bias_ih, bias_hh)`` -> (kernel,
    recurrent_kernel, bias (2, 3*units)): the same GRU in Keras's layout."""
    _to_keras_check("GRU", torch_gru_to_keras, "torch_gru_to_keras", hidden, 9240, [
        ("weights not transposed", lambda w_ih, w_hh, b_ih, b_hh: (
            _reshape(swap_zr(w_ih)), _reshape(swap_zr(w_hh)), np.stack([swap_zr(b_ih), swap_zr(b_hh)]))),
        ("gate blocks left in Keras order (z|r|h)", lambda w_ih, w_hh, b_ih, b_hh: (
            w_ih.T, w_hh.T, np.stack([b_ih, b_hh]))),
        ("one bias where PyTorch has two", lambda w_ih, w_hh, b_ih, b_hh: (
            swap_zr(w_ih).T, swap_zr(w_hh).T, np.stack([swap_zr(b_ih + b_hh), 0 * b_hh])))])


# --- Part C: states -------------------------------------------------------------------------

@student_facing
def check_states(keras_state_to_torch, torch_state_to_keras, hidden=False):
    """``keras_state_to_torch(state)``: (batch, units) -> h_0 (1, batch, hidden), and
    ``torch_state_to_keras(h_n)``: (1, batch, hidden) -> (batch, units), checked on a GRU that
    starts from a Keras state and runs in PyTorch's equations."""
    for k, (batch, steps, features, units) in enumerate(_sizes(hidden, (2, 4, 3, 5), 9250)):
        rng = np.random.default_rng(9251 + k + 10 * hidden)
        weights, x, (state,) = _keras_case(rng, "GRU", batch, steps, features, units)
        want_seq, want_state = keras_run("GRU", weights, x, [state])
        what = f"keras_state_to_torch(state {state.shape})"
        h_0 = call(keras_state_to_torch, state, name="keras_state_to_torch", expected="h_0 (1, batch, hidden)")
        h_0 = as_array(h_0, what)
        if h_0.shape != (1, batch, units):
            if h_0.shape == (batch, 1, units) and batch != 1:
                raise _named("time-major confused with batch-first",
                             f"{what} has shape {h_0.shape}; expected (1, batch, hidden) = {(1, batch, units)}.")
            raise AssertionError(f"{what} has shape {h_0.shape}; expected (num_layers*num_directions, "
                                 f"batch, hidden) = {(1, batch, units)}.")
        output, h_n = torch_gru_forward(np.swapaxes(x, 0, 1), *gru_to_torch(*weights), h_0)
        if not _close(np.swapaxes(output, 0, 1), want_seq, RTOL, ATOL):
            raise AssertionError(f"{what}: a GRU in PyTorch's equations started from your h_0 does not "
                                 "compute what Keras's GRU started from `state` does. h_0[0] must be the "
                                 "state itself (np.asarray(state)[None] or state.reshape(1, *state.shape)).")
        what = f"torch_state_to_keras(h_n {h_n.shape})"
        got = call(torch_state_to_keras, h_n, name="torch_state_to_keras", expected="a state (batch, hidden)")
        got = as_array(got, what)
        if got.shape != (batch, units):
            raise AssertionError(f"{what} has shape {got.shape}; expected (batch, units) = {(batch, units)} "
                                 "(the one layer's slice of h_n).")
        if not _close(got, want_state, RTOL, ATOL):
            raise AssertionError(f"{what} has the right shape but is not the state Keras's GRU returns "
                                 "(h_n[0] is).")

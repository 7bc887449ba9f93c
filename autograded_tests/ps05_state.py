"""Checks for ps05_state: one LSTM step, one GRU step (reset_after True and False),
streaming a long sequence in chunks with carried state, and what return_state returns.

The reference is rnnlib's LSTMCell / GRUCell / layers in float64.  The wrong variants
are the same cells with their gate blocks permuted, or a few lines of NumPy.
"""
import contextlib

import numpy as np

import rnnlib as rl
from rnnlib.layers.gru import GRUCell
from rnnlib.layers.lstm import LSTMCell
from rnnlib.layers.rnn import RNN

from .common import CELL_MATHS, RNN_LOOP, call, describe, float64, reference_layer
from .feedback import student_facing
from .ps04_stacking import SHAPE_INFERENCE, compare, random_weights


def _permute(weights, order, units):
    """Each weight with its gate blocks of ``units`` columns reordered (last axis)."""
    return [np.concatenate([w[..., g * units:(g + 1) * units] for g in order], axis=-1)
            for w in weights]


def _case(seed, batch, features, units, gates, bias_shape=None):
    rng = np.random.default_rng(seed)
    x_t = rng.normal(0, 1, (batch, features))
    states = [rng.normal(0, 1, (batch, units)) for _ in range(2)]
    return x_t, states, list(random_weights(rng, features, units, gates, bias_shape))


def _run_cell(cell, x_t, states, weights):
    with float64():
        cell.build((None, x_t.shape[1]))
        cell.kernel, cell.recurrent_kernel, cell.bias = [np.asarray(w, float) for w in weights]
        out, new_states = cell.call(x_t, states)
    return out, new_states


# --- Part A: lstm_step --------------------------------------------------------------

def reference_lstm_step(x_t, h_tm1, c_tm1, kernel, recurrent_kernel, bias):
    with float64():
        _, (h, c) = _run_cell(LSTMCell(kernel.shape[1] // 4), x_t, [h_tm1, c_tm1],
                              [kernel, recurrent_kernel, bias])
    return [h, c]


@student_facing
def check_lstm_step(lstm_step, hidden=False):
    """lstm_step(x_t, h_tm1, c_tm1, kernel, recurrent_kernel, bias) -> (h, c), as LSTMCell."""
    cases = [(50, 3, 2, 4)] if not hidden else [(51, 2, 5, 3), (52, 4, 3, 3), (53, 1, 1, 6)]
    for seed, batch, features, units in cases:
        x_t, (h_tm1, c_tm1), weights = _case(seed, batch, features, units, 4)
        expected = reference_lstm_step(x_t, h_tm1, c_tm1, *weights)
        got = call(lstm_step, x_t, h_tm1, c_tm1, *weights, name="lstm_step",
                   expected=f"a pair (h, c) of arrays of shape {(batch, units)}")
        zero = np.zeros_like(h_tm1)
        kernel, recurrent_kernel, bias = weights
        variants = [
            ("gates in the wrong order (i|f|o|g)", reference_lstm_step(
                x_t, h_tm1, c_tm1, *_permute(weights, [0, 1, 3, 2], units))),
            ("recurrent part missing", reference_lstm_step(        # = h_tm1 zero, c_tm1 kept
                x_t, h_tm1, c_tm1, kernel, 0 * recurrent_kernel, bias)),
            ("zero state instead of h0", reference_lstm_step(x_t, zero, zero, *weights)),
            ("h and c swapped", reference_lstm_step(x_t, h_tm1, c_tm1, *weights)[::-1]),
        ]
        if not isinstance(got, (list, tuple)):
            raise AssertionError(f"lstm_step should return a pair (h, c); got {describe(got)}. "
                                 "Write `return h, c`.")
        compare(list(got), expected, f"lstm_step(x_t {x_t.shape}, h_tm1, c_tm1, ...) -> (h, c)",
                variants,
                hints={"h and c swapped": "return h first, then c: (h, c), as Keras's states [h, c]."},
                hint="Keras's gates are i|f|c|o: i, f, o use recurrent_activation (sigmoid), "
                     "the candidate uses tanh; c = f * c_tm1 + i * c~ and h = o * tanh(c).")


# --- Part B: gru_step ---------------------------------------------------------------

def reference_gru_step(x_t, h_tm1, kernel, recurrent_kernel, bias, reset_after=True):
    with float64():
        h, _ = _run_cell(GRUCell(kernel.shape[1] // 3, reset_after=reset_after), x_t, [h_tm1],
                         [kernel, recurrent_kernel, bias])
    return h


def gru_maths(x_t, h_tm1, kernel, recurrent_kernel, input_bias, recurrent_bias, reset_after,
              drop_recurrent_h_bias=False, swap_z=False):
    """The GRU step written out, to produce the wrong variants (z|r|h layout)."""
    u = h_tm1.shape[1]
    xz = x_t @ kernel + input_bias                                   # (batch, 3*units)
    hz = h_tm1 @ recurrent_kernel + recurrent_bias                   # (batch, 3*units)
    sig = lambda a: 0.5 * (1 + np.tanh(0.5 * a))                    # noqa: E731
    z = sig(xz[:, :u] + hz[:, :u])
    r = sig(xz[:, u:2 * u] + hz[:, u:2 * u])
    if reset_after:
        hh = np.tanh(xz[:, 2 * u:] + r * hz[:, 2 * u:])
    else:
        rec_bias = 0 if drop_recurrent_h_bias else recurrent_bias[2 * u:]
        hh = np.tanh(xz[:, 2 * u:] + (r * h_tm1) @ recurrent_kernel[:, 2 * u:] + rec_bias)
    return (1 - z) * h_tm1 + z * hh if swap_z else z * h_tm1 + (1 - z) * hh


def gru_variants(x_t, h_tm1, weights, reset_after):
    kernel, recurrent_kernel, bias = weights
    u = h_tm1.shape[1]
    b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, np.zeros_like(bias))
    variants = [
        ("gates in the wrong order (r|z|h)", reference_gru_step(
            x_t, h_tm1, *_permute(weights, [1, 0, 2], u), reset_after=reset_after)),
        ("zero state instead of h0", reference_gru_step(
            x_t, 0 * h_tm1, *weights, reset_after=reset_after)),
        ("recurrent part missing", reference_gru_step(
            x_t, h_tm1, kernel, 0 * recurrent_kernel, bias, reset_after=reset_after)),
        ("update gate used the other way round", gru_maths(
            x_t, h_tm1, kernel, recurrent_kernel, b_in, b_rec, reset_after, swap_z=True)),
    ]
    if reset_after:
        before = "reset gate applied before instead of after"
        variants += [
            (before, gru_maths(x_t, h_tm1, kernel, recurrent_kernel, b_in, b_rec, False)),
            (before, gru_maths(x_t, h_tm1, kernel, recurrent_kernel, b_in, b_rec, False,
                               drop_recurrent_h_bias=True)),
            ("bias rows swapped", reference_gru_step(
                x_t, h_tm1, kernel, recurrent_kernel, bias[::-1], reset_after=True)),
        ]
    else:
        variants.append(("reset gate applied after instead of before", gru_maths(
            x_t, h_tm1, kernel, recurrent_kernel, b_in, b_rec, True)))
    return variants


GRU_HINTS = {
    "update gate used the other way round": "Keras keeps the old state where z is 1: "
                                            "h = z * h_tm1 + (1 - z) * h~.",
    "bias rows swapped": "with reset_after=True the bias is (2, 3*units): bias[0] is added to "
                         "x_t @ kernel, bias[1] to h_tm1 @ recurrent_kernel.",
}


@student_facing
def check_gru_step(gru_step, hidden=False, reset_after=True):
    """gru_step(x_t, h_tm1, kernel, recurrent_kernel, bias, reset_after) -> h, as GRUCell."""
    cases = [(60, 3, 2, 4)] if not hidden else [(61, 2, 5, 3), (62, 4, 3, 3), (63, 1, 1, 5)]
    for seed, batch, features, units in cases:
        seed += 0 if reset_after else 10
        bias_shape = (2, 3 * units) if reset_after else (3 * units,)
        x_t, (h_tm1, _), weights = _case(seed, batch, features, units, 3, bias_shape)
        expected = reference_gru_step(x_t, h_tm1, *weights, reset_after=reset_after)
        got = call(gru_step, x_t, h_tm1, *weights, reset_after=reset_after, name="gru_step",
                   expected=f"an array h of shape {(batch, units)}")
        compare(got, expected,
                f"gru_step(x_t {x_t.shape}, h_tm1, ..., bias {bias_shape}, reset_after={reset_after})",
                gru_variants(x_t, h_tm1, weights, reset_after), GRU_HINTS,
                hint="Keras's gates are z|r|h. With reset_after=True: h~ = tanh(x_t W_h + b_h + "
                     "r * (h_tm1 U_h + b_rec_h)); with False: h~ = tanh(x_t W_h + b_h + "
                     "(r * h_tm1) U_h); then h = z * h_tm1 + (1 - z) * h~.")


# --- Part C: stream_in_chunks ----------------------------------------------------------

@contextlib.contextmanager
def recorded_rnn_calls():
    """Record the timesteps of every eager RNN call made inside the block."""
    seen, original = [], RNN.call

    def spy(self, x, *args, **kwargs):
        seen.append(np.shape(x)[1])
        return original(self, x, *args, **kwargs)

    RNN.call = spy
    try:
        yield seen
    finally:
        RNN.call = original


def _stream_layer(kind, units, features, seed):
    rng = np.random.default_rng(seed)
    gates, bias = {"LSTM": (4, None), "GRU": (3, (2, 3 * units))}[kind]
    return reference_layer(getattr(rl.layers, kind), features,
                           random_weights(rng, features, units, gates, bias),
                           units=units, return_sequences=True, return_state=True)


def _chunked(layer, x, chunk, carry):
    """Run ``layer`` chunk by chunk; ``carry`` turns the last chunk's states into the next
    chunk's initial states (None: start every chunk from zeros)."""
    outputs, states = [], None
    for start in range(0, x.shape[1], chunk):
        out, *new = layer(x[:, start:start + chunk], initial_state=states)
        outputs.append(out)
        states = carry(new)
    return [np.concatenate(outputs, axis=1), new]


@student_facing
def check_stream_in_chunks(stream_in_chunks, hidden=False):
    """stream_in_chunks(layer, x, chunk) -> (outputs, states) equals one run of the layer."""
    cases = ([("LSTM", 4, 3, 2, 12, 4)] if not hidden else
             [("GRU", 3, 2, 3, 10, 4), ("LSTM", 2, 2, 1, 5, 1), ("LSTM", 5, 1, 2, 9, 7)])
    for k, (kind, units, features, batch, timesteps, chunk) in enumerate(cases):
        layer = _stream_layer(kind, units, features, 70 + k + 5 * hidden)
        x = np.random.default_rng(80 + k).normal(0, 1, (batch, timesteps, features))
        out, *states = layer(x)
        with recorded_rnn_calls() as seen:
            got = call(stream_in_chunks, layer, x, chunk, name="stream_in_chunks", forbid=(),
                       expected="a pair (outputs, states)")
        what = f"stream_in_chunks({kind} layer, x of shape {x.shape}, chunk={chunk})"
        if seen and max(seen) > chunk:
            raise AssertionError(
                f"Misconception: not streamed in chunks — {what} called the layer on "
                f"{max(seen)} timesteps at once. Call it on x[:, start:start + chunk] for each "
                "chunk, and pass the states it returns as the next call's initial_state.")
        if not isinstance(got, (list, tuple)) or len(got) != 2:
            raise AssertionError(f"{what} should return a pair (outputs, states); got {describe(got)}.")
        zeros = [np.zeros_like(s) for s in states]
        variants = {"state not carried between chunks": _chunked(layer, x, chunk, lambda s: None)}
        if kind == "LSTM":
            variants["cell state c not carried"] = _chunked(
                layer, x, chunk, lambda s: [s[0], zeros[1]])
        compare([got[0], list(got[1]) if isinstance(got[1], (list, tuple)) else got[1]],
                [out, states], what, variants, hints={
                    "state not carried between chunks": "each chunk must start from the states "
                    "the previous chunk ended with: layer(chunk, initial_state=states).",
                    "cell state c not carried": "an LSTM carries two states: pass both [h, c] "
                    "as initial_state."},
                atol=1e-5,
                hint="outputs are the chunks' outputs joined along time (axis 1); states are the "
                     "states the last chunk returned ([h] for GRU, [h, c] for LSTM; a list or a tuple).")


# --- Part D: return_state_shapes -------------------------------------------------------

def reference_state_shapes(kind, batch, timesteps, units, return_sequences):
    layer = getattr(rl.layers, kind)(units, return_sequences=return_sequences, return_state=True)
    return [tuple(np.shape(a)) for a in layer(np.zeros((batch, timesteps, 2)))]


STATE_HINTS = {
    "only the LSTM has a cell state c": "SimpleRNN and GRU carry one state h; only the LSTM "
                                        "carries two, h and c.",
    "the LSTM's cell state c left out": "an LSTM with return_state=True returns (output, h, c): its two states h and c.",
    "return_sequences changes the states": "the states are always the LAST states, (batch, units); "
                                           "return_sequences changes only the output.",
}


@student_facing
def check_return_state_shapes(return_state_shapes, hidden=False):
    """return_state_shapes(kind, batch, timesteps, units, return_sequences) == what the
    layer with return_state=True returns: a list of shapes."""
    cases = ([("SimpleRNN", 2, 5, 3, False), ("GRU", 2, 5, 3, False), ("LSTM", 2, 5, 3, False),
              ("LSTM", 4, 7, 6, True)] if not hidden else
             [("GRU", 3, 4, 2, True), ("SimpleRNN", 1, 8, 8, True), ("LSTM", 5, 1, 2, False),
              ("GRU", 6, 6, 6, False)])
    for kind, batch, timesteps, units, rs in cases:
        expected = reference_state_shapes(kind, batch, timesteps, units, rs)
        what = (f"return_state_shapes({kind!r}, batch={batch}, timesteps={timesteps}, "
                f"units={units}, return_sequences={rs})")
        got = call(return_state_shapes, kind, batch, timesteps, units, rs,
                   name="return_state_shapes", expected=f"a list of {len(expected)} shapes",
                   forbid=SHAPE_INFERENCE + CELL_MATHS + RNN_LOOP)
        try:
            got = [tuple(int(d) for d in s) for s in got]
        except (TypeError, ValueError):
            raise AssertionError(f"{what} should be a list of shape tuples like "
                                 f"{expected}; got {describe(got)}.") from None
        if got == expected:
            continue
        output, state = expected[0], (batch, units)
        wrong = {"only the LSTM has a cell state c": [output, state, state],
                 "the LSTM's cell state c left out": [output, state],
                 "return_sequences changes the states": [output] + [output] * (len(expected) - 1)}
        for name, shapes in wrong.items():
            if got == shapes:
                raise AssertionError(f"Misconception: {name} — {STATE_HINTS[name]}\n"
                                     f"{what}: expected {expected}, got {got}.")
        raise AssertionError(f"{what}: expected {expected}, got {got}.\nHint: the shapes are "
                             "those of (output, *states); the output is (batch, timesteps, units) with "
                             "return_sequences, else (batch, units); each state is (batch, units).")

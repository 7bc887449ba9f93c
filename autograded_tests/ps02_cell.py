"""Checks for ps02_cell: one SimpleRNN step, parameter counts, a cell that drives ``rl.layers.RNN``.

Each ``check_*`` is called by one test cell, once as it is (the visible check) and
once with ``hidden=True`` (other seeds and sizes; ``features == units``, so that
a transposed kernel runs and is caught by its values).
"""
import numpy as np

import rnnlib as rl
from .common import (CELL_MATHS, call, check_shape, check_values, describe, misconception,
                     reference_layer)
from .feedback import student_facing

HINTS = {
    "bias missing":
        "your result is what the step gives without the bias. Add bias (units,) to "
        "x_t @ kernel + h_tm1 @ recurrent_kernel, before the tanh.",
    "recurrent kernel not counted":
        "the recurrent kernel (units, units) is a weight too: h_tm1 @ recurrent_kernel.",
    "bias not counted":
        "every unit of every gate has a bias.",
    "one bias row with reset_after":
        "with reset_after=True (the default) a GRU has two bias rows, bias (2, 3*units): "
        "one added to x_t @ kernel and one added to h_tm1 @ recurrent_kernel.",
    "two bias rows without reset_after":
        "with reset_after=False a GRU has one bias row, bias (3*units,).",
    "gates not counted":
        "the kernels of a GRU hold 3 gates (z|r|h) side by side and those of an LSTM 4 "
        "(i|f|c|o): kernel (features, gates*units), recurrent_kernel (units, gates*units).",
}


def simple_rnn_weights(features, units, seed):
    """Seeded ``[kernel (features, units), recurrent_kernel (units, units), bias (units,)]``."""
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.5, size=(features, units)),
            rng.normal(scale=0.5, size=(units, units)),
            rng.normal(scale=0.5, size=units)]


def simple_rnn_variants(run, weights, features, units):
    """Wrong variants of a SimpleRNN run: ``run(weights, with_h0, **layer_kwargs) -> output``.

    "recurrent part missing" comes before "zero state instead of h0": for one step from
    h_tm1 they give the same result, and only the first is true of both mistakes.
    """
    kernel, recurrent_kernel, bias = weights
    variants = [("recurrent part missing", run([kernel, 0 * recurrent_kernel, bias], True)),
                ("zero state instead of h0", run(weights, False)),
                ("transposed kernel", run([kernel, recurrent_kernel.T, bias], True)),
                ("bias missing", run([kernel, recurrent_kernel, 0 * bias], True)),
                ("ReLU instead of tanh", run(weights, True, activation="relu")),
                ("sigmoid instead of tanh", run(weights, True, activation="sigmoid")),
                ("activation missing", run(weights, True, activation="linear"))]
    if features == units:
        variants += [("transposed kernel", run([kernel.T, recurrent_kernel, bias], True)),
                     ("transposed kernel", run([kernel.T, recurrent_kernel.T, bias], True))]
    return variants


# --- Part A: one step ------------------------------------------------------------

@student_facing
def check_simple_rnn_step(simple_rnn_step, hidden=False):
    """``simple_rnn_step(x_t, h_tm1, kernel, recurrent_kernel, bias)`` -> h_t (batch, units)."""
    cases = [(3, 4, 4, 11), (1, 2, 5, 12), (5, 1, 3, 13)] if hidden else [(2, 3, 4, 1)]
    for batch, features, units, seed in cases:
        weights = simple_rnn_weights(features, units, seed)
        rng = np.random.default_rng(seed + 1000)
        x_t = rng.normal(size=(batch, features))
        h_tm1 = rng.normal(size=(batch, units))

        def run(w, with_h0, **kw):
            layer = reference_layer(rl.layers.SimpleRNN, features, w, units=units, **kw)
            return layer(x_t[:, None, :], initial_state=[h_tm1] if with_h0 else None)

        expected = run(weights, True)
        what = (f"simple_rnn_step(x_t {x_t.shape}, h_tm1 {h_tm1.shape}, kernel "
                f"{weights[0].shape}, recurrent_kernel {weights[1].shape}, bias {weights[2].shape})")
        got = call(simple_rnn_step, x_t, h_tm1, *weights, name="simple_rnn_step",
                   expected=f"h_t of shape {expected.shape} (batch, units)")
        got = check_shape(got, expected.shape, what,
                          hint="h_t is (batch, units): one new state per sample.")
        check_values(got, expected, what, hints=HINTS,
                     variants=simple_rnn_variants(run, weights, features, units))


# --- Part B: parameter counts ------------------------------------------------------

def _check_count(fn, name, args, expected, variants):
    shown = ", ".join(f"{k}={v}" for k, v in args.items())
    got = call(fn, **args, name=name, forbid=(), expected=f"the int {expected}")
    for label, wrong in variants:
        if isinstance(got, (int, float, np.integer, np.floating)) and got == wrong:
            raise AssertionError(misconception(label, HINTS[label]) +
                                 f"\n{name}({shown}) returned {got}; rnnlib counts {expected}.")
    if isinstance(got, (float, np.floating)) and got == expected:
        raise AssertionError(f"{name}({shown}) returned {got!r}, a {type(got).__name__}; expected "
                             f"the int {expected}. A count is a whole number: multiply and add "
                             "ints (no `/`, no np.float), or return int(...) of an exact result.")
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
        raise AssertionError(f"{name}({shown}) returned {describe(got)} ({type(got).__name__}); "
                             f"expected an int, the number of parameters.")
    if got == expected:
        return
    raise AssertionError(f"{name}({shown}) returned {got}; the layer has {expected} parameters "
                         "(rnnlib's count_params()). Count kernel, recurrent_kernel and bias "
                         "separately, then add them.")


def _count(layer_class, features, **kwargs):
    return reference_layer(layer_class, features, **kwargs).count_params()


PARAM_CASES = {False: [(1, 10), (2, 3)], True: [(3, 4), (16, 16), (512, 16), (7, 1)]}


@student_facing
def check_simple_rnn_params(simple_rnn_params, hidden=False):
    """``simple_rnn_params(features, units)`` equals SimpleRNN's count_params()."""
    for f, u in PARAM_CASES[hidden]:
        _check_count(simple_rnn_params, "simple_rnn_params", dict(features=f, units=u),
                     _count(rl.layers.SimpleRNN, f, units=u),
                     [("recurrent kernel not counted", u * (f + 1)), ("bias not counted", u * (f + u))])


@student_facing
def check_gru_params(gru_params, hidden=False):
    """``gru_params(features, units, reset_after=True)`` equals GRU's count_params()."""
    cases = [(f, u, ra) for f, u in PARAM_CASES[hidden] for ra in ([True, False] if hidden else [True])]
    for f, u, reset_after in cases:
        args = dict(features=f, units=u) if not hidden else dict(features=f, units=u,
                                                                 reset_after=reset_after)
        _check_count(gru_params, "gru_params", args,
                     _count(rl.layers.GRU, f, units=u, reset_after=reset_after),
                     [("one bias row with reset_after" if reset_after else
                       "two bias rows without reset_after", 3 * u * (f + u + (1 if reset_after else 2))),
                      ("gates not counted", u * (f + u + (2 if reset_after else 1))),
                      ("recurrent kernel not counted", 3 * u * (f + (2 if reset_after else 1)))])


@student_facing
def check_lstm_params(lstm_params, hidden=False):
    """``lstm_params(features, units)`` equals LSTM's count_params()."""
    for f, u in PARAM_CASES[hidden]:
        _check_count(lstm_params, "lstm_params", dict(features=f, units=u),
                     _count(rl.layers.LSTM, f, units=u),
                     [("gates not counted", u * (f + u + 1)), ("recurrent kernel not counted", 4 * u * (f + 1)),
                      ("bias not counted", 4 * u * (f + u))])


# --- Part C: the cell class ----------------------------------------------------------

def _make_cell(MySimpleRNNCell, units):
    cell = call(MySimpleRNNCell, units, name="MySimpleRNNCell", forbid=CELL_MATHS,
                expected="a cell object")
    size = getattr(cell, "state_size", None)
    if size != units and size not in ([units], (units,)):
        raise AssertionError(f"MySimpleRNNCell({units}).state_size is {size!r}; expected {units} "
                             "(the size of the hidden state h, which is also the output).")
    return cell


@student_facing
def check_my_simple_rnn_cell_build(MySimpleRNNCell, hidden=False):
    """``MySimpleRNNCell(units)``: state_size, and ``build(input_shape)`` makes the three weights."""
    for features, units in ([(2, 5), (6, 1)] if hidden else [(3, 4)]):
        cell = _make_cell(MySimpleRNNCell, units)
        if not callable(getattr(cell, "build", None)):
            raise AssertionError("MySimpleRNNCell has no method build(input_shape); expected one "
                                 "that creates self.kernel, self.recurrent_kernel and self.bias.")
        call(cell.build, (None, features), name="MySimpleRNNCell.build", forbid=CELL_MATHS,
             expected="build to create kernel, recurrent_kernel and bias", none_ok=True)
        wanted = {"kernel": (features, units), "recurrent_kernel": (units, units), "bias": (units,)}
        for attr, shape in wanted.items():
            value = getattr(cell, attr, None)
            if value is None:
                raise AssertionError(f"After cell.build((None, {features})) the cell has no "
                                     f"attribute `{attr}`; build must set self.{attr}, shape {shape}.")
            got = np.shape(value)
            if attr == "kernel" and got == (units, features) and features != units:
                raise AssertionError(misconception("transposed kernel") +
                                     f"\nself.kernel has shape {got}; expected {shape}.")
            check_shape(value, shape, f"cell.{attr} after cell.build((None, {features}))",
                        hint="input_shape[-1] is the number of features.")


@student_facing
def check_my_simple_rnn_cell(MySimpleRNNCell, hidden=False):
    """``rl.layers.RNN(MySimpleRNNCell(units), ...)`` equals ``rl.layers.SimpleRNN`` with the
    same weights; the check assigns cell.kernel, cell.recurrent_kernel and cell.bias."""
    cases = [(2, 5, 3, 4, 21, dict(return_sequences=True))]
    if hidden:
        cases = [(3, 4, 4, 4, 31, dict(return_sequences=True, go_backwards=True)),
                 (2, 6, 2, 3, 32, dict()),
                 (1, 3, 5, 2, 33, dict(return_state=True))]
    for batch, timesteps, features, units, seed, flags in cases:
        weights = simple_rnn_weights(features, units, seed)
        rng = np.random.default_rng(seed + 1000)
        x = rng.normal(size=(batch, timesteps, features))
        h0 = rng.normal(size=(batch, units))

        def run(w, with_h0, **kw):
            layer = reference_layer(rl.layers.SimpleRNN, features, w, units=units, **flags, **kw)
            return layer(x, initial_state=[h0] if with_h0 else None)

        expected = run(weights, True)
        shown = ", ".join(f"{k}=True" for k in flags)
        what = f"rl.layers.RNN(MySimpleRNNCell({units}){', ' + shown if shown else ''})(x {x.shape}, initial_state=[h0])"
        cell = _make_cell(MySimpleRNNCell, units)
        layer = call(rl.layers.RNN, cell, forbid=CELL_MATHS, name="rl.layers.RNN", **flags)
        call(layer, rl.Input(shape=(timesteps, features)), name="rl.layers.RNN(MySimpleRNNCell(...))",
             forbid=CELL_MATHS, expected="the layer to build (it calls cell.build)")
        layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias = [w.copy() for w in weights]
        got = call(layer, x, initial_state=[h0], name=what, forbid=CELL_MATHS,
                   expected="the same result as rl.layers.SimpleRNN with these weights")
        variants = simple_rnn_variants(run, weights, features, units)
        if flags.get("return_state"):
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                raise AssertionError(f"{what} returned {describe(got)}; with return_state=True "
                                     "expected a pair (output, h). Does your cell's call return "
                                     "(h, [h])?")
            for k, part in enumerate(["output", "final state h"]):
                check_values(check_shape(got[k], expected[k].shape, f"{what}: {part}"), expected[k],
                             f"{what}: {part}", hints=HINTS, variants=[(n, v[k]) for n, v in variants])
        else:
            got = check_shape(got, expected.shape, what)
            check_values(got, expected, what, hints=HINTS, variants=variants)

"""Checks for ps03_unrolling: a SimpleRNN forward pass over time, with its flags.

``rnn_forward(x, h0, kernel, recurrent_kernel, bias, return_sequences=False,
go_backwards=False)`` is compared with ``rl.layers.SimpleRNN`` loaded with the same
weights.  The first visible case has ``batch == timesteps``, so that a loop over
the wrong axis runs (instead of crashing) and its misconception can be named.
"""
import numpy as np

import rnnlib as rl
from .common import call, check_shape, check_values, reference_layer
from .feedback import student_facing
from .ps02_cell import HINTS, simple_rnn_variants, simple_rnn_weights

# (batch, timesteps, features, units, seed)
CASES = {False: [(3, 3, 2, 4, 1), (2, 5, 3, 4, 2)],
         True: [(4, 4, 4, 4, 11), (1, 7, 2, 3, 12), (5, 2, 3, 6, 13)]}


def _data(batch, timesteps, features, units, seed):
    rng = np.random.default_rng(seed + 1000)
    return (rng.normal(size=(batch, timesteps, features)), rng.normal(size=(batch, units)),
            simple_rnn_weights(features, units, seed))


def _runner(x, h0, features, units, return_sequences, go_backwards):
    """``run(weights, with_h0, x=x, **flags)``: rnnlib's SimpleRNN on these inputs."""
    def run(weights, with_h0, x=x, **flags):
        flags = dict(dict(return_sequences=return_sequences, go_backwards=go_backwards), **flags)
        layer = reference_layer(rl.layers.SimpleRNN, features, weights, units=units, **flags)
        return layer(x, initial_state=[h0] if with_h0 else None)
    return run


def forward_variants(run, weights, x, return_sequences, go_backwards):
    """Every wrong variant of a SimpleRNN forward pass (see common.MISCONCEPTIONS)."""
    features, units = weights[0].shape
    variants = simple_rnn_variants(run, weights, features, units)
    if return_sequences:
        if go_backwards:
            variants.append(("sequence reversed twice", run(weights, True)[:, ::-1]))
    else:
        variants.append(("first instead of last output",
                         run(weights, True, return_sequences=True)[:, 0]))
    if go_backwards:
        variants.append(("sequence not reversed for go_backwards",
                         run(weights, True, go_backwards=False)))
    if x.shape[0] == x.shape[1]:
        # a loop over axis 0: x[t] is really sample t; outputs stacked on axis 1 or on axis 0
        major = run(weights, True, x=x.transpose(1, 0, 2))
        variants.append(("time-major layout", major))
        if return_sequences:
            variants.append(("time-major layout", major.transpose(1, 0, 2)))
    return variants


def _check_forward(rnn_forward, hidden, return_sequences, go_backwards):
    for batch, timesteps, features, units, seed in CASES[hidden]:
        x, h0, weights = _data(batch, timesteps, features, units, seed)
        run = _runner(x, h0, features, units, return_sequences, go_backwards)
        expected = run(weights, True)
        flags = "".join(f", {k}=True" for k, v in [("return_sequences", return_sequences),
                                                    ("go_backwards", go_backwards)] if v)
        what = f"rnn_forward(x {x.shape}, h0 {h0.shape}, kernel, recurrent_kernel, bias{flags})"
        got = call(rnn_forward, x, h0, *weights, return_sequences=return_sequences,
                   go_backwards=go_backwards, name="rnn_forward",
                   expected=f"an array of shape {expected.shape}")
        hint = ("with return_sequences=True the result is (batch, timesteps, units): one output per "
                "timestep." if return_sequences else
                "without return_sequences the result is the last output (batch, units).")
        got = check_shape(got, expected.shape, what, hint=hint)
        check_values(got, expected, what, hints=HINTS, sequence=return_sequences,
                     variants=forward_variants(run, weights, x, return_sequences, go_backwards))


@student_facing
def check_rnn_forward(rnn_forward, hidden=False):
    """The last output (batch, units), reading forwards."""
    _check_forward(rnn_forward, hidden, return_sequences=False, go_backwards=False)


@student_facing
def check_rnn_forward_sequences(rnn_forward, hidden=False):
    """``return_sequences=True``: every output (batch, timesteps, units)."""
    _check_forward(rnn_forward, hidden, return_sequences=True, go_backwards=False)


@student_facing
def check_rnn_forward_backwards(rnn_forward, hidden=False):
    """``go_backwards=True``, with and without ``return_sequences``."""
    for return_sequences in (False, True):
        _check_forward(rnn_forward, hidden, return_sequences, go_backwards=True)


@student_facing
def check_layer_forward(layer_forward, hidden=False):
    """``layer_forward(layer, x, initial_state=None)`` equals ``layer(x, initial_state)``."""
    flag_sets = [(False, False)] if not hidden else [(True, False), (False, True), (True, True)]
    for (batch, timesteps, features, units, seed), (sequences, backwards) in zip(CASES[hidden], flag_sets):
        x, h0, weights = _data(batch, timesteps, features, units, seed)
        flags = dict(return_sequences=sequences, go_backwards=backwards)
        run = _runner(x, h0, features, units, **flags)
        for with_h0 in ([True, False] if hidden else [False]):
            layer = reference_layer(rl.layers.SimpleRNN, features, weights, units=units, **flags)
            initial_state = [h0] if with_h0 else None
            expected = layer(x, initial_state=initial_state)
            shown = "".join(f", {k}=True" for k, v in flags.items() if v)
            what = (f"layer_forward(SimpleRNN({units}{shown}), x {x.shape}, "
                    f"initial_state={'[h0]' if with_h0 else 'None'})")
            got = call(layer_forward, layer, x, initial_state=initial_state,
                       name="layer_forward", expected=f"an array of shape {expected.shape}")
            got = check_shape(got, expected.shape, what,
                              hint="pass the layer's return_sequences and go_backwards on.")
            variants = forward_variants(run, weights, x, **flags) if with_h0 else []
            check_values(got, expected, what, hints=HINTS, variants=variants, sequence=sequences,
                         hint="layer.get_weights() is [kernel, recurrent_kernel, bias]; without "
                              "initial_state the layer starts from zeros (batch, units).")

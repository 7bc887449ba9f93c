"""Sample submissions for ps03_unrolling: one wrong idea per variant (see submissions/__init__)."""

ASSIGNMENT = "ps03_unrolling"
AUTOGRADED_POINTS = 10


def _forward(loop, result="np.stack(outputs, axis=1) if return_sequences else h"):
    """An rnn_forward whose loop (over ``order``, updating ``h``) and result are given."""
    return f'''
import numpy as np

def rnn_forward(x, h0, kernel, recurrent_kernel, bias, return_sequences=False, go_backwards=False):
    h, outputs = h0, []
    order = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
{loop}
    return {result}
'''


_STEP = "        h = simple_rnn_step(x[:, t], h, kernel, recurrent_kernel, bias)\n        outputs.append(h)"

VARIANTS = {
    # every rnn_forward test fails; layer_forward passes its visible check (no initial_state)
    # and fails the hidden one
    "zero_state": dict(cells={"rnn_forward": _forward(
        "    h = np.zeros_like(h0)\n    for t in order:\n" + _STEP)},
        score=0, feedback=["Misconception: zero state instead of h0"]),
    # wrong without return_sequences: Part A's first test (3), Part B (3), Part C (2)
    "first_output": dict(cells={"rnn_forward": _forward(
        "    for t in order:\n" + _STEP,
        result="np.stack(outputs, axis=1) if return_sequences else outputs[0]")},
        score=2, feedback=["Misconception: first instead of last output"]),
    "not_reversed": dict(cells={"rnn_forward": _forward(
        "    for t in range(x.shape[1]):\n" + _STEP)},
        score=5, feedback=["Misconception: sequence not reversed for go_backwards"]),
    "reversed_twice": dict(cells={"rnn_forward": _forward(
        "    for t in order:\n" + _STEP + "\n    if go_backwards:\n        outputs = outputs[::-1]")},
        score=5, feedback=["Misconception: sequence reversed twice"]),
    # loops over axis 0 (x[t]): named on the visible case where batch == timesteps
    "time_major": dict(cells={"rnn_forward": _forward(
        "    order = range(x.shape[0] - 1, -1, -1) if go_backwards else range(x.shape[0])\n"
        "    for t in order:\n"
        "        h = simple_rnn_step(x[t], h, kernel, recurrent_kernel, bias)\n"
        "        outputs.append(h)")},
        score=0, feedback=["Misconception: time-major layout"]),
    # issue 11: got only "wrong values". h[:] = ... writes into the one array that every
    # entry of outputs is: the last output passes (Part A), every sequence fails
    "in_place_update": dict(cells={"rnn_forward": _forward(
        "    h = h0.copy()\n    for t in order:\n"
        "        h[:] = simple_rnn_step(x[:, t], h, kernel, recurrent_kernel, bias)\n"
        "        outputs.append(h)")},
        score=3, feedback=["Misconception: every timestep holds the last output"]),
    "calls_rnnlib": dict(cells={"rnn_forward": '''
import rnnlib as rl

def rnn_forward(x, h0, kernel, recurrent_kernel, bias, return_sequences=False, go_backwards=False):
    layer = rl.layers.SimpleRNN(kernel.shape[1], return_sequences=return_sequences,
                                go_backwards=go_backwards)
    layer(rl.Input(shape=x.shape[1:]))
    layer.set_weights([kernel, recurrent_kernel, bias])
    return layer(x, initial_state=[h0])
'''}, score=0, feedback=["Misconception: calls rnnlib instead of implementing"]),
    # forgets the layer's flags: the visible check (default flags) passes, the hidden fails
    "layer_flags_ignored": dict(cells={"layer_forward": '''
import numpy as np

def layer_forward(layer, x, initial_state=None):
    kernel, recurrent_kernel, bias = layer.get_weights()
    h0 = np.zeros((x.shape[0], kernel.shape[1])) if initial_state is None else initial_state[0]
    return rnn_forward(x, h0, kernel, recurrent_kernel, bias)
'''}, score=8, feedback=["pass the layer's return_sequences and go_backwards on"]),
}

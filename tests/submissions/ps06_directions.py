"""Sample submissions for ps06_directions: one wrong idea per variant (see submissions/__init__)."""

ASSIGNMENT = "ps06_directions"
AUTOGRADED_POINTS = 10

_BIDIRECTIONAL = '''
def bidirectional_forward(x, fwd_weights, bwd_weights, merge_mode, return_sequences):
    def run(x, weights):
        kernel, recurrent_kernel, bias = weights
        h = np.zeros((x.shape[0], recurrent_kernel.shape[0]))
        outputs = []
        for t in range(x.shape[1]):
            h = simple_rnn_step(x[:, t], h, kernel, recurrent_kernel, bias)
            outputs.append(h)
        return np.stack(outputs, axis=1)

    forward = run(x, fwd_weights)
    backward = run(BACKWARD_INPUT, bwd_weights)
    FLIP
    merge = {"concat": lambda a, b: np.concatenate([a, b], axis=-1), "sum": lambda a, b: a + b,
             "mul": lambda a, b: a * b, "ave": lambda a, b: (a + b) / 2,
             None: lambda a, b: [a, b]}[merge_mode]
    return merge(forward, backward)
'''
_RIGHT_FLIP = '''if return_sequences:
        backward = backward[:, ::-1]
    else:
        forward, backward = forward[:, -1], backward[:, -1]'''


def _bidirectional(backward_input="x[:, ::-1]", flip=_RIGHT_FLIP):
    return _BIDIRECTIONAL.replace("BACKWARD_INPUT", backward_input).replace("FLIP", flip)


_MASKED = '''
def masked_forward(x, mask, h0, kernel, recurrent_kernel, bias, return_sequences):
    h, output, outputs = START, np.zeros_like(h0), []
    for t in range(x.shape[1]):
        h_new = simple_rnn_step(x[:, t], h, kernel, recurrent_kernel, bias)
        m = mask[:, t, None]
        h = STATE
        output = OUTPUT
        outputs.append(output)
    return np.stack(outputs, axis=1) if return_sequences else output
'''


def _masked(start="h0", state="np.where(m, h_new, h)", output="np.where(m, h_new, output)"):
    return (_MASKED.replace("START", start).replace("STATE", state)
            .replace("OUTPUT", output))


VARIANTS = {
    "not_reversed": dict(cells={"bidirectional_forward": _bidirectional(backward_input="x")},
                         score=5, feedback=["Misconception: sequence not reversed for go_backwards"]),
    "not_rereversed": dict(cells={"bidirectional_forward": _bidirectional(flip='''if not return_sequences:
        forward, backward = forward[:, -1], backward[:, -1]''')},
        score=5, feedback=["Misconception: backward sequence not re-reversed before merging"]),
    # flips the backward sequence back in every case, then takes the last entry
    "reversed_twice": dict(cells={"bidirectional_forward": _bidirectional(flip='''backward = backward[:, ::-1]
    if not return_sequences:
        forward, backward = forward[:, -1], backward[:, -1]''')},
        score=5, feedback=["Misconception: sequence reversed twice"]),
    "calls_rnnlib": dict(cells={"bidirectional_forward": '''
def bidirectional_forward(x, fwd_weights, bwd_weights, merge_mode, return_sequences):
    layer = rl.layers.Bidirectional(
        rl.layers.SimpleRNN(fwd_weights[1].shape[0], return_sequences=return_sequences),
        merge_mode=merge_mode)
    layer(x)
    layer.set_weights(list(fwd_weights) + list(bwd_weights))
    return layer(x)
'''}, score=5, feedback=["Misconception: calls rnnlib instead of implementing"]),
    "masked_resets_state": dict(cells={"masked_forward": _masked(
        state="np.where(m, h_new, 0.0)", output="h")},
        score=5, feedback=["Misconception: masked step resets the state"]),
    "masked_outputs_zeros": dict(cells={"masked_forward": _masked(output="np.where(m, h_new, 0.0)")},
                                 score=5, feedback=["Misconception: masked step outputs zeros"]),
    "mask_ignored": dict(cells={"masked_forward": _masked(state="h_new", output="h")},
                         score=5, feedback=["Misconception: mask ignored"]),
    "h0_before_first_step": dict(cells={"masked_forward": _masked(output="h")},
                                 score=5, feedback=["Misconception: h0 repeated before the first real step"]),
    "masked_zero_state": dict(cells={"masked_forward": _masked(start="np.zeros_like(h0)")},
                              score=5, feedback=["Misconception: zero state instead of h0"]),
}

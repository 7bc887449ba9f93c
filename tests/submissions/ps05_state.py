"""Sample submissions for ps05_state: one wrong idea per variant (see submissions/__init__)."""

ASSIGNMENT = "ps05_state"
AUTOGRADED_POINTS = 10

_LSTM = '''
def lstm_step(x_t, h_tm1, c_tm1, kernel, recurrent_kernel, bias):
    u = h_tm1.shape[1]
    z = x_t @ kernel + H @ recurrent_kernel + bias
    i = sigmoid(z[:, :u])
    f = sigmoid(z[:, u:2 * u])
    c = f * c_tm1 + i * np.tanh(z[:, CANDIDATE])
    o = sigmoid(z[:, OUTPUT_GATE])
    h = o * np.tanh(c)
    return h, c
'''

_GRU = '''
def gru_step(x_t, h_tm1, kernel, recurrent_kernel, bias, reset_after=True):
    u = h_tm1.shape[1]
    b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, 0)
    x_part = x_t @ kernel + b_in
    h_part = h_tm1 @ recurrent_kernel + b_rec
    z = sigmoid(x_part[:, Z] + h_part[:, Z])
    r = sigmoid(x_part[:, R] + h_part[:, R])
    after = np.tanh(x_part[:, 2 * u:] + r * h_part[:, 2 * u:])
    before = np.tanh(x_part[:, 2 * u:] + (r * h_tm1) @ recurrent_kernel[:, 2 * u:]
                     + (b_rec[2 * u:] if reset_after else 0))
    candidate = CANDIDATE
    return z * h_tm1 + (1 - z) * candidate
'''


def _gru(z=":u", r="u:2 * u", candidate="after if reset_after else before"):
    return _GRU.replace("Z]", f"{z}]").replace("R]", f"{r}]").replace("CANDIDATE", candidate)


_STREAM = '''
def stream_in_chunks(layer, x, chunk):
    outputs, states = [], None
    for start in range(0, x.shape[1], chunk):
        output, *states = layer(x[:, start:start + chunk], initial_state=NEXT)
        outputs.append(output)
    return np.concatenate(outputs, axis=1), states
'''

VARIANTS = {
    "gates_ifog": dict(cells={"lstm_step": _LSTM.replace("H @", "h_tm1 @").replace(
        "CANDIDATE", "3 * u:").replace("OUTPUT_GATE", "2 * u:3 * u")},
        score=7, feedback=["Misconception: gates in the wrong order (i|f|o|g)"]),
    # starts from zeros instead of (h_tm1, c_tm1)
    "zero_state": dict(cells={"lstm_step": _LSTM.replace("H @", "np.zeros_like(h_tm1) @").replace(
        "f * c_tm1", "f * np.zeros_like(c_tm1)").replace(
        "CANDIDATE", "2 * u:3 * u").replace("OUTPUT_GATE", "3 * u:")},
        score=7, feedback=["Misconception: zero state instead of h0"]),
    # leaves out h_tm1 @ recurrent_kernel (the same result as a zero h_tm1 with c_tm1 kept)
    "no_recurrent_part": dict(cells={"lstm_step": _LSTM.replace("H @ recurrent_kernel + ", "").replace(
        "CANDIDATE", "2 * u:3 * u").replace("OUTPUT_GATE", "3 * u:")},
        score=7, feedback=["Misconception: recurrent part missing"]),
    "calls_rnnlib": dict(cells={"lstm_step": '''
def lstm_step(x_t, h_tm1, c_tm1, kernel, recurrent_kernel, bias):
    cell = rl.layers.LSTMCell(h_tm1.shape[1])
    cell.build(x_t.shape)
    cell.kernel, cell.recurrent_kernel, cell.bias = kernel, recurrent_kernel, bias
    h, (_, c) = cell.call(x_t, [h_tm1, c_tm1])
    return h, c
'''}, score=7, feedback=["Misconception: calls rnnlib instead of implementing"]),
    "gates_rzh": dict(cells={"gru_step": _gru(z="u:2 * u", r=":u")},
                      score=7, feedback=["Misconception: gates in the wrong order (r|z|h)"]),
    # always the reset_after=False formula (right only when False is asked)
    "reset_before": dict(cells={"gru_step": _gru(candidate="before")},
                         score=8, feedback=["Misconception: reset gate applied before instead of after"]),
    # always the reset_after=True formula (right only when True is asked)
    "reset_after": dict(cells={"gru_step": _gru(candidate="after")},
                        score=9, feedback=["Misconception: reset gate applied after instead of before"]),
    "state_not_carried": dict(cells={"stream_in_chunks": _STREAM.replace("NEXT", "None")},
                              score=8, feedback=["Misconception: state not carried between chunks"]),
    "c_not_carried": dict(cells={"stream_in_chunks": _STREAM.replace(
        "NEXT", "None if states is None else [states[0], np.zeros_like(states[0])]")},
        score=8, feedback=["Misconception: cell state c not carried"]),
    "whole_sequence": dict(cells={"stream_in_chunks": '''
def stream_in_chunks(layer, x, chunk):
    output, *states = layer(x)
    return output, states
'''}, score=8, feedback=["Misconception: not streamed in chunks"]),
    "lstm_one_state": dict(cells={"return_state_shapes": '''
def return_state_shapes(kind, batch, timesteps, units, return_sequences):
    output = (batch, timesteps, units) if return_sequences else (batch, units)
    return [output, (batch, units)]
'''}, score=8, feedback=["Misconception: the LSTM's cell state c left out"]),
}

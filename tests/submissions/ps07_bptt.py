"""Sample submissions for ps07_bptt: one wrong idea per variant (see submissions/__init__).

Part A (3 points) is rnn_step_backward; Part B (2 + 2) rnn_backward with return_sequences
True and False, which calls the student's rnn_step_backward (so a wrong Part A fails Part B
too: 3 points left); Part C (3) lstm_step_backward.
"""

ASSIGNMENT = "ps07_bptt"
AUTOGRADED_POINTS = 10


def _step(d_z="d_h * (1 - h ** 2)", weights="x_t.T @ d_z, h_tm1.T @ d_z", back="recurrent_kernel.T"):
    return ("import numpy as np\n\n"
            "def rnn_step_backward(d_h, x_t, h_tm1, h, kernel, recurrent_kernel):\n"
            f"    d_z = {d_z}\n"
            f"    return d_z @ kernel.T, d_z @ {back}, {weights}, d_z.sum(axis=0)\n")


def _sequence(d_h="d_out[:, t] + dh_next", states="hs[t], hs[t + 1]", add="+=", first="",
              put_last="d_out[:, -1] = last", dh0="dh_next"):
    """rnn_backward with one line changed from the reference."""
    return f'''
import numpy as np

def rnn_backward(d_out, x, h0, kernel, recurrent_kernel, bias, return_sequences=False):
    timesteps = x.shape[1]
    hs = [h0]
    for t in range(timesteps):
        hs.append(rnn_step(x[:, t], hs[-1], kernel, recurrent_kernel, bias))
    {first}
    if not return_sequences:
        last, d_out = d_out, np.zeros(x.shape[:2] + h0.shape[1:])
        {put_last}
    dx = np.zeros_like(x)
    dkernel, drecurrent_kernel, dbias = (np.zeros_like(w) for w in (kernel, recurrent_kernel, bias))
    dh_next = np.zeros_like(h0)
    for t in reversed(range(timesteps)):
        d_h = {d_h}
        dx[:, t], dh_next, dk, drk, db = rnn_step_backward(d_h, x[:, t], {states},
                                                           kernel, recurrent_kernel)
        dkernel {add} dk
        drecurrent_kernel {add} drk
        dbias {add} db
    return dx, {dh0}, dkernel, drecurrent_kernel, dbias
'''


def _lstm(dc="d_c + d_h * o * (1 - tanh_c ** 2)", dc_tm1="dc * f", tanh_c="np.tanh(c)",
          c_block="2 * u:3 * u", o_block="3 * u:", order="[i_part, f_part, c_part, o_part]",
          gates=("dc * c_hat * i * (1 - i), dc * c_tm1 * f * (1 - f)", "d_h * np.tanh(c) * o * (1 - o)")):
    """lstm_step_backward with one idea changed from the reference."""
    return f'''
import numpy as np

def lstm_step_backward(d_h, d_c, x_t, h_tm1, c_tm1, kernel, recurrent_kernel, bias):
    u = h_tm1.shape[1]
    z = x_t @ kernel + h_tm1 @ recurrent_kernel + bias
    i, f = sigmoid(z[:, :u]), sigmoid(z[:, u:2 * u])
    c_hat, o = np.tanh(z[:, {c_block}]), sigmoid(z[:, {o_block}])
    c = f * c_tm1 + i * c_hat
    tanh_c = {tanh_c}
    dc = {dc}
    i_part, f_part = {gates[0]}
    c_part, o_part = dc * i * (1 - c_hat ** 2), {gates[1]}
    d_z = np.concatenate({order}, axis=1)
    return (d_z @ kernel.T, d_z @ recurrent_kernel.T, {dc_tm1}, x_t.T @ d_z, h_tm1.T @ d_z,
            d_z.sum(axis=0))
'''


VARIANTS = {
    # --- Part A: wrong in the step, so Part B (which calls it) fails too: 3 points (Part C) ---
    "tanh_prime_from_preactivation": dict(
        cells={"rnn_step_backward": _step(d_z="d_h * (1 - np.tanh(h) ** 2)")},
        score=3, feedback=["Misconception: tanh' taken from the pre-activation"]),
    "transposed_weight_gradient": dict(
        cells={"rnn_step_backward": _step(weights="d_z.T @ x_t, d_z.T @ h_tm1")},
        score=3, feedback=["Misconception: transposed weight gradient"]),
    "tanh_prime_missing": dict(cells={"rnn_step_backward": _step(d_z="d_h")},
                               score=3, feedback=["Misconception: tanh' missing"]),
    "recurrent_kernel_not_transposed": dict(
        cells={"rnn_step_backward": _step(back="recurrent_kernel")},
        score=3, feedback=["Misconception: weight not transposed going back"]),
    # --- Part B ---
    # dkernel = dk in the reverse loop: only the first step's (t = 0) contribution is left
    "weights_not_summed": dict(cells={"rnn_backward": _sequence(add="=")}, score=6,
                               feedback=["Misconception: weight gradients not summed over timesteps"]),
    # with return_sequences=False the same mistake leaves every earlier step without gradient
    "next_step_dropped": dict(cells={"rnn_backward": _sequence(d_h="d_out[:, t]")}, score=6,
                              feedback=["Misconception: gradient from the next step dropped",
                                        "Misconception: loss reaches only the last step"]),
    # the states kept without h0, and hs[t - 1] as h_tm1: step 0 reads hs[-1], the last state
    "off_by_one_in_time": dict(cells={"rnn_backward": _sequence(
        first="hs = hs[1:]", states="hs[t - 1], hs[t]")},
        score=6, feedback=["Misconception: off by one in time"]),
    # return_sequences=False: d_out never put at the last step (return_sequences=True passes)
    "loss_reaches_no_step": dict(cells={"rnn_backward": _sequence(put_last="pass")},
                                 score=8, feedback=["Misconception: loss reaches no step"]),
    "loss_at_first_step": dict(cells={"rnn_backward": _sequence(put_last="d_out[:, 0] = last")},
                               score=8, feedback=["Misconception: loss placed at the first step"]),
    "h0_gradient_missing": dict(cells={"rnn_backward": _sequence(dh0="np.zeros_like(h0)")},
                                score=6, feedback=["Misconception: gradient of h0 missing"]),
    # --- Part C ---
    "dc_not_through_f": dict(cells={"lstm_step_backward": _lstm(dc_tm1="dc")},
                             score=7, feedback=["Misconception: dc not carried back through f"]),
    "dc_from_h_missing": dict(cells={"lstm_step_backward": _lstm(dc="d_c")},
                              score=7, feedback=["Misconception: h's gradient not passed into c"]),
    "lstm_dc_from_next_dropped": dict(
        cells={"lstm_step_backward": _lstm(dc="d_h * o * (1 - tanh_c ** 2)")},
        score=7, feedback=["Misconception: gradient from the next step dropped (c)"]),
    "sigmoid_prime_missing": dict(cells={"lstm_step_backward": _lstm(
        gates=("dc * c_hat, dc * c_tm1", "d_h * np.tanh(c)"))},
        score=7, feedback=["Misconception: sigmoid' missing"]),
    "tanh_c_prime_from_c": dict(cells={"lstm_step_backward": _lstm(tanh_c="c")},
                                score=7, feedback=["Misconception: tanh'(c) taken as 1 - c**2"]),
    # the blocks read as i|f|o|g, forward and backward alike
    "lstm_gates_ifog": dict(cells={"lstm_step_backward": _lstm(
        c_block="3 * u:", o_block="2 * u:3 * u", order="[i_part, f_part, o_part, c_part]")},
        score=7, feedback=["Misconception: gates in the wrong order (i|f|o|g)"]),
    # --- rnnlib's own backward passes are refused ---
    "calls_cell_backward": dict(cells={"rnn_step_backward": '''
import numpy as np
import rnnlib as rl

def rnn_step_backward(d_h, x_t, h_tm1, h, kernel, recurrent_kernel):
    cell = rl.layers.SimpleRNNCell(kernel.shape[1])
    cell.build(x_t.shape)
    cell.kernel, cell.recurrent_kernel, cell.bias = kernel, recurrent_kernel, np.zeros(kernel.shape[1])
    d_x, (d_h_tm1,), (dk, drk, db) = cell.backward(x_t, [h_tm1], d_h, [np.zeros_like(h)])
    return d_x, d_h_tm1, dk, drk, db
'''}, score=3, feedback=["Misconception: calls rnnlib instead of implementing", "Cell.backward"]),
    "uses_rl_gradients": dict(cells={"rnn_backward": '''
import numpy as np
import rnnlib as rl

def rnn_backward(d_out, x, h0, kernel, recurrent_kernel, bias, return_sequences=False):
    layer = rl.layers.SimpleRNN(kernel.shape[1], return_sequences=return_sequences)
    layer(rl.Input(shape=x.shape[1:]))
    layer.set_weights([kernel, recurrent_kernel, bias])
    y = layer(x, initial_state=[h0]) - d_out * d_out.size / 2     # mse: dL/dy_pred = d_out
    g = rl.gradients(layer, x, y, loss="mse", initial_state=[h0])
    return g.inputs, g.initial_state[0], *g.weights
'''}, score=6, feedback=["Misconception: calls rnnlib instead of implementing", "rnnlib.gradients"]),
    "numerical_gradient": dict(cells={"lstm_step_backward": '''
import numpy as np
import rnnlib as rl

def lstm_step_backward(d_h, d_c, x_t, h_tm1, c_tm1, kernel, recurrent_kernel, bias):
    def loss():
        u = h_tm1.shape[1]
        z = x_t @ kernel + h_tm1 @ recurrent_kernel + bias
        c = sigmoid(z[:, u:2 * u]) * c_tm1 + sigmoid(z[:, :u]) * np.tanh(z[:, 2 * u:3 * u])
        return np.sum(d_h * sigmoid(z[:, 3 * u:]) * np.tanh(c)) + np.sum(d_c * c)
    return tuple(rl.numerical_gradient(loss, a) for a in (x_t, h_tm1, c_tm1, kernel,
                                                          recurrent_kernel, bias))
'''}, score=7, feedback=["Misconception: calls rnnlib instead of implementing",
                         "rnnlib.numerical_gradient"]),
}

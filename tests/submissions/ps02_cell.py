"""Sample submissions for ps02_cell: one wrong idea per variant (see submissions/__init__)."""

ASSIGNMENT = "ps02_cell"
AUTOGRADED_POINTS = 10


def _step(body):
    return ("import numpy as np\n\n"
            "def simple_rnn_step(x_t, h_tm1, kernel, recurrent_kernel, bias):\n"
            f"    return {body}\n")


VARIANTS = {
    # the step and the cell built on it fail (3 + 3); build and the counts pass (1 + 3)
    "zero_state": dict(cells={"simple_rnn_step": _step(
        "np.tanh(x_t @ kernel + np.zeros_like(h_tm1) @ recurrent_kernel + bias)")},
        score=4, feedback=["Misconception: zero state instead of h0"]),
    "transposed_kernel": dict(cells={"simple_rnn_step": _step(
        "np.tanh(x_t @ kernel + h_tm1 @ recurrent_kernel.T + bias)")},
        score=4, feedback=["Misconception: transposed kernel"]),
    "bias_missing": dict(cells={"simple_rnn_step": _step(
        "np.tanh(x_t @ kernel + h_tm1 @ recurrent_kernel)")},
        score=4, feedback=["Misconception: bias missing"]),
    # rnnlib's own cell inside the step: refused in the step's test and in the cell's
    "calls_rnnlib": dict(cells={"simple_rnn_step": '''
import rnnlib as rl

def simple_rnn_step(x_t, h_tm1, kernel, recurrent_kernel, bias):
    cell = rl.layers.SimpleRNNCell(kernel.shape[1])
    cell.build(x_t.shape)
    cell.kernel, cell.recurrent_kernel, cell.bias = kernel, recurrent_kernel, bias
    h_t, _ = cell.call(x_t, [h_tm1])
    return h_t
'''}, score=4, feedback=["Misconception: calls rnnlib instead of implementing"]),
    # inherits rnnlib's SimpleRNNCell: the layer then runs rnnlib's maths, not the student's
    "cell_inherits_rnnlib": dict(cells={"my_simple_rnn_cell": '''
import rnnlib as rl

class MySimpleRNNCell(rl.layers.SimpleRNNCell):
    pass
'''}, score=7, feedback=["Misconception: calls rnnlib instead of implementing"]),
    "cell_kernel_transposed": dict(cells={"my_simple_rnn_cell": '''
import numpy as np

class MySimpleRNNCell:
    def __init__(self, units):
        self.units = self.state_size = units

    def build(self, input_shape):
        self.kernel = np.zeros((self.units, input_shape[-1]))
        self.recurrent_kernel = np.zeros((self.units, self.units))
        self.bias = np.zeros(self.units)

    def call(self, x_t, states):
        h_t = simple_rnn_step(x_t, states[0], self.kernel, self.recurrent_kernel, self.bias)
        return h_t, [h_t]
'''}, score=9, feedback=["Misconception: transposed kernel"]),
    "gru_one_bias_row": dict(cells={"gru_params": '''
def gru_params(features, units, reset_after=True):
    return 3 * (features * units + units * units + units)
'''}, score=9, feedback=["Misconception: one bias row with reset_after"]),
    "lstm_one_gate": dict(cells={"lstm_params": '''
def lstm_params(features, units):
    return features * units + units * units + units
'''}, score=9, feedback=["Misconception: gates not counted"]),
}

"""Sample submissions for ps02_cell: one wrong idea per variant (see submissions/__init__)."""

ASSIGNMENT = "ps02_cell"
AUTOGRADED_POINTS = 10


def _step(body):
    return ("import numpy as np\n\n"
            "def simple_rnn_step(x_t, h_tm1, kernel, recurrent_kernel, bias):\n"
            f"    return {body}\n")


VARIANTS = {
    # the step and the cell built on it fail (3 + 3); build and the counts pass (1 + 3)
    # for one step a zero h_tm1 and a missing h_tm1 @ recurrent_kernel give the same h_t:
    # the feedback names what is true of both
    "zero_state": dict(cells={"simple_rnn_step": _step(
        "np.tanh(x_t @ kernel + np.zeros_like(h_tm1) @ recurrent_kernel + bias)")},
        score=4, feedback=["Misconception: recurrent part missing", "with a zero state in its place"]),
    # issue 11: was told "zero state instead of h0"
    "no_recurrent_part": dict(cells={"simple_rnn_step": _step("np.tanh(x_t @ kernel + bias)")},
                              score=4, feedback=["Misconception: recurrent part missing"]),
    # issue 11: these got only "wrong values"
    "relu": dict(cells={"simple_rnn_step": _step(
        "np.maximum(0, x_t @ kernel + h_tm1 @ recurrent_kernel + bias)")},
        score=4, feedback=["Misconception: ReLU instead of tanh"]),
    # issue 11: renamed parameters were told "It was called with no arguments"
    "renamed_parameters": dict(cells={"simple_rnn_params": '''
def simple_rnn_params(n_features, n_units):
    return n_units * (n_features + n_units + 1)
'''}, score=9, feedback=["Its parameters are (n_features, n_units); the check passes features, units"]),
    # issue 11: 120.0 passed where the int 120 is asked for
    "float_count": dict(cells={"simple_rnn_params": '''
def simple_rnn_params(features, units):
    return units * (features + units + 1) / 1
'''}, score=9, feedback=["returned 120.0, a float; expected the int 120"]),
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

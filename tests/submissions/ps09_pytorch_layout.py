"""Sample submissions for ps09_pytorch_layout: one wrong idea per variant (see submissions/__init__).

Points: torch_parameter_count 1, torch_shapes 2 (Part A); keras_lstm_to_torch 2,
torch_lstm_to_keras 1 (Part B); keras_gru_to_torch 2, torch_gru_to_keras 1, states 1 (Part C).
Every function stands alone, so a variant loses only its own cell's points.
"""

ASSIGNMENT = "ps09_pytorch_layout"
AUTOGRADED_POINTS = 10


def _shapes(output="(batch, timesteps, features) if batch_first else (timesteps, batch, features)",
            h_n="(num_layers * directions, batch, hidden_size)"):
    return f'''
def torch_shapes(kind, timesteps, batch, input_size, hidden_size, num_layers=1, bidirectional=False,
                 batch_first=False):
    directions = 2 if bidirectional else 1
    features = directions * hidden_size
    output = {output}
    h_n = {h_n}
    return (output, h_n, h_n) if kind == "LSTM" else (output, h_n)
'''


def _gru_to_torch(kernel="kernel.T", recurrent="recurrent_kernel.T", order="[r, z, h]"):
    return f'''
import numpy as np

def keras_gru_to_torch(kernel, recurrent_kernel, bias):
    def blocks(w):
        z, r, h = np.split(w, 3)
        return np.concatenate({order})
    return blocks({kernel}), blocks({recurrent}), blocks(bias[0]), blocks(bias[1])
'''


VARIANTS = {
    # --- Part A ---
    # Keras's count: one bias vector (GATES * (h * (in + h) + h)); for the GRU, reset_after=False's
    "keras_parameter_count": dict(cells={"torch_parameter_count": '''
def torch_parameter_count(kind, input_size, hidden_size):
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
    return gates * (hidden_size * (input_size + hidden_size) + hidden_size)
'''}, score=9, feedback=["Misconception: one bias where PyTorch has two"]),
    # Keras's (batch, timesteps, ...) kept for PyTorch's default
    "batch_first_by_default": dict(
        cells={"torch_shapes": _shapes(output="(timesteps, batch, features) if batch_first "
                                              "else (batch, timesteps, features)")},
        score=8, feedback=["Misconception: time-major confused with batch-first"]),
    "h_n_is_the_output": dict(cells={"torch_shapes": _shapes(h_n="output")},
                              score=8, feedback=["Misconception: h_n taken as the whole output sequence"]),
    # --- Part B ---
    "lstm_not_transposed": dict(cells={"keras_lstm_to_torch": '''
import numpy as np

def keras_lstm_to_torch(kernel, recurrent_kernel, bias):
    return kernel, recurrent_kernel, bias, np.zeros_like(bias)
'''}, score=8, feedback=["Misconception: weights not transposed"]),
    "lstm_bias_in_both": dict(cells={"keras_lstm_to_torch": '''
def keras_lstm_to_torch(kernel, recurrent_kernel, bias):
    return kernel.T, recurrent_kernel.T, bias, bias
'''}, score=8, feedback=["Misconception: one bias where PyTorch has two"]),
    # --- Part C ---
    # transposed, but the blocks kept in Keras's z|r|h, both directions
    "gru_keras_order": dict(cells={
        "keras_gru_to_torch": _gru_to_torch(order="[z, r, h]"),
        "torch_gru_to_keras": '''
import numpy as np

def torch_gru_to_keras(weight_ih, weight_hh, bias_ih, bias_hh):
    return weight_ih.T, weight_hh.T, np.stack([bias_ih, bias_hh])
'''}, score=7, feedback=["Misconception: gate blocks left in Keras order (z|r|h)"]),
    # reshape in place of a transpose: the right shapes, the wrong numbers in them
    "gru_reshaped": dict(cells={"keras_gru_to_torch": _gru_to_torch(
        kernel="kernel.reshape(kernel.shape[::-1])",
        recurrent="recurrent_kernel.reshape(recurrent_kernel.shape[::-1])")},
        score=8, feedback=["Misconception: weights not transposed"]),
    # the Keras state given a timestep axis, (batch, 1, units), as if PyTorch were batch first
    "state_batch_first": dict(cells={"states": '''
def keras_state_to_torch(state):
    return state[:, None]


def torch_state_to_keras(h_n):
    return h_n[:, 0]
'''}, score=9, feedback=["Misconception: time-major confused with batch-first"]),
}

"""LSTM: input gate i, forget gate f, candidate c~ and output gate o; kernel gates i|f|c|o.

    i = sigmoid(x_t Wi + h_tm1 Ui + bi)      f = sigmoid(x_t Wf + h_tm1 Uf + bf)
    c~ = tanh(x_t Wc + h_tm1 Uc + bc)        o = sigmoid(x_t Wo + h_tm1 Uo + bo)
    c = f * c_tm1 + i * c~                   h = o * tanh(c)
"""
import numpy as np

from .. import backend
from .rnn import RNN, Cell


class LSTMCell(Cell):
    """Weights: kernel (features, 4*units), recurrent_kernel (units, 4*units), bias (4*units,).
    Two states: h (the output) and c (the cell's memory), each (batch, units).
    """

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, unit_forget_bias=True, seed=None):
        super().__init__(units, activation, use_bias, seed)
        self.recurrent_activation = backend.get_activation(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self._halved = None

    @property
    def state_size(self):
        return [self.units, self.units]

    def initial_bias(self, dtype):
        bias = np.zeros(4 * self.units, dtype)
        if self.unit_forget_bias:
            bias[self.units:2 * self.units] = 1.0           # remember by default
        return bias

    def project(self, x):
        """x @ kernel + bias for every timestep at once: (..., 4*units).

        A speed-up for the default activations, same maths: sigmoid(z) = (1 + tanh(z/2)) / 2,
        so the i, f and o columns are halved here (and in a copy of the recurrent kernel),
        and ``step`` then needs a single tanh over all four gates.
        """
        z = super().project(x)
        scale = self.halve_sigmoid_gates(z, sigmoid_gates=(0, 1, 3))   # i, f, o
        self._halved = None if scale is None else self.recurrent_kernel * scale
        return z

    def step(self, xp_t, states):
        """xp_t = x_t @ kernel + bias (batch, 4*units); states [h_tm1, c_tm1] -> (h, [h, c])."""
        h_tm1, c_tm1 = states                              # (batch, units) each
        u = self.units
        if self._halved is None:                           # any activations: as written above
            z = h_tm1 @ self.recurrent_kernel + xp_t       # (batch, 4*units)
            i = self.recurrent_activation(z[:, :u])
            f = self.recurrent_activation(z[:, u:2 * u])
            c_hat = self.activation(z[:, 2 * u:3 * u])
            o = self.recurrent_activation(z[:, 3 * u:])
        else:                                              # tanh/sigmoid, one tanh call
            z = h_tm1 @ self._halved                       # (batch, 4*units), i f o halved
            z += xp_t
            np.tanh(z, out=z)                              # i f o: tanh(z/2); c~: tanh(z)
            self.tanh_to_sigmoid(z[:, :2 * u])             # i f
            self.tanh_to_sigmoid(z[:, 3 * u:])             # o
            i, f, c_hat, o = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
        c = f * c_tm1 + i * c_hat                          # (batch, units)
        h = o * self.activation(c)                         # (batch, units)
        return h, [h, c]

    def config(self):
        return dict(super().config(), recurrent_activation=self.recurrent_activation,
                    unit_forget_bias=self.unit_forget_bias)


class LSTM(RNN):
    """An LSTMCell run over time.  Input (batch, timesteps, features)."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unit_forget_bias=True, seed=None, name=None):
        super().__init__(LSTMCell(units, activation, recurrent_activation, use_bias,
                                  unit_forget_bias, seed),
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, name=name)

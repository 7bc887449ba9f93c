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
                 use_bias=True, unit_forget_bias=True, seed=None, **initializers):
        super().__init__(units, activation, use_bias, seed, **initializers)
        self.recurrent_activation = backend.get_activation(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def initial_bias(self, dtype, rng):
        bias = self.bias_initializer((4 * self.units,), dtype, rng)
        if self.unit_forget_bias:
            bias[self.units:2 * self.units] = 1.0           # remember by default
        return bias

    def step(self, xp_t, states):
        """xp_t = x_t @ kernel + bias (batch, 4*units); states [h_tm1, c_tm1] -> (h, [h, c])."""
        h_tm1, c_tm1 = states                              # (batch, units) each
        u = self.units
        z = h_tm1 @ self.recurrent_kernel + xp_t           # (batch, 4*units)
        i = self.recurrent_activation(z[:, :u])            # input gate
        f = self.recurrent_activation(z[:, u:2 * u])       # forget gate
        c_hat = self.activation(z[:, 2 * u:3 * u])         # candidate memory
        o = self.recurrent_activation(z[:, 3 * u:])        # output gate
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
                 unit_forget_bias=True, seed=None, name=None, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros"):
        super().__init__(LSTMCell(units, activation, recurrent_activation, use_bias,
                                  unit_forget_bias, seed, kernel_initializer=kernel_initializer,
                                  recurrent_initializer=recurrent_initializer,
                                  bias_initializer=bias_initializer),
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, name=name)

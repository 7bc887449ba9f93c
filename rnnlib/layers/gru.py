"""GRU: update gate z, reset gate r, candidate h~; gates in the kernel as z|r|h.

    z  = sigmoid(x_t Wz + h_tm1 Uz + b)          r = sigmoid(x_t Wr + h_tm1 Ur + b)
    reset_after=True  (Keras default): h~ = tanh(x_t Wh + r * (h_tm1 Uh + b_rec))
    reset_after=False                : h~ = tanh(x_t Wh + (r * h_tm1) Uh)
    h  = z * h_tm1 + (1 - z) * h~
"""
import numpy as np

from .. import backend
from .rnn import RNN, Cell


class GRUCell(Cell):
    """Weights: kernel (features, 3*units), recurrent_kernel (units, 3*units), bias
    (2, 3*units) - an input row and a recurrent row - with reset_after, else (3*units,).
    """

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, reset_after=True, seed=None, **initializers):
        super().__init__(units, activation, use_bias, seed, **initializers)
        self.recurrent_activation = backend.get_activation(recurrent_activation)
        self.reset_after = bool(reset_after)

    def initial_bias(self, dtype, rng):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        return self.bias_initializer(shape, dtype, rng)

    @property
    def input_bias(self):
        return self.bias[0] if self.reset_after else self.bias

    @property
    def recurrent_bias(self):
        return self.bias[1] if self.use_bias and self.reset_after else 0.0

    def step(self, xp_t, states):
        """xp_t = x_t @ kernel + input bias (batch, 3*units); states [h_tm1] -> (h, [h])."""
        h_tm1, u = states[0], self.units                   # (batch, units)
        x_z, x_r, x_h = xp_t[:, :u], xp_t[:, u:2 * u], xp_t[:, 2 * u:]   # (batch, units) each
        sigmoid, rk = self.recurrent_activation, self.recurrent_kernel
        if self.reset_after:
            inner = h_tm1 @ rk + self.recurrent_bias       # (batch, 3*units)
            z = sigmoid(x_z + inner[:, :u])                # update gate
            r = sigmoid(x_r + inner[:, u:2 * u])           # reset gate
            hh = self.activation(x_h + r * inner[:, 2 * u:])           # candidate h~
        else:
            z = sigmoid(x_z + h_tm1 @ rk[:, :u])
            r = sigmoid(x_r + h_tm1 @ rk[:, u:2 * u])
            hh = self.activation(x_h + (r * h_tm1) @ rk[:, 2 * u:])
        h = z * h_tm1 + (1 - z) * hh                       # (batch, units)
        return h, [h]

    def config(self):
        return dict(super().config(), recurrent_activation=self.recurrent_activation,
                    reset_after=self.reset_after)


class GRU(RNN):
    """A GRUCell run over time.  Input (batch, timesteps, features)."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 reset_after=True, seed=None, name=None, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros"):
        super().__init__(GRUCell(units, activation, recurrent_activation, use_bias, reset_after, seed,
                                 kernel_initializer=kernel_initializer,
                                 recurrent_initializer=recurrent_initializer,
                                 bias_initializer=bias_initializer),
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, name=name)

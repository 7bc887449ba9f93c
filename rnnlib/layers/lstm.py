"""LSTM: input gate i, forget gate f, candidate c~ and output gate o; kernel gates i|f|c|o.

    i = sigmoid(x_t Wi + h_tm1 Ui + bi)      f = sigmoid(x_t Wf + h_tm1 Uf + bf)
    c~ = tanh(x_t Wc + h_tm1 Uc + bc)        o = sigmoid(x_t Wo + h_tm1 Uo + bo)
    c = f * c_tm1 + i * c~                   h = o * tanh(c)
"""
from types import SimpleNamespace

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
        p = self.parts(xp_t, *states)
        return p.h, [p.h, p.c]

    def parts(self, xp_t, h_tm1, c_tm1):
        """One step's equations, keeping every intermediate for ``step_backward``."""
        u = self.units
        z = h_tm1 @ self.recurrent_kernel + xp_t           # (batch, 4*units)
        i = self.recurrent_activation(z[:, :u])            # input gate
        f = self.recurrent_activation(z[:, u:2 * u])       # forget gate
        c_hat = self.activation(z[:, 2 * u:3 * u])         # candidate memory
        o = self.recurrent_activation(z[:, 3 * u:])        # output gate
        c = f * c_tm1 + i * c_hat                          # (batch, units)
        tanh_c = self.activation(c)
        h = o * tanh_c                                     # (batch, units)
        return SimpleNamespace(z=z, i=i, f=f, c_hat=c_hat, o=o, c=c, tanh_c=tanh_c, h=h)

    def step_backward(self, xp_t, states, d_h, d_states):
        """dL/dh and dL/dc -> (dL/dxp_t (batch, 4*units), [dL/dh_tm1, dL/dc_tm1],
        {"recurrent_kernel"}).  dc flows back to c_tm1 through the forget gate f."""
        (h_tm1, c_tm1), u = states, self.units
        p, back, sigmoid = self.parts(xp_t, h_tm1, c_tm1), backend.activation_backward, self.recurrent_activation
        d_h = d_h + d_states[0]                            # from the output and the next step
        d_c = d_states[1] + back(self.activation, p.c, p.tanh_c, d_h * p.o)   # h = o * tanh(c)
        d_z = np.concatenate([
            back(sigmoid, p.z[:, :u], p.i, d_c * p.c_hat),                  # i
            back(sigmoid, p.z[:, u:2 * u], p.f, d_c * c_tm1),               # f
            back(self.activation, p.z[:, 2 * u:3 * u], p.c_hat, d_c * p.i),  # c~
            back(sigmoid, p.z[:, 3 * u:], p.o, d_h * p.tanh_c),             # o
        ], axis=1)                                         # (batch, 4*units)
        d_states = [d_z @ self.recurrent_kernel.T, d_c * p.f]
        return d_z, d_states, {"recurrent_kernel": h_tm1.T @ d_z}

    def config(self):
        return dict(super().config(), recurrent_activation=self.recurrent_activation,
                    unit_forget_bias=self.unit_forget_bias)


class LSTM(RNN):
    """An LSTMCell run over time.  Input (batch, timesteps, features).

    ``seed=`` is rnnlib's own: it seeds the weights.  In Keras 3 a layer's ``seed`` seeds only
    its dropout; the Keras way to reproducible weights, which rnnlib has too, is
    ``rl.utils.set_random_seed(s)`` before building, or seeded initializers
    (``kernel_initializer=rl.initializers.GlorotUniform(seed=0)``).
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unit_forget_bias=True, seed=None, name=None, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", **kwargs):
        super().__init__(LSTMCell(units, activation, recurrent_activation, use_bias,
                                  unit_forget_bias, seed, kernel_initializer=kernel_initializer,
                                  recurrent_initializer=recurrent_initializer,
                                  bias_initializer=bias_initializer),
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, name=name, **kwargs)

"""GRU: update gate z, reset gate r, candidate h~; gates in the kernel as z|r|h.

    z  = sigmoid(x_t Wz + h_tm1 Uz + b)          r = sigmoid(x_t Wr + h_tm1 Ur + b)
    reset_after=True  (Keras default): h~ = tanh(x_t Wh + r * (h_tm1 Uh + b_rec))
    reset_after=False                : h~ = tanh(x_t Wh + (r * h_tm1) Uh)
    h  = z * h_tm1 + (1 - z) * h~
"""
from types import SimpleNamespace

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
        h = self.parts(xp_t, states[0]).h                 # (batch, units)
        return h, [h]

    def parts(self, xp_t, h_tm1):
        """One step's equations, keeping every intermediate for ``step_backward``."""
        u = self.units
        x_z, x_r, x_h = xp_t[:, :u], xp_t[:, u:2 * u], xp_t[:, 2 * u:]   # (batch, units) each
        sigmoid, rk = self.recurrent_activation, self.recurrent_kernel
        if self.reset_after:
            inner = h_tm1 @ rk + self.recurrent_bias       # (batch, 3*units)
            a_z, a_r = x_z + inner[:, :u], x_r + inner[:, u:2 * u]
        else:
            inner = None
            a_z, a_r = x_z + h_tm1 @ rk[:, :u], x_r + h_tm1 @ rk[:, u:2 * u]
        z, r = sigmoid(a_z), sigmoid(a_r)                  # update gate, reset gate
        if self.reset_after:
            a_h = x_h + r * inner[:, 2 * u:]
        else:
            a_h = x_h + (r * h_tm1) @ rk[:, 2 * u:]
        hh = self.activation(a_h)                          # candidate h~
        h = z * h_tm1 + (1 - z) * hh                       # (batch, units)
        return SimpleNamespace(inner=inner, a_z=a_z, a_r=a_r, a_h=a_h, z=z, r=r, hh=hh, h=h)

    def step_backward(self, xp_t, states, d_h, d_states):
        """dL/dh -> (dL/dxp_t (batch, 3*units), [dL/dh_tm1], {"recurrent_kernel", "recurrent_bias"})."""
        h_tm1, u, rk = states[0], self.units, self.recurrent_kernel
        p, back, sigmoid = self.parts(xp_t, h_tm1), backend.activation_backward, self.recurrent_activation
        d_h = d_h + d_states[0]                            # from the output and the next step
        d_a_h = back(self.activation, p.a_h, p.hh, d_h * (1 - p.z))       # through h~
        d_a_z = back(sigmoid, p.a_z, p.z, d_h * (h_tm1 - p.hh))          # through z
        d_h_tm1 = d_h * p.z
        if self.reset_after:                               # a_h = x_h + r * (h_tm1 Uh + b_rec)
            d_a_r = back(sigmoid, p.a_r, p.r, d_a_h * p.inner[:, 2 * u:])
            d_inner = np.concatenate([d_a_z, d_a_r, d_a_h * p.r], axis=1)   # (batch, 3*units)
            d_h_tm1 += d_inner @ rk.T
            d_rec = {"recurrent_kernel": h_tm1.T @ d_inner, "recurrent_bias": d_inner.sum(axis=0)}
        else:                                              # a_h = x_h + (r * h_tm1) Uh
            d_rh = d_a_h @ rk[:, 2 * u:].T
            d_a_r = back(sigmoid, p.a_r, p.r, d_rh * h_tm1)
            d_zr = np.concatenate([d_a_z, d_a_r], axis=1)  # (batch, 2*units)
            d_h_tm1 += d_rh * p.r + d_zr @ rk[:, :2 * u].T
            d_rec = {"recurrent_kernel": np.concatenate(
                [h_tm1.T @ d_zr, (p.r * h_tm1).T @ d_a_h], axis=1)}
        return np.concatenate([d_a_z, d_a_r, d_a_h], axis=1), [d_h_tm1], d_rec

    def gather(self, d):
        if not (self.use_bias and self.reset_after):
            return super().gather(d)
        bias = np.stack([d["input_bias"], d["recurrent_bias"]])           # (2, 3*units)
        return [d["kernel"], d["recurrent_kernel"], bias]

    def config(self):
        return dict(super().config(), recurrent_activation=self.recurrent_activation,
                    reset_after=self.reset_after)


class GRU(RNN):
    """A GRUCell run over time.  Input (batch, timesteps, features).

    ``seed=`` is rnnlib's own: it seeds the weights.  In Keras 3 a layer's ``seed`` seeds only
    its dropout; the Keras way to reproducible weights, which rnnlib has too, is
    ``rl.utils.set_random_seed(s)`` before building, or seeded initializers
    (``kernel_initializer=rl.initializers.GlorotUniform(seed=0)``).
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 reset_after=True, seed=None, name=None, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", **kwargs):
        super().__init__(GRUCell(units, activation, recurrent_activation, use_bias, reset_after, seed,
                                 kernel_initializer=kernel_initializer,
                                 recurrent_initializer=recurrent_initializer,
                                 bias_initializer=bias_initializer),
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, name=name, **kwargs)

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
                 use_bias=True, reset_after=True, seed=None):
        super().__init__(units, activation, use_bias, seed)
        self.recurrent_activation = backend.get_activation(recurrent_activation)
        self.reset_after = bool(reset_after)
        self._halved = None

    def initial_bias(self, dtype):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        return np.zeros(shape, dtype)

    @property
    def input_bias(self):
        return self.bias[0] if self.reset_after else self.bias

    @property
    def recurrent_bias(self):
        return self.bias[1] if self.use_bias and self.reset_after else 0.0

    def project(self, x):
        """x @ kernel + input bias for every timestep at once: (..., 3*units).

        A speed-up for the default activations, same maths: sigmoid(z) = (1 + tanh(z/2)) / 2,
        so the z and r columns are halved here (and in copies of the recurrent weights),
        and ``step`` computes both gates with one tanh.
        """
        xp = super().project(x)
        scale = self.halve_sigmoid_gates(xp, sigmoid_gates=(0, 1))      # z, r
        self._halved = None if scale is None else (self.recurrent_kernel * scale,
                                                   self.recurrent_bias * scale)
        return xp

    def step(self, xp_t, states):
        """xp_t = x_t @ kernel + input bias (batch, 3*units); states [h_tm1] -> (h, [h])."""
        h_tm1, u = states[0], self.units                   # (batch, units)
        fast = self._halved is not None
        kernel, bias = self._halved if fast else (self.recurrent_kernel, self.recurrent_bias)
        if self.reset_after:
            inner = h_tm1 @ kernel + bias                  # (batch, 3*units)
            zr = inner[:, :2 * u]
        else:
            zr = h_tm1 @ kernel[:, :2 * u]                 # (batch, 2*units)
        zr += xp_t[:, :2 * u]
        if fast:                                           # z and r: (1 + tanh(z/2)) / 2
            self.tanh_to_sigmoid(np.tanh(zr, out=zr))
        else:
            zr = self.recurrent_activation(zr)
        z, r = zr[:, :u], zr[:, u:]                        # (batch, units) each
        if self.reset_after:
            hh = self.activation(xp_t[:, 2 * u:] + r * inner[:, 2 * u:])
        else:
            hh = self.activation(xp_t[:, 2 * u:] + (r * h_tm1) @ kernel[:, 2 * u:])
        h = hh + z * (h_tm1 - hh)                          # = z * h_tm1 + (1 - z) * hh
        return h, [h]

    # --- the fused loop ------------------------------------------------------------
    @property
    def fused(self):
        """True when ``RNN`` may run ``unroll`` instead of ``step`` (reset_after=True only)."""
        return self.reset_after and self.default_maths(GRUCell)

    def unroll(self, xs, states, sequences=True):
        """Every timestep at once: ``step``'s maths (reset_after=True) arranged for speed
        as in ``LSTMCell.unroll`` - column convention with h as (units, batch), gates z|r|h
        as blocks of rows, z and r halved for one tanh, one np.matmul for the input part of
        all timesteps, nothing allocated in the loop.

        xs (timesteps, batch, features), states [h0] (batch, units)
        -> (outputs (timesteps, batch, units), or None without ``sequences``, [h]).
        """
        u, dtype = self.units, self.kernel.dtype
        halve = self.halves((0, 1), dtype)                 # z r halved
        b_in, b_rec = self.bias if self.use_bias else np.zeros((2, 3 * u), dtype)
        b_zr = b_in + np.r_[b_rec[:2 * u], np.zeros(u, dtype)]  # z, r: both biases, outside
        xp = self.project_columns(xs, self.kernel * halve, b_zr * halve)  # (T, 3u, batch)
        w_rec = np.ascontiguousarray((self.recurrent_kernel * halve).T)   # (3*units, units)
        b_hh = b_rec[2 * u:, None]                         # h~'s recurrent bias, inside r * (...)

        timesteps, batch, _ = xs.shape
        h = np.ascontiguousarray(states[0].T, dtype)       # (units, batch)
        hs = self.scratch("hs", (timesteps, u, batch), dtype)  # every h, column convention
        rec = np.empty((3 * u, batch), dtype)              # the recurrent part, z|r|h
        zr, z, r, hh = rec[:2 * u], rec[:u], rec[u:2 * u], rec[2 * u:]
        for t in range(timesteps):
            np.matmul(w_rec, h, out=rec)                   # (3*units, batch)
            zr += xp[t, :2 * u]
            np.tanh(zr, out=zr)
            self.tanh_to_sigmoid(zr)                       # z, r = sigmoid(...)
            hh += b_hh
            hh *= r
            hh += xp[t, 2 * u:]
            np.tanh(hh, out=hh)                            # h~ = tanh(x Wh + r * (h Uh + b))
            h_new = hs[t]
            np.subtract(h, hh, out=h_new)
            h_new *= z
            h_new += hh                                    # h = h~ + z * (h_tm1 - h~)
            h = h_new
        outputs, h = self.from_columns(hs, sequences)
        return outputs, [h]

    def config(self):
        return dict(super().config(), recurrent_activation=self.recurrent_activation,
                    reset_after=self.reset_after)


class GRU(RNN):
    """A GRUCell run over time.  Input (batch, timesteps, features)."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 reset_after=True, seed=None, name=None):
        super().__init__(GRUCell(units, activation, recurrent_activation, use_bias, reset_after, seed),
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, name=name)

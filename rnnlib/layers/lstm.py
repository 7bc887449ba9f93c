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

    @property
    def state_size(self):
        return [self.units, self.units]

    def initial_bias(self, dtype):
        bias = np.zeros(4 * self.units, dtype)
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

    # --- the fused loop ------------------------------------------------------------
    @property
    def fused(self):
        """True when ``RNN`` may run ``unroll`` instead of ``step`` at every timestep."""
        return self.default_maths(LSTMCell)

    def unroll(self, xs, states, sequences=True):
        """Every timestep at once, with ``step``'s maths arranged for speed - as Keras runs
        cuDNN's (or oneDNN's) fused LSTM instead of its step loop when it can.

        xs (timesteps, batch, features), states [h0, c0] (batch, units) each
        -> (outputs (timesteps, batch, units), or None without ``sequences``, [h, c]).

        * Column convention, as in the papers: z = U h + W x + b with h as (units, batch),
          so each gate is one contiguous block of rows of z (4*units, batch), here i|f|o|c.
        * The i, f and o rows of the weights are halved, so one tanh covers all four
          gates (``halves``).
        * The input part of every timestep is one np.matmul before the loop
          (``project_columns``); the loop only does the recurrent product.
        * Nothing is allocated inside the loop, and the big work arrays are reused from
          call to call (``scratch``); only the outputs are new arrays.
        """
        u, dtype = self.units, self.kernel.dtype
        order = np.r_[0:2 * u, 3 * u:4 * u, 2 * u:3 * u]           # i|f|c|o -> i|f|o|c
        halve = self.halves((0, 1, 3), dtype)[order]               # i f o halved
        bias = self.bias if self.use_bias else np.zeros(4 * u, dtype)
        xp = self.project_columns(xs, self.kernel[:, order] * halve, bias[order] * halve)
        w_rec = np.ascontiguousarray((self.recurrent_kernel[:, order] * halve).T)  # (4u, u)

        timesteps, batch, _ = xs.shape
        h = np.ascontiguousarray(states[0].T, dtype)       # (units, batch)
        c = np.array(states[1].T, dtype, order="C")        # (units, batch), our own copy
        hs = self.scratch("hs", (timesteps, u, batch), dtype)  # every h, column convention
        z = np.empty((4 * u, batch), dtype)
        i, f, o, c_hat = z[:u], z[u:2 * u], z[2 * u:3 * u], z[3 * u:]
        for t in range(timesteps):
            np.matmul(w_rec, h, out=z)                     # (4*units, batch)
            z += xp[t]
            np.tanh(z, out=z)                              # i f o: tanh(z/2); c~: tanh(z)
            self.tanh_to_sigmoid(z[:3 * u])                # i f o: sigmoid(z)
            c *= f
            i *= c_hat
            c += i                                         # c = f * c_tm1 + i * c~
            h = hs[t]
            np.tanh(c, out=h)
            h *= o                                         # h = o * tanh(c)
        outputs, h = self.from_columns(hs, sequences)
        return outputs, [h, np.ascontiguousarray(c.T)]

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

"""SimpleRNN: h_t = activation(x_t @ kernel + h_tm1 @ recurrent_kernel + bias)."""
from .. import backend
from .rnn import RNN, Cell


class SimpleRNNCell(Cell):
    """One step of an Elman RNN.  Weights: kernel (features, units),
    recurrent_kernel (units, units), bias (units,).  Parameters: units * (features + units + 1).
    """

    def step(self, xp_t, states):
        """xp_t = x_t @ kernel + bias (batch, units); states [h_tm1] -> (h, [h])."""
        h_tm1 = states[0]                                  # (batch, units)
        h = self.activation(xp_t + h_tm1 @ self.recurrent_kernel)  # (batch, units)
        return h, [h]

    def step_backward(self, xp_t, states, d_h, d_states):
        """dL/dh (from the output and from the next step) -> (dL/dxp_t, [dL/dh_tm1],
        {"recurrent_kernel": dL/dU}).  tanh' is taken from h: 1 - h**2."""
        h_tm1 = states[0]                                  # (batch, units)
        z = xp_t + h_tm1 @ self.recurrent_kernel           # the forward again
        h = self.activation(z)
        d_z = backend.activation_backward(self.activation, z, h, d_h + d_states[0])
        return d_z, [d_z @ self.recurrent_kernel.T], {"recurrent_kernel": h_tm1.T @ d_z}


class SimpleRNN(RNN):
    """A SimpleRNNCell run over time.  Input (batch, timesteps, features).

    ``seed=`` is rnnlib's own: it seeds the weights.  In Keras 3 a layer's ``seed`` seeds only
    its dropout; the Keras way to reproducible weights, which rnnlib has too, is
    ``rl.utils.set_random_seed(s)`` before building, or seeded initializers
    (``kernel_initializer=rl.initializers.GlorotUniform(seed=0)``).
    """

    def __init__(self, units, activation="tanh", use_bias=True, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, seed=None, name=None,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", **kwargs):
        super().__init__(SimpleRNNCell(units, activation, use_bias, seed,
                                       kernel_initializer=kernel_initializer,
                                       recurrent_initializer=recurrent_initializer,
                                       bias_initializer=bias_initializer),
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, name=name, **kwargs)

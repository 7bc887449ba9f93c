"""Fast paths: the same maths as the cells' ``step``, arranged for speed.

``RNN`` tries these first and falls back to its generic step loop when they return
None - as Keras's GRU and LSTM try cuDNN (or ``backend.gru``/``backend.lstm``) first.
They apply only to rnnlib's own GRU (``reset_after=True``) and LSTM cells, with tanh
and sigmoid, without a mask, and only when no subclass changed the maths.  Tests
(tests/test_fast.py) check that they equal stepping through ``step``.

The tricks, none of which changes the maths:

* Column convention, as in the papers: z = W x + U h + b with h as (units, batch), so
  each gate is one contiguous block of rows of z (gates * units, batch).
* Halved sigmoid: sigmoid(a) = (1 + tanh(a/2)) / 2.  With the sigmoid gates' rows of
  the weights halved, one tanh covers all gates (``halves``, ``tanh_to_sigmoid``).
* The bias is a weight on an extra input feature that is always 1, so the input part
  of every timestep is one np.matmul before the loop (``project_columns``); the loop
  only does the recurrent product.
* Nothing is allocated inside the loop, and the big work arrays are kept per cell from
  call to call (``scratch``); only the returned arrays are new.
"""
import weakref

import numpy as np

from . import backend

_SCRATCH = weakref.WeakKeyDictionary()     # cell -> {name: work array}; nothing is kept on the cell


def scratch(cell, name, shape, dtype):
    """A work array of ``cell``'s, reused while its shape stays the same (fresh memory is
    faulted in and zeroed by the OS on every call).  Never return one to the caller."""
    buffers = _SCRATCH.setdefault(cell, {})
    a = buffers.get(name)
    if a is None or a.shape != tuple(shape) or a.dtype != dtype:
        a = buffers[name] = np.empty(shape, dtype)
    return a


def tanh_and_sigmoid(cell):
    """True with the default activations (tanh, and sigmoid for the gates)."""
    return (cell.activation is np.tanh
            and getattr(cell, "recurrent_activation", None) is backend.ACTIVATIONS["sigmoid"])


def own_maths(cell, owner):
    """True if ``cell`` runs ``owner``'s maths with tanh and sigmoid: no subclass changed
    ``call``, ``project`` or ``step``, so the fast path equals stepping."""
    from .layers.rnn import Cell
    cls = type(cell)
    return (isinstance(cell, owner) and cls.call is Cell.call and cls.project is owner.project
            and cls.step is owner.step and tanh_and_sigmoid(cell))


def halves(units, gates, sigmoid_gates, dtype):
    """(gates * units,): 0.5 in the columns of the sigmoid gates, 1 elsewhere."""
    scale = np.ones(gates * units, dtype)
    for g in sigmoid_gates:
        scale[g * units:(g + 1) * units] = 0.5
    return scale


def tanh_to_sigmoid(t):
    """In place: tanh(a/2) -> (1 + tanh(a/2)) / 2 = sigmoid(a)."""
    t *= 0.5
    t += 0.5


def project_columns(cell, xs, kernel, bias):
    """The input part of every timestep in one np.matmul, in the column convention:
    kernel^T x_t^T + bias.

    xs (timesteps, batch, features), kernel (features, width), bias (width,)
    -> (timesteps, width, batch), a work array (``scratch``).
    """
    timesteps, batch, features = xs.shape
    x1 = scratch(cell, "x1", (timesteps, batch, features + 1), kernel.dtype)
    x1[..., :features] = xs
    x1[..., features] = 1.0                                # the constant input
    w = np.ascontiguousarray(np.vstack([kernel, bias]).T)  # (width, features + 1)
    out = scratch(cell, "xp", (timesteps, len(w), batch), kernel.dtype)
    return np.matmul(w, x1.transpose(0, 2, 1), out=out)


def from_columns(hs, sequences):
    """Every h, hs (timesteps, units, batch), a work array -> (outputs (timesteps, batch,
    units), or None without ``sequences``, and the last h (batch, units)): new arrays."""
    outputs = np.array(hs.transpose(0, 2, 1), order="C") if sequences else None
    return outputs, np.array(hs[-1].T, order="C")


# --- inference ---------------------------------------------------------------------

def unroll(cell, xs, states, sequences=True):
    """Run ``cell`` over every timestep at once, or return None if no fast path applies.

    xs (timesteps, batch, features) in reading order, states [h0] or [h0, c0] (batch, units)
    -> (outputs (timesteps, batch, units), or None without ``sequences``, new states).
    """
    from .layers.gru import GRUCell
    from .layers.lstm import LSTMCell
    if own_maths(cell, LSTMCell):
        return lstm_unroll(cell, xs, states, sequences)
    if own_maths(cell, GRUCell) and cell.reset_after:
        return gru_unroll(cell, xs, states, sequences)
    return None


def gru_unroll(cell, xs, states, sequences=True):
    """GRUCell.step's maths (reset_after=True) over all timesteps: gates z|r|h as blocks
    of rows, z and r halved for one tanh."""
    u, dtype = cell.units, cell.kernel.dtype
    halve = halves(u, 3, (0, 1), dtype)                    # z r halved
    b_in, b_rec = cell.bias if cell.use_bias else np.zeros((2, 3 * u), dtype)
    b_zr = b_in + np.r_[b_rec[:2 * u], np.zeros(u, dtype)]  # z, r: both biases, outside
    xp = project_columns(cell, xs, cell.kernel * halve, b_zr * halve)   # (T, 3u, batch)
    w_rec = np.ascontiguousarray((cell.recurrent_kernel * halve).T)     # (3*units, units)
    b_hh = b_rec[2 * u:, None]                             # h~'s recurrent bias, inside r * (...)

    timesteps, batch, _ = xs.shape
    h = np.ascontiguousarray(states[0].T, dtype)           # (units, batch)
    hs = scratch(cell, "hs", (timesteps, u, batch), dtype)  # every h, column convention
    rec = np.empty((3 * u, batch), dtype)                  # the recurrent part, z|r|h
    zr, z, r, hh = rec[:2 * u], rec[:u], rec[u:2 * u], rec[2 * u:]
    for t in range(timesteps):
        np.matmul(w_rec, h, out=rec)                       # (3*units, batch)
        zr += xp[t, :2 * u]
        np.tanh(zr, out=zr)
        tanh_to_sigmoid(zr)                                # z, r = sigmoid(...)
        hh += b_hh
        hh *= r
        hh += xp[t, 2 * u:]
        np.tanh(hh, out=hh)                                # h~ = tanh(x Wh + r * (h Uh + b))
        h_new = hs[t]
        np.subtract(h, hh, out=h_new)
        h_new *= z
        h_new += hh                                        # h = h~ + z * (h_tm1 - h~)
        h = h_new
    outputs, h = from_columns(hs, sequences)
    return outputs, [h]


def lstm_unroll(cell, xs, states, sequences=True):
    """LSTMCell.step's maths over all timesteps: gates as blocks of rows i|f|o|c (the three
    sigmoid gates first), i, f and o halved for one tanh."""
    u, dtype = cell.units, cell.kernel.dtype
    order = np.r_[0:2 * u, 3 * u:4 * u, 2 * u:3 * u]       # Keras i|f|c|o -> i|f|o|c
    halve = halves(u, 4, (0, 1, 2), dtype)                 # i f o halved
    bias = cell.bias if cell.use_bias else np.zeros(4 * u, dtype)
    xp = project_columns(cell, xs, cell.kernel[:, order] * halve, bias[order] * halve)
    w_rec = np.ascontiguousarray((cell.recurrent_kernel[:, order] * halve).T)  # (4u, u)

    timesteps, batch, _ = xs.shape
    h = np.ascontiguousarray(states[0].T, dtype)           # (units, batch)
    c = np.array(states[1].T, dtype, order="C")            # (units, batch), our own copy
    hs = scratch(cell, "hs", (timesteps, u, batch), dtype)  # every h, column convention
    z = np.empty((4 * u, batch), dtype)
    i, f, o, c_hat = z[:u], z[u:2 * u], z[2 * u:3 * u], z[3 * u:]
    for t in range(timesteps):
        np.matmul(w_rec, h, out=z)                         # (4*units, batch)
        z += xp[t]
        np.tanh(z, out=z)                                  # i f o: tanh(a/2); c~: tanh(a)
        tanh_to_sigmoid(z[:3 * u])                         # i f o: sigmoid(a)
        c *= f
        i *= c_hat
        c += i                                             # c = f * c_tm1 + i * c~
        h = hs[t]
        np.tanh(c, out=h)
        h *= o                                             # h = o * tanh(c)
    outputs, h = from_columns(hs, sequences)
    return outputs, [h, np.ascontiguousarray(c.T)]


# --- training -------------------------------------------------------------------------

def unroll_train(cell, xs, states):
    """The forward pass for training, keeping what ``unroll_backward`` needs, or None if no
    fast path applies.

    xs (timesteps, batch, features) in reading order, states (batch, units) each
    -> (outputs (timesteps, batch, units), new states, cache).
    """
    return None


def unroll_backward(cell, cache, d_outputs, d_last_states):
    """Backpropagation through time for ``unroll_train``'s forward.

    d_outputs (timesteps, batch, units) and d_last_states (batch, units) each: gradients of
    the loss with respect to the outputs and the final states
    -> (d_xs (timesteps, batch, features), d_states0, d_weights in ``cell.weights`` order,
    d_h (timesteps, batch, units): the total dL/dh_t).
    """
    raise NotImplementedError("unroll_backward follows unroll_train, which returned None")

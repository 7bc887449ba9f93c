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


_MATHS = ("call", "project", "step", "backward", "step_backward", "project_backward")
_CLASS_KINDS = weakref.WeakKeyDictionary()     # cell class -> (its maths methods, kind)


def _class_kind(cls):
    """"lstm", "gru" or "simple" if ``cls`` is (or subclasses without changing any method
    in ``_MATHS``) rnnlib's LSTMCell, GRUCell or SimpleRNNCell; else None.  Cached per class
    and per version of its methods (a test may patch them)."""
    methods = tuple(getattr(cls, m, None) for m in _MATHS)
    cached = _CLASS_KINDS.get(cls)
    if cached is not None and cached[0] == methods:
        return cached[1]
    from .layers.gru import GRUCell
    from .layers.lstm import LSTMCell
    from .layers.simple_rnn import SimpleRNNCell
    kind = next((name for name, owner in (("lstm", LSTMCell), ("gru", GRUCell),
                                          ("simple", SimpleRNNCell))
                 if issubclass(cls, owner)
                 and methods == tuple(getattr(owner, m, None) for m in _MATHS)), None)
    _CLASS_KINDS[cls] = (methods, kind)
    return kind


def kind(cell, training=False):
    """Which fast path runs ``cell``: "lstm", "gru" (reset_after=True), "simple" (training
    only: SimpleRNN steps fast enough forward), or None.  Only rnnlib's own maths with tanh
    (and sigmoid for the gates) qualifies, so a fast path always equals stepping."""
    k = _class_kind(type(cell))
    if k is None or cell.activation is not np.tanh:
        return None
    if k == "simple":
        return k if training else None
    if cell.recurrent_activation is not backend.ACTIVATIONS["sigmoid"]:
        return None
    return None if k == "gru" and not cell.reset_after else k


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
    k = kind(cell)
    if k == "lstm":
        return lstm_unroll(cell, xs, states, sequences)
    if k == "gru":
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


# --- training ---------------------------------------------------------------------
#
# The same tricks, plus what backpropagation through time needs:
# * Gate-major work arrays (rows, timesteps, batch): step t is the view A[:, t], and all
#   timesteps together are A.reshape(rows, timesteps * batch), so after the reverse loop
#   each weight gradient is ONE matrix product over all timesteps.
# * h lives in H (units, timesteps + 1, batch) with h0 in column 0: H[:, :T] are the
#   h_tm1 of every step, H[:, 1:] the outputs.
# * The forward keeps the gate activations in A; the backward overwrites them, in place,
#   with the gradients of the pre-activations (so a tape serves one backward pass).

class Tape:
    """What ``unroll_train`` keeps for ``unroll_backward``: the arrays of one forward pass."""

    def __init__(self, kind, **arrays):
        self.kind, self.arrays, self.used = kind, arrays, False

    def take(self):
        if self.used:
            raise RuntimeError(
                "This tape of rnnlib.fast.unroll_train has already been through unroll_backward, "
                "which overwrites it in place. Run unroll_train again for another backward pass.")
        self.used = True
        return self.arrays

    def nbytes(self):
        return sum(a.nbytes for a in self.arrays.values() if isinstance(a, np.ndarray))

    def __repr__(self):
        return f"<Tape {self.kind}: {self.nbytes() / 2**20:.1f} MiB{', used' if self.used else ''}>"


_LAST_TAPE = weakref.WeakKeyDictionary()      # cell -> the last Tape its training forward made


def _allocator(cell):
    """``new(name, shape, dtype)``: np.empty for the arrays of a new tape, or the same array of
    the cell's last tape once that tape's backward pass is done (it is dead then: nothing
    returned shares its memory).  Fresh memory costs page faults, about 10 ms per 100 MB here."""
    last = _LAST_TAPE.get(cell)
    spare = last.arrays if last is not None and last.used else {}

    def new(name, shape, dtype):
        a = spare.get(name)
        if not isinstance(a, np.ndarray) or a.shape != tuple(shape) or a.dtype != dtype:
            a = np.empty(shape, dtype)
        return a
    return new


def _tape(cell, kind, **arrays):
    tape = _LAST_TAPE[cell] = Tape(kind, **arrays)
    return tape


def _project_all(new, xs, kernel, bias, extra_rows=0):
    """x1 (T*B, F+1): the inputs and a constant 1; A (rows + extra_rows, T, B) with the input
    part of every timestep in its first rows: (kernel^T | bias) x1^T, one np.matmul."""
    timesteps, batch, features = xs.shape
    x1 = new("x1", (timesteps * batch, features + 1), kernel.dtype)
    x1.reshape(timesteps, batch, features + 1)[..., :features] = xs
    x1[:, features] = 1.0
    rows = kernel.shape[1]
    A = new("A", (rows + extra_rows, timesteps, batch), kernel.dtype)
    w = np.ascontiguousarray(np.vstack([kernel, bias]).T)          # (rows, F + 1)
    np.matmul(w, x1.T, out=A[:rows].reshape(rows, timesteps * batch))
    return x1, A


def _state_columns(new, name, state, timesteps, dtype):
    """(units, timesteps + 1, batch), the state given in column 0."""
    batch, units = state.shape
    S = new(name, (units, timesteps + 1, batch), dtype)
    S[:, 0] = state.T
    return S


def _batch_first(S):
    """S (units, timesteps, batch) -> a new (timesteps, batch, units) array."""
    return np.ascontiguousarray(S.transpose(1, 2, 0))


def _grad_columns(d, batch, units, dtype):
    """A gradient (batch, units) or None -> our own (units, batch) copy."""
    return np.zeros((units, batch), dtype) if d is None else np.array(np.asarray(d).T, dtype,
                                                                        order="C")


def _total_dh(d_last_h, timesteps):
    """DH (units, timesteps, batch) for the total dL/dh_t, holding dL/dh_T for now, and
    d_h0 (units, batch) for dL/dh0.  Each step writes dL/dh_tm1 into DH[:, t - 1]."""
    units, batch = d_last_h.shape
    DH = np.empty((units, timesteps, batch), d_last_h.dtype)
    DH[:, -1] = d_last_h
    return DH, np.empty_like(d_last_h)


def _add_output_grad(DH, t, d_outputs):
    """DH[:, t] += dL/doutput_t (d_outputs (timesteps, batch, units) or None), the step's view."""
    dh = DH[:, t]
    if d_outputs is not None:
        dh += d_outputs[t].T
    return dh


def _kernel_and_bias_grads(x1, dA_in):
    """dA_in (rows, T*B), the gradients of the input parts -> (rows, F + 1): the gradient of
    (kernel | bias), for all timesteps in one matrix product."""
    return dA_in @ x1


def _unpermute(d, order, axis_len):
    out = np.empty(d.shape[:-1] + (axis_len,), d.dtype)
    out[..., order] = d
    return out


def unroll_train(cell, xs, states):
    """The forward pass for training, keeping what ``unroll_backward`` needs, or None if no
    fast path applies (then use the cell's step and step_backward).

    SimpleRNN (tanh), GRU (reset_after=True) and LSTM with their own maths.
    xs (timesteps, batch, features) in reading order, states (batch, units) each
    -> (outputs (timesteps, batch, units), new states, a ``Tape``): new arrays.
    """
    k = kind(cell, training=True)
    if k is None:
        return None
    return _TRAIN[k][0](cell, xs, [np.asarray(s) for s in states])


def unroll_backward(cell, cache, d_outputs, d_last_states, d_inputs=True):
    """Backpropagation through time for ``unroll_train``'s forward (it uses up ``cache``).

    d_outputs (timesteps, batch, units), or None for zeros (return_sequences=False), and
    d_last_states: for each final state (batch, units) or None - the gradients of the loss with respect to what the forward
    returned.
    -> (d_xs (timesteps, batch, features), d_states0 [(batch, units)...], d_weights in
    ``cell.weights`` order, d_h (timesteps, batch, units): the total dL/dh_t).
    With ``d_inputs=False`` d_xs is None and its matrix product is skipped (a first layer).
    """
    arrays = cache.take()
    units, timesteps_plus_1, batch = arrays["H"].shape
    dtype = arrays["H"].dtype
    d_last = list(d_last_states or [])
    d_last += [None] * ((2 if cache.kind == "lstm" else 1) - len(d_last))
    d_last = [_grad_columns(d, batch, units, dtype) for d in d_last]
    d_states, d_weights, d_h, dA_in, kernel = _TRAIN[cache.kind][1](cell, arrays, d_outputs, d_last)
    d_xs = None
    if d_inputs:                                           # dL/dx_t = d a_t kernel^T, all t at once
        timesteps, batch = d_h.shape[:2]
        d_xs = (dA_in.T @ np.ascontiguousarray(kernel.T)).reshape(timesteps, batch, -1)
    return d_xs, d_states, d_weights, d_h


# --- SimpleRNN: h = tanh(x W + h_tm1 U + b) ---

def simple_train(cell, xs, states):
    u, dtype = cell.units, cell.kernel.dtype
    bias = cell.bias if cell.use_bias else np.zeros(u, dtype)
    new = _allocator(cell)
    x1, A = _project_all(new, xs, cell.kernel, bias)       # A (units, T, B): x W + b
    w_rec = np.ascontiguousarray(cell.recurrent_kernel.T)  # (units, units)
    timesteps, batch, _ = xs.shape
    H = _state_columns(new, "H", states[0], timesteps, dtype)
    for t in range(timesteps):
        h = H[:, t + 1]
        np.matmul(w_rec, H[:, t], out=h)
        h += A[:, t]
        np.tanh(h, out=h)                                  # h = tanh(x W + h_tm1 U + b)
    outputs = _batch_first(H[:, 1:])
    return outputs, [outputs[-1].copy()], _tape(cell, "simple", x1=x1, A=A, H=H)


def simple_backward(cell, arrays, d_outputs, d_last):
    x1, dA, H = arrays["x1"], arrays["A"], arrays["H"]    # dA overwrites A
    u, timesteps, batch = dA.shape
    DH, d_h0 = _total_dh(d_last[0], timesteps)
    for t in reversed(range(timesteps)):
        dh = _add_output_grad(DH, t, d_outputs)            # total dL/dh_t
        da, h = dA[:, t], H[:, t + 1]
        np.multiply(h, h, out=da)
        np.subtract(1, da, out=da)
        da *= dh                                           # da = dh * (1 - h^2)
        np.matmul(cell.recurrent_kernel, da, out=DH[:, t - 1] if t else d_h0)  # dL/dh_tm1 = U da
    dA = dA.reshape(u, timesteps * batch)
    dWb = _kernel_and_bias_grads(x1, dA)
    d_rec = H[:, :timesteps].reshape(u, timesteps * batch) @ dA.T
    d_weights = [np.ascontiguousarray(dWb[:, :-1].T), d_rec] + ([dWb[:, -1].copy()]
                                                                 if cell.use_bias else [])
    return [np.ascontiguousarray(d_h0.T)], d_weights, DH.transpose(1, 2, 0), dA, cell.kernel


# --- GRU, reset_after=True: A's rows h~|z|r|n with n = h_tm1 Uh + b_rec_h ---

def gru_train(cell, xs, states):
    u, dtype = cell.units, cell.kernel.dtype
    order = np.r_[2 * u:3 * u, 0:2 * u]                    # Keras z|r|h -> h|z|r
    halve = halves(u, 3, (1, 2), dtype)                    # z r halved
    b_in, b_rec = cell.bias if cell.use_bias else np.zeros((2, 3 * u), dtype)
    b_fold = b_in + np.r_[b_rec[:2 * u], np.zeros(u, dtype)]      # z, r: both biases
    new = _allocator(cell)
    x1, A = _project_all(new, xs, cell.kernel[:, order] * halve, b_fold[order] * halve,
                         extra_rows=u)
    w_rec = np.ascontiguousarray((cell.recurrent_kernel * halves(u, 3, (0, 1), dtype)).T)
    b_hh = b_rec[2 * u:, None]
    timesteps, batch, _ = xs.shape
    H = _state_columns(new, "H", states[0], timesteps, dtype)
    rec = np.empty((3 * u, batch), dtype)                  # h_tm1 U, z|r|h
    for t in range(timesteps):
        a = A[:, t]
        hh, zr, z, r, n = a[:u], a[u:3 * u], a[u:2 * u], a[2 * u:3 * u], a[3 * u:]
        np.matmul(w_rec, H[:, t], out=rec)
        zr += rec[:2 * u]
        np.tanh(zr, out=zr)
        tanh_to_sigmoid(zr)                                # z, r = sigmoid(...)
        np.add(rec[2 * u:], b_hh, out=n)                   # n = h_tm1 Uh + b_rec_h
        np.multiply(r, n, out=rec[:u])
        hh += rec[:u]
        np.tanh(hh, out=hh)                                # h~ = tanh(x Wh + r * n)
        h = H[:, t + 1]
        np.subtract(H[:, t], hh, out=h)
        h *= z
        h += hh                                            # h = h~ + z * (h_tm1 - h~)
    outputs = _batch_first(H[:, 1:])
    return outputs, [outputs[-1].copy()], _tape(cell, "gru", x1=x1, A=A, H=H, order=order)


def gru_backward(cell, arrays, d_outputs, d_last):
    x1, dA, H, order = arrays["x1"], arrays["A"], arrays["H"], arrays["order"]
    u = cell.units
    _, timesteps, batch = dA.shape
    dtype = H.dtype
    DH, d_h0 = _total_dh(d_last[0], timesteps)
    direct = np.empty((u, batch), dtype)
    d_zr, sq = np.empty((2 * u, batch), dtype), np.empty((2 * u, batch), dtype)
    dz, dr = d_zr[:u], d_zr[u:]                           # dL/dz and dL/dr, side by side
    for t in reversed(range(timesteps)):
        dh = _add_output_grad(DH, t, d_outputs)            # total dL/dh_t
        a = dA[:, t]
        hh, z, r, zr, n = a[:u], a[u:2 * u], a[2 * u:3 * u], a[u:3 * u], a[3 * u:]
        np.subtract(H[:, t], hh, out=dz)
        dz *= dh                                           # dL/dz = dh * (h_tm1 - h~)
        np.multiply(dh, z, out=direct)                     # dL/dh_tm1, the direct part
        np.subtract(dh, direct, out=dr)                    # dL/dh~ = dh * (1 - z)
        np.multiply(hh, hh, out=hh)
        np.subtract(1, hh, out=hh)
        hh *= dr                                           # d a_h = dL/dh~ * (1 - h~^2)
        np.multiply(hh, n, out=dr)                         # dL/dr = d a_h * n
        np.multiply(hh, r, out=n)                          # dL/dn = d a_h * r
        np.multiply(zr, zr, out=sq)
        zr -= sq
        zr *= d_zr                                         # d a_z|r = dL/d(z|r) * s (1 - s)
        d_h_tm1 = DH[:, t - 1] if t else d_h0
        np.matmul(cell.recurrent_kernel, a[u:], out=d_h_tm1)   # U (d a_z | d a_r | dL/dn)
        d_h_tm1 += direct
    dA = dA.reshape(4 * u, timesteps * batch)
    dWb = _kernel_and_bias_grads(x1, dA[:3 * u])                  # rows h|z|r
    d_kernel = _unpermute(np.ascontiguousarray(dWb[:, :-1].T), order, 3 * u)
    d_rec = H[:, :timesteps].reshape(u, timesteps * batch) @ dA[u:].T   # z|r|h, Keras order
    d_weights = [d_kernel, d_rec]
    if cell.use_bias:
        d_in = _unpermute(dWb[:, -1], order, 3 * u)
        d_weights.append(np.stack([d_in, np.r_[d_in[:2 * u], dA[3 * u:].sum(axis=1)]]))
    return ([np.ascontiguousarray(d_h0.T)], d_weights, DH.transpose(1, 2, 0), dA[:3 * u],
            cell.kernel[:, order])


# --- LSTM: A's rows i|f|o|c~ (the sigmoid gates first) ---

def _lstm_order(u):
    return np.r_[0:2 * u, 3 * u:4 * u, 2 * u:3 * u]       # Keras i|f|c|o -> i|f|o|c


def lstm_train(cell, xs, states):
    u, dtype = cell.units, cell.kernel.dtype
    order = _lstm_order(u)
    halve = halves(u, 4, (0, 1, 2), dtype)                 # i f o halved
    bias = cell.bias if cell.use_bias else np.zeros(4 * u, dtype)
    new = _allocator(cell)
    x1, A = _project_all(new, xs, cell.kernel[:, order] * halve, bias[order] * halve)
    w_rec = np.ascontiguousarray((cell.recurrent_kernel[:, order] * halve).T)  # (4u, u)
    timesteps, batch, _ = xs.shape
    H = _state_columns(new, "H", states[0], timesteps, dtype)
    C = _state_columns(new, "C", states[1], timesteps, dtype)
    TC = new("TC", (u, timesteps, batch), dtype)           # tanh(c) at every step
    rec, ig = np.empty((4 * u, batch), dtype), np.empty((u, batch), dtype)
    for t in range(timesteps):
        a = A[:, t]
        i, f, o, g = a[:u], a[u:2 * u], a[2 * u:3 * u], a[3 * u:]
        np.matmul(w_rec, H[:, t], out=rec)
        a += rec
        np.tanh(a, out=a)
        tanh_to_sigmoid(a[:3 * u])                         # i f o: sigmoid; c~: tanh
        c = C[:, t + 1]
        np.multiply(f, C[:, t], out=c)
        np.multiply(i, g, out=ig)
        c += ig                                            # c = f * c_tm1 + i * c~
        np.tanh(c, out=TC[:, t])
        np.multiply(o, TC[:, t], out=H[:, t + 1])          # h = o * tanh(c)
    outputs = _batch_first(H[:, 1:])
    new_states = [outputs[-1].copy(), np.ascontiguousarray(C[:, -1].T)]
    return outputs, new_states, _tape(cell, "lstm", x1=x1, A=A, H=H, C=C, TC=TC)


def lstm_backward(cell, arrays, d_outputs, d_last):
    x1, dA, H, C, TC = (arrays[k] for k in ("x1", "A", "H", "C", "TC"))
    u = cell.units
    _, timesteps, batch = dA.shape
    dtype = H.dtype
    order = _lstm_order(u)
    rk = np.ascontiguousarray(cell.recurrent_kernel[:, order])   # (units, 4*units)
    DH, d_h0 = _total_dh(d_last[0], timesteps)
    dc = d_last[1]                                         # dL/dc_t, carried back
    tmp, d3, sq3 = (np.empty((n, batch), dtype) for n in (u, 3 * u, 3 * u))
    for t in reversed(range(timesteps)):
        dh = _add_output_grad(DH, t, d_outputs)            # total dL/dh_t
        a, tc = dA[:, t], TC[:, t]
        i, f, o, g, s = a[:u], a[u:2 * u], a[2 * u:3 * u], a[3 * u:], a[:3 * u]
        np.multiply(tc, tc, out=tmp)
        np.subtract(1, tmp, out=tmp)
        tmp *= o
        tmp *= dh
        dc += tmp                                          # dL/dc += dh * o * (1 - tanh(c)^2)
        np.multiply(dc, g, out=d3[:u])                     # dL/di = dc * c~
        np.multiply(dc, C[:, t], out=d3[u:2 * u])          # dL/df = dc * c_tm1
        np.multiply(dh, tc, out=d3[2 * u:])                # dL/do = dh * tanh(c)
        np.multiply(g, g, out=g)
        np.subtract(1, g, out=g)
        g *= dc
        g *= i                                             # d a_c = dc * i * (1 - c~^2)
        dc *= f                                            # dL/dc_tm1 = dc * f
        np.multiply(s, s, out=sq3)
        s -= sq3
        s *= d3                                            # d a_ifo = dL/d(i|f|o) * s (1 - s)
        np.matmul(rk, a, out=DH[:, t - 1] if t else d_h0)  # dL/dh_tm1 = U d a
    dA = dA.reshape(4 * u, timesteps * batch)
    dWb = _kernel_and_bias_grads(x1, dA)
    d_kernel = _unpermute(np.ascontiguousarray(dWb[:, :-1].T), order, 4 * u)
    d_rec = _unpermute(H[:, :timesteps].reshape(u, timesteps * batch) @ dA.T, order, 4 * u)
    d_weights = [d_kernel, d_rec] + ([_unpermute(dWb[:, -1], order, 4 * u)]
                                     if cell.use_bias else [])
    d_states = [np.ascontiguousarray(d_h0.T), np.ascontiguousarray(dc.T)]
    return d_states, d_weights, DH.transpose(1, 2, 0), dA, cell.kernel[:, order]


_TRAIN = {"simple": (simple_train, simple_backward), "gru": (gru_train, gru_backward),
          "lstm": (lstm_train, lstm_backward)}

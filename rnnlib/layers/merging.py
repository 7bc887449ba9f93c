"""Add and Concatenate, with Keras 3's rules for inputs of different rank.

Keras 3 gives a lower-rank input extra axes at position 1 until the ranks match,
so ``add([(None, 16), (None, 32, 16)])`` adds the vector to every timestep and
returns ``(None, 32, 16)``.  rnnlib does the same and warns: that silent
broadcast is a classic bug (a layer returned its last output where a sequence was
meant).
"""
import warnings

import numpy as np

from ..engine import Grads, Layer, caller_level, fmt_shape


class Merge(Layer):
    supports_masking = True                   # compute_mask below, as Keras 3

    def check(self, shapes):
        if not isinstance(shapes, list) or len(shapes) < 2:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) merges a list of at least 2 "
                f"tensors, e.g. rl.layers.{type(self).__name__.lower()}([a, b]); received "
                f"{fmt_shape(shapes) if isinstance(shapes, list) else 'one tensor'}."
            )
        if any(len(s) < 2 for s in shapes):
            raise ValueError(
                f"Layer '{self.name}' merges tensors of shape (batch, ...) with at least 2 axes; "
                f"received {fmt_shape(shapes)}.")
        batches = {s[0] for s in shapes if s[0] is not None}
        if len(batches) > 1:
            raise ValueError(f"Layer '{self.name}': inputs must have the same batch size; "
                             f"received {fmt_shape(shapes)}.")


class Add(Merge):
    """Element-wise sum of a list of tensors of the same shape (or Keras-broadcastable)."""

    def compute_mask(self, inputs, mask):
        """Keras 3: a step counts if it counts in any input (OR); None if one input has none."""
        if mask is None or any(m is None for m in mask):
            return None
        return np.logical_or.reduce([np.asarray(m, bool) for m in mask])

    def check(self, shapes):
        super().check(shapes)
        self.compute_output_shape(shapes)        # raises if the shapes do not fit
        ranks = {len(s) for s in shapes}
        if len(ranks) > 1:
            low = min(shapes, key=len)
            high = max(shapes, key=len)
            warnings.warn(
                f"Layer '{self.name}' adds inputs of different rank: {fmt_shape(low)} and "
                f"{fmt_shape(high)}. Like Keras, it inserts axis 1 into {fmt_shape(low)} and "
                f"broadcasts it, so the same vector is added at every step of {fmt_shape(high)}. "
                "If one of them came from an RNN, that RNN probably needs return_sequences=True.",
                UserWarning, stacklevel=caller_level())

    def compute_output_shape(self, shapes):
        out = shapes[0][1:]
        for s in shapes[1:]:
            out = _broadcast(out, s[1:], shapes, self.name)
        batch = next((s[0] for s in shapes if s[0] is not None), None)
        return (batch,) + out

    def call(self, xs):
        rank, out = max(x.ndim for x in xs), None
        for x in xs:
            x = _with_rank(x, rank)
            out = x.copy() if out is None else out + x
        return out

    def backward(self, cache, d_y):
        """Each input gets d_y, summed over the axes it was broadcast along (the inserted
        time axis of a (batch, units) input added to (batch, timesteps, units))."""
        xs, _ = cache
        d_xs = []
        for x in xs:
            wide = _with_rank(x, d_y.ndim).shape
            axes = tuple(k for k, (a, b) in enumerate(zip(wide, d_y.shape)) if a == 1 and b != 1)
            d_xs.append(d_y.sum(axis=axes, keepdims=True).reshape(x.shape))
        return Grads(d_xs, [])

    def __repr__(self):
        return f"<Add name={self.name!r}>"


def _with_rank(x, rank):
    """Keras 3's rule for a lower-rank input: insert axes at position 1 until ranks match."""
    return x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:])


def _broadcast(a, b, shapes, name):
    """Keras's element-wise output shape of two per-sample shapes (trailing axes aligned)."""
    if len(a) < len(b):
        a, b = b, a
    out = list(a[:len(a) - len(b)])
    for i, j in zip(a[len(a) - len(b):], b):
        if i is None or j is None:
            out.append(None)
        elif i == 1 or j == 1 or i == j:
            out.append(j if i == 1 else i)
        else:
            raise ValueError(
                f"Layer '{name}': received inputs of incompatible shapes {fmt_shape(shapes)}: axis sizes "
                f"{i} and {j} differ. Add needs equal shapes (or a size of 1 to broadcast)."
            )
    return tuple(out)


class Concatenate(Merge):
    """Join tensors along ``axis`` (default -1); every other axis must match."""

    def __init__(self, axis=-1, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.axis = int(axis)

    def check(self, shapes):
        super().check(shapes)
        rank = len(shapes[0])
        axis = self.axis % rank if -rank <= self.axis < rank else None
        fail = axis is None or axis == 0 or any(len(s) != rank for s in shapes) or any(
            len({s[k] for s in shapes} - {None}) > 1 for k in range(1, rank) if k != axis)
        if fail:
            raise ValueError(
                f"A `Concatenate` layer requires inputs with matching shapes except for the "
                f"concatenation axis. Received: input_shape={fmt_shape(shapes)} (layer "
                f"'{self.name}', axis={self.axis}). Make the other axes agree first, e.g. with "
                "return_sequences=True on an RNN or a Reshape that adds an axis."
            )

    def compute_mask(self, inputs, mask):
        """Keras 3: the masks joined along ``axis`` (all True for an input without one), then
        a step counts if any of its entries does."""
        if mask is None or all(m is None for m in mask):
            return None
        full = [np.ones(x.shape, bool) if m is None else
                np.broadcast_to(np.asarray(m, bool)[..., None], x.shape) if np.ndim(m) < x.ndim
                else np.asarray(m, bool) for x, m in zip(inputs, mask)]
        return np.concatenate(full, axis=self.axis).any(axis=-1)

    def compute_output_shape(self, shapes):
        axis = self.axis % len(shapes[0])
        out = list(shapes[0])
        sizes = [s[axis] for s in shapes]
        out[axis] = None if None in sizes else sum(sizes)
        for k in range(1, len(out)):
            if k != axis and out[k] is None:
                out[k] = next((s[k] for s in shapes if s[k] is not None), None)
        return tuple(out)

    def call(self, xs):
        return np.concatenate(xs, axis=self.axis)

    def backward(self, cache, d_y):
        xs, _ = cache
        ends = np.cumsum([x.shape[self.axis] for x in xs])[:-1]
        return Grads(np.split(d_y, ends, axis=self.axis), [])

    def __repr__(self):
        return f"<Concatenate name={self.name!r}, axis={self.axis}>"


def add(inputs, name=None):
    """Functional form: ``add([a, b])`` is ``Add()([a, b])``."""
    return Add(name=name)(inputs)


def concatenate(inputs, axis=-1, name=None):
    """Functional form: ``concatenate([a, b])`` is ``Concatenate(axis)([a, b])``."""
    return Concatenate(axis=axis, name=name)(inputs)

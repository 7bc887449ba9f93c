"""Operations on tensors, with Keras 3's names: ``rl.ops.flip``.

On a NumPy array an op computes at once; on a symbolic tensor it adds a step to the
model (as ``keras.ops`` does), so ``rl.ops.flip(gru_1b, axis=1)`` inside a functional
model puts a backward-read sequence back into time order.
"""
import numpy as np

from .engine import Grads, Layer, SymbolicTensor, fmt_shape


class Flip(Layer):
    """The step behind ``rl.ops.flip`` on a symbolic tensor: reverse one axis.

    An operation, not a layer: ``model.layers`` leaves it out and ``model.operations`` and
    ``model.summary()`` show it, as Keras does with its ``Flip``.
    """

    is_operation = True

    def __init__(self, axis, name=None):
        super().__init__(name)
        self.axis = axis

    def check(self, shape):
        if isinstance(shape, list) or not -len(shape) <= self.axis < len(shape):
            raise ValueError(f"flip(axis={self.axis}) needs one tensor with that axis; "
                             f"received {fmt_shape(shape)}.")

    def compute_output_shape(self, shape):
        return shape

    def call(self, x):
        return np.flip(x, self.axis).copy()

    def backward(self, cache, d_y):
        return Grads(np.flip(d_y, self.axis).copy(), [])

    def __repr__(self):
        return f"<Flip name={self.name!r}, axis={self.axis}>"


def flip(x, axis):
    """Reverse the order of the entries along ``axis`` (axis=1: the timesteps)."""
    if isinstance(x, SymbolicTensor):
        return Flip(axis)(x)
    return np.flip(np.asarray(x), axis).copy()

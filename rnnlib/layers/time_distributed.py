"""TimeDistributed: one layer applied to every timestep alike, with the same weights.

    (batch, timesteps, *features) -> (batch, timesteps, *the layer's output)

It folds the time axis into the batch, runs the layer once, and unfolds it again.
(Keras's Dense already acts on the last axis of a 3-D input, so TimeDistributed(Dense)
and Dense give the same numbers; the wrapper says it out loud.)
"""
from ..engine import Grads, Layer, fmt_shape


class TimeDistributed(Layer):
    supports_masking = True

    def __init__(self, layer, name=None, **kwargs):
        if not isinstance(layer, Layer):
            raise TypeError(f"TimeDistributed wraps a layer, e.g. TimeDistributed(Dense(3)); "
                            f"received {layer!r}.")
        super().__init__(name, **kwargs)
        self.layer = layer

    @property
    def weight_names(self):
        return self.layer.weight_names

    @property
    def weights(self):
        return self.layer.weights

    def set_weights(self, weights):
        self.layer.set_weights(weights)

    def _inner(self, shape):
        return (None if None in shape[:2] else shape[0] * shape[1],) + tuple(shape[2:])

    def check(self, shape):
        if isinstance(shape, list) or len(shape) < 3:
            raise ValueError(
                f"Layer '{self.name}' (TimeDistributed) needs (batch, timesteps, ...) with at least "
                f"3 axes, received {fmt_shape(shape)}. Did the RNN before it return only its last "
                "output? Give it return_sequences=True.")
        self.layer.check(self._inner(shape))

    def build(self, shape):
        if not self.layer.built:
            self.layer.build(self._inner(shape))
            self.layer.built = True

    def compute_output_shape(self, shape):
        inner = self.layer.compute_output_shape(self._inner(shape))
        return tuple(shape[:2]) + tuple(inner[1:])

    def call(self, x):
        return self.call_for_backward(x)[0]

    def call_for_backward(self, x):
        batch, timesteps = x.shape[:2]
        y, cache = self.layer.call_for_backward(x.reshape((batch * timesteps,) + x.shape[2:]))
        return y.reshape((batch, timesteps) + y.shape[1:]), (x.shape, cache)

    def backward(self, cache, d_y):
        x_shape, inner = cache
        g = self.layer.backward(inner, d_y.reshape((-1,) + d_y.shape[2:]))
        return Grads(g.inputs.reshape(x_shape), g.weights)

    def __repr__(self):
        return f"<TimeDistributed name={self.name!r}, layer={self.layer!r}>"

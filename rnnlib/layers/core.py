"""Dense (acts on the last axis) and Reshape (keeps the batch axis)."""
import numpy as np

from .. import backend, initializers
from ..engine import Grads, Layer, fmt_shape
from .rnn import check_units


class Dense(Layer):
    """y = activation(x @ kernel + bias) on the last axis: (..., in) -> (..., units).

    On a 3-D (batch, timesteps, features) input it acts on every timestep alike.
    ``seed=`` (rnnlib's own) seeds the weights; in Keras use seeded initializers or
    ``rl.utils.set_random_seed`` / ``keras.utils.set_random_seed``.
    """

    def __init__(self, units, activation=None, use_bias=True, seed=None, name=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(name, **kwargs)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.units = check_units(units, "Dense")
        self.activation = backend.get_activation(activation)
        self.use_bias = bool(use_bias)
        self.seed = seed
        self.weight_names = ("kernel", "bias") if self.use_bias else ("kernel",)

    supports_masking = True                  # a mask on (batch, timesteps) passes through

    def check(self, shape):
        if isinstance(shape, list):
            raise ValueError(f"Layer '{self.name}' takes one tensor, received {len(shape)}: {fmt_shape(shape)}.")
        if len(shape) < 2 or shape[-1] is None:
            raise ValueError(
                f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected "
                f"min_ndim=2 with a known last axis, found shape {fmt_shape(shape)}. "
                "Dense needs (batch, features)."
            )
        if self.built and shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected axis -1 "
                f"of input shape to have value {self.kernel.shape[0]}, but received input with "
                f"shape {fmt_shape(shape)}. It was built for {self.kernel.shape[0]} features; "
                "make a new Dense layer for the new size."
            )

    def build(self, shape):
        rng = backend.make_rng(self.seed)     # seed= is rnnlib's; Keras seeds weights by initializers
        self.kernel = self.kernel_initializer((shape[-1], self.units), self.dtype, rng)
        if self.use_bias:
            self.bias = self.bias_initializer((self.units,), self.dtype, rng)

    def compute_output_shape(self, shape):
        return tuple(shape[:-1]) + (self.units,)

    def call(self, x):
        return self.call_for_backward(x)[0]

    def call_for_backward(self, x):
        z = x @ self.kernel                                  # (..., units)
        if self.use_bias:
            z += self.bias
        y = self.activation(z)                               # (..., units)
        return y, (x, z, y)

    def backward(self, cache, d_y):
        """d_y (..., units) -> dL/dx (..., in), [dL/dkernel (in, units), dL/dbias (units,)]."""
        x, z, y = cache
        d_z = backend.activation_backward(self.activation, z, y, d_y)   # (..., units)
        rows_x = x.reshape(-1, x.shape[-1])                  # every timestep is a row
        rows_d = d_z.reshape(-1, self.units)
        d_weights = [rows_x.T @ rows_d] + ([rows_d.sum(axis=0)] if self.use_bias else [])
        return Grads(d_z @ self.kernel.T, d_weights)

    def __repr__(self):
        return (f"<Dense name={self.name!r}, units={self.units}, "
                f"activation={backend.activation_name(self.activation)}>")


class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (the batch axis stays); one -1 is inferred."""

    def __init__(self, target_shape, name=None, **kwargs):
        super().__init__(name, **kwargs)
        if isinstance(target_shape, (int, np.integer)) or not hasattr(target_shape, "__iter__"):
            raise ValueError(f"Reshape(target_shape={target_shape!r}): use a tuple, e.g. ({target_shape},).")
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1 or any(d < -1 or d == 0 for d in self.target_shape):
            raise ValueError(
                f"Reshape: target sizes must be positive, with at most one -1 (meaning "
                f"'whatever is left'); received target_shape={self.target_shape}."
            )

    def _resolve(self, shape):
        """The output shape of one sample, or None where the input size is unknown."""
        sample = shape[1:]
        if None in sample:
            return tuple(None if d == -1 else d for d in self.target_shape)
        size, known = int(np.prod(sample)), int(np.prod([d for d in self.target_shape if d != -1]))
        target = self.target_shape
        if -1 in target and size % known == 0:
            target = tuple(size // known if d == -1 else d for d in target)
        if int(np.prod(target)) != size or (-1 in self.target_shape and size % known):
            example = (f", e.g. Reshape(({sample[0]}, {size // sample[0]}))"
                       if len(sample) > 1 and sample[0] else "")
            raise ValueError(
                f"Layer '{self.name}' cannot reshape the input it received, {fmt_shape(shape)}, "
                f"to {fmt_shape((shape[0],) + self.target_shape)}: each sample holds {size} "
                f"values ({' x '.join(map(str, sample)) or 'a scalar'}) but the target holds "
                f"{' x '.join(map(str, self.target_shape))} = {known}"
                f"{' times something' if -1 in self.target_shape else ''}. The sizes must "
                f"multiply to {size}{example}."
            )
        return target

    def check(self, shape):
        if isinstance(shape, list):
            raise ValueError(f"Layer '{self.name}' takes one tensor, received {len(shape)}.")
        if len(shape) < 2:
            raise ValueError(f"Layer '{self.name}' reshapes each sample, so its input needs a batch "
                             f"axis and at least one more; received shape {fmt_shape(shape)}.")
        self._resolve(shape)

    def compute_output_shape(self, shape):
        return (shape[0],) + self._resolve(shape)

    def call(self, x):
        return x.reshape((x.shape[0],) + self._resolve(x.shape))

    def backward(self, cache, d_y):
        x, _ = cache
        return Grads(d_y.reshape(x.shape), [])

    def __repr__(self):
        return f"<Reshape name={self.name!r}, target_shape={self.target_shape}>"


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...): every sample becomes one vector."""

    def check(self, shape):
        if isinstance(shape, list) or len(shape) < 1:
            raise ValueError(f"Layer '{self.name}' (Flatten) takes one tensor with a batch axis, "
                             f"received {fmt_shape(shape)}.")

    def compute_output_shape(self, shape):
        rest = shape[1:]
        return (shape[0], None if None in rest else int(np.prod(rest)))

    def call(self, x):
        return x.reshape(x.shape[0], -1)

    def backward(self, cache, d_y):
        x, _ = cache
        return Grads(d_y.reshape(x.shape), [])

    def __repr__(self):
        return f"<Flatten name={self.name!r}>"


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features): the same vector at each of n timesteps
    (a decoder's input made from an encoder's last output)."""

    def __init__(self, n, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.n = check_units(n, "RepeatVector(n)")

    def check(self, shape):
        if isinstance(shape, list) or len(shape) != 2:
            raise ValueError(
                f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected ndim=2, "
                f"found ndim={len(shape) if not isinstance(shape, list) else 'a list'}. Full shape "
                f"received: {fmt_shape(shape)}. RepeatVector repeats one vector per sample, "
                "(batch, features); after an RNN use return_sequences=False.")

    def compute_output_shape(self, shape):
        return (shape[0], self.n, shape[1])

    def call(self, x):
        return np.repeat(x[:, None, :], self.n, axis=1)      # (batch, n, features)

    def backward(self, cache, d_y):
        return Grads(d_y.sum(axis=1), [])                    # every copy's gradient adds up

    def __repr__(self):
        return f"<RepeatVector name={self.name!r}, n={self.n}>"


class Dropout(Layer):
    """In ``fit`` (training=True) each value is zeroed with probability ``rate`` and the rest
    scaled by 1 / (1 - rate), so the expected output is unchanged; otherwise the identity."""

    supports_masking = True
    uses_training = True

    def __init__(self, rate, noise_shape=None, seed=None, name=None, **kwargs):
        super().__init__(name, **kwargs)
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate < 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value "
                             f"between 0 and 1. Received: rate={rate!r}")
        self.rate, self.noise_shape, self.seed = float(rate), noise_shape, seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def check(self, shape, training=False):
        if isinstance(shape, list):
            raise ValueError(f"Layer '{self.name}' takes one tensor, received {len(shape)}.")

    def compute_output_shape(self, shape, training=False):
        return shape

    def call(self, x, training=False):
        return self.call_for_backward(x, training)[0]

    def call_for_backward(self, x, training=False):
        if not training or self.rate == 0:
            return x, None
        shape = x.shape if self.noise_shape is None else tuple(
            d if n is None else n for d, n in zip(x.shape, self.noise_shape))
        rng = self._rng or backend.make_rng(None)
        keep = (rng.random(shape) >= self.rate) / (1.0 - self.rate)    # 0 or 1 / (1 - rate)
        return (x * keep).astype(x.dtype), keep

    def backward(self, cache, d_y):
        return Grads(d_y if cache is None else d_y * cache, [])

    def __repr__(self):
        return f"<Dropout name={self.name!r}, rate={self.rate}>"

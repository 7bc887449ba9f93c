"""Initializers, as Keras 3 names them: ``kernel_initializer=rl.initializers.GlorotUniform(seed=0)``.

An initializer is called with a shape and returns a new array.  With ``seed=`` it gives the
same values on every call (as Keras 3's seeded initializers do); without, it draws from the
global generator that ``rl.utils.set_random_seed(s)`` resets, so a script that calls
``set_random_seed(s)`` first builds the same weights every time it runs.
"""
import numpy as np

from . import backend


class Initializer:
    """Base class: ``init(shape, dtype=None) -> array``."""

    seed = None

    def __call__(self, shape, dtype=None, rng=None):
        rng = np.random.default_rng(self.seed) if self.seed is not None else rng or backend.make_rng(None)
        return np.asarray(self.sample(tuple(shape), rng), dtype=dtype or backend.floatx())

    def sample(self, shape, rng):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class GlorotUniform(Initializer):
    """U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)): Keras's kernel default."""

    def __init__(self, seed=None):
        self.seed = seed

    def sample(self, shape, rng):
        return backend.glorot_uniform(shape, rng, "float64")


class Orthogonal(Initializer):
    """A random orthogonal matrix times ``gain``: Keras's recurrent_kernel default."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def sample(self, shape, rng):
        return self.gain * backend.orthogonal(shape, rng, "float64")


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def sample(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, size=shape)


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def sample(self, shape, rng):
        return rng.normal(self.mean, self.stddev, size=shape)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def sample(self, shape, rng):
        return np.full(shape, self.value)


class Zeros(Constant):
    def __init__(self):
        super().__init__(0.0)

    def __repr__(self):
        return "Zeros()"


class Ones(Constant):
    def __init__(self):
        super().__init__(1.0)

    def __repr__(self):
        return "Ones()"


NAMES = {"glorot_uniform": GlorotUniform, "orthogonal": Orthogonal, "zeros": Zeros,
         "ones": Ones, "random_uniform": RandomUniform, "random_normal": RandomNormal}


def get(identifier):
    """A Keras initializer name, an Initializer, or a callable ``f(shape, dtype)``."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str) and identifier in NAMES:
        return NAMES[identifier]()
    if callable(identifier):
        return _Callable(identifier)
    raise ValueError(f"Unknown initializer {identifier!r}. Use one of {sorted(NAMES)}, an "
                     "rl.initializers object (e.g. GlorotUniform(seed=0)) or a function f(shape, dtype).")


class _Callable(Initializer):
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, shape, dtype=None, rng=None):
        return np.asarray(self.fn(tuple(shape), dtype or backend.floatx()), dtype=dtype or backend.floatx())

"""Numbers: the float type, Keras's activations and initialisers.

Everything here is plain NumPy.  ``floatx()`` is the dtype that new weights and
inputs get (float32 by default, as Keras); ``set_floatx("float64")`` is for
gradient checks.
"""
import numpy as np

_FLOATX = "float32"


def floatx():
    """The default float dtype name, ``"float32"`` unless changed."""
    return _FLOATX


def set_floatx(value):
    """Set the float dtype of new weights and inputs: ``"float32"`` or ``"float64"``."""
    global _FLOATX
    if value not in ("float16", "float32", "float64"):
        raise ValueError(
            f"Unknown floatx {value!r}. Use 'float32' (the default) or 'float64' "
            "(for numerical gradient checks)."
        )
    _FLOATX = value


# --- activations, as Keras 3 defines them ------------------------------------

def _sigmoid(x):
    # 1 / (1 + exp(-x)) without overflow, as (1 + tanh(x / 2)) / 2 in one new array
    y = np.multiply(x, 0.5)
    np.tanh(y, out=y)
    y *= 0.5
    y += 0.5
    return y


def _hard_sigmoid(x):
    # Keras 3: relu6(x + 3) / 6, i.e. a line of slope 1/6 clipped to [0, 1]
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0)


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _selu(x):
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _softmax(x):
    # over the last axis, shifted by the maximum so that exp never overflows
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "hard_sigmoid": _hard_sigmoid,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "linear": lambda x: x,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "softplus": lambda x: np.logaddexp(0, x),
    "elu": _elu,
    "selu": _selu,
    "swish": lambda x: x * _sigmoid(x),
    "silu": lambda x: x * _sigmoid(x),
    "exponential": np.exp,
    "softmax": _softmax,
}


# --- their backward passes: dL/dz from z (the input), y = f(z) and dL/dy ---------------

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805

BACKWARDS = {
    "tanh": lambda z, y, d: d * (1 - y * y),
    "sigmoid": lambda z, y, d: d * y * (1 - y),
    "hard_sigmoid": lambda z, y, d: d * ((z > -3) & (z < 3)) / 6.0,
    "relu": lambda z, y, d: d * (z > 0),
    "relu6": lambda z, y, d: d * ((z > 0) & (z < 6)),
    "linear": lambda z, y, d: d,
    "softsign": lambda z, y, d: d / (1 + np.abs(z)) ** 2,
    "softplus": lambda z, y, d: d * _sigmoid(z),
    "elu": lambda z, y, d: d * np.where(z > 0, 1.0, y + 1),
    "selu": lambda z, y, d: d * np.where(z > 0, _SELU_SCALE, y + _SELU_SCALE * _SELU_ALPHA),
    "swish": lambda z, y, d: d * _swish_slope(z),
    "silu": lambda z, y, d: d * _swish_slope(z),
    "exponential": lambda z, y, d: d * y,
    "softmax": lambda z, y, d: y * (d - (d * y).sum(axis=-1, keepdims=True)),
}


def _swish_slope(z):
    s = _sigmoid(z)
    return s * (1 + z * (1 - s))


def activation_backward(fn, z, y, d_y):
    """dL/dz for y = fn(z), given dL/dy: the chain rule through one activation."""
    name = activation_name(fn)
    if ACTIVATIONS.get(name) is not fn:
        raise TypeError(
            f"rnnlib cannot differentiate the activation {name!r} (a function of your own). "
            f"Use one of the named activations {sorted(ACTIVATIONS)} to train, or compute "
            "the gradient in a cell of your own with a backward method."
        )
    return BACKWARDS[name](z, y, d_y)


def get_activation(identifier):
    """A Keras activation name (or ``None`` for linear) or a callable -> a callable."""
    if identifier is None:
        return ACTIVATIONS["linear"]
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in ACTIVATIONS:
        return ACTIVATIONS[identifier]
    raise ValueError(
        f"Unknown activation {identifier!r}. Use one of {sorted(ACTIVATIONS)} "
        "or pass a function of one array."
    )


def activation_name(fn):
    """The Keras name of an activation callable, for ``__repr__`` and summaries."""
    for name, f in ACTIVATIONS.items():
        if f is fn:
            return name
    return getattr(fn, "__name__", repr(fn))


# --- initialisers, as Keras 3 defines them -----------------------------------

def glorot_uniform(shape, rng, dtype):
    """U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)): Keras's kernel default."""
    fan_in, fan_out = shape[0], shape[-1]
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def orthogonal(shape, rng, dtype):
    """A random orthogonal matrix (QR of a normal one): Keras's recurrent_kernel default."""
    rows, cols = shape
    a = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # make the decomposition unique
    if rows < cols:
        q = q.T
    return q[:rows, :cols].astype(dtype)


_GLOBAL_RNG = np.random.default_rng()


def reset_global_rng(seed=None):
    """Restart the generator that unseeded initializers draw from (``rl.utils.set_random_seed``)."""
    global _GLOBAL_RNG
    _GLOBAL_RNG = np.random.default_rng(seed)


def make_rng(seed):
    """A NumPy Generator: a new one from ``seed``, or the global one (``set_random_seed``)."""
    return _GLOBAL_RNG if seed is None else np.random.default_rng(seed)

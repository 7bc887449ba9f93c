"""Losses as Keras 3 computes them, each with its gradient beside it.

    loss = rl.losses.MeanSquaredError()
    loss(y_true, y_pred)                           # a float
    value, d = loss.value_and_grad(y_true, y_pred)   # d = dL/dy_pred, shaped like y_pred

Keras reduces in two steps, and so does rnnlib.  Each loss first reduces the last axis
(a mean for mse, mae and binary crossentropy; a sum over the classes for the
categorical ones), leaving one value per sample - or per sample and timestep for
``(batch, timesteps, units)`` outputs.  Then ``"sum_over_batch_size"`` takes the mean of
those values.  Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` (Keras's epsilon) before a
log; where the clip bites no gradient flows, as in Keras.  ``from_logits=True`` reads
``y_pred`` as raw scores and applies the sigmoid/softmax inside the loss.

As Keras, a trailing axis of 1 is added or dropped to line targets up with predictions,
so ``y`` of shape ``(batch,)`` fits an output ``(batch, 1)``.  Where Keras would broadcast
any other mismatch silently, rnnlib raises a ValueError that names both shapes.
"""
import numpy as np

from .engine import fmt_shape

EPSILON = 1e-7          # keras.config.epsilon()


class Loss:
    """Base class: a subclass writes ``values`` (one loss per sample) and ``values_grad``."""

    name = "loss"
    from_logits = False

    def __call__(self, y_true, y_pred, mask=None):
        """The mean loss, a float (over the steps the mask keeps, if there is one)."""
        t, p = self._prepare(y_true, y_pred)
        values = self.values(t, p)
        return float(np.mean(values * mask_weights(mask, values.shape)) if mask is not None
                     else np.mean(values))

    def value_and_grad(self, y_true, y_pred, mask=None):
        """``(mean loss, dL/dy_pred)``, the gradient of that mean, shaped like ``y_pred``.

        ``mask`` (batch, timesteps), the output's mask: masked steps count for nothing and the
        mean is over the kept ones, as Keras 3 weights them (mask * total / valid)."""
        shape = np.shape(y_pred)
        t, p = self._prepare(y_true, y_pred)
        values = self.values(t, p)                       # (batch, ...) one per sample
        d = self.values_grad(t, p) / values.size         # d mean(values) / d y_pred
        if mask is None:
            return float(np.mean(values)), d.reshape(shape).astype(p.dtype, copy=False)
        w = mask_weights(mask, values.shape)             # (batch, timesteps)
        d = d * w.reshape(w.shape + (1,) * (d.ndim - w.ndim))
        return float(np.mean(values * w)), d.reshape(shape).astype(p.dtype, copy=False)

    # --- to override ------------------------------------------------------
    def values(self, y_true, y_pred):
        raise NotImplementedError

    def values_grad(self, y_true, y_pred):
        """d sum(values) / d y_pred."""
        raise NotImplementedError

    # --- shapes ---------------------------------------------------------
    def check(self, y_true, pred_shape):
        """Raise a ValueError when targets cannot be compared with predictions of ``pred_shape``
        (``None`` is any size).  Runs before any arithmetic."""
        t_shape, p_shape = same_rank(tuple(np.shape(y_true)), tuple(pred_shape))
        if not shapes_match(t_shape, p_shape):
            raise ValueError(
                f"{self.name}: the targets y have shape {fmt_shape(np.shape(y_true))} but the model's "
                f"output has shape {fmt_shape(tuple(pred_shape))} (None = any batch size). {self.name} "
                "compares them element by element, so they need the same shape: reshape y, or "
                "change the last layer so that its output has the shape of one target."
            )

    def _prepare(self, y_true, y_pred):
        """Check, then (targets, predictions) as float arrays of one rank, as Keras lines them up."""
        p = as_float(y_pred)
        self.check(y_true, p.shape)
        return same_rank(np.asarray(y_true).astype(p.dtype, copy=False), p)

    def __repr__(self):
        logits = ", from_logits=True" if self.from_logits else ""
        return f"<{type(self).__name__}{logits}>"


def mask_weights(mask, shape):
    """Keras 3's weights for a masked mean (losses/loss.py ``apply_mask``): total / valid where
    the mask is True, 0 elsewhere, so mean(values * weights) = sum(kept values) / valid."""
    mask = np.asarray(mask, bool)
    if mask.shape != tuple(shape):
        raise ValueError(f"The output's mask has shape {fmt_shape(mask.shape)} but the loss has one "
                         f"value per {fmt_shape(tuple(shape))}; a mask marks (batch, timesteps).")
    valid = mask.sum()
    return np.where(mask, mask.size / valid, 0.0) if valid else np.zeros(mask.shape)


class MeanSquaredError(Loss):
    """mean((y_true - y_pred)**2, axis=-1), then the mean over samples."""

    name = "mean_squared_error"

    def values(self, t, p):
        return np.mean(np.square(t - p), axis=-1)          # (batch, ...)

    def values_grad(self, t, p):
        return 2.0 * (p - t) / p.shape[-1]


class MeanAbsoluteError(Loss):
    """mean(|y_true - y_pred|, axis=-1), then the mean over samples."""

    name = "mean_absolute_error"

    def values(self, t, p):
        return np.mean(np.abs(t - p), axis=-1)

    def values_grad(self, t, p):
        return np.sign(p - t) / p.shape[-1]                # 0 where p == t, as torch


class BinaryCrossentropy(Loss):
    """mean(-(y log p + (1 - y) log(1 - p)), axis=-1) with p clipped to [eps, 1 - eps];
    with ``from_logits`` p = sigmoid(y_pred), computed stably from the logits."""

    name = "binary_crossentropy"

    def __init__(self, from_logits=False):
        self.from_logits = bool(from_logits)

    def values(self, t, p):
        if self.from_logits:      # max(z, 0) - z*y + log(1 + exp(-|z|))
            bce = np.maximum(p, 0) - p * t + np.log1p(np.exp(-np.abs(p)))
        else:
            q = np.clip(p, EPSILON, 1.0 - EPSILON)
            bce = -(t * np.log(q) + (1 - t) * np.log(1 - q))
        return np.mean(bce, axis=-1)

    def check(self, y_true, pred_shape):
        t_shape, p_shape = tuple(np.shape(y_true)), tuple(pred_shape)
        if p_shape and p_shape[-1] not in (None, 1) and shapes_match(t_shape, p_shape[:-1]):
            raise ValueError(
                f"binary_crossentropy compares each of the {p_shape[-1]} outputs {fmt_shape(p_shape)} "
                f"with its own 0/1 target, but y has shape {fmt_shape(t_shape)}: one class label per "
                "sample? Then use loss='sparse_categorical_crossentropy' (with a softmax output), or "
                "for a yes/no question make the last layer Dense(1, activation='sigmoid')."
            )
        super().check(y_true, pred_shape)

    def values_grad(self, t, p):
        if self.from_logits:
            return (sigmoid(p) - t) / p.shape[-1]
        q = np.clip(p, EPSILON, 1.0 - EPSILON)
        inside = (p >= EPSILON) & (p <= 1.0 - EPSILON)    # the clip passes the gradient here
        return inside * (q - t) / (q * (1 - q)) / p.shape[-1]


class CategoricalCrossentropy(Loss):
    """-sum(y * log p, axis=-1) over one-hot targets y; p = y_pred / sum(y_pred) clipped to
    [eps, 1 - eps], or p = softmax(y_pred) with ``from_logits``."""

    name = "categorical_crossentropy"

    def __init__(self, from_logits=False):
        self.from_logits = bool(from_logits)

    def values(self, t, p):
        return -np.sum(t * self.log_probs(p), axis=-1)     # (batch, ...)

    def values_grad(self, t, p):
        if self.from_logits:                                # softmax * sum(y) - y
            return softmax(p) * np.sum(t, axis=-1, keepdims=True) - t
        s = np.sum(p, axis=-1, keepdims=True)
        q = p / s                                           # normalised probabilities
        inside = (q >= EPSILON) & (q <= 1.0 - EPSILON)
        g = -t / np.clip(q, EPSILON, 1.0 - EPSILON) * inside       # d/dq
        return (g - np.sum(g * q, axis=-1, keepdims=True)) / s     # through q = p / sum(p)

    def log_probs(self, p):
        if self.from_logits:
            return log_softmax(p)
        q = p / np.sum(p, axis=-1, keepdims=True)
        return np.log(np.clip(q, EPSILON, 1.0 - EPSILON))

    def check(self, y_true, pred_shape):
        t_shape, p_shape = tuple(np.shape(y_true)), tuple(pred_shape)
        classes = p_shape[-1] if p_shape else None
        if classes != 1 and (shapes_match(t_shape, p_shape[:-1])
                             or shapes_match(t_shape, p_shape[:-1] + (1,))):
            raise ValueError(
                f"categorical_crossentropy expects one-hot targets of shape {fmt_shape(p_shape)} "
                f"(one column per class), but y has shape {fmt_shape(t_shape)}: it looks like "
                "integer class labels. Use loss='sparse_categorical_crossentropy', which takes the "
                f"labels as they are, or one-hot encode them: y = np.eye({classes})[labels]."
            )
        super().check(y_true, pred_shape)


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical crossentropy with integer class labels: -log p[label]."""

    name = "sparse_categorical_crossentropy"

    def _prepare(self, y_true, y_pred):
        p = as_float(y_pred)
        self.check(y_true, p.shape)
        labels = np.asarray(y_true).reshape(p.shape[:-1]).astype(np.int64)
        return np.eye(p.shape[-1], dtype=p.dtype)[labels], p        # one-hot, then as above

    def check(self, y_true, pred_shape):
        t_shape, p_shape = tuple(np.shape(y_true)), tuple(pred_shape)
        if len(t_shape) == len(p_shape) and t_shape[-1:] == (1,):
            t_shape = t_shape[:-1]                    # (batch, 1) labels, as Keras squeezes
        classes = p_shape[-1] if p_shape else None
        if not shapes_match(t_shape, p_shape[:-1]):
            one_hot = len(t_shape) == len(p_shape) and shapes_match(t_shape, p_shape)
            fix = ("It looks one-hot: use loss='categorical_crossentropy', or turn it into labels "
                   "with y.argmax(axis=-1)." if one_hot else
                   f"Give one label per {'sample' if len(p_shape) == 2 else 'sample and timestep'}.")
            raise ValueError(
                f"sparse_categorical_crossentropy expects integer class labels of shape "
                f"{fmt_shape(p_shape[:-1])} (one label per row of the output {fmt_shape(p_shape)}), "
                f"but y has shape {fmt_shape(np.shape(y_true))}. {fix}"
            )
        y = np.asarray(y_true)
        if y.size and (y.dtype.kind not in "biuf" or np.any(y != np.round(y))):
            raise ValueError(
                "sparse_categorical_crossentropy expects whole-number class labels 0, 1, 2, ...; "
                f"y has dtype {y.dtype} with values such as {y.ravel()[:3].tolist()}. For "
                "probabilities per class use loss='categorical_crossentropy'."
            )
        if y.size and classes is not None and (y.min() < 0 or y.max() >= classes):
            raise ValueError(
                f"sparse_categorical_crossentropy: the labels must lie in 0..{classes - 1} for an "
                f"output of {classes} classes, but y holds labels from {y.min():g} to {y.max():g}. "
                f"Labels counted from 1? Subtract 1. More classes? Make the last layer "
                f"Dense({int(y.max()) + 1})."
            )


def as_float(a):
    a = np.asarray(a)
    return a if a.dtype.kind == "f" else a.astype("float32")


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def log_softmax(z):
    z = z - np.max(z, axis=-1, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def softmax(z):
    return np.exp(log_softmax(z))


def same_rank(t, p):
    """Keras's squeeze_or_expand_to_same_rank on shapes or arrays: when the ranks differ by
    one and the longer ends in 1, add that axis to a rank-1 partner or drop it."""
    def rank(a):
        return len(a) if isinstance(a, tuple) else a.ndim

    def last(a):
        return (a[-1] if isinstance(a, tuple) else a.shape[-1]) if rank(a) else None

    def expand(a):
        return a + (1,) if isinstance(a, tuple) else a[..., None]

    def squeeze(a):
        return a[:-1] if isinstance(a, tuple) else a[..., 0]

    if rank(t) == rank(p) + 1 and last(t) == 1:
        return (t, expand(p)) if rank(p) == 1 else (squeeze(t), p)
    if rank(p) == rank(t) + 1 and last(p) == 1:
        return (expand(t), p) if rank(t) == 1 else (t, squeeze(p))
    return t, p


def shapes_match(a, b):
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


LOSSES = {
    "mse": MeanSquaredError, "MSE": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
LOSSES.update({cls.__name__: cls for cls in set(LOSSES.values())})


def get(identifier):
    """A Keras loss name (``"mse"``, ``"MeanSquaredError"``, ...) or a Loss object -> a Loss."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        raise TypeError(f"loss={identifier.__name__} is the class; pass an object: "
                        f"loss=rl.losses.{identifier.__name__}().")
    if isinstance(identifier, str) and identifier in LOSSES:
        return LOSSES[identifier]()
    known = sorted(k for k in LOSSES if k.islower())
    raise ValueError(f"Unknown loss {identifier!r}. rnnlib knows {known} (Keras's names), or an "
                     "object such as rl.losses.MeanSquaredError().")

"""Metrics as Keras 3 keeps them: running means, weighted by batch size.

A metric turns each sample into one number (its accuracy, or its mean absolute error over
the last axis and any timesteps), adds them to a running ``total`` and adds the batch
size to ``count``; ``result()`` is ``total / count``.  So an epoch's metric is the mean over
every sample seen, and a last, smaller batch counts for what it holds.

``"accuracy"`` is chosen from the shapes, as Keras 3 does (``compile_utils.get_metric``):
binary when the output has one column (a prediction counts as 1 above 0.5); sparse
categorical when the targets are labels (one axis fewer, or a last axis of 1 against
several columns); categorical (argmax against argmax) otherwise.
"""
import numpy as np

from .losses import same_rank


class Mean:
    """A running mean: ``update_state(values, sample_weight)``, ``result()``, ``reset_state()``."""

    direction = "down"          # for EarlyStopping(mode="auto"): smaller is better

    def __init__(self, name="mean"):
        self.name = name
        self.reset_state()

    def update_state(self, values, sample_weight=None):
        """Add ``values`` (one per sample, or a scalar worth ``sample_weight`` samples)."""
        values = np.asarray(values, dtype="float64")
        if values.ndim > 1:
            values = values.reshape(len(values), -1).mean(axis=1)     # one value per sample
        if sample_weight is None:
            self.total += float(np.sum(values))
            self.count += values.size
        else:                                   # the loss: one mean worth batch-size samples
            self.total += float(values) * sample_weight
            self.count += sample_weight

    def result(self):
        return self.total / self.count if self.count else 0.0

    def reset_state(self):
        self.total, self.count = 0.0, 0

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}, result={self.result():.4g}>"


class MeanMetricWrapper(Mean):
    """The running mean of ``fn(y_true, y_pred)``, one value per sample."""

    def __init__(self, fn, name=None, direction="down"):
        super().__init__(name or fn.__name__)
        self.fn, self.direction = fn, direction

    def update_state(self, y_true, y_pred, mask=None):
        values = self.fn(np.asarray(y_true), np.asarray(y_pred))
        if mask is None:
            return super().update_state(values)
        m = np.asarray(mask, "float64").reshape(len(values), -1)   # as Keras: the mask as weights
        self.total += float(np.sum((values.reshape(len(values), -1) * m).mean(axis=1)))
        self.count += float(np.sum(m.mean(axis=1)))


def mean_absolute_error(y_true, y_pred):
    t, p = same_rank(y_true.astype(y_pred.dtype), y_pred)
    return np.mean(np.abs(t - p), axis=-1)


def mean_squared_error(y_true, y_pred):
    t, p = same_rank(y_true.astype(y_pred.dtype), y_pred)
    return np.mean(np.square(t - p), axis=-1)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    t, p = same_rank(y_true, y_pred)
    return (t == (p > threshold)).astype("float32")


def categorical_accuracy(y_true, y_pred):
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype("float32")


def sparse_categorical_accuracy(y_true, y_pred):
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (y_true == np.argmax(y_pred, axis=-1)).astype("float32")


FUNCTIONS = {
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
}
KNOWN = ["accuracy", "acc"] + list(FUNCTIONS)


def check(identifier):
    """At compile time: a TypeError/ValueError unless ``identifier`` names a metric."""
    if isinstance(identifier, Mean) or (callable(identifier) and not isinstance(identifier, type)):
        return
    if not (isinstance(identifier, str) and identifier in KNOWN):
        raise ValueError(f"Unknown metric {identifier!r}. rnnlib knows {KNOWN} (Keras's names), "
                         "or a function fn(y_true, y_pred) returning one value per sample.")


def get(identifier, y_true_shape, y_pred_shape):
    """A fresh metric for ``identifier``; ``"accuracy"`` is resolved from the shapes, as Keras."""
    check(identifier)
    if isinstance(identifier, Mean):
        return identifier
    if identifier in ("accuracy", "acc"):
        binary = y_pred_shape[-1] == 1
        sparse = len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1)
        fn = binary_accuracy if binary else sparse_categorical_accuracy if sparse else categorical_accuracy
        return MeanMetricWrapper(fn, name=identifier, direction="up")
    if isinstance(identifier, str):
        fn = FUNCTIONS[identifier]
        return MeanMetricWrapper(fn, name=identifier, direction="up" if "accuracy" in identifier else "down")
    return MeanMetricWrapper(identifier)

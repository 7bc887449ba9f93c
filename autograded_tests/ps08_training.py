"""Checks for ps08_training: a training loop written by hand, then the same with compile/fit.

The pieces are checked one by one against rnnlib, whose training is Keras 3's: mini-batches
(a new order every epoch, the last partial batch kept), the mean squared error and its
gradient (``rl.losses.MeanSquaredError``), clipping by global norm (the optimizers'
``global_clipnorm``), the SGD update, one training step (``train_on_batch`` with
``SGD(learning_rate, global_clipnorm=...)``) and a whole loop of epochs (replayed step by
step in rnnlib on the batches the student's loop fed the model).  Then the trained models
are graded on held-out data of the adding problem that the hidden checks draw themselves.

Every check makes its data with its own ``np.random.default_rng(seed)`` and its models
with zero initialisers and ``set_weights``, and leaves NumPy's, Python's and rnnlib's
global random state as it found it: a student's ``rl.utils.set_random_seed`` or
``np.random`` calls change nothing that is checked, and the checks change nothing of theirs.
"""
import contextlib
import math
import random

import numpy as np

import rnnlib as rl
from rnnlib import backend
from rnnlib.optimizers import Optimizer
from rnnlib.training import Trainer

from .common import _allclose, _close, _isfinite, as_array, call, check_signature, describe, misconception
from .feedback import student_facing

_norm, _sqrt = np.linalg.norm, np.sqrt   # captured before any student code runs

#: What a hand-written training loop must not run: rnnlib's own training and optimizer step.
FORBID = ((Trainer, "fit"), (Trainer, "train_on_batch"), (Optimizer, "apply"),
          (Optimizer, "apply_gradients"), (Optimizer, "clip"))

TIMESTEPS = 10                 # the adding problem of Parts E and F
TARGET_MSE = 0.02              # held-out mean squared error to reach (predicting the mean: ~0.17)
TRAIN_SEED, TEST_SEED = 8, 9   # the notebook's data: adding_problem(..., np.random.default_rng(8))
HIDDEN_SEED = 80809            # the hidden held-out data
HELD_OUT = 200                 # samples in each test set

HINTS = {
    "not shuffled":
        "every epoch should visit the samples in a new random order, as fit(shuffle=True): "
        "order = rng.permutation(samples), then cut order into batches.",
    "same order every epoch":
        "the order must be new at every epoch: draw the permutation inside the epoch loop "
        "(and from the generator you are given, not from a new np.random.default_rng(0)).",
    "last partial batch dropped":
        "when batch does not divide samples, the last batch is smaller; keep it, as Keras's fit "
        "does: for start in range(0, samples, batch): order[start:start + batch].",
    "last partial batch padded with repeated samples":
        "the last batch is simply smaller; filling it up with samples already used counts "
        "them twice in the epoch.",
    "an empty last batch":
        "when batch divides samples exactly there is no partial batch: range(0, samples, batch) "
        "makes exactly ceil(samples / batch) batches; samples // batch + 1 makes one too many.",
    "samples drawn with replacement":
        "an epoch uses every sample exactly once: a permutation (rng.permutation), not "
        "rng.integers or rng.choice(..., replace=True).",
    "loss summed instead of averaged":
        "Keras's mse is the MEAN over every element, np.mean((y_pred - y_true) ** 2), and its "
        "gradient 2 * (y_pred - y_true) / y_pred.size. A sum makes the step grow with the batch.",
    "mean over the batch only":
        "mse averages over every element (batch and units): divide by y_pred.size, not by "
        "len(y_pred).",
    "factor 2 missing from the gradient":
        "d/dp of (p - t)**2 is 2 * (p - t): d_y_pred = 2 * (y_pred - y_true) / y_pred.size.",
    "gradient sign flipped":
        "the gradient is with respect to y_pred: 2 * (y_pred - y_true) / size. "
        "(y_true - y_pred) points uphill.",
    "gradient of the sum, loss of the mean":
        "the loss is a mean, so its gradient is divided by the number of elements too: "
        "2 * (y_pred - y_true) / y_pred.size.",
    "clipped per weight instead of globally":
        "global_clipnorm measures ONE norm over all the gradients together, "
        "sqrt(sum of every g**2), and scales every gradient by the same factor; that is "
        "clipnorm, which clips each weight's gradient on its own.",
    "clipping scales small gradients up":
        "clipping only ever shrinks: g * c / max(norm, c). When the norm is already below c "
        "the gradients stay as they are; g * c / norm stretches them up to length c.",
    "clipped element by element":
        "that is clipvalue (each element into [-c, c]), which can turn the gradient's "
        "direction; global_clipnorm keeps the direction and shortens the whole vector.",
    "norm without the square root":
        "the global norm is sqrt(sum over every weight of np.sum(g ** 2)), the length of "
        "all the gradients as one long vector.",
    "divides by zero when every gradient is 0":
        "when every gradient is 0 the norm is 0 and nothing needs clipping: "
        "c / max(norm, c) is 1 then, while c / norm is a division by zero.",
    "update with + instead of -":
        "the gradient points uphill, towards a larger loss: step against it, "
        "w - learning_rate * g.",
    "learning rate ignored":
        "the step is learning_rate * g, not g: w - learning_rate * g.",
    "learning rate divides the gradient":
        "multiply the gradient by the learning rate: w - learning_rate * g.",
    "weights not updated":
        "the weights came back unchanged: return [w - learning_rate * g for w, g in "
        "zip(weights, grads)].",
    "returned the step instead of the new weights":
        "return the new weights, w - learning_rate * g, not just the step -learning_rate * g.",
    "clipping not applied":
        "the gradients go through clip_by_global_norm(grads, clipnorm) before the update.",
    "new weights never written back to the model":
        "sgd_update returns new arrays; the model still holds the old ones until "
        "model.set_weights(new_weights).",
    "loss measured after the update":
        "return the loss of the batch as the forward pass computed it, before the update "
        "(as train_on_batch and fit report it).",
    "epoch loss is the sum of the batch losses":
        "an epoch's loss is a mean over its samples: each batch's loss times its size, "
        "summed, divided by the number of samples (as fit's history reports it).",
    "epoch loss is the plain mean of the batch losses":
        "a smaller last batch counts less: weight each batch's loss by its size, "
        "sum(loss_b * len_b) / samples, as Keras's history computes it.",
    "epoch loss is the last batch's loss":
        "an epoch's loss is the mean over all its batches (weighted by their sizes), not "
        "the last one's.",
    "works on the visible test data only":
        "the hidden check draws NEW sequences of the adding problem, which your model has never "
        "seen; its predictions there are no better than a guess. A model that learned the task "
        "(the sum of the two marked numbers) does as well on new data as on the test set "
        "you were given: train a real model on x_train, y_train, and do not build answers "
        "out of y_test or a table of known sequences.",
    "training diverged (NaN)":
        "the model's predictions are NaN or infinite, so its weights are: a NaN entered "
        "training and stayed. A learning rate too large or an update uphill makes the loss "
        "grow until it overflows; clipnorm=np.inf makes clipnorm / max(norm, clipnorm) "
        "inf / inf, which is NaN. Use a finite clipnorm and a smaller learning rate, and "
        "check the sign of the update.",
}


def _named(name, detail=""):
    return AssertionError(misconception(name, HINTS.get(name)) + (f"\n{detail}" if detail else ""))


@contextlib.contextmanager
def own_random_state():
    """Leave NumPy's, Python's and rnnlib's global generators exactly as they were."""
    saved = (np.random.get_state(), random.getstate(), backend._GLOBAL_RNG.bit_generator.state)
    try:
        yield
    finally:
        np.random.set_state(saved[0])
        random.setstate(saved[1])
        backend._GLOBAL_RNG.bit_generator.state = saved[2]


def keeps_random_state(check):
    """Decorate a check so that it runs inside :func:`own_random_state`."""
    def run(*args, **kwargs):
        with own_random_state():
            return check(*args, **kwargs)
    run.__name__, run.__doc__, run.__wrapped__ = check.__name__, check.__doc__, check
    return run


# --- the adding problem ----------------------------------------------------------------------

def adding_problem(samples, timesteps, rng):
    """The adding problem: (x (samples, timesteps, 2), y (samples, 1)), float32.

    Feature 0 is a random number in [0, 1) at every step, feature 1 marks two of the steps
    with 1; the target is the sum of the two marked numbers.  ``rng`` is a
    ``np.random.Generator``: the same generator state gives the same data.
    """
    values = rng.uniform(0, 1, (samples, timesteps))
    marked = rng.random((samples, timesteps)).argsort(axis=1)[:, :2]     # two distinct steps
    marks = np.zeros((samples, timesteps))
    np.put_along_axis(marks, marked, 1.0, axis=1)
    x = np.stack([values, marks], axis=-1).astype("float32")           # (samples, timesteps, 2)
    y = (values * marks).sum(axis=1, keepdims=True).astype("float32")  # (samples, 1)
    return x, y


# --- Part A: mini-batches ----------------------------------------------------------------------

def _as_batches(result, samples, batch):
    what = f"minibatches({samples}, {batch}, rng)"
    if isinstance(result, np.ndarray) and result.ndim == 1:
        raise AssertionError(f"{what} returned one array {result.shape}; expected a list of "
                             f"arrays of indices, one per batch (the last may be smaller).")
    if not isinstance(result, (list, tuple)):
        raise AssertionError(f"{what} returned {describe(result)}; expected a list of arrays of "
                             "sample indices, one per batch.")
    out = []
    for k, rows in enumerate(result):
        arr = np.asarray(rows)
        if arr.ndim != 1:
            raise AssertionError(f"{what}: batch {k} is {describe(rows)}; expected a 1-D array "
                                 "of sample indices.")
        if arr.size and arr.dtype.kind not in "iu":
            raise AssertionError(f"{what}: batch {k} holds {arr.dtype} values; indices must be "
                                 "integers (x[rows] needs integers): rng.permutation(samples) "
                                 "gives them.")
        out.append(arr.astype(int))
    return out


def _diagnose_epoch(batches, samples, batch, what):
    """Fail, naming the mistake, unless ``batches`` is one epoch: every sample once, in
    batches of ``batch`` with the last one smaller."""
    sizes = [len(b) for b in batches]
    flat = np.concatenate(batches) if batches else np.zeros(0, int)
    full, rest = divmod(samples, batch)
    want = [batch] * full + ([rest] if rest else [])
    if 0 in sizes:
        raise _named("an empty last batch", f"{what} returned batches of sizes {sizes}; "
                                            f"expected {want}.")
    if flat.size and (flat.min() < 0 or flat.max() >= samples):
        raise AssertionError(f"{what} used the index {int(flat.max() if flat.max() >= samples else flat.min())}; "
                             f"the samples are 0 to {samples - 1}.")
    unique = len(set(flat.tolist()))
    if rest and sizes == [batch] * full and unique == full * batch:
        raise _named("last partial batch dropped",
                     f"{what} returned {full} batches of {batch} ({full * batch} samples); "
                     f"expected sizes {want}: all {samples} samples.")
    if rest and sizes == [batch] * (full + 1) and unique == samples:
        raise _named("last partial batch padded with repeated samples",
                     f"{what} returned {full + 1} batches of {batch}, {len(flat)} indices for "
                     f"{samples} samples; expected sizes {want}.")
    if len(flat) == samples and unique < samples:
        raise _named("samples drawn with replacement",
                     f"{what}: {samples - unique} of the {samples} samples are missing and "
                     "others appear twice.")
    if sizes != want or unique != samples:
        raise AssertionError(f"{what} returned batches of sizes {sizes} covering {unique} of "
                             f"the {samples} samples; expected sizes {want} (every sample once, "
                             "the last batch the smaller one).")
    return flat


@student_facing
@keeps_random_state
def check_minibatches(minibatches, hidden=False):
    """``minibatches(samples, batch, rng)`` -> a list of index arrays: one epoch's batches."""
    cases = [(10, 4), (8, 4)] if not hidden else [(23, 5), (12, 3), (5, 8), (17, 4)]
    for k, (samples, batch) in enumerate(cases):
        rng = np.random.default_rng(8110 + k + 10 * hidden)
        what = f"minibatches({samples}, {batch}, rng)"
        epochs = []
        check_signature(minibatches, "minibatches", (samples, batch, rng), {})
        for _ in range(2):                 # two epochs, from the same generator (not a copy)
            result = call(lambda: minibatches(samples, batch, rng), name="minibatches",
                          forbid=FORBID, expected="a list of arrays of sample indices")
            epochs.append(_diagnose_epoch(_as_batches(result, samples, batch), samples, batch, what))
        if samples > 3 and all(np.array_equal(e, np.arange(samples)) for e in epochs):
            raise _named("not shuffled", f"{what} returned the samples in the order 0, 1, 2, ... "
                                         "at both epochs.")
        if samples > 3 and np.array_equal(epochs[0], epochs[1]):
            raise _named("same order every epoch", f"two calls of {what} with the same generator "
                                                   "gave the same order.")


# --- Part B: the loss and its gradient ----------------------------------------------------

def _mse_variants(t, p):
    d, n = p - t, p.size
    return [("loss summed instead of averaged", (np.sum(d ** 2), 2 * d)),
            ("mean over the batch only", (np.sum(d ** 2) / len(p), 2 * d / len(p))),
            ("factor 2 missing from the gradient", (np.mean(d ** 2), d / n)),
            ("gradient sign flipped", (np.mean(d ** 2), -2 * d / n)),
            ("gradient of the sum, loss of the mean", (np.mean(d ** 2), 2 * d))]


@student_facing
@keeps_random_state
def check_mse_and_gradient(mse_and_gradient, hidden=False):
    """``mse_and_gradient(y_true, y_pred)`` -> (loss, d_y_pred), as rl.losses.MeanSquaredError."""
    shapes = [(4, 3), (6, 1)] if not hidden else [(5, 2), (3, 4), (7, 1)]
    mse = rl.losses.MeanSquaredError()
    for k, shape in enumerate(shapes):
        rng = np.random.default_rng(8210 + k + 10 * hidden)
        t, p = rng.normal(size=shape), rng.normal(size=shape)
        want = mse.value_and_grad(t, p)
        what = f"mse_and_gradient(y_true {shape}, y_pred {shape})"
        got = call(mse_and_gradient, t, p, name="mse_and_gradient", forbid=FORBID,
                   expected="a tuple (loss, d_y_pred)")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise AssertionError(f"{what} returned {describe(got)}; expected a tuple of two: "
                                 f"the loss (a number) and d_y_pred {shape}. End with "
                                 "`return loss, d_y_pred`.")
        loss, grad = as_array(got[0], f"{what}: the loss"), as_array(got[1], f"{what}: d_y_pred")
        if loss.size != 1:
            raise AssertionError(f"{what}: the loss has shape {loss.shape}; expected one number, "
                                 "the mean over every element.")
        if grad.shape != shape:
            raise AssertionError(f"{what}: d_y_pred has shape {grad.shape}; expected {shape}, "
                                 "the shape of y_pred.")
        if not (_isfinite(loss).all() and _isfinite(grad).all()):
            raise AssertionError(f"{what} returned NaN or inf; expected finite numbers.")
        ok_loss, ok_grad = _close(loss.item(), want[0], 1e-6, 1e-9), _close(grad, want[1], 1e-6, 1e-9)
        if ok_loss and ok_grad:
            continue
        for name, (wl, wg) in _mse_variants(t, p):
            if _close(loss.item(), wl, 1e-6, 1e-9) and _close(grad, wg, 1e-6, 1e-9):
                raise _named(name, f"{what}: the loss and d_y_pred are what that mistake gives.")
        if not ok_loss:
            raise AssertionError(f"{what}: the loss is {loss.item():.6g}; expected {want[0]:.6g}, "
                                 "np.mean((y_pred - y_true) ** 2).")
        worst = np.unravel_index(int(np.argmax(np.abs(grad - want[1]))), shape)
        raise AssertionError(f"{what}: the loss is right but d_y_pred is not: at {tuple(int(i) for i in worst)} "
                             f"expected {want[1][worst]:.6g}, got {grad[worst]:.6g}. "
                             "d_y_pred = 2 * (y_pred - y_true) / y_pred.size.")


# --- Part C: clipping by global norm, and the SGD update --------------------------------------

def _list_of_arrays(result, like, what, names="gradients"):
    if not isinstance(result, (list, tuple)) or len(result) != len(like):
        raise AssertionError(f"{what} returned {describe(result)}; expected a list of "
                             f"{len(like)} arrays, the {names} in the order given "
                             f"(shapes {[tuple(a.shape) for a in like]}).")
    out = []
    for k, (a, b) in enumerate(zip(result, like)):
        a = as_array(a, f"{what}: item {k}")
        if a.shape != b.shape:
            raise AssertionError(f"{what}: item {k} has shape {a.shape}; expected {b.shape}, "
                                 f"the shape of {names[:-1]} {k}.")
        out.append(a)
    return out


def clipped(grads, **option):
    """rnnlib's (Keras's) clipping of ``grads``: clipnorm=, global_clipnorm= or clipvalue=."""
    return [np.asarray(g, float) for g in rl.optimizers.SGD(**option).clip(
        [np.asarray(g, float) for g in grads])]


def _clip_variants(grads, c):
    norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
    squares = norm ** 2
    out = [("clipped per weight instead of globally", clipped(grads, clipnorm=c)),
           ("clipped element by element", clipped(grads, clipvalue=c)),
           ("norm without the square root", [g * c / max(squares, c) for g in grads])]
    if norm > 0:
        out.append(("clipping scales small gradients up", [g * c / norm for g in grads]))
    return out


def _clip_cases(hidden):
    """[(gradients, clipnorm)]: every weight's norm and some elements above c; each weight's
    norm below c but the global one above (scaled down); all below c (unchanged); all zero."""
    rng = np.random.default_rng(8301 + hidden)
    shapes = [(2, 3), (3, 3), (3,)] if not hidden else [(3, 2), (2, 2), (2,), (4, 1), (1,)]
    grads = [rng.normal(size=s) for s in shapes]
    biggest = max(float(_norm(g)) for g in grads)
    total = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
    c = (biggest + total) / 2                      # above every weight's norm, below the total
    small = [g * 0.5 / total for g in grads]       # global norm 0.5
    large = [g * 4 / float(_norm(g)) + np.sign(g) for g in grads]    # norms above 4, elements above 1
    return [(large, 1.0), (grads, round(c, 3)), (small, 1.0), ([np.zeros(s) for s in shapes], 1.0)]


@student_facing
@keeps_random_state
def check_clip_by_global_norm(clip_by_global_norm, hidden=False):
    """``clip_by_global_norm(grads, clipnorm)`` -> the gradients, as global_clipnorm clips them."""
    for grads, c in _clip_cases(hidden):
        norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
        what = (f"clip_by_global_norm(grads of shapes {[g.shape for g in grads]} "
                f"(global norm {norm:.3g}), clipnorm={c})")
        want = clipped(grads, global_clipnorm=c)
        got = call(clip_by_global_norm, [g.copy() for g in grads], c, name="clip_by_global_norm",
                   forbid=FORBID, expected="a list of arrays shaped like the gradients")
        if norm == 0 and isinstance(got, (list, tuple)) and any(
                not _isfinite(np.asarray(g, float)).all() for g in got):
            raise _named("divides by zero when every gradient is 0", f"{what} returned NaN.")
        got = _list_of_arrays(got, grads, what)
        if _close(got, want, 1e-6, 1e-9):
            continue
        for name, wrong in _clip_variants(grads, c):
            if _close(got, wrong, 1e-6, 1e-9):
                raise _named(name, f"{what}: the result is what that mistake gives.")
        got_norm = math.sqrt(sum(float(np.sum(g * g)) for g in got))
        raise AssertionError(f"{what} returned gradients of global norm {got_norm:.4g}; expected "
                             f"{min(norm, c):.4g}: every gradient times c / max(global norm, c).")


@student_facing
@keeps_random_state
def check_sgd_update(sgd_update, hidden=False):
    """``sgd_update(weights, grads, learning_rate)`` -> the new weights, w - learning_rate * g."""
    rng = np.random.default_rng(8401 + hidden)
    shapes = [(2, 3), (3,)] if not hidden else [(3, 1), (1, 1), (1,), (2, 2)]
    lr = 0.1 if not hidden else 0.03
    weights, grads = [rng.normal(size=s) for s in shapes], [rng.normal(size=s) for s in shapes]
    what = f"sgd_update(weights of shapes {shapes}, grads, learning_rate={lr})"
    got = call(sgd_update, weights, grads, lr, name="sgd_update", forbid=FORBID,
               expected="a list of the new weights")
    got = _list_of_arrays(got, weights, what, names="weights")
    want = [w - lr * g for w, g in zip(weights, grads)]
    if _close(got, want, 1e-6, 1e-9):
        return
    variants = [("update with + instead of -", [w + lr * g for w, g in zip(weights, grads)]),
                ("learning rate ignored", [w - g for w, g in zip(weights, grads)]),
                ("learning rate ignored", [w + g for w, g in zip(weights, grads)]),
                ("learning rate divides the gradient", [w - g / lr for w, g in zip(weights, grads)]),
                ("weights not updated", weights),
                ("returned the step instead of the new weights", [-lr * g for g in grads])]
    for name, wrong in variants:
        if _close(got, wrong, 1e-6, 1e-9):
            raise _named(name, f"{what}: the result is what that mistake gives.")
    raise AssertionError(f"{what} returned wrong weights; expected w - learning_rate * g for "
                         "each pair (w, g).")


# --- Part D: one training step, then a loop of epochs ---------------------------------------

def small_model(rng, timesteps, features, units):
    """A SimpleRNN(units) -> Dense(1) model with weights drawn from ``rng`` (float32)."""
    zeros = dict(kernel_initializer="zeros", recurrent_initializer="zeros")
    inputs = rl.Input(shape=(timesteps, features))
    rnn = rl.layers.SimpleRNN(units, **zeros)
    model = rl.Model(inputs, rl.layers.Dense(1, kernel_initializer="zeros")(rnn(inputs)))
    model.set_weights([rng.normal(0, 0.6, w.shape).astype("float32") for w in model.get_weights()])
    return model


def twin(model, learning_rate, clipnorm):
    """A copy of ``model`` (same weights) compiled with rnnlib's SGD and global_clipnorm."""
    rng = np.random.default_rng(0)
    copy = small_model(rng, *model.input_shape[1:], model.layers[1].units)
    copy.set_weights(model.get_weights())
    copy.compile(optimizer=rl.optimizers.SGD(learning_rate=learning_rate, global_clipnorm=clipnorm),
                 loss="mse")
    return copy


def _step_variants(model, x, y, lr, c):
    """What one step gives with each mistake: (name, loss, new weights)."""
    g = rl.gradients(model, x, y, loss="mse")
    w = [a.astype(float) for a in model.get_weights()]
    grads = [a.astype(float) for a in g.weights]
    step = lambda gs, sign=-1, rate=lr: [a + sign * rate * b for a, b in zip(w, gs)]  # noqa: E731
    right = clipped(grads, global_clipnorm=c)
    return [("clipping not applied", g.loss, step(grads)),
            ("clipped per weight instead of globally", g.loss, step(clipped(grads, clipnorm=c))),
            ("clipping scales small gradients up", g.loss,
             step([a * c / math.sqrt(sum(float(np.sum(b * b)) for b in grads)) for a in grads])),
            ("update with + instead of -", g.loss, step(right, +1)),
            ("learning rate ignored", g.loss, step(right, rate=1.0)),
            ("loss summed instead of averaged", g.loss * y.size,
             step(clipped([a * y.size for a in grads], global_clipnorm=c))),
            ("factor 2 missing from the gradient", g.loss,
             step(clipped([a / 2 for a in grads], global_clipnorm=c))),
            ("new weights never written back to the model", g.loss, w)]


def _check_model_weights(model, want, variants, what, tol=(2e-5, 1e-6)):
    got = [a.astype(float) for a in model.get_weights()]
    if _close(got, want, *tol):
        return
    for name, wrong in variants:
        if not _close(wrong, want, *tol) and _close(got, wrong, *tol):
            raise _named(name, f"{what}: the model's new weights are what that mistake gives.")
    raise AssertionError(f"{what}: the model's weights after the step are not those of one SGD "
                         "step with global-norm clipping (rnnlib's train_on_batch with "
                         "SGD(learning_rate, global_clipnorm=clipnorm)). Check each part above.")


def _loss_value(value, what):
    arr = as_array(value, what)
    if arr.size != 1:
        raise AssertionError(f"{what} is {describe(value)}; expected one number, the batch's loss.")
    return float(arr.item())


@student_facing
@keeps_random_state
def check_train_step(train_step, hidden=False):
    """``train_step(model, x, y, learning_rate, clipnorm)`` -> the batch's loss (before the
    update), the model's weights updated in place, as ``train_on_batch`` with
    ``SGD(learning_rate, global_clipnorm=clipnorm)``."""
    cases = [(6, 4, 2, 3, 0.05, 0.5)] if not hidden else [(5, 3, 3, 2, 0.1, 0.3), (7, 2, 1, 4, 0.02, 100.0)]
    for k, (batch, timesteps, features, units, lr, c) in enumerate(cases):
        rng = np.random.default_rng(8510 + k + 10 * hidden)
        model = small_model(rng, timesteps, features, units)
        x = rng.normal(size=(batch, timesteps, features)).astype("float32")
        y = rng.normal(0, 3, (batch, 1)).astype("float32")
        reference = twin(model, lr, c)
        want_loss = float(reference.train_on_batch(x, y))
        want = [a.astype(float) for a in reference.get_weights()]
        variants = _step_variants(model, x, y, lr, c)
        what = f"train_step(model, x {x.shape}, y {y.shape}, learning_rate={lr}, clipnorm={c})"
        check_signature(train_step, "train_step", (model, x, y, lr, c), {})
        got = call(lambda: train_step(model, x.copy(), y.copy(), lr, c), name="train_step",
                   forbid=FORBID, expected="the batch's loss, a number")
        loss = _loss_value(got, f"{what}: the returned loss")
        _check_model_weights(model, want, [(n, w) for n, _, w in variants], what)
        if not math.isclose(loss, want_loss, rel_tol=1e-4, abs_tol=1e-6):
            for name, wrong_loss, _ in variants:
                if math.isclose(loss, wrong_loss, rel_tol=1e-4) and not math.isclose(wrong_loss, want_loss):
                    raise _named(name, f"{what} returned the loss {loss:.6g}.")
            after = float(rl.losses.MeanSquaredError()(y, model(x)))
            if math.isclose(loss, after, rel_tol=1e-4):
                raise _named("loss measured after the update", f"{what} returned {loss:.6g}, "
                             f"the loss after the step; before it, it was {want_loss:.6g}.")
            raise AssertionError(f"{what} returned the loss {loss:.6g}; expected {want_loss:.6g}, "
                                 "the mean squared error of the batch before the update.")


class Recorder:
    """Wraps ``model.forward`` to record which samples of ``x`` each call received."""

    def __init__(self, model, x):
        self.model, self.calls = model, []
        self.index = {row.tobytes(): i for i, row in enumerate(np.asarray(x, "float32"))}
        self.forward = model.forward                     # the bound method, before wrapping
        model.forward = self

    def __call__(self, x, *args, **kwargs):
        rows = [self.index.get(row.tobytes(), -1) for row in np.asarray(x, "float32")]
        self.calls.append(np.array(rows, int))
        return self.forward(x, *args, **kwargs)

    def remove(self):
        del self.model.forward


def _epochs_fed(calls, samples, batch, epochs, what):
    """The batches each epoch fed the model, or a named mistake."""
    if any((c < 0).any() for c in calls):
        raise AssertionError(f"{what} fed the model rows that are not rows of x: pass x[rows] "
                             "of the batch, unchanged.")
    sizes = [len(c) for c in calls]
    total = sum(sizes)
    full, rest = divmod(samples, batch)
    if 0 in sizes:
        raise _named("an empty last batch", f"{what} fed the model batches of sizes {sizes[:8]}...")
    if rest and total == epochs * full * batch and set(sizes) == {batch}:
        raise _named("last partial batch dropped", f"{what} fed {total} samples in {epochs} epochs "
                                                   f"of {samples} samples (batches of {batch} only).")
    if rest and total == epochs * (full + 1) * batch and set(sizes) == {batch}:
        raise _named("last partial batch padded with repeated samples",
                     f"{what} fed {total} samples in {epochs} epochs of {samples} samples.")
    if total != epochs * samples:
        raise AssertionError(f"{what} fed the model {total} samples in {len(calls)} forward "
                             f"passes; {epochs} epochs of {samples} samples are {epochs * samples} "
                             f"(one train_step per batch, {math.ceil(samples / batch)} per epoch).")
    per_epoch, current, count = [], [], 0
    for c in calls:
        current.append(c)
        count += len(c)
        if count == samples:
            per_epoch.append(current)
            current, count = [], 0
        elif count > samples:
            raise AssertionError(f"{what}: a batch crosses from one epoch into the next; each "
                                 "epoch should start with a new order of all the samples.")
    orders = [_diagnose_epoch(e, samples, batch, f"{what}, epoch {k + 1}")
              for k, e in enumerate(per_epoch)]
    if all(np.array_equal(o, np.arange(samples)) for o in orders):
        raise _named("not shuffled", f"{what} fed the samples in the order 0, 1, 2, ... every epoch.")
    if all(np.array_equal(o, orders[0]) for o in orders):
        raise _named("same order every epoch", f"{what} fed the samples in the same order at "
                                               f"all {epochs} epochs.")
    return per_epoch


@student_facing
@keeps_random_state
def check_fit_by_hand(fit_by_hand, hidden=False):
    """``fit_by_hand(model, x, y, epochs, batch, learning_rate, clipnorm, rng)`` -> the list of
    epoch losses; checked by replaying, in rnnlib, the batches it fed the model."""
    cases = [(10, 4, 2, 0.05, 1.0)] if not hidden else [(13, 5, 3, 0.1, 0.5), (12, 4, 2, 0.05, 100.0)]
    for k, (samples, batch, epochs, lr, c) in enumerate(cases):
        rng = np.random.default_rng(8610 + k + 10 * hidden)
        model = small_model(rng, 3, 2, 3)
        x = rng.normal(size=(samples, 3, 2)).astype("float32")
        y = rng.normal(0, 2, (samples, 1)).astype("float32")
        reference = twin(model, lr, c)
        what = (f"fit_by_hand(model, x {x.shape}, y {y.shape}, epochs={epochs}, batch={batch}, "
                f"learning_rate={lr}, clipnorm={c}, rng)")
        check_signature(fit_by_hand, "fit_by_hand", (model, x, y, epochs, batch, lr, c, rng), {})
        recorder = Recorder(model, x)
        try:
            got = call(lambda: fit_by_hand(model, x.copy(), y.copy(), epochs, batch, lr, c,
                                           np.random.default_rng(8600 + k)),
                       name="fit_by_hand", forbid=FORBID, expected="the list of epoch losses")
        except AssertionError as exc:
            if any(len(rows) == 0 for rows in recorder.calls):   # why it failed, if that shows
                raise _named("an empty last batch", f"{what} fed the model a batch of 0 samples.") from exc
            raise
        finally:
            recorder.remove()
        per_epoch = _epochs_fed(recorder.calls, samples, batch, epochs, what)
        batch_losses = [[float(reference.train_on_batch(x[rows], y[rows])) for rows in e]
                        for e in per_epoch]
        want = [a.astype(float) for a in reference.get_weights()]
        _check_model_weights(model, want, [], what + " (replayed on the batches it fed the model)",
                             tol=(1e-4, 1e-5))
        if not isinstance(got, (list, tuple, np.ndarray)) or len(got) != epochs:
            raise AssertionError(f"{what} returned {describe(got)}; expected a list of {epochs} "
                                 "numbers, the loss of each epoch.")
        losses = [_loss_value(v, f"{what}: epoch loss {i + 1}") for i, v in enumerate(got)]
        right = [sum(l * len(r) for l, r in zip(bl, e)) / samples for bl, e in zip(batch_losses, per_epoch)]
        if _close(losses, right, 1e-4, 1e-6):
            continue
        variants = [("epoch loss is the sum of the batch losses", [sum(bl) for bl in batch_losses]),
                    ("epoch loss is the plain mean of the batch losses",
                     [sum(bl) / len(bl) for bl in batch_losses]),
                    ("epoch loss is the last batch's loss", [bl[-1] for bl in batch_losses])]
        for name, wrong in variants:
            if _close(losses, wrong, 1e-4, 1e-6):
                raise _named(name, f"{what} returned {np.round(losses, 5).tolist()}.")
        raise AssertionError(f"{what} returned the epoch losses {np.round(losses, 5).tolist()}; "
                             f"expected {np.round(right, 5).tolist()}: each epoch's batch losses "
                             "weighted by the batch sizes, as fit's history.history['loss'].")


# --- Parts E and F: trained models on held-out data ------------------------------------------

def test_data(hidden=False):
    """The held-out data: the notebook's (x_test, y_test), or the hidden checks' own."""
    return adding_problem(HELD_OUT, TIMESTEPS, np.random.default_rng(HIDDEN_SEED if hidden else TEST_SEED))


def held_out_mse(model, x, y, name="model"):
    if not callable(getattr(model, "predict", None)):
        raise AssertionError(f"`{name}` is {describe(model)}; expected a trained model (an "
                             "rl.Model with .predict). Run the cell that trains it.")
    pred = call(lambda: model.predict(x, verbose=0), name=f"{name}.predict", forbid=(),
                expected=f"predictions of shape {y.shape}")
    pred = as_array(pred, f"{name}.predict(x_test)")
    if pred.shape != y.shape and pred.size == y.size:
        pred = pred.reshape(y.shape)
    if pred.shape != y.shape:
        raise AssertionError(f"{name}.predict(x {x.shape}) returned shape {pred.shape}; expected "
                             f"{y.shape}: one number per sequence (a Dense(1) on the last output).")
    if not _isfinite(pred).all():
        raise _named("training diverged (NaN)", f"{name}.predict(x_test) returned NaN or inf.")
    return float(np.mean((pred - y) ** 2))


def _grade_held_out(model, hidden, name):
    x, y = test_data(hidden)
    mse = held_out_mse(model, x, y, name)
    if mse < TARGET_MSE:
        return mse
    baseline = float(np.mean((y - 1.0) ** 2))           # always predicting the mean, 1.0
    where = "new held-out sequences drawn by the hidden check" if hidden else "x_test, y_test"
    if hidden:
        visible = held_out_mse(model, *test_data(False), name)
        if visible < TARGET_MSE:
            raise _named("works on the visible test data only",
                         f"`{name}`: mean squared error {visible:.4f} on x_test but {mse:.4f} on "
                         f"{where} (the target is below {TARGET_MSE}; always predicting 1.0 "
                         f"gives {baseline:.3f}).")
    raise AssertionError(f"`{name}` reaches a mean squared error of {mse:.4f} on {where}; the "
                         f"target is below {TARGET_MSE} (always predicting 1.0, the mean, gives "
                         f"{baseline:.3f}). Train longer or with a larger learning rate, and check "
                         "the parts above: a right loop gets there in a few seconds.")


@student_facing
@keeps_random_state
def check_trained_model(model, hidden=False):
    """``model``, trained by the student's loop, on held-out data of the adding problem."""
    _grade_held_out(model, hidden, "model")


@student_facing
@keeps_random_state
def check_fit_model(fit_model, history, hidden=False):
    """``fit_model`` trained with compile/fit (SGD with global_clipnorm, mse), and its
    ``history``, on held-out data."""
    if not isinstance(fit_model, rl.Model):
        raise AssertionError(f"`fit_model` is {describe(fit_model)}; expected an rl.Model "
                             "(rl.Sequential([...]) or rl.Model(inputs, outputs)).")
    if not getattr(fit_model, "compiled", False) or getattr(fit_model.optimizer, "iterations", 0) == 0:
        raise AssertionError("`fit_model` has not been trained by fit: call "
                             "fit_model.compile(...) and then fit_model.fit(x_train, y_train, ...).")
    optimizer = fit_model.optimizer
    if not isinstance(optimizer, rl.optimizers.SGD) or not optimizer.global_clipnorm:
        raise AssertionError(f"`fit_model` was compiled with {optimizer!r}; the exercise is your "
                             "loop in three lines: optimizer=rl.optimizers.SGD(learning_rate=..., "
                             "global_clipnorm=...).")
    if not isinstance(fit_model.loss, rl.losses.MeanSquaredError):
        raise AssertionError(f"`fit_model` was compiled with loss={fit_model.loss!r}; use "
                             "loss='mse', the loss of your loop.")
    losses = getattr(history, "history", {}).get("loss") if history is not None else None
    if not losses:
        raise AssertionError(f"`history` is {describe(history)}; expected what fit returns "
                             "(history = fit_model.fit(...)), whose history['loss'] has one "
                             "value per epoch.")
    _grade_held_out(fit_model, hidden, "fit_model")

"""Training with Keras 3's API: losses, metrics, optimizers, callbacks, compile/fit/evaluate.

The pieces are compared with Keras 3 itself where it is installed (tests marked ``keras``:
values and, through torch autograd, gradients of every loss; several optimizer steps with
each clipping option); the rest checks the semantics Keras documents - batches, history,
validation split, early stopping, the progress bar - and every teaching error.
Tolerances: 1e-6 in float64, 1e-5 in float32 (relative above 1), as the contract states.
"""
import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import rnnlib as rl
from rnnlib import callbacks, losses, metrics, optimizers

TOL = {"float64": 1e-6, "float32": 1e-5}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def keras_or_skip():
    keras = pytest.importorskip(
        "keras", reason="Keras 3 is the reference: install the 'reference' extra (make test does)")
    pytest.importorskip("torch", reason="Keras runs on the torch backend here")
    return keras


def regression(n=40, features=3, seed=0):
    """x (n, features) and y = x @ w + 0.5 with a known w, float32."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    w = np.arange(1, features + 1, dtype="float32")[:, None] / features
    return x, x @ w + 0.5


def dense_model(features=3, units=1, activation=None, seed=0):
    return rl.Sequential([rl.Input(shape=(features,)),
                       rl.layers.Dense(units, activation=activation,
                                       kernel_initializer=rl.initializers.GlorotUniform(seed=seed))])


# --- losses ---------------------------------------------------------------------------

def loss_cases(dtype, shape, seed=0):
    """(id, rnnlib loss, Keras class name, kwargs, y_true, y_pred) for every loss on one shape."""
    rng = np.random.default_rng(seed)
    probs = rng.uniform(0.02, 0.98, size=shape).astype(dtype)
    probs[0, ..., 0] = 0.0                       # clipped: no gradient flows there, as Keras
    logits = (3 * rng.normal(size=shape)).astype(dtype)
    binary = (rng.random(shape) > 0.5).astype(dtype)
    labels = rng.integers(0, shape[-1], size=shape[:-1])
    one_hot = np.eye(shape[-1], dtype=dtype)[labels]
    cases = [("mse", "MeanSquaredError", {}, binary, probs),
             ("mae", "MeanAbsoluteError", {}, binary, probs),
             ("bce", "BinaryCrossentropy", {}, binary, probs),
             ("bce_logits", "BinaryCrossentropy", {"from_logits": True}, binary, logits)]
    if shape[-1] > 1:
        cases += [("cce", "CategoricalCrossentropy", {}, one_hot, probs + 0.01),
                  ("cce_logits", "CategoricalCrossentropy", {"from_logits": True}, one_hot, logits),
                  ("scce", "SparseCategoricalCrossentropy", {}, labels, probs + 0.01),
                  ("scce_logits", "SparseCategoricalCrossentropy", {"from_logits": True}, labels, logits)]
    else:
        cases += [("mse_rank1_targets", "MeanSquaredError", {}, binary[:, 0], probs)]
    return [(cid, getattr(losses, name)(**kw), name, kw, t, p) for cid, name, kw, t, p in cases]


SHAPES = {"vectors": (4, 3), "sequences": (4, 5, 3), "one_column": (4, 1)}


@pytest.mark.keras
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_losses_match_keras_values_and_gradients(dtype, shape):
    keras = keras_or_skip()
    import torch
    for cid, mine, name, kw, t, p in loss_cases(dtype, shape):
        theirs = getattr(keras.losses, name)(**kw, dtype=dtype)
        p_torch = torch.tensor(p, requires_grad=True)
        value = theirs(torch.tensor(t), p_torch)
        value.backward()
        got, grad = mine.value_and_grad(t, p)
        tol = TOL[dtype]
        assert_allclose(got, value.item(), rtol=tol, atol=tol, err_msg=f"{cid}: loss value")
        assert_allclose(mine(t, p), value.item(), rtol=tol, atol=tol, err_msg=f"{cid}: __call__")
        assert grad.shape == p.shape and grad.dtype == p.dtype, cid
        assert_allclose(grad, p_torch.grad.numpy(), rtol=tol, atol=tol, err_msg=f"{cid}: gradient")


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_loss_gradients_match_central_differences(shape):
    h = 1e-6
    for cid, loss, _, _, t, p in loss_cases("float64", shape):
        p = np.clip(p, 0.05, 0.95) if "logits" not in cid else p    # away from the clip's kinks
        p = p + 0.001 * np.arange(p.size).reshape(p.shape) / p.size  # and from |t - p| = 0
        _, grad = loss.value_and_grad(t, p)
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            up, down = p.copy(), p.copy()
            up[i] += h
            down[i] -= h
            numeric[i] = (loss(t, up) - loss(t, down)) / (2 * h)
        assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7, err_msg=cid)


@pytest.mark.parametrize("name, cls", [
    ("mse", losses.MeanSquaredError), ("mean_squared_error", losses.MeanSquaredError),
    ("MeanSquaredError", losses.MeanSquaredError), ("mae", losses.MeanAbsoluteError),
    ("binary_crossentropy", losses.BinaryCrossentropy),
    ("categorical_crossentropy", losses.CategoricalCrossentropy),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
], ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_loss_names_as_keras(name, cls):
    assert type(losses.get(name)) is cls


def test_loss_is_the_mean_over_every_loss_element():
    # mse on (batch, timesteps, units): mean over units, then over batch and timesteps
    t = np.zeros((2, 3, 4))
    p = np.arange(24, dtype="float64").reshape(2, 3, 4)
    assert losses.MeanSquaredError()(t, p) == pytest.approx(np.mean(p ** 2))
    # categorical: a sum over the classes, then the mean over samples
    q = np.array([[0.5, 0.5], [0.25, 0.75]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert losses.CategoricalCrossentropy()(y, q) == pytest.approx(-(np.log(0.5) + np.log(0.75)) / 2)


# --- metrics --------------------------------------------------------------------------

ACCURACY_CASES = {      # y_true shape, y_pred shape -> the accuracy Keras 3 picks
    "binary": ((6, 1), (6, 1), metrics.binary_accuracy),
    "sparse": ((6,), (6, 3), metrics.sparse_categorical_accuracy),
    "sparse_column": ((6, 1), (6, 3), metrics.sparse_categorical_accuracy),
    "categorical": ((6, 3), (6, 3), metrics.categorical_accuracy),
}


@pytest.mark.parametrize("case", ACCURACY_CASES, ids=str)
def test_accuracy_is_chosen_from_the_shapes_as_keras(case):
    t_shape, p_shape, fn = ACCURACY_CASES[case]
    assert metrics.get("accuracy", t_shape, p_shape).fn is fn


@pytest.mark.keras
@pytest.mark.parametrize("case", ACCURACY_CASES, ids=str)
def test_accuracy_values_match_keras(case):
    keras = keras_or_skip()
    t_shape, p_shape, fn = ACCURACY_CASES[case]
    rng = np.random.default_rng(1)
    p = rng.random(p_shape).astype("float32")
    if case == "categorical":
        t = np.eye(3, dtype="float32")[rng.integers(0, 3, 6)]
    elif case == "binary":
        t = (rng.random(t_shape) > 0.5).astype("float32")
    else:
        t = rng.integers(0, 3, t_shape).astype("float32")
    theirs = keras.ops.convert_to_numpy(getattr(keras.metrics, fn.__name__)(t, p))
    assert_allclose(fn(t, p), theirs)


def test_metric_is_a_running_mean_weighted_by_batch_size():
    m = metrics.get("mae", (4, 1), (None, 1))
    m.update_state(np.zeros((3, 1)), np.ones((3, 1)))           # 3 samples, error 1
    m.update_state(np.zeros((1, 1)), np.full((1, 1), 5.0))      # 1 sample, error 5
    assert m.result() == pytest.approx((3 * 1 + 1 * 5) / 4)
    loss = metrics.Mean("loss")
    loss.update_state(2.0, sample_weight=3)
    loss.update_state(6.0, sample_weight=1)
    assert loss.result() == pytest.approx((3 * 2 + 6) / 4)


# --- optimizers -----------------------------------------------------------------------

OPTIMIZERS = {
    "sgd": ("SGD", {}), "sgd_momentum": ("SGD", {"momentum": 0.9}),
    "sgd_nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adam": ("Adam", {}), "adam_custom": ("Adam", {"learning_rate": 0.01, "beta_1": 0.8, "epsilon": 1e-4}),
    "rmsprop": ("RMSprop", {}), "rmsprop_momentum": ("RMSprop", {"momentum": 0.5, "rho": 0.8}),
}
CLIPPING = {"none": {}, "clipnorm": {"clipnorm": 0.5}, "clipvalue": {"clipvalue": 0.3},
            "global_clipnorm": {"global_clipnorm": 0.7}}


@pytest.mark.keras
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("clip", CLIPPING, ids=str)
@pytest.mark.parametrize("opt", OPTIMIZERS, ids=str)
def test_optimizer_steps_match_keras(opt, clip, dtype):
    keras = keras_or_skip()
    name, kwargs = OPTIMIZERS[opt]
    rng = np.random.default_rng(2)
    shapes = [(3, 4), (4,), (2, 3, 4)]
    start = [rng.normal(size=s).astype(dtype) for s in shapes]
    theirs = [keras.Variable(w, dtype=dtype) for w in start]
    mine = [w.copy() for w in start]
    k_opt = getattr(keras.optimizers, name)(**kwargs, **CLIPPING[clip])
    r_opt = getattr(optimizers, name)(**kwargs, **CLIPPING[clip])
    for _ in range(5):
        grads = [rng.normal(size=s).astype(dtype) for s in shapes]
        k_opt.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in grads], theirs))
        r_opt.apply(grads, mine)
    for i, (k, r) in enumerate(zip(theirs, mine)):
        assert r.dtype == np.dtype(dtype)
        assert_allclose(r, keras.ops.convert_to_numpy(k), rtol=TOL[dtype], atol=TOL[dtype],
                        err_msg=f"weight {i} after 5 steps")


def test_sgd_step_is_the_formula_on_the_page():
    w = np.array([1.0, -2.0])
    optimizers.SGD(learning_rate=0.1).apply([np.array([0.5, 1.0])], [w])
    assert_allclose(w, [0.95, -2.1])


def test_optimizer_updates_the_arrays_in_place():
    w = np.ones(3)
    same = w
    optimizers.Adam().apply([np.ones(3)], [w])
    assert same is w and np.all(w < 1)
    optimizers.SGD(learning_rate=1.0).apply_gradients(zip([np.ones(3)], [w]))   # Keras's spelling
    assert same is w and np.all(w < 0)


def test_an_optimizer_belongs_to_one_model():
    opt = optimizers.SGD()
    opt.apply([np.ones(3)], [np.ones(3)])
    with pytest.raises(ValueError, match=r"built for weights of shapes \[\(3,\)\].*compile it with a new one"):
        opt.apply([np.ones(2)], [np.ones(2)])


def test_two_clipping_options_at_once_is_a_teaching_error():
    with pytest.raises(ValueError, match=r"Only one of `clipnorm`, `clipvalue` and `global_clipnorm`.*"
                                         r"clipnorm=1.0, clipvalue=0.5.*Pick one"):
        optimizers.Adam(clipnorm=1.0, clipvalue=0.5)


def test_optimizer_names_and_the_class_instead_of_an_object():
    assert isinstance(optimizers.get("Adam"), optimizers.Adam)
    assert optimizers.get("rmsprop").learning_rate == 0.001
    assert optimizers.get("sgd").learning_rate == 0.01
    with pytest.raises(TypeError, match=r"Adam\(\) \(parentheses\)"):
        optimizers.get(optimizers.Adam)


# --- compile and calling before it ------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, match", [
    ({"optimizer": "adamw"}, ValueError, r"Unknown optimizer 'adamw'.*\['adam', 'rmsprop', 'sgd'\]"),
    ({"loss": "cross_entropy"}, ValueError, r"Unknown loss 'cross_entropy'.*'mse'"),
    ({"loss": "mse", "metrics": ["acuracy"]}, ValueError, r"Unknown metric 'acuracy'.*'accuracy'"),
    ({"loss": "mse", "metrics": "accuracy"}, TypeError, r"list.*metrics=\['accuracy'\]"),
    ({"loss": losses.MeanSquaredError}, TypeError, r"pass an object.*MeanSquaredError\(\)"),
], ids=["optimizer", "loss", "metric", "metrics_not_a_list", "loss_class"])
def test_compile_rejects_unknown_names_and_lists_the_known_ones(kwargs, error, match):
    with pytest.raises(error, match=match):
        dense_model().compile(**kwargs)


@pytest.mark.parametrize("call", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_training_before_compile_says_to_compile(call):
    x, y = regression(8)
    with pytest.raises(ValueError, match=r"You must call `compile\(\)`.*model.compile\(optimizer="):
        getattr(dense_model(), call)(x, y)


def test_compile_without_a_loss_fails_at_fit_with_the_fix():
    model = dense_model()
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=r"No loss to compute.*loss='mse'"):
        model.fit(*regression(8), verbose=0)


# --- targets that do not fit: raised before any computing --------------------------------

def sequence_classifier(return_sequences, classes=10):
    x = rl.Input(shape=(5, 2))
    h = rl.layers.LSTM(8, return_sequences=return_sequences, name="encoder")(x)
    return rl.Model(x, rl.layers.Dense(classes, activation="softmax", name="head")(h))


@pytest.mark.parametrize("loss, y, per_step", [
    ("categorical_crossentropy", np.eye(10)[np.arange(6)], r"\(6, 5, 10\)"),
    ("mse", np.eye(10)[np.arange(6)], r"\(6, 5, 10\)"),
    ("sparse_categorical_crossentropy", np.arange(6), r"\(6, 5\)"),
], ids=["cce", "mse", "scce"])
def test_return_sequences_true_against_one_target_per_sample_names_the_layer(loss, y, per_step):
    model = sequence_classifier(return_sequences=True)
    model.compile(loss=loss)
    before = model.get_weights()
    x = np.zeros((6, 5, 2), "float32")
    with pytest.raises(ValueError, match=r"\(None, 5, 10\).*layer 'encoder' has return_sequences=True.*"
                                         r"set return_sequences=False on 'encoder'.*one target per "
                                         r"timestep, y of shape " + per_step):
        model.fit(x, y, verbose=0)
    for a, b in zip(before, model.get_weights()):
        assert_allclose(a, b)


def test_sequence_targets_against_a_last_output_name_the_layer():
    model = sequence_classifier(return_sequences=False)
    model.compile(loss="mse")
    with pytest.raises(ValueError, match=r"one per timestep.*'encoder' returns only its last output.*"
                                         r"return_sequences=True on 'encoder'"):
        model.fit(np.zeros((6, 5, 2)), np.zeros((6, 5, 10)), verbose=0)


@pytest.mark.parametrize("loss, y, match", [
    ("categorical_crossentropy", np.arange(6) % 3,
     r"expects one-hot targets of shape \(None, 3\).*\(6,\).*integer class labels.*"
     r"sparse_categorical_crossentropy.*np.eye\(3\)\[labels\]"),
    ("categorical_crossentropy", (np.arange(6) % 3)[:, None], r"one-hot.*\(6, 1\)"),
    ("sparse_categorical_crossentropy", np.eye(3)[np.arange(6) % 3],
     r"integer class labels of shape \(None,\).*\(6, 3\).*one-hot.*categorical_crossentropy.*argmax"),
    ("sparse_categorical_crossentropy", np.arange(6) % 3 + 1,
     r"labels must lie in 0..2.*from 1 to 3.*Subtract 1.*Dense\(4\)"),
    ("sparse_categorical_crossentropy", np.array([0, 1, 2, 0, 1, -1]), r"0..2.*from -1 to 2"),
    ("sparse_categorical_crossentropy", np.full(6, 0.5), r"whole-number class labels"),
    ("mse", np.zeros((6, 2)), r"y have shape \(6, 2\).*output has shape \(None, 3\)"),
    ("binary_crossentropy", np.arange(6) % 3,
     r"each of the 3 outputs.*\(6,\): one class label per sample.*sparse_categorical_crossentropy"),
], ids=["cce_labels", "cce_label_column", "scce_one_hot", "scce_from_one", "scce_negative",
        "scce_fractions", "mse_shape", "bce_labels"])
def test_targets_that_do_not_fit_the_loss(loss, y, match):
    model = dense_model(features=4, units=3, activation="softmax")
    model.compile(loss=loss)
    with pytest.raises(ValueError, match=match):
        model.fit(np.zeros((6, 4), "float32"), y, verbose=0)
    with pytest.raises(ValueError, match=match):
        model.evaluate(np.zeros((6, 4), "float32"), y, verbose=0)


def test_x_and_y_of_different_lengths():
    model = dense_model()
    model.compile(loss="mse")
    with pytest.raises(ValueError, match=r"x has 10 samples but y has 9.*one target per sample"):
        model.fit(np.zeros((10, 3)), np.zeros((9, 1)), verbose=0)


def test_nan_in_the_data_is_refused_before_training():
    x, y = regression(8)
    x[3, 1] = np.nan
    model = dense_model()
    model.compile(loss="mse")
    with pytest.raises(ValueError, match=r"x holds NaN.*index \(3, 1\)"):
        model.fit(x, y, verbose=0)


# --- fit: batches, history, validation ---------------------------------------------------

class Recorder(callbacks.Callback):
    """Keeps the order of hooks, the batch sizes the model saw and the logs."""

    def __init__(self):
        super().__init__()
        self.events, self.epoch_logs = [], []

    def on_train_begin(self, logs=None):
        self.events.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(f"epoch_begin {epoch}")

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(f"batch {batch}")

    def on_test_begin(self, logs=None):
        self.events.append("test_begin")

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(f"epoch_end {epoch}")
        self.epoch_logs.append(dict(logs))

    def on_train_end(self, logs=None):
        self.events.append("train_end")


def spy_on_rows(model):
    """Record the first feature of every row the model's forward pass reads (x[:, 0] = row id)."""
    seen = []
    forward = model.forward

    def recording(x, **kwargs):
        seen.append(np.asarray(x)[:, 0].astype(int).tolist())
        return forward(x, **kwargs)

    model.forward = recording
    return seen


def test_batches_keep_the_last_partial_one_and_the_epoch_loss_weights_by_batch_size():
    x, y = regression(10)
    model = dense_model()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0), loss="mse")   # weights stay put
    per_batch = [model.test_on_batch(x[i:i + 4], y[i:i + 4]) for i in (0, 4, 8)]
    history = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert history.params == {"verbose": 0, "epochs": 1, "steps": 3}
    weighted = (4 * per_batch[0] + 4 * per_batch[1] + 2 * per_batch[2]) / 10
    assert_allclose(history.history["loss"], [weighted], rtol=1e-6)
    assert weighted != pytest.approx(np.mean(per_batch))       # the plain mean would differ


def test_shuffle_draws_a_new_order_every_epoch_and_false_keeps_it():
    x = np.arange(12, dtype="float32")[:, None].repeat(3, axis=1)
    y = np.zeros((12, 1), "float32")
    model = dense_model()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0), loss="mse")
    seen = spy_on_rows(model)
    np.random.seed(0)
    model.fit(x, y, batch_size=5, epochs=3, verbose=0)
    epochs = [sum(seen[i:i + 3], []) for i in (0, 3, 6)]
    assert [len(b) for b in seen[:3]] == [5, 5, 2]
    assert all(sorted(e) == list(range(12)) for e in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    seen.clear()
    model.fit(x, y, batch_size=5, epochs=2, shuffle=False, verbose=0)
    assert sum(seen, []) == list(range(12)) * 2


def test_validation_split_holds_out_the_last_fraction_before_shuffling():
    x = np.arange(10, dtype="float32")[:, None].repeat(3, axis=1)
    y = np.linspace(0, 1, 10, dtype="float32")[:, None]
    model = dense_model()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0), loss="mse", metrics=["mae"])
    seen = spy_on_rows(model)
    history = model.fit(x, y, batch_size=3, epochs=2, validation_split=0.3, verbose=0)
    trained = sorted(set(sum(seen, [])))
    assert trained == list(range(7))                  # rows 7, 8, 9 were never trained on
    val_loss, val_mae = model.evaluate(x[7:], y[7:], verbose=0)
    assert_allclose(history.history["val_loss"], [val_loss] * 2, rtol=1e-6)
    assert_allclose(history.history["val_mae"], [val_mae] * 2, rtol=1e-6)


def test_validation_split_too_small_for_the_data():
    model = dense_model()
    model.compile(loss="mse")
    with pytest.raises(ValueError, match=r"contains 3 samples.*validation_split=0.9"):
        model.fit(*regression(3), validation_split=0.9, verbose=0)


def test_history_keys_lengths_and_the_order_of_callbacks():
    x, y = regression(20)
    model = dense_model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
    recorder = Recorder()
    history = model.fit(x, y, batch_size=8, epochs=4, initial_epoch=1, verbose=0,
                        validation_data=(x[:6], y[:6]), callbacks=[recorder])
    assert isinstance(history, callbacks.History) and model.history is history
    assert list(history.history) == ["loss", "mae", "mse", "val_loss", "val_mae", "val_mse"]  # sorted, as Keras
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [1, 2, 3]
    assert recorder.events[:7] == ["train_begin", "epoch_begin 1", "batch 0", "batch 1", "batch 2",
                                   "test_begin", "epoch_end 1"]
    assert recorder.events[-1] == "train_end"
    assert recorder.epoch_logs[-1] == {k: v[-1] for k, v in history.history.items()}


def test_evaluate_returns_the_loss_or_the_list_in_compile_order():
    x, y = regression(12)
    model = dense_model()
    model.compile(loss="mse")
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    model.compile(loss="mse", metrics=["mse", "mae"])
    loss, mse, mae = model.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(mse)
    assert mae == pytest.approx(float(np.mean(np.abs(model.predict(x, verbose=0) - y))), rel=1e-5)
    assert model.evaluate(x, y, verbose=0, return_dict=True) == {"loss": loss, "mae": mae, "mse": mse}


def test_train_on_batch_takes_one_step_and_reports_the_loss_before_it():
    x, y = regression(8)
    model = dense_model()
    model.compile(optimizer="sgd", loss="mse")
    before = model.evaluate(x, y, verbose=0, batch_size=8)
    assert model.train_on_batch(x, y) == pytest.approx(before, rel=1e-6)
    assert model.test_on_batch(x, y) < before


def test_predict_runs_in_batches_and_joins_them():
    x, _ = regression(37)
    model = dense_model(units=2)
    assert_allclose(model.predict(x, batch_size=8, verbose=0), model(x), rtol=1e-6)
    assert model.predict(x, verbose=0).shape == (37, 2)


def test_a_tiny_dense_regression_learns():
    x, y = regression(64)
    model = dense_model()
    model.compile(optimizer=optimizers.Adam(learning_rate=0.05), loss="mse", metrics=["mae"])
    history = model.fit(x, y, batch_size=16, epochs=60, verbose=0)
    assert history.history["loss"][-1] < 1e-3 * history.history["loss"][0]
    kernel, bias = model.get_weights()
    assert_allclose(kernel[:, 0], [1 / 3, 2 / 3, 1], atol=0.02)
    assert_allclose(bias, [0.5], atol=0.02)


def test_a_model_with_two_inputs_takes_a_list():
    a, b = rl.Input(shape=(2,)), rl.Input(shape=(3,))
    model = rl.Model([a, b], rl.layers.Dense(1)(rl.layers.Concatenate()([a, b])))
    model.compile(optimizer="adam", loss="mse")
    x, y = regression(20, features=5)
    history = model.fit([x[:, :2], x[:, 2:]], y, batch_size=7, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict([x[:, :2], x[:, 2:]], verbose=0).shape == (20, 1)
    with pytest.raises(ValueError, match=r"x has 20, 19 samples but y has 20"):
        model.fit([x[:, :2], x[:19, 2:]], y, verbose=0)
    with pytest.raises(ValueError, match=r"has 2 inputs: pass x as a list of 2 arrays"):
        model.fit(x, y, verbose=0)


# --- the progress bar -------------------------------------------------------------------

def printed_lines(text):
    """What a terminal shows: each line's text after its last carriage return, without ANSI."""
    return [ANSI.sub("", line.split("\r")[-1]).replace("\b", "").rstrip() for line in text.split("\n") if line]


def test_verbose_1_prints_keras_progress_bar_in_place(capsys):
    x, y = regression(70)
    model = dense_model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(x, y, batch_size=32, epochs=2, validation_split=0.1)
    out = capsys.readouterr().out
    lines = printed_lines(out)
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    bar = r"2/2 ━{20} \d+s \d+(us|ms|s)/step - loss: \d+\.\d{4} - mae: \d+\.\d{4} - val_loss: \d+\.\d{4} - val_mae: \d+\.\d{4}"
    assert re.fullmatch(bar, lines[1]), lines[1]
    assert "\r" in out and "\x1b[1m2/2\x1b[0m" in out and "\x1b[32m" in out   # redrawn, Keras's colours


def test_verbose_2_prints_one_line_per_epoch_and_0_nothing(capsys):
    x, y = regression(40)
    model = dense_model()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and len(lines) == 4
    assert re.fullmatch(r"3/3 - \d+s - \d+(us|ms|s)/step - loss: \d+\.\d{4}(e[+-]\d+)?", lines[3]), lines[3]
    model.fit(x, y, epochs=1, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""


def test_one_epoch_has_no_epoch_line_and_evaluate_has_its_own_bar(capsys):
    x, y = regression(40)
    model = dense_model()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=1)
    model.evaluate(x, y)
    model.predict(x)
    lines = printed_lines(capsys.readouterr().out)
    assert len(lines) == 3 and not lines[0].startswith("Epoch")
    assert re.fullmatch(r"2/2 ━{20} \d+s \d+(us|ms|s)/step - loss: \d+\.\d{4}", lines[1])
    assert re.fullmatch(r"2/2 ━{20} \d+s \d+(us|ms|s)/step", lines[2])


def test_progbar_formats_small_values_and_time_as_keras():
    assert callbacks.format_value(0.1234567, 1) == "0.1235"
    assert callbacks.format_value(0.0001234, 1) == "1.2340e-04"
    assert callbacks.format_time(0.0025) == " 2ms/step" and callbacks.format_time(2e-5) == " 20us/step"
    assert callbacks.eta(75) == "1:15" and callbacks.eta(3725) == "1:02:05" and callbacks.eta(9.7) == "9s"


@pytest.mark.keras
def test_progress_bar_reads_as_keras(capsys):
    keras = keras_or_skip()
    x, y = regression(50)
    k_model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    model = dense_model()
    model.set_weights(k_model.get_weights())
    for m, lib in ((k_model, keras), (model, rl)):
        m.compile(optimizer=lib.optimizers.SGD(learning_rate=0.01), loss="mse", metrics=["mae"])
    shown = []
    for m in (k_model, model):
        m.fit(x, y, batch_size=16, epochs=2, shuffle=False, validation_split=0.2)
        m.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=2)
        m.evaluate(x, y)
        timeless = [re.sub(r"\d+(us|ms|s)/step|\b\d+s\b", "T", line) for line in
                    printed_lines(capsys.readouterr().out)]
        shown.append(timeless)
    assert shown[1] == shown[0]


# --- callbacks --------------------------------------------------------------------------

class WeightsHolder:
    """Just what EarlyStopping uses of a model."""

    def __init__(self):
        self.weights, self.stop_training, self.metrics = [np.zeros(1)], False, []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]


def run_early_stopping(values, **kwargs):
    """Feed val_loss ``values`` epoch by epoch (the weights hold the epoch number)."""
    stopper, holder = callbacks.EarlyStopping(**kwargs), WeightsHolder()
    stopper.set_model(holder)
    stopper.on_train_begin()
    for epoch, value in enumerate(values):
        holder.weights = [np.array([float(epoch)])]
        stopper.on_epoch_end(epoch, {"val_loss": value, "accuracy": -value})
        if holder.stop_training:
            break
    stopper.on_train_end()
    return epoch, holder.weights[0][0]


@pytest.mark.parametrize("values, kwargs, stop_epoch, weights_of", [
    ([3, 2, 2.5, 2.4, 1], {"patience": 0}, 2, 2),
    ([3, 2, 2.5, 2.4, 1], {"patience": 2}, 3, 3),
    ([3, 2, 2.5, 2.4, 1], {"patience": 2, "restore_best_weights": True}, 3, 1),
    ([3, 2.95, 2.9, 2.0], {"patience": 1, "min_delta": 0.1}, 1, 1),
    ([3, 2, 1, 0.5], {"patience": 0, "restore_best_weights": True}, 3, 3),
], ids=["patience_0", "patience_2", "restore_best", "min_delta", "never_stops"])
def test_early_stopping_as_keras(values, kwargs, stop_epoch, weights_of):
    assert run_early_stopping(values, **kwargs) == (stop_epoch, weights_of)


def test_early_stopping_mode_max_for_accuracies():
    assert run_early_stopping([1, 2, 3], monitor="accuracy", mode="max", patience=0)[0] == 1
    with pytest.raises(ValueError, match=r"monitor=accuracy.*mode='max'"):
        run_early_stopping([1, 2, 3], monitor="accuracy")


@pytest.mark.keras
def test_early_stopping_in_fit_stops_where_keras_stops():
    keras = keras_or_skip()
    x, y = regression(40)
    y += 0.3 * np.random.default_rng(5).normal(size=y.shape).astype("float32")
    k_model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    model = dense_model()
    k_model.set_weights(model.get_weights())
    lengths = []
    for m, lib in ((k_model, keras), (model, rl)):
        m.compile(optimizer=lib.optimizers.SGD(learning_rate=0.1), loss="mse", metrics=["mae"])
        stopping = keras.callbacks.EarlyStopping if lib is keras else callbacks.EarlyStopping
        stop = stopping(monitor="val_mae", patience=1, min_delta=0.01, restore_best_weights=True)
        history = m.fit(x, y, batch_size=8, epochs=30, shuffle=False, verbose=0,
                        validation_split=0.25, callbacks=[stop])
        lengths.append(len(history.history["loss"]))
    assert lengths[1] == lengths[0] == 9          # val_mae improves by less than 0.01 at epoch 9
    for k, r in zip(k_model.get_weights(), model.get_weights()):
        assert_allclose(r, k, rtol=1e-4, atol=1e-4)


def test_any_object_with_the_hooks_is_a_callback():
    class Plain:
        def __init__(self):
            self.losses = []

        def on_epoch_end(self, epoch, logs):
            self.losses.append(logs["loss"])

    plain = Plain()
    model = dense_model()
    model.compile(loss="mse")
    history = model.fit(*regression(10), epochs=3, verbose=0, callbacks=[plain])
    assert plain.losses == history.history["loss"]
    with pytest.raises(TypeError, match=r"EarlyStopping\(...\) with parentheses"):
        model.fit(*regression(10), verbose=0, callbacks=[callbacks.EarlyStopping])


def test_a_callback_can_stop_training_after_the_batch():
    class StopAtBatch(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    model = dense_model()
    model.compile(loss="mse")
    seen = spy_on_rows(model)
    history = model.fit(*regression(40), batch_size=8, epochs=5, verbose=0, callbacks=[StopAtBatch()])
    assert len(seen) == 2 and len(history.history["loss"]) == 1


# --- a loss that becomes NaN or infinite ----------------------------------------------------

class Snapshots(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_train_batch_end(self, batch, logs=None):
        self.weights.append(self.model.get_weights())


def test_a_diverging_loss_stops_fit_and_keeps_the_last_good_weights():
    x, y = regression(64)
    model = dense_model()
    model.compile(optimizer=optimizers.SGD(learning_rate=5.0), loss="mse")
    snapshots = Snapshots()
    with pytest.warns(RuntimeWarning, match=r"Epoch \d+/50, batch \d+/4: the (loss is (nan|inf)|gradient|update)"
                                            r".*not applied.*learning rate.*clipnorm"):
        history = model.fit(x, y, batch_size=16, epochs=50, verbose=0, callbacks=[snapshots])
    losses_seen = history.history["loss"]
    assert len(losses_seen) < 50 and not np.isfinite(losses_seen[-1])
    assert all(np.all(np.isfinite(w)) for w in model.weights)
    for last_good, now in zip(snapshots.weights[-1], model.get_weights()):
        assert_allclose(now, last_good)       # the bad step changed nothing


def overflowing():
    """A finite loss and finite gradients whose SGD step overflows float32 (lr * g > 3.4e38)."""
    x, y = regression(8)
    model = dense_model()
    model.compile(optimizer=optimizers.SGD(learning_rate=1e38), loss="mse")
    return model, 100 * x, y


def test_an_update_that_overflows_is_undone():
    model, x, y = overflowing()
    before = model.get_weights()
    with pytest.warns(RuntimeWarning, match=r"train_on_batch: the update made a weight infinite"):
        model.train_on_batch(x, y)
    for a, b in zip(before, model.get_weights()):
        assert_allclose(b, a)


def test_the_nan_warning_shows_every_time_and_alone():
    model, x, y = overflowing()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")          # Python's default: once per place and text
        model.train_on_batch(x, y)
        model.train_on_batch(x, y)
    assert [str(w.message)[:40] for w in caught] == ["train_on_batch: the update made a weight"] * 2


# --- stateful layers --------------------------------------------------------------------

def stateful_model(batch=4):
    x = rl.Input(shape=(3, 2), batch_size=batch)
    h = rl.layers.SimpleRNN(5, stateful=True, kernel_initializer=rl.initializers.GlorotUniform(seed=1),
                            recurrent_initializer=rl.initializers.Orthogonal(seed=2))(x)
    return rl.Model(x, rl.layers.Dense(1, kernel_initializer=rl.initializers.GlorotUniform(seed=3))(h))


def test_stateful_layers_carry_their_states_from_batch_to_batch_in_fit():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(12, 3, 2)).astype("float32")
    y = rng.normal(size=(12, 1)).astype("float32")
    model = stateful_model()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0), loss="mse")
    by_hand = [losses.MeanSquaredError()(y[i:i + 4], model(x[i:i + 4])) for i in (0, 4, 8)]
    model.layers[1].reset_states()
    history = model.fit(x, y, batch_size=4, shuffle=False, verbose=0)
    assert_allclose(history.history["loss"], [np.mean(by_hand)], rtol=1e-6)
    model.layers[1].reset_states()
    fresh = [losses.MeanSquaredError()(y[i:i + 4], model(x[i:i + 4])) for i in (0, 0)]
    assert fresh[1] != pytest.approx(fresh[0])            # the state carried into the second call


@pytest.mark.parametrize("kwargs, n", [({"batch_size": 3}, 12), ({"batch_size": 4}, 10)],
                         ids=["other_batch_size", "samples_not_divisible"])
def test_a_fixed_batch_size_needs_whole_batches(kwargs, n):
    model = stateful_model()
    model.compile(loss="mse")
    with pytest.raises(ValueError, match=r"fixed batch size of 4.*batch_size=4.*divisible by 4"):
        model.fit(np.zeros((n, 3, 2)), np.zeros((n, 1)), verbose=0, **kwargs)


@pytest.mark.keras
def test_stateful_fit_matches_keras():
    keras = keras_or_skip()
    rng = np.random.default_rng(5)
    x = rng.normal(size=(12, 3, 2)).astype("float32")
    y = rng.normal(size=(12, 1)).astype("float32")
    k_in = keras.Input(shape=(3, 2), batch_size=4)
    k_model = keras.Model(k_in, keras.layers.Dense(1)(keras.layers.SimpleRNN(5, stateful=True)(k_in)))
    model = stateful_model()
    model.set_weights(k_model.get_weights())
    histories = []
    for m, lib in ((k_model, keras), (model, rl)):
        m.compile(optimizer=lib.optimizers.Adam(learning_rate=0.01), loss="mse")
        histories.append(m.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history["loss"])
    assert_allclose(histories[1], histories[0], rtol=1e-5, atol=1e-5)
    for k, r in zip(k_model.get_weights(), model.get_weights()):
        assert_allclose(r, k, rtol=1e-5, atol=1e-5)

"""rnnlib learns as Keras 3 does: the same fit, step for step, from the same weights.

Each test builds a small model in Keras (torch backend) and in rnnlib alike, gives both
the same weights, compiles both with the same optimizer, loss and metrics, and runs
``fit(..., shuffle=False)``; then every weight, every ``history.history`` value,
``evaluate`` and ``predict`` must agree within the contract's 1e-4 (float32).  The sizes
are tiny (13 samples in batches of 5, the last one partial; 5 timesteps; 3 units),
because Keras's fit on torch takes about half a second even for those.
Skipped (with the reason) where Keras is not installed; CI installs it.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import rnnlib as rl

keras = pytest.importorskip(
    "keras", reason="Keras 3 is the reference: install the 'reference' extra (make test does)")
torch = pytest.importorskip("torch", reason="Keras runs on the torch backend here")

from keras_twins import as_list, recurrent, sample_inputs, twin_models  # noqa: E402

pytestmark = pytest.mark.keras

TOL = 1e-4                   # the contract: after fit, within 1e-4 in float32
SAMPLES, BATCH, TIMESTEPS, FEATURES, UNITS = 13, 5, 5, 3, 3

# --- what both libraries compile with: (class name, arguments), built in either one -----------

OPTIMIZERS = {
    "sgd": ("SGD", dict(learning_rate=0.1)),
    "sgd_momentum": ("SGD", dict(learning_rate=0.05, momentum=0.9)),
    "sgd_nesterov": ("SGD", dict(learning_rate=0.05, momentum=0.9, nesterov=True)),
    "adam": ("Adam", dict(learning_rate=0.02)),
    "rmsprop": ("RMSprop", dict(learning_rate=0.01)),
    "rmsprop_momentum": ("RMSprop", dict(learning_rate=0.01, momentum=0.5)),
}
CLIPS = {"no_clip": {}, "clipnorm": {"clipnorm": 0.05}, "clipvalue": {"clipvalue": 0.01},
         "global_clipnorm": {"global_clipnorm": 0.1}}

# loss id -> (head units, head activation, loss: a name or (class name, arguments), metrics)
LOSSES = {
    "mse": (2, None, "mse", ["mae"]),
    "mae": (2, "tanh", ("MeanAbsoluteError", {}), ["mse"]),
    "mse_one_unit": (1, None, "mean_squared_error", ["mae", "mse"]),
    "binary": (1, "sigmoid", "binary_crossentropy", ["accuracy"]),
    "binary_logits": (1, None, ("BinaryCrossentropy", dict(from_logits=True)), ["accuracy"]),
    "categorical": (3, "softmax", "categorical_crossentropy", ["accuracy"]),
    "categorical_logits": (3, None, ("CategoricalCrossentropy", dict(from_logits=True)), ["accuracy"]),
    "sparse": (3, "softmax", "sparse_categorical_crossentropy", ["accuracy"]),
    "sparse_logits": (3, None, ("SparseCategoricalCrossentropy", dict(from_logits=True)), ["accuracy"]),
}


def optimizer(lib, name, **clip):
    cls, kwargs = OPTIMIZERS[name]
    return getattr(lib.optimizers, cls)(**kwargs, **clip)


def loss_of(lib, loss):
    if isinstance(loss, str):
        return loss
    cls, kwargs = loss
    return getattr(lib.losses, cls)(**kwargs)


def targets(rng, loss_id, output_shape):
    """Seeded targets for ``output_shape`` (samples, ..., units): numbers, 0/1, one-hot or class ids."""
    units = output_shape[-1]
    if loss_id.startswith("binary"):
        return (rng.random(output_shape) > 0.5).astype("float32")
    if loss_id.startswith("categorical"):
        return np.eye(units, dtype="float32")[rng.integers(units, size=output_shape[:-1])]
    if loss_id.startswith("sparse"):
        return rng.integers(units, size=output_shape[:-1]).astype("int32")
    return rng.normal(size=output_shape).astype("float32")


# --- the models: make(lib, head) with head(x) the Dense layer for the loss ---------------------

def single(kind, **flags):
    def make(lib, head):
        x = lib.Input(shape=(TIMESTEPS, FEATURES))
        return lib.Model(x, head(recurrent(lib, kind, UNITS, **flags)(x)))
    make.__name__ = kind + "".join(f"_{k}" for k, v in flags.items() if v)
    return make


def stacked(lib, head):
    x = lib.Input(shape=(TIMESTEPS, FEATURES))
    seq = lib.layers.LSTM(UNITS, return_sequences=True)(x)
    seq = lib.layers.GRU(UNITS, return_sequences=True, go_backwards=True)(seq)
    return lib.Model(x, head(lib.layers.SimpleRNN(UNITS)(seq)))


def bidirectional(kind, merge_mode, return_sequences=False):
    def make(lib, head):
        x = lib.Input(shape=(TIMESTEPS, FEATURES))
        inner = recurrent(lib, kind, UNITS, return_sequences=return_sequences)
        return lib.Model(x, head(lib.layers.Bidirectional(inner, merge_mode=merge_mode)(x)))
    make.__name__ = f"bidirectional_{kind}_{merge_mode}" + ("_seq" if return_sequences else "")
    return make


def branches_add(lib, head):
    x = lib.Input(shape=(TIMESTEPS, FEATURES))
    a = lib.layers.GRU(UNITS)(x)
    b = lib.layers.SimpleRNN(UNITS, go_backwards=True)(x)
    return lib.Model(x, head(lib.layers.add([a, b])))


def branches_concatenate(lib, head):
    """Sequences joined on the features axis; the head acts on every timestep (3-D Dense)."""
    x = lib.Input(shape=(TIMESTEPS, FEATURES))
    a = lib.layers.LSTM(UNITS, return_sequences=True)(x)
    b = lib.layers.Bidirectional(lib.layers.SimpleRNN(2, return_sequences=True), merge_mode="ave")(x)
    mixed = lib.layers.Dense(UNITS, activation="relu")(lib.layers.concatenate([a, b]))
    return lib.Model(x, head(lib.layers.GRU(UNITS, return_sequences=True)(mixed)))


def encoder_decoder(lib, head):
    """Two inputs; the encoder's states start the decoder."""
    enc_in, dec_in = lib.Input(shape=(TIMESTEPS, FEATURES)), lib.Input(shape=(TIMESTEPS - 1, 2))
    _, h, c = lib.layers.LSTM(UNITS, return_state=True)(enc_in)
    seq = lib.layers.LSTM(UNITS, return_sequences=True)(dec_in, initial_state=[h, c])
    return lib.Model([enc_in, dec_in], head(seq))


def embedding_with_mask(lib, head):
    """Ids with 0 as padding: Embedding's mask tells the LSTM which steps to skip."""
    x = lib.Input(shape=(TIMESTEPS,), dtype="int32")
    seq = lib.layers.Embedding(8, FEATURES, mask_zero=True)(x)
    return lib.Model(x, head(lib.layers.LSTM(UNITS)(seq)))


def masked_sequence_output(lib, head):
    """The mask reaches the output, so the loss and the metrics leave the padded steps out."""
    x = lib.Input(shape=(TIMESTEPS, FEATURES))
    seq = lib.layers.GRU(UNITS, return_sequences=True)(lib.layers.Masking()(x))
    return lib.Model(x, head(seq))


def masked_bidirectional(lib, head):
    x = lib.Input(shape=(TIMESTEPS, FEATURES))
    seq = lib.layers.Bidirectional(lib.layers.LSTM(UNITS, return_sequences=True), merge_mode="sum")(
        lib.layers.Masking(mask_value=0.0)(x))
    return lib.Model(x, lib.layers.TimeDistributed(head)(seq))


def repeat_vector(lib, head):
    x = lib.Input(shape=(TIMESTEPS, FEATURES))
    seq = lib.layers.RepeatVector(TIMESTEPS - 1)(lib.layers.SimpleRNN(UNITS)(x))
    return lib.Model(x, lib.layers.TimeDistributed(head)(lib.layers.GRU(UNITS, return_sequences=True)(seq)))


def flatten_head(lib, head):
    x = lib.Input(shape=(TIMESTEPS, FEATURES))
    return lib.Model(x, head(lib.layers.Flatten()(lib.layers.LSTM(UNITS, return_sequences=True)(x))))


def inputs_for(model, rng, samples=SAMPLES):
    return sample_inputs(model, rng, samples)


# --- fit both, compare everything ---------------------------------------------------------------

def assert_close(actual, desired, what):
    assert_allclose(actual, desired, rtol=TOL, atol=TOL, err_msg=what)


def fit_both(make, loss_id, opt, clip=None, seed=0, epochs=2, batch_size=BATCH, samples=SAMPLES,
             by_name=False, callbacks=None, reshape_targets=None, **fit_kwargs):
    """Build, compile and fit both twins; compare weights, history, evaluate, predict.
    ``opt`` names an entry of OPTIMIZERS, or with ``by_name`` is passed to compile as it is;
    ``callbacks(lib)`` makes fit's callbacks; ``reshape_targets(y)`` changes the targets' shape or
    dtype.  Returns (rnnlib model, x, y, Keras's history)."""
    units, activation, loss, metrics = LOSSES[loss_id]
    k, r = twin_models(lambda lib: make(lib, lib.layers.Dense(units, activation=activation)), rl, seed)
    rng = np.random.default_rng(seed)
    x = inputs_for(r, rng, samples)
    y = targets(rng, loss_id, (samples,) + r.output_shape[1:])
    y = reshape_targets(y) if reshape_targets else y
    if "validation_data" in fit_kwargs:
        fit_kwargs["validation_data"] = (inputs_for(r, rng, 6), targets(rng, loss_id, (6,) + r.output_shape[1:]))
    histories = {}
    for lib, model in ((keras, k), (rl, r)):
        model.compile(optimizer=opt if by_name else optimizer(lib, opt, **(clip or {})),
                      loss=loss_of(lib, loss), metrics=metrics)
        histories[lib] = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0,
                                   callbacks=callbacks(lib) if callbacks else None, **fit_kwargs).history
    kh, rh = histories[keras], histories[rl]
    assert sorted(rh) == sorted(kh), f"history keys: Keras {sorted(kh)}, rnnlib {sorted(rh)}"
    for key in kh:
        assert_close(rh[key], kh[key], f"history['{key}']")
    for i, (a, b) in enumerate(zip(k.get_weights(), r.get_weights())):
        assert_close(b, a, f"weight {i} after fit")
    assert_close(r.evaluate(x, y, batch_size=batch_size, verbose=0),
                 k.evaluate(x, y, batch_size=batch_size, verbose=0), "evaluate")
    for a, b in zip(as_list(k.predict(x, batch_size=batch_size, verbose=0)),
                    as_list(r.predict(x, batch_size=batch_size))):
        assert_close(b, a, "predict")
    return r, x, y, kh


# 1. every optimizer with every clipping option, on one small regression model

@pytest.mark.parametrize("clip", list(CLIPS))
@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_optimizers_and_clipping_match_keras(opt, clip):
    r, x, y, _ = fit_both(single("gru"), "mse", opt, CLIPS[clip], seed=1)
    if clip != "no_clip":                    # the threshold is small enough to bite
        g = rl.gradients(r, x[:BATCH], y[:BATCH], loss="mse").weights
        norms = [np.sqrt(np.sum(w * w)) for w in g]
        bites = {"clipnorm": max(norms) > CLIPS[clip].get("clipnorm", np.inf),
                 "clipvalue": max(np.abs(w).max() for w in g) > CLIPS[clip].get("clipvalue", np.inf),
                 "global_clipnorm": np.sqrt(np.sum(np.square(norms))) > CLIPS[clip].get("global_clipnorm", np.inf)}
        assert bites[clip], f"{clip} does not change the gradients here: the test would not see it"


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
def test_optimizer_names_match_keras(name):
    """compile(optimizer="adam") means Keras's defaults (learning rates 0.01, 0.001, 0.001)."""
    fit_both(single("lstm"), "mse", name, by_name=True, seed=2)


# 2. every cell, flag and model shape with every loss (each model gets the next loss and
#    optimizer in turn, so that every loss meets several models)

MODELS = [single("simple_rnn"), single("gru"), single("gru_reset_before"), single("lstm"),
          single("simple_rnn", return_sequences=True, go_backwards=True),
          single("gru", return_sequences=True), single("gru_reset_before", go_backwards=True),
          single("lstm", return_sequences=True, go_backwards=True),
          stacked, bidirectional("gru", "concat"), bidirectional("lstm", "sum"),
          bidirectional("simple_rnn", "mul", return_sequences=True), bidirectional("gru_reset_before", "ave"),
          branches_add, branches_concatenate, encoder_decoder, embedding_with_mask,
          masked_sequence_output, masked_bidirectional, repeat_vector, flatten_head]
ROUNDS = 2                    # every model meets ROUNDS losses: the i-th, and the (i + 3)-th
TURNS = ["adam", "rmsprop", "sgd_momentum", "rmsprop_momentum", "sgd_nesterov"]
CASES = [(make, list(LOSSES)[(i + 3 * n) % len(LOSSES)], TURNS[(i + n * len(MODELS)) % len(TURNS)])
         for n in range(ROUNDS) for i, make in enumerate(MODELS)]


@pytest.mark.filterwarnings("ignore:.*adds inputs of different rank")
@pytest.mark.parametrize("make,loss_id,opt", CASES,
                         ids=[f"{m.__name__}-{loss}-{opt}" for m, loss, opt in CASES])
def test_models_and_losses_match_keras(make, loss_id, opt):
    fit_both(make, loss_id, opt, seed=3)


def test_every_loss_meets_several_models():
    """The grid above is what it says: every loss with at least two models, every model twice."""
    for loss_id in LOSSES:
        assert len({m for m, loss, _ in CASES if loss == loss_id}) >= 2, loss_id
    assert all(sum(m is make for make, _, _ in CASES) == ROUNDS for m in MODELS)


# 3. validation, more epochs, batches that do not divide the data

@pytest.mark.parametrize("validation", ["validation_split", "validation_data"])
@pytest.mark.parametrize("loss_id,opt", [("mse", "adam"), ("sparse_logits", "rmsprop"),
                                          ("binary", "sgd_momentum")], ids=lambda v: str(v))
def test_validation_matches_keras(validation, loss_id, opt):
    """validation_split holds out the last samples (before any shuffle); val_ logs each epoch."""
    kwargs = {"validation_split": 0.25} if validation == "validation_split" else {"validation_data": None}
    fit_both(single("lstm"), loss_id, opt, seed=4, epochs=3, batch_size=4, **kwargs)


@pytest.mark.parametrize("batch_size", [1, 4, 13, 32], ids=lambda b: f"batch{b}")
def test_batch_sizes_match_keras(batch_size):
    fit_both(single("simple_rnn"), "mae", "sgd", seed=5, epochs=1, batch_size=batch_size)


def test_train_and_test_on_batch_match_keras():
    units, activation, loss, metrics = LOSSES["categorical_logits"]
    k, r = twin_models(lambda lib: stacked(lib, lib.layers.Dense(units)), rl, seed=6)
    rng = np.random.default_rng(6)
    batches = [(inputs_for(r, rng, BATCH), targets(rng, "categorical_logits", (BATCH, units)))
               for _ in range(3)]
    for lib, model in ((keras, k), (rl, r)):
        model.compile(optimizer=optimizer(lib, "adam", clipnorm=0.1), loss=loss_of(lib, loss), metrics=metrics)
    for x, y in batches:
        assert_close(r.train_on_batch(x, y), k.train_on_batch(x, y), "train_on_batch")
        assert_close(r.test_on_batch(x, y), k.test_on_batch(x, y), "test_on_batch")
    for i, (a, b) in enumerate(zip(k.get_weights(), r.get_weights())):
        assert_close(b, a, f"weight {i} after train_on_batch")


def test_stateful_fit_matches_keras():
    """Stateful layers carry their states from batch to batch inside fit (truncated BPTT), and on
    into evaluate and predict.  SimpleRNN only: Keras 3.15 on torch cannot fit a stateful GRU or
    LSTM (torch autograd: "one of the variables needed for gradient computation has been modified
    by an inplace operation"), so it has no answer to compare with there."""
    def make(lib, head):
        x = lib.Input(shape=(TIMESTEPS, FEATURES), batch_size=4)
        seq = lib.layers.SimpleRNN(UNITS, stateful=True, return_sequences=True)(x)
        return lib.Model(x, head(lib.layers.SimpleRNN(UNITS, stateful=True, go_backwards=True)(seq)))
    fit_both(make, "mse", "adam", seed=7, epochs=2, batch_size=4, samples=12)


@pytest.mark.parametrize("restore_best_weights", [False, True], ids=["last_weights", "best_weights"])
def test_early_stopping_matches_keras(restore_best_weights):
    """EarlyStopping stops at the same epoch, and restores the same weights, as Keras."""
    *_, history = fit_both(
        single("gru"), "mse", "sgd_momentum", seed=8, epochs=12, validation_split=0.3,
        callbacks=lambda lib: [lib.callbacks.EarlyStopping(monitor="val_loss", patience=1,
                                                           restore_best_weights=restore_best_weights)])
    assert len(history["loss"]) < 12, "Keras did not stop early: the test would not see a difference"


def test_initial_epoch_matches_keras():
    """fit(epochs=3, initial_epoch=1) runs epochs 1 and 2: two entries in the history."""
    fit_both(single("lstm", go_backwards=True), "binary_logits", "adam", seed=9, epochs=3, initial_epoch=1)


TARGET_FORMS = {                     # loss id, what a learner passes instead of the output's shape
    "mse_flat": ("mse_one_unit", lambda y: y[:, 0]),                    # (samples,) for Dense(1)
    "binary_flat_ints": ("binary", lambda y: y[:, 0].astype("int32")),  # 0/1 ids, (samples,)
    "binary_logits_float64": ("binary_logits", lambda y: y.astype("float64")),
    "sparse_column": ("sparse", lambda y: y[:, None]),                  # (samples, 1) ids
    "categorical_float64": ("categorical", lambda y: y.astype("float64")),
}


@pytest.mark.parametrize("form", list(TARGET_FORMS))
def test_target_shapes_and_dtypes_match_keras(form):
    """Targets of another rank or dtype, as learners pass them: Keras squeezes or expands them
    to the output's rank (no (samples, samples) broadcast) and casts them."""
    loss_id, reshape = TARGET_FORMS[form]
    fit_both(single("gru"), loss_id, "rmsprop", seed=10, reshape_targets=reshape)

"""Embedding and masks, Masking, TimeDistributed, RepeatVector, Flatten, Dropout and the
input_shape= style: against Keras 3 (forward, masks, fit) and central differences."""
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import rnnlib as rl
from rnnlib import layers

keras = pytest.importorskip("keras", reason="the 'reference' extra (keras + torch) is not installed")
torch = pytest.importorskip("torch")
ATOL = 1e-5


def padded_ids(batch=5, timesteps=6, vocab=9, seed=0):
    ids = np.random.default_rng(seed).integers(1, vocab, size=(batch, timesteps))
    ids[0, 4:] = 0                 # padding at the end
    ids[1, 1:] = 0                 # one real token
    ids[2, :2] = 0                 # padding at the start
    return ids


def run_keras(model, x):
    out = model(torch.tensor(x) if not isinstance(x, list) else [torch.tensor(a) for a in x])
    return [o.detach().numpy() for o in out] if isinstance(out, (list, tuple)) else out.detach().numpy()


def twins(build):
    k, r = build(keras), build(rl)
    r.set_weights(k.get_weights())
    return k, r


def assert_same(k_out, r_out):
    for a, b in zip(k_out if isinstance(k_out, list) else [k_out], r_out if isinstance(r_out, (list, tuple)) else [r_out]):
        assert_allclose(b, a, rtol=ATOL, atol=ATOL)


CELLS = {"SimpleRNN": {}, "GRU": {}, "GRU-reset_before": {"reset_after": False}, "LSTM": {}}


@pytest.mark.keras
@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
def test_embedding_mask_reaches_every_rnn_as_in_keras(cell, return_sequences, go_backwards):
    kind = cell.split("-")[0]

    def build(lib):
        x = lib.Input(shape=(6,), dtype="int32")
        e = lib.layers.Embedding(9, 3, mask_zero=True)(x)
        h = getattr(lib.layers, kind)(4, return_sequences=return_sequences,
                                      go_backwards=go_backwards, **CELLS[cell])(e)
        return lib.Model(x, h)
    k, r = twins(build)
    ids = padded_ids()
    assert_same(run_keras(k, ids), r(ids))


@pytest.mark.keras
@pytest.mark.parametrize("merge_mode", ["concat", "sum", None])
def test_masks_through_bidirectional_timedistributed_and_merges(merge_mode):
    def build(lib):
        x = lib.Input(shape=(6,), dtype="int32")
        e = lib.layers.Embedding(9, 3, mask_zero=True)(x)
        b = lib.layers.Bidirectional(lib.layers.GRU(2, return_sequences=True), merge_mode=merge_mode)(e)
        b = lib.layers.concatenate(list(b)) if merge_mode is None else b
        t = lib.layers.TimeDistributed(lib.layers.Dense(4))(b)
        s = lib.layers.add([t, lib.layers.Dense(4)(e)])              # both masked: OR
        c = lib.layers.concatenate([s, lib.layers.Dense(2)(t)])
        return lib.Model(x, [lib.layers.LSTM(3)(c), c])
    k, r = twins(build)
    ids = padded_ids()
    assert_same(run_keras(k, ids), r(ids))


@pytest.mark.keras
def test_masking_layer_as_in_keras():
    def build(lib):
        x = lib.Input(shape=(5, 2))
        m = lib.layers.Masking(mask_value=0.0)(x)
        return lib.Model(x, lib.layers.LSTM(3, return_sequences=True)(m))
    k, r = twins(build)
    x = np.random.default_rng(1).normal(size=(3, 5, 2)).astype("float32")
    x[0, 3:] = 0.0
    x[1, :2] = 0.0
    assert_same(run_keras(k, x), r(x))


@pytest.mark.keras
def test_repeat_vector_flatten_and_time_distributed_as_in_keras():
    def build(lib):
        x = lib.Input(shape=(4, 3))
        h = lib.layers.GRU(5)(x)
        seq = lib.layers.LSTM(2, return_sequences=True)(lib.layers.RepeatVector(3)(h))
        y = lib.layers.TimeDistributed(lib.layers.Dense(2, activation="tanh"))(seq)
        return lib.Model(x, lib.layers.Dense(1)(lib.layers.Flatten()(y)))
    k, r = twins(build)
    x = np.random.default_rng(2).normal(size=(3, 4, 3)).astype("float32")
    assert_same(run_keras(k, x), r(x))
    assert [row["output_shape"] for row in r.summary_rows()] == [
        str(tuple(layer.output.shape)) for layer in k.layers]
    assert r.count_params() == k.count_params()


@pytest.mark.keras
@pytest.mark.parametrize("loss,units,activation", [
    ("sparse_categorical_crossentropy", 3, "softmax"), ("mse", 2, None)])
def test_masked_fit_matches_keras(loss, units, activation):
    """The loss and the metrics leave the padded steps out, as Keras 3 does."""
    def build(lib):
        x = lib.Input(shape=(6,), dtype="int32")
        e = lib.layers.Embedding(9, 3, mask_zero=True)(x)
        h = lib.layers.LSTM(4, return_sequences=True)(e)
        return lib.Model(x, lib.layers.TimeDistributed(lib.layers.Dense(units, activation=activation))(h))
    k, r = twins(build)
    rng = np.random.default_rng(3)
    ids = padded_ids(batch=10)
    y = (rng.integers(0, 3, size=(10, 6)) if loss.startswith("sparse")
         else rng.normal(size=(10, 6, units)).astype("float32"))
    metrics = ["accuracy"] if loss.startswith("sparse") else ["mae"]
    for model, lib in ((k, keras), (r, rl)):
        model.compile(optimizer=lib.optimizers.Adam(learning_rate=0.01), loss=loss, metrics=metrics)
    kh = k.fit(ids, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    rh = r.fit(ids, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    for key in kh:
        assert_allclose(rh[key], kh[key], rtol=1e-4, atol=1e-4, err_msg=key)
    for a, b in zip(k.get_weights(), r.get_weights()):
        assert_allclose(b, a, rtol=1e-4, atol=1e-4)
    assert_allclose(r.evaluate(ids, y, verbose=0), k.evaluate(ids, y, verbose=0), rtol=1e-4, atol=1e-4)


@pytest.mark.keras
def test_input_shape_argument_as_in_keras():
    with pytest.warns(UserWarning, match=r"Do not pass an `input_shape`/`input_dim` argument"):
        model = rl.Sequential([layers.LSTM(4, input_shape=(5, 2)), layers.Dense(1)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kmodel = keras.Sequential([keras.layers.LSTM(4, input_shape=(5, 2)), keras.layers.Dense(1)])
    assert model.output_shape == tuple(kmodel.output_shape)
    assert model.count_params() == kmodel.count_params()
    with pytest.warns(UserWarning):
        dense = rl.Sequential([layers.Dense(3, input_dim=7)])
    assert dense.input_shape == (None, 7)
    with pytest.raises(ValueError, match=r"Unrecognized keyword arguments passed to LSTM: \{'foo': 1\}"):
        layers.LSTM(3, foo=1)


# --- backward: central differences in float64 ---------------------------------------------

@pytest.fixture
def float64():
    rl.set_floatx("float64")
    yield
    rl.set_floatx("float32")


def assert_gradients_match(model, x, y, **kw):
    errors = rl.gradient_check(model, x, y, **kw)
    assert all(v < 1e-6 for v in errors.values()), errors


@pytest.mark.parametrize("kind", ["SimpleRNN", "GRU", "LSTM"])
def test_embedding_with_mask_zero_gradients(float64, kind):
    x = rl.Input(shape=(6,), dtype="int32")
    h = getattr(layers, kind)(3, return_sequences=True)(layers.Embedding(9, 2, mask_zero=True)(x))
    model = rl.Model(x, layers.TimeDistributed(layers.Dense(2))(h))
    ids = padded_ids()
    out, tape = model.forward(ids)
    assert_allclose(tape.output_mask, ids != 0)
    g = rl.gradients(model, ids, np.ones(out.shape))
    assert g.inputs is None or np.all(g.inputs == 0)             # no gradient into token ids
    table = g.weights[0]
    assert np.all(table[0] == 0)                                  # padding id 0: masked everywhere
    errors = rl.gradient_check(model.layers[2], model.layers[1](ids), np.ones((5, 6, 3)),
                               mask=ids != 0)
    assert all(v < 1e-6 for v in errors.values()), errors


def test_embedding_rows_sum_their_gradients(float64):
    emb = layers.Embedding(5, 2)
    ids = np.array([[1, 1, 3]])
    g = rl.gradients(emb, ids, np.zeros((1, 3, 2)))
    d = np.zeros((5, 2))
    y = emb(ids)
    np.add.at(d, ids.ravel(), (2 * y / y.size).reshape(-1, 2))      # d mse / d y, row by row
    assert_allclose(g.weights[0], d, rtol=1e-12)


def test_time_distributed_repeat_vector_flatten_gradients(float64):
    x = rl.Input(shape=(4, 3))
    h = layers.LSTM(3)(x)
    seq = layers.GRU(2, return_sequences=True)(layers.RepeatVector(3)(h))
    y = layers.TimeDistributed(layers.Dense(2, activation="tanh"))(seq)
    model = rl.Model(x, layers.Dense(1)(layers.Flatten()(y)))
    xv = np.random.default_rng(0).normal(size=(3, 4, 3))
    assert_gradients_match(model, xv, np.ones((3, 1)))


def test_masking_gradients(float64):
    x = rl.Input(shape=(5, 2))
    model = rl.Model(x, layers.GRU(3)(layers.Masking()(x)))
    xv = np.random.default_rng(1).normal(size=(3, 5, 2))
    xv[0, 3:] = 0.0
    errors = rl.gradient_check(model, xv, np.ones((3, 3)))
    errors.pop("inputs")           # x at exactly mask_value is a kink: differences cross it
    assert all(v < 1e-6 for v in errors.values()), errors


# --- Embedding's teaching errors ------------------------------------------------------------

@pytest.mark.parametrize("ids,match", [
    (np.array([[1, -1]]), r"token id -1 .*\[0, 4\]"),
    (np.array([[1, 5]]), r"token id 5 .*Make input_dim at least 6"),
    (np.array([[0.5, 1.0]]), r"fractions"),
    (np.array([["a", "b"]]), r"token ids \(whole numbers\)"),
], ids=["negative", "too-big", "floats", "strings"])
def test_embedding_refuses_bad_ids(ids, match):
    with pytest.raises((ValueError, TypeError), match=match):
        layers.Embedding(5, 2)(ids)


def test_whole_floats_are_ids_as_keras_casts_them():
    emb = layers.Embedding(5, 2)
    assert_allclose(emb(np.array([[1.0, 4.0]])), emb(np.array([[1, 4]])))


def test_a_layer_that_drops_the_mask_warns_as_keras():
    x = rl.Input(shape=(6,), dtype="int32")
    e = layers.Embedding(9, 3, mask_zero=True)(x)
    with pytest.warns(UserWarning, match=r"does not support masking and will therefore destroy"):
        layers.Reshape((18,))(e)


# --- Dropout: statistics, since random streams differ from Keras's -------------------------------

def test_dropout_is_the_identity_outside_fit():
    x = np.ones((100, 50), "float32")
    drop = layers.Dropout(0.3)
    assert_allclose(drop(x), x)
    inputs = rl.Input(shape=(50,))
    model = rl.Model(inputs, layers.Dropout(0.3)(inputs))
    assert_allclose(model.predict(x, verbose=0), x)


def test_dropout_in_training_zeroes_a_fraction_and_keeps_the_mean():
    rl.utils.set_random_seed(0)
    x = np.ones((200, 500))
    drop = layers.Dropout(0.3)
    y = drop(x, training=True)
    zero = np.mean(y == 0)
    assert abs(zero - 0.3) < 0.01                           # 100,000 draws: sd about 0.0015
    assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.02


def test_dropout_backward_uses_the_forward_mask():
    drop = layers.Dropout(0.5, seed=1)
    x = np.random.default_rng(0).normal(size=(4, 10))
    y, cache = drop.forward(x, training=True)
    g = drop.backward(cache, np.ones_like(y))
    assert_allclose(g.inputs, np.where(y != 0, 2.0, 0.0))


def test_dropout_is_active_in_fit_only():
    """Dense(1) with every weight 1 after Dropout(0.5), on inputs of ones, learning rate 0:
    predict always gives 20; in fit each output is 2 * (number kept of 20), so the mse
    against 20 is 4 * Var(Binomial(20, 0.5)) = 20 on average."""
    rl.utils.set_random_seed(0)
    inputs = rl.Input(shape=(20,))
    dense = layers.Dense(1, use_bias=False, kernel_initializer="ones")
    model = rl.Model(inputs, dense(layers.Dropout(0.5)(inputs)))
    model.compile(optimizer=rl.optimizers.SGD(learning_rate=0.0), loss="mse")
    x, y = np.ones((2000, 20), "float32"), np.full((2000, 1), 20.0)
    assert model.evaluate(x, y, verbose=0) == 0.0
    history = model.fit(x, y, epochs=1, batch_size=2000, verbose=0)
    assert 18.0 < history.history["loss"][0] < 22.0          # 2000 samples: sd about 0.6
    assert model.evaluate(x, y, verbose=0) == 0.0

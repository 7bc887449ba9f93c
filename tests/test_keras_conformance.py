"""rnnlib against Keras 3 itself: same configuration, same weights, same numbers.

Each test builds the Keras layer and the rnnlib layer alike, copies the weights with
``set_weights(keras_layer.get_weights())`` and compares every output and state.
Skipped (with the reason) where Keras is not installed; CI installs it.
"""
import itertools
import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import rnnlib as rl

keras = pytest.importorskip(
    "keras", reason="Keras 3 is the reference: install the 'reference' extra (make test does)")
torch = pytest.importorskip("torch", reason="Keras runs on the torch backend here")
pytestmark = pytest.mark.keras

ATOL = RTOL = 1e-5          # the contract: float32, within 1e-5 (relative above 1)
BATCH, TIMESTEPS, FEATURES, UNITS = 3, 6, 4, 5

CELLS = {
    "simple_rnn": (keras.layers.SimpleRNN, rl.layers.SimpleRNN, {}),
    "gru": (keras.layers.GRU, rl.layers.GRU, {}),
    "gru_reset_before": (keras.layers.GRU, rl.layers.GRU, {"reset_after": False}),
    "lstm": (keras.layers.LSTM, rl.layers.LSTM, {}),
}
N_STATES = {"simple_rnn": 1, "gru": 1, "gru_reset_before": 1, "lstm": 2}


def to_list(y):
    if isinstance(y, (list, tuple)):
        return [np.asarray(keras.ops.convert_to_numpy(t)) if not isinstance(t, np.ndarray) else t for t in y]
    return to_list([y])


def assert_same(keras_out, rl_out):
    k, r = to_list(keras_out), to_list(rl_out)
    assert len(k) == len(r), f"Keras returned {len(k)} tensors, rnnlib {len(r)}"
    for i, (a, b) in enumerate(zip(k, r)):
        assert a.shape == b.shape, f"tensor {i}: Keras {a.shape}, rnnlib {b.shape}"
        assert_allclose(b, a, rtol=RTOL, atol=ATOL, err_msg=f"tensor {i} differs")


def data(seed, batch=BATCH, timesteps=TIMESTEPS, features=FEATURES):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, timesteps, features)).astype("float32")
    mask = rng.random((batch, timesteps)) > 0.35
    mask[0, :] = True                      # one full row
    mask[1, 0] = False                     # a row that starts with padding
    mask[2, -1] = False                    # a row that ends with padding
    states = [rng.normal(size=(batch, UNITS)).astype("float32") for _ in range(2)]
    return x, mask, states


def pair(cell, seed=0, **flags):
    """The Keras layer and the rnnlib layer, built alike, with Keras's weights copied over."""
    keras_cls, rl_cls, extra = CELLS[cell]
    k = keras_cls(UNITS, **extra, **flags)
    r = rl_cls(UNITS, **extra, **flags)
    batch = BATCH if flags.get("stateful") else None
    k.build((batch, TIMESTEPS, FEATURES))
    r(np.zeros((batch or 1, TIMESTEPS, FEATURES), "float32"))
    if flags.get("stateful"):
        r.reset_states()
    assert [w.shape for w in r.get_weights()] == [tuple(w.shape) for w in k.get_weights()]
    # random non-zero biases so that every weight matters
    rng = np.random.default_rng(seed)
    weights = [w + 0.1 * rng.normal(size=w.shape).astype("float32") for w in k.get_weights()]
    k.set_weights(weights)
    r.set_weights(weights)
    return k, r


FLAGS = list(itertools.product([False, True], repeat=5))


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize(
    "return_sequences,return_state,go_backwards,with_state,with_mask", FLAGS,
    ids=["-".join(n for n, on in zip(["seq", "state", "back", "h0", "mask"], f) if on) or "plain"
         for f in FLAGS])
def test_layer_matches_keras(cell, return_sequences, return_state, go_backwards, with_state, with_mask):
    k, r = pair(cell, return_sequences=return_sequences, return_state=return_state,
                go_backwards=go_backwards)
    x, mask, states = data(1)
    kwargs = {}
    if with_state:
        kwargs["initial_state"] = states[:N_STATES[cell]]
    if with_mask:
        kwargs["mask"] = mask
    assert_same(k(x, **kwargs), r(x, **kwargs))


ACTIVATIONS = ["tanh", "relu", "sigmoid", "linear", "hard_sigmoid"]


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
def test_activations_and_bias_match_keras(cell, activation, use_bias):
    keras_cls, rl_cls, extra = CELLS[cell]
    kw = dict(extra, activation=activation, use_bias=use_bias, return_sequences=True)
    if cell != "simple_rnn":
        kw["recurrent_activation"] = "hard_sigmoid" if activation == "tanh" else "sigmoid"
    k, r = keras_cls(UNITS, **kw), rl_cls(UNITS, **kw)
    x, _, _ = data(2)
    k(x)
    r(x)
    r.set_weights(k.get_weights())
    assert_same(k(x), r(x))


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "seq"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["fwd", "back"])
def test_stateful_chunks_match_keras(cell, return_sequences, go_backwards):
    flags = dict(stateful=True, return_sequences=return_sequences, go_backwards=go_backwards,
                 return_state=True)
    k, r = pair(cell, **flags)
    x, _, _ = data(3, timesteps=9)
    for chunk in (x[:, :3], x[:, 3:7], x[:, 7:]):
        assert_same(k(chunk), r(chunk))
    k.reset_states()
    r.reset_states()
    assert_same(k(x[:, :4]), r(x[:, :4]))


MERGES = ["concat", "sum", "mul", "ave", None]


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("merge_mode", MERGES, ids=[str(m) for m in MERGES])
@pytest.mark.parametrize(
    "return_sequences,return_state,with_mask,with_state",
    list(itertools.product([False, True], repeat=4)),
    ids=["-".join(n for n, on in zip(["seq", "state", "mask", "h0"], f) if on) or "plain"
         for f in itertools.product([False, True], repeat=4)])
def test_bidirectional_matches_keras(cell, merge_mode, return_sequences, return_state,
                                     with_mask, with_state):
    keras_cls, rl_cls, extra = CELLS[cell]
    flags = dict(extra, return_sequences=return_sequences, return_state=return_state)
    k = keras.layers.Bidirectional(keras_cls(UNITS, **flags), merge_mode=merge_mode)
    r = rl.layers.Bidirectional(rl_cls(UNITS, **flags), merge_mode=merge_mode)
    x, mask, states = data(4)
    k(x)
    r(x)
    weights = [w + 0.05 for w in k.get_weights()]
    k.set_weights(weights)
    r.set_weights(weights)
    kwargs = {}
    if with_mask:
        kwargs["mask"] = mask
    if with_state:
        n = N_STATES[cell]
        kwargs["initial_state"] = (states[:n] + [s[::-1] for s in states[:n]])
    assert_same(k(x, **kwargs), r(x, **kwargs))


def test_dense_on_sequences_matches_keras():
    x, _, _ = data(5)
    k, r = keras.layers.Dense(3, activation="relu"), rl.layers.Dense(3, activation="relu")
    k(x)
    r(x)
    r.set_weights(k.get_weights())
    assert_same(k(x), r(x))


def test_add_across_ranks_matches_keras_and_warns():
    rng = np.random.default_rng(6)
    a = rng.normal(size=(2, 16)).astype("float32")
    b = rng.normal(size=(2, 32, 16)).astype("float32")
    with pytest.warns(UserWarning, match=r"\(2, 16\).*\(2, 32, 16\)"):
        out = rl.layers.add([a, b])
    assert_same(keras.layers.add([a, b]), out)
    ka, kb = keras.Input((16,)), keras.Input((32, 16))
    ra, rb = rl.Input((16,)), rl.Input((32, 16))
    with pytest.warns(UserWarning, match=r"\(None, 16\).*\(None, 32, 16\)"):
        shape = rl.layers.add([ra, rb]).shape
    assert shape == tuple(keras.layers.add([ka, kb]).shape) == (None, 32, 16)


def test_concatenate_and_reshape_match_keras():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(2, 4, 3)).astype("float32")
    b = rng.normal(size=(2, 4, 5)).astype("float32")
    assert_same(keras.layers.concatenate([a, b]), rl.layers.concatenate([a, b]))
    assert_same(keras.layers.concatenate([a, a], axis=1), rl.layers.concatenate([a, a], axis=1))
    assert_same(keras.layers.Reshape((3, 4))(a), rl.layers.Reshape((3, 4))(a))
    assert_same(keras.layers.Reshape((-1, 2))(a), rl.layers.Reshape((-1, 2))(a))


# --- summary() and count_params() of random small stacks ----------------------------

def summary_rows(model):
    """(type, output shape, params) per row of a printed summary; wrapped cells are joined."""
    lines = []
    model.summary(print_fn=lambda line, **kw: lines.append(line))
    rows, current = [], None
    for line in "\n".join(lines).splitlines():
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            current = cells if current is None else [
                " ".join(p for p in (a, b) if p) for a, b in zip(current, cells)]
        elif current is not None:
            rows.append(current)
            current = None
    return [(re.search(r"\((\w+)\)$", c[0]).group(1), c[1], int(c[2].replace(",", "")))
            for c in rows]


def random_stack(lib, seed):
    """A random small stack: the same for Keras and rnnlib given the same seed."""
    rng = np.random.default_rng(seed)
    timesteps, features = int(rng.integers(1, 8)), int(rng.integers(1, 6))
    x = inputs = lib.Input(shape=(timesteps, features))
    depth = int(rng.integers(1, 4))
    for i in range(depth):
        kind = rng.choice(["SimpleRNN", "GRU", "LSTM", "Bi"])
        units = int(rng.integers(1, 9))
        last = i == depth - 1
        seq = bool(rng.integers(0, 2)) if last else True
        if kind == "Bi":
            inner = rng.choice(["SimpleRNN", "GRU", "LSTM"])
            x = lib.layers.Bidirectional(getattr(lib.layers, inner)(units, return_sequences=seq),
                                         merge_mode=rng.choice(["concat", "sum"]))(x)
        elif kind == "GRU":
            x = lib.layers.GRU(units, return_sequences=seq, reset_after=bool(rng.integers(0, 2)))(x)
        else:
            x = getattr(lib.layers, kind)(units, return_sequences=seq)(x)
    x = lib.layers.Dense(int(rng.integers(1, 5)))(x)
    return lib.Model(inputs, x)


@pytest.mark.parametrize("seed", range(12))
def test_summary_and_count_params_match_keras(seed):
    km, rm = random_stack(keras, seed), random_stack(rl, seed)
    assert rm.count_params() == km.count_params()
    assert summary_rows(rm) == summary_rows(km)


def test_stack_overflow_question_one_summary():
    kx = keras.Input(shape=(2, 1))
    km = keras.Model(kx, keras.layers.SimpleRNN(10)(kx))
    rx = rl.Input(shape=(2, 1))
    rm = rl.Model(rx, rl.layers.SimpleRNN(10)(rx))
    assert summary_rows(rm) == summary_rows(km) == [("InputLayer", "(None, 2, 1)", 0),
                                             ("SimpleRNN", "(None, 10)", 120)]
    text = []
    rm.summary(print_fn=text.append)
    assert "Total params: 120 (480.00 B)" in text[0]


def test_return_state_summary_shapes_match_keras():
    kx = keras.Input(shape=(3, 2))
    rx = rl.Input(shape=(3, 2))
    km = keras.Model(kx, keras.layers.LSTM(4, return_state=True)(kx))
    rm = rl.Model(rx, rl.layers.LSTM(4, return_state=True)(rx))
    assert [tuple(t.shape) for t in km.outputs] == [t.shape for t in rm.outputs]
    assert rm.count_params() == km.count_params()


def test_stack_overflow_question_two_shapes_match_keras():
    shapes = {}
    for lib in (keras, rl):
        fmap = lib.Input(shape=(32, 32, 16))
        seq = lib.layers.Reshape((32, 512))(fmap)
        gru_1 = lib.layers.GRU(16)(seq)
        gru_1b = lib.layers.GRU(16, return_sequences=True, go_backwards=True)(seq)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            merged = lib.layers.add([gru_1, gru_1b])
        gru_2 = lib.layers.GRU(16, return_sequences=True)(merged)
        gru_2b = lib.layers.GRU(16, return_sequences=True, go_backwards=True)(merged)
        out = lib.layers.concatenate([gru_2, gru_2b])
        shapes[lib.__name__] = [tuple(t.shape) for t in (gru_1, gru_1b, merged, out)]
        shapes[lib.__name__ + "_params"] = lib.Model(fmap, out).count_params()
    assert shapes["rnnlib"] == shapes["keras"]
    assert shapes["rnnlib_params"] == shapes["keras_params"]


def test_encoder_decoder_with_symbolic_initial_state_matches_keras():
    """The states one LSTM returns set another's initial state, inside one model."""
    models = {}
    for lib in (keras, rl):
        enc_in, dec_in = lib.Input(shape=(5, 3)), lib.Input(shape=(6, 2))
        _, h, c = lib.layers.LSTM(4, return_state=True)(enc_in)
        seq = lib.layers.LSTM(4, return_sequences=True)(dec_in, initial_state=[h, c])
        models[lib.__name__] = lib.Model([enc_in, dec_in], lib.layers.Dense(1)(seq))
    km, rm = models["keras"], models["rnnlib"]
    assert summary_rows(rm) == summary_rows(km)
    rm.set_weights(km.get_weights())
    rng = np.random.default_rng(8)
    xs = [rng.normal(size=(2, 5, 3)).astype("float32"), rng.normal(size=(2, 6, 2)).astype("float32")]
    assert_same(km(xs), rm(xs))


# --- where rnnlib followed Keras 3 (issue: the course's departures from Keras) -----------------

@pytest.mark.parametrize("merge_mode", ["concat", None])
def test_returned_states_are_tuples_as_in_keras(merge_mode):
    x = np.zeros((2, 3, 4), "float32")
    for lib in (keras, rl):
        assert type(lib.layers.LSTM(2, return_state=True)(x)) is tuple
        assert type(lib.layers.LSTM(2, return_state=True)(lib.Input(shape=(3, 4)))) is tuple
        both = lib.layers.Bidirectional(lib.layers.GRU(2, return_state=merge_mode is not None),
                                        merge_mode=merge_mode)(x)
        assert type(both) is tuple


def test_models_have_no_reset_states_as_in_keras():
    for lib in (keras, rl):
        x = lib.Input(shape=(3, 1), batch_size=2)
        model = lib.Model(x, lib.layers.SimpleRNN(2, stateful=True)(x))
        assert not hasattr(model, "reset_states")
    with pytest.raises(AttributeError, match=r"(?s)Keras 3 models have none.*layer.reset_states\(\)"):
        model.reset_states()


def test_sequential_with_returned_states_fails_at_the_next_layer_as_in_keras():
    for lib in (keras, rl):
        model = lib.Sequential([lib.Input(shape=(3, 2)), lib.layers.LSTM(4, return_state=True)])
        with pytest.raises(ValueError, match=r"expects 1 input\(s\), but it received 3 input tensors"):
            model.add(lib.layers.Dense(2))


def test_bidirectional_names_its_copies_as_keras():
    for lib in (keras, rl):
        inner = lib.layers.GRU(3, name="g")
        both = lib.layers.Bidirectional(inner)
        both(np.zeros((1, 2, 2), "float32"))
        assert (both.forward_layer.name, both.backward_layer.name) == ("forward_g", "backward_g")
        assert both.forward_layer is not inner and not inner.built   # the layer passed in is a template


def test_ops_flip_as_keras_ops_flip():
    kx, rx = keras.Input(shape=(4, 2)), rl.Input(shape=(4, 2))
    k = keras.Model(kx, keras.ops.flip(keras.layers.GRU(3, return_sequences=True)(kx), axis=1))
    r = rl.Model(rx, rl.ops.flip(rl.layers.GRU(3, return_sequences=True)(rx), axis=1))
    r.set_weights(k.get_weights())
    x = data(1, timesteps=4, features=2)[0]
    assert_same(k(x), r(x))
    # an op is a step of the graph, not a layer: model.layers leaves it out, the summary shows it
    assert [type(s).__name__ for s in r.layers] == [type(s).__name__ for s in k.layers]
    assert [type(s).__name__ for s in r.operations] == [type(s).__name__ for s in k.operations]
    assert summary_rows(r) == summary_rows(k)
    assert ("Flip", "(None, 4, 3)", 0) in summary_rows(r)


def test_set_random_seed_makes_the_same_weights_as_a_rerun():
    """Keras's way to reproducible weights, in both: seed, build; seed, build again."""
    for lib in (keras, rl):
        lib.utils.set_random_seed(3)
        a = lib.layers.LSTM(2)
        a(np.zeros((1, 2, 3), "float32"))
        lib.utils.set_random_seed(3)
        b = lib.layers.LSTM(2)
        b(np.zeros((1, 2, 3), "float32"))
        for wa, wb in zip(a.get_weights(), b.get_weights()):
            assert_allclose(wa, wb, rtol=0, atol=0)


def test_a_seeded_initializer_gives_the_same_weights_every_time_as_in_keras():
    for lib in (keras, rl):
        layers = [lib.layers.Dense(3, kernel_initializer=lib.initializers.GlorotUniform(seed=0))
                  for _ in range(2)]
        ws = [layer(np.zeros((1, 4), "float32")) is not None and layer.get_weights()[0] for layer in layers]
        assert_allclose(ws[0], ws[1], rtol=0, atol=0)

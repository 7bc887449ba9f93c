"""rnnlib's gradients against Keras 3's own (torch autograd through the Keras layer).

Each test builds the Keras twin and the rnnlib one alike with the same weights, takes a
loss of the outputs and compares what ``rl.gradients`` returns - dL/dweights in
``get_weights()`` order, dL/dx, dL/d(initial_state), dL/dh_t - with Keras's gradients,
within the contract's 1e-5 (float32; relative above 1).  The layer protocol
(``layer.forward`` / ``layer.backward``) is checked the same way with the loss
``sum(outputs * upstream)``, whose gradient with respect to each output is ``upstream``.
Skipped (with the reason) where Keras is not installed; CI installs it.
"""
import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose

import rnnlib as rl

keras = pytest.importorskip(
    "keras", reason="Keras 3 is the reference: install the 'reference' extra (make test does)")
torch = pytest.importorskip("torch", reason="Keras runs on the torch backend here")

from keras_twins import (ATOL, N_STATES, RECURRENT, RTOL, as_list, assert_gradients_match,  # noqa: E402
                         dot_loss, keras_gradients, keras_h_gradients, mse_loss, random_like,
                         recurrent, sample_inputs, twin_layers, twin_models, weight_names)

pytestmark = pytest.mark.keras

BATCH, TIMESTEPS, FEATURES, UNITS = 3, 5, 4, 3


def data(seed, batch=BATCH, timesteps=TIMESTEPS, features=FEATURES, units=UNITS):
    """x, a mask with a full row, a row starting with padding and one ending with it, 4 states."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, timesteps, features)).astype("float32")
    mask = rng.random((batch, timesteps)) > 0.35
    mask[0, :] = True
    mask[1, 0] = False
    mask[2, -1] = False
    states = [rng.normal(size=(batch, units)).astype("float32") for _ in range(4)]
    return x, mask, states, rng


def compare(k, r, x, rng, initial_state=None, mask=None):
    """rl.gradients (loss "mse" on the first output, random targets) and the layer protocol
    (``sum(outputs * upstream)`` over every output, returned states too) against Keras."""
    kwargs = {}
    if initial_state is not None:
        kwargs["initial_state"] = initial_state
    if mask is not None:
        kwargs["mask"] = mask
    outputs = r(x, **kwargs)
    y = random_like(rng, as_list(outputs)[0])
    grads = rl.gradients(r, x, y, loss="mse", **kwargs)
    assert_gradients_match(keras_gradients(k, x, mse_loss(y), **kwargs), grads, weight_names(r))

    upstream = random_like(rng, outputs)
    out, cache = r.forward(x, **kwargs)
    expected = keras_gradients(k, x, dot_loss(upstream), **kwargs)
    for i, (a, b) in enumerate(zip(expected["outputs"], as_list(out))):
        assert_allclose(b, a, rtol=RTOL, atol=ATOL, err_msg=f"layer.forward's output {i} differs from Keras's")
    assert_gradients_match(expected, r.backward(cache, upstream), weight_names(r))


def rnn_pair(kind, seed=0, batch=None, **flags):
    return twin_layers(lambda lib: recurrent(lib, kind, UNITS, **flags), rl,
                       (batch or BATCH, TIMESTEPS, FEATURES), seed)


FLAGS = list(itertools.product([False, True], repeat=5))


def flag_id(names, flags):
    return "-".join(n for n, on in zip(names, flags) if on) or "plain"


@pytest.mark.parametrize("kind", list(RECURRENT))
@pytest.mark.parametrize("return_sequences,return_state,go_backwards,with_state,with_mask", FLAGS,
                         ids=[flag_id(["seq", "state", "back", "h0", "mask"], f) for f in FLAGS])
def test_recurrent_gradients_match_keras(kind, return_sequences, return_state, go_backwards,
                                         with_state, with_mask):
    """Every flag: the returned states get a loss too, so gradient flows back into them."""
    k, r = rnn_pair(kind, return_sequences=return_sequences, return_state=return_state,
                    go_backwards=go_backwards)
    x, mask, states, rng = data(1)
    compare(k, r, x, rng, initial_state=states[:N_STATES[kind]] if with_state else None,
            mask=mask if with_mask else None)


H_FLAGS = list(itertools.product([False, True], repeat=4))


@pytest.mark.parametrize("kind", list(RECURRENT))
@pytest.mark.parametrize("return_sequences,return_state,go_backwards,with_state", H_FLAGS,
                         ids=[flag_id(["seq", "state", "back", "h0"], f) for f in H_FLAGS])
def test_hidden_state_gradients_match_keras(kind, return_sequences, return_state, go_backwards,
                                            with_state):
    """Gradients.h[name]: the total dL/dh_t at every step, in the order the layer read its input."""
    k, r = rnn_pair(kind, return_sequences=return_sequences, return_state=return_state,
                    go_backwards=go_backwards)
    x, _, states, rng = data(2)
    initial_state = states[:N_STATES[kind]] if with_state else None
    y = random_like(rng, as_list(r(x, initial_state=initial_state))[0])
    assert_h_match(k, r, x, y, initial_state)


def assert_h_match(k, r, x, y, initial_state):
    grads = rl.gradients(r, x, y, loss="mse", initial_state=initial_state)
    # a Bidirectional's two directions are reported under its inner layers' names, as Keras
    # names them (forward_<layer>, backward_<layer>)
    names = {"": r.name, "/forward": getattr(r, "forward_layer", r).name,
             "/backward": getattr(r, "backward_layer", r).name}
    expected = {names[key]: d_h for key, d_h in keras_h_gradients(k, x, mse_loss(y), initial_state).items()}
    assert sorted(grads.h) == sorted(expected)
    for name, d_h in expected.items():
        assert_allclose(grads.h[name], d_h, rtol=RTOL, atol=ATOL, err_msg=f"dL/dh of {name}")


@pytest.mark.parametrize("kind", list(RECURRENT))
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "seq"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["fwd", "back"])
def test_stateful_chunk_gradients_match_keras(kind, return_sequences, go_backwards):
    """A stateful layer starts each chunk from the last one's states (a constant: no gradient
    crosses the call), and rl.gradients carries the states on as calling the layer does."""
    k, r = rnn_pair(kind, stateful=True, return_sequences=return_sequences,
                    go_backwards=go_backwards, return_state=True)
    x, _, _, rng = data(3, timesteps=3 * TIMESTEPS)
    chunks = [x[:, i * TIMESTEPS:(i + 1) * TIMESTEPS] for i in range(3)]
    for a, b in zip(as_list(k(chunks[0])), as_list(r(chunks[0]))):
        assert_allclose(b, keras.ops.convert_to_numpy(a), rtol=RTOL, atol=ATOL)
    out_shape = (BATCH, TIMESTEPS, UNITS) if return_sequences else (BATCH, UNITS)
    for chunk in chunks[1:]:
        y = rng.normal(size=out_shape).astype("float32")
        # Keras's own states, passed explicitly: reading the state variables inside the graph and
        # assigning them after the call is an in-place change torch autograd refuses (GRU, LSTM)
        carried = [keras.ops.convert_to_numpy(s) for s in k.states]
        expected = keras_gradients(k, chunk, mse_loss(y), initial_state=carried)
        expected["initial_state"] = None               # a constant for rnnlib: no gradient asked
        assert_gradients_match(expected, rl.gradients(r, chunk, y, loss="mse"), weight_names(r))


MERGES = ["concat", "sum", "mul", "ave", None]
BI_FLAGS = list(itertools.product([False, True], repeat=4))


@pytest.mark.parametrize("kind", list(RECURRENT))
@pytest.mark.parametrize("merge_mode", MERGES, ids=[str(m) for m in MERGES])
@pytest.mark.parametrize("return_sequences,return_state,with_mask,with_state", BI_FLAGS,
                         ids=[flag_id(["seq", "state", "mask", "h0"], f) for f in BI_FLAGS])
def test_bidirectional_gradients_match_keras(kind, merge_mode, return_sequences, return_state,
                                             with_mask, with_state):
    k, r = bidirectional_pair(kind, merge_mode, seed=4, return_sequences=return_sequences,
                              return_state=return_state)
    x, mask, states, rng = data(4)
    compare(k, r, x, rng, initial_state=halves(kind, states) if with_state else None,
            mask=mask if with_mask else None)


def bidirectional_pair(kind, merge_mode, seed, **flags):
    return twin_layers(lambda lib: lib.layers.Bidirectional(recurrent(lib, kind, UNITS, **flags),
                                                            merge_mode=merge_mode),
                       rl, (BATCH, TIMESTEPS, FEATURES), seed)


def halves(kind, states):
    """A Bidirectional's initial_state: the forward layer's states, then the backward one's."""
    n = N_STATES[kind]
    return states[:n] + states[2:2 + n]


# --- Dense, Reshape, Add, Concatenate ---------------------------------------------------

ACTIVATIONS = ["linear", "tanh", "sigmoid", "relu"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("shape", [(BATCH, FEATURES), (BATCH, TIMESTEPS, FEATURES)], ids=["2d", "3d"])
def test_dense_gradients_match_keras(activation, use_bias, shape):
    k, r = twin_layers(lambda lib: lib.layers.Dense(UNITS, activation=activation, use_bias=use_bias),
                       rl, shape, seed=5)
    rng = np.random.default_rng(5)
    compare(k, r, rng.normal(size=shape).astype("float32"), rng)


@pytest.mark.parametrize("target_shape", [(FEATURES, TIMESTEPS), (-1, 2), (TIMESTEPS * FEATURES,)],
                         ids=["swap", "inferred", "flat"])
def test_reshape_gradients_match_keras(target_shape):
    shape = (BATCH, TIMESTEPS, FEATURES)
    k, r = twin_layers(lambda lib: lib.layers.Reshape(target_shape), rl, shape, seed=6)
    rng = np.random.default_rng(6)
    compare(k, r, rng.normal(size=shape).astype("float32"), rng)


MERGE_SHAPES = {
    "same": [(BATCH, TIMESTEPS, UNITS), (BATCH, TIMESTEPS, UNITS)],
    "three": [(BATCH, UNITS), (BATCH, UNITS), (BATCH, UNITS)],
    "vector_to_sequence": [(BATCH, UNITS), (BATCH, TIMESTEPS, UNITS)],
    "sequence_and_vector": [(BATCH, TIMESTEPS, UNITS), (BATCH, UNITS)],
    "size_one_axis": [(BATCH, 1, UNITS), (BATCH, TIMESTEPS, UNITS)],
}


@pytest.mark.filterwarnings("ignore:.*adds inputs of different rank")
@pytest.mark.parametrize("shapes", list(MERGE_SHAPES.values()), ids=list(MERGE_SHAPES))
def test_add_gradients_match_keras(shapes):
    """A lower-rank input gets axis 1 inserted (Keras 3): its gradient sums over the timesteps."""
    k, r = twin_layers(lambda lib: lib.layers.Add(), rl, list(shapes), seed=7)
    rng = np.random.default_rng(7)
    compare(k, r, [rng.normal(size=s).astype("float32") for s in shapes], rng)


@pytest.mark.parametrize("axis,shapes", [
    (-1, [(BATCH, TIMESTEPS, 2), (BATCH, TIMESTEPS, UNITS)]),
    (1, [(BATCH, 2, UNITS), (BATCH, TIMESTEPS, UNITS)]),
    (-1, [(BATCH, 2), (BATCH, UNITS), (BATCH, 1)]),
], ids=["features", "time", "three_vectors"])
def test_concatenate_gradients_match_keras(axis, shapes):
    k, r = twin_layers(lambda lib: lib.layers.Concatenate(axis=axis), rl, list(shapes), seed=8)
    rng = np.random.default_rng(8)
    compare(k, r, [rng.normal(size=s).astype("float32") for s in shapes], rng)


# --- whole models: branches, a tensor read twice, shared layers, states between layers -------

def branches(lib):
    """One sequence read by three branches (forwards, backwards, bidirectional), joined."""
    x = lib.Input(shape=(TIMESTEPS, FEATURES))
    seq = lib.layers.LSTM(UNITS, return_sequences=True)(x)
    a = lib.layers.GRU(UNITS)(seq)
    b = lib.layers.SimpleRNN(UNITS, go_backwards=True)(seq)
    c = lib.layers.Bidirectional(lib.layers.GRU(UNITS, reset_after=False), merge_mode="sum")(seq)
    return lib.Model(x, lib.layers.Dense(2)(lib.layers.concatenate([a, b, c])))


def tensor_used_twice(lib):
    """``seq`` feeds an RNN and, through Dense, a residual add: two gradients meet at it."""
    x = lib.Input(shape=(TIMESTEPS, FEATURES))
    seq = lib.layers.SimpleRNN(UNITS, return_sequences=True)(x)
    both = lib.layers.add([seq, lib.layers.Dense(UNITS, activation="tanh")(seq)])
    return lib.Model(x, lib.layers.Dense(1)(lib.layers.GRU(UNITS)(both)))


def shared_layer(lib):
    """One LSTM (one set of weights) reads two inputs; one Dense reads both results."""
    a, b = lib.Input(shape=(TIMESTEPS, FEATURES)), lib.Input(shape=(TIMESTEPS, FEATURES))
    lstm, dense = lib.layers.LSTM(UNITS), lib.layers.Dense(2)
    return lib.Model([a, b], lib.layers.add([dense(lstm(a)), dense(lstm(b))]))


def encoder_decoder(lib):
    """The states one LSTM returns are the initial state of another: gradient flows through them."""
    enc_in, dec_in = lib.Input(shape=(TIMESTEPS, FEATURES)), lib.Input(shape=(TIMESTEPS - 1, 2))
    _, h, c = lib.layers.LSTM(UNITS, return_state=True)(enc_in)
    seq = lib.layers.LSTM(UNITS, return_sequences=True)(dec_in, initial_state=[h, c])
    return lib.Model([enc_in, dec_in], lib.layers.Dense(1)(seq))


def vector_to_every_step(lib):
    """Stack Overflow's trap, trained: a last output added to every step of a sequence."""
    x = lib.Input(shape=(TIMESTEPS, FEATURES))
    last = lib.layers.GRU(UNITS)(x)
    seq = lib.layers.GRU(UNITS, return_sequences=True, go_backwards=True)(x)
    return lib.Model(x, lib.layers.Dense(1)(lib.layers.add([last, seq])))


def reshape_then_rnn(lib):
    x = lib.Input(shape=(TIMESTEPS * 2, 2))
    seq = lib.layers.Reshape((TIMESTEPS, FEATURES))(x)
    seq = lib.layers.Bidirectional(lib.layers.LSTM(UNITS, return_sequences=True))(seq)
    return lib.Model(x, lib.layers.Dense(2, activation="sigmoid")(seq))


def sequential_stack(lib):
    return lib.Sequential([lib.Input(shape=(TIMESTEPS, FEATURES)),
                           lib.layers.GRU(UNITS, return_sequences=True),
                           lib.layers.Dense(UNITS, activation="relu"),
                           lib.layers.SimpleRNN(UNITS),
                           lib.layers.Dense(1)])


def embedding_with_mask(lib):
    """Ids with 0 as padding: the mask goes from Embedding through the LSTM to the output,
    so the loss leaves the padded steps out (as compile's loss does in Keras)."""
    x = lib.Input(shape=(TIMESTEPS,), dtype="int32")
    seq = lib.layers.Embedding(8, FEATURES, mask_zero=True)(x)
    return lib.Model(x, lib.layers.Dense(2)(lib.layers.LSTM(UNITS, return_sequences=True)(seq)))


def masking_bidirectional(lib):
    x = lib.Input(shape=(TIMESTEPS, FEATURES))
    seq = lib.layers.Bidirectional(lib.layers.GRU(UNITS, return_sequences=True), merge_mode="concat")(
        lib.layers.Masking(mask_value=0.0)(x))
    return lib.Model(x, lib.layers.TimeDistributed(lib.layers.Dense(1))(seq))


def masking_then_last_output(lib):
    x = lib.Input(shape=(TIMESTEPS, FEATURES))
    seq = lib.layers.SimpleRNN(UNITS, return_sequences=True, go_backwards=True)(lib.layers.Masking()(x))
    return lib.Model(x, lib.layers.Dense(2)(lib.layers.LSTM(UNITS)(seq)))


def repeat_vector(lib):
    x = lib.Input(shape=(TIMESTEPS, FEATURES))
    seq = lib.layers.RepeatVector(TIMESTEPS - 1)(lib.layers.GRU(UNITS)(x))
    return lib.Model(x, lib.layers.TimeDistributed(lib.layers.Dense(2))(lib.layers.LSTM(UNITS, return_sequences=True)(seq)))


def flatten_head(lib):
    x = lib.Input(shape=(TIMESTEPS, FEATURES))
    seq = lib.layers.GRU(UNITS, return_sequences=True, reset_after=False)(x)
    return lib.Model(x, lib.layers.Dense(1, activation="sigmoid")(lib.layers.Flatten()(seq)))


MODELS = [branches, tensor_used_twice, shared_layer, encoder_decoder, vector_to_every_step,
          reshape_then_rnn, sequential_stack, embedding_with_mask, masking_bidirectional,
          masking_then_last_output, repeat_vector, flatten_head]


@pytest.mark.filterwarnings("ignore:.*adds inputs of different rank")
@pytest.mark.parametrize("make", MODELS, ids=[m.__name__ for m in MODELS])
def test_model_gradients_match_keras(make):
    k, r = twin_models(make, rl, seed=9)
    rng = np.random.default_rng(9)
    x = sample_inputs(r, rng, BATCH + 1)
    y = random_like(rng, as_list(r(x))[0])
    grads = rl.gradients(r, x, y, loss="mse")
    assert_gradients_match(keras_gradients(k, x, mse_loss(y)), grads, weight_names(r))

    upstream = random_like(rng, r(x))
    out, tape = r.forward(x)
    assert_gradients_match(keras_gradients(k, x, dot_loss(upstream)), r.backward(tape, upstream),
                           weight_names(r))


def test_multi_output_model_gradients_match_keras():
    """model.backward takes a gradient for each output; rl.gradients's y is the first output's."""
    def make(lib):
        x = lib.Input(shape=(TIMESTEPS, FEATURES))
        seq, h = lib.layers.GRU(UNITS, return_sequences=True, return_state=True)(x)
        return lib.Model(x, [lib.layers.Dense(1)(seq), lib.layers.Dense(2)(h), h])

    k, r = twin_models(make, rl, seed=10)
    rng = np.random.default_rng(10)
    x = rng.normal(size=(BATCH, TIMESTEPS, FEATURES)).astype("float32")
    upstream = random_like(rng, r(x))
    out, tape = r.forward(x)
    assert_gradients_match(keras_gradients(k, x, dot_loss(upstream)), r.backward(tape, upstream),
                           weight_names(r))
    y = upstream[0]
    assert_gradients_match(keras_gradients(k, x, mse_loss(y)), rl.gradients(r, x, y), weight_names(r))


@pytest.mark.parametrize("kind", list(RECURRENT))
@pytest.mark.parametrize("merge_mode", MERGES, ids=[str(m) for m in MERGES])
@pytest.mark.parametrize("return_sequences,with_state", list(itertools.product([False, True], repeat=2)),
                         ids=["last", "last-h0", "seq", "seq-h0"])
def test_bidirectional_hidden_state_gradients_match_keras(kind, merge_mode, return_sequences, with_state):
    """Gradients.h of both directions (under the inner layers' names), each in its reading order."""
    k, r = bidirectional_pair(kind, merge_mode, seed=11, return_sequences=return_sequences,
                              return_state=True)
    x, _, states, rng = data(11)
    initial_state = halves(kind, states) if with_state else None
    y = random_like(rng, as_list(r(x, initial_state=initial_state))[0])
    assert_h_match(k, r, x, y, initial_state)


ACTIVATION_PAIRS = [("tanh", "sigmoid"), ("relu", "hard_sigmoid"), ("sigmoid", "linear"), ("linear", "tanh")]


@pytest.mark.parametrize("kind", list(RECURRENT))
@pytest.mark.parametrize("activation,recurrent_activation", ACTIVATION_PAIRS,
                         ids=[f"{a}-{b}" for a, b in ACTIVATION_PAIRS])
@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
def test_activations_and_bias_gradients_match_keras(kind, activation, recurrent_activation, use_bias):
    """Other activations take the stepped (not the fused) path, and their own derivatives."""
    flags = dict(activation=activation, use_bias=use_bias, return_sequences=True)
    if kind != "simple_rnn":
        flags["recurrent_activation"] = recurrent_activation
    k, r = rnn_pair(kind, seed=12, **flags)
    x, _, states, rng = data(12)
    compare(k, r, x, rng, initial_state=states[:N_STATES[kind]])


# --- every loss of compile, as rl.gradients(..., loss=) takes it -----------------------------

LOSS_HEADS = {   # id -> (head units, head activation, loss class, arguments, targets)
    "mse": (2, None, "MeanSquaredError", {}, lambda rng, s: rng.normal(size=s)),
    "mae": (2, "tanh", "MeanAbsoluteError", {}, lambda rng, s: rng.normal(size=s)),
    "binary": (1, "sigmoid", "BinaryCrossentropy", {}, lambda rng, s: rng.random(s) > 0.5),
    "binary_logits": (1, None, "BinaryCrossentropy", {"from_logits": True}, lambda rng, s: rng.random(s) > 0.5),
    "categorical": (3, "softmax", "CategoricalCrossentropy", {},
                    lambda rng, s: np.eye(s[-1])[rng.integers(s[-1], size=s[:-1])]),
    "categorical_logits": (3, None, "CategoricalCrossentropy", {"from_logits": True},
                           lambda rng, s: np.eye(s[-1])[rng.integers(s[-1], size=s[:-1])]),
    "sparse": (3, "softmax", "SparseCategoricalCrossentropy", {},
               lambda rng, s: rng.integers(s[-1], size=s[:-1]).astype("int32")),
    "sparse_logits": (3, None, "SparseCategoricalCrossentropy", {"from_logits": True},
                      lambda rng, s: rng.integers(s[-1], size=s[:-1]).astype("int32")),
}


@pytest.mark.parametrize("sequences", [False, True], ids=["last", "seq"])
@pytest.mark.parametrize("loss_id", list(LOSS_HEADS))
def test_loss_gradients_match_keras(loss_id, sequences):
    """The loss objects' value and gradient, through a recurrent model (3-D heads too)."""
    units, activation, cls, kwargs, make_targets = LOSS_HEADS[loss_id]

    def make(lib):
        x = lib.Input(shape=(TIMESTEPS, FEATURES))
        seq = lib.layers.GRU(UNITS, return_sequences=sequences)(x)
        return lib.Model(x, lib.layers.Dense(units, activation=activation)(seq))

    k, r = twin_models(make, rl, seed=13)
    rng = np.random.default_rng(13)
    x = sample_inputs(r, rng, BATCH + 2)
    y = make_targets(rng, (BATCH + 2,) + r.output_shape[1:])
    y = y.astype("float32") if y.dtype.kind in "bf" else y
    grads = rl.gradients(r, x, y, loss=getattr(rl.losses, cls)(**kwargs))
    expected = keras_gradients(k, x, mse_loss(y, getattr(keras.losses, cls)(**kwargs)))
    assert_gradients_match(expected, grads, weight_names(r))


# --- a learner's own cell: the cell protocol's backward, in RNN's generic loop ---------------

class PeepholeCell:
    """A learner's cell in NumPy: h = tanh(x W + h_tm1 U) * sigmoid(h_tm1 V), with its backward."""

    weight_names = ("kernel", "recurrent_kernel", "peephole")

    def __init__(self, units):
        self.state_size = self.output_size = units
        self.built = False

    def build(self, input_shape):
        rng = np.random.default_rng(0)
        self.kernel = rng.normal(size=(input_shape[-1], self.state_size)).astype("float32")
        self.recurrent_kernel = rng.normal(size=(self.state_size, self.state_size)).astype("float32")
        self.peephole = rng.normal(size=(self.state_size, self.state_size)).astype("float32")
        self.built = True

    @property
    def weights(self):
        return [self.kernel, self.recurrent_kernel, self.peephole]

    def call(self, x_t, states):
        h_tm1 = states[0]
        c = np.tanh(x_t @ self.kernel + h_tm1 @ self.recurrent_kernel)     # (batch, units)
        g = 1 / (1 + np.exp(-(h_tm1 @ self.peephole)))                      # (batch, units)
        return c * g, [c * g]

    def backward(self, x_t, states, d_output, d_new_states):
        h_tm1 = states[0]
        c = np.tanh(x_t @ self.kernel + h_tm1 @ self.recurrent_kernel)
        g = 1 / (1 + np.exp(-(h_tm1 @ self.peephole)))
        d_h = d_output + d_new_states[0]                                    # (batch, units)
        d_zc, d_zg = d_h * g * (1 - c * c), d_h * c * g * (1 - g)
        d_h_tm1 = d_zc @ self.recurrent_kernel.T + d_zg @ self.peephole.T
        return d_zc @ self.kernel.T, [d_h_tm1], [x_t.T @ d_zc, h_tm1.T @ d_zc, h_tm1.T @ d_zg]


class KerasPeepholeCell(keras.layers.Layer):
    """The same cell as a Keras 3 cell, its weights in the same order."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.state_size = self.output_size = units

    def build(self, input_shape):
        units = self.state_size
        self.kernel = self.add_weight(shape=(input_shape[-1], units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(units, units), name="recurrent_kernel")
        self.peephole = self.add_weight(shape=(units, units), name="peephole")

    def call(self, x_t, states):
        h_tm1 = states[0]
        c = keras.ops.tanh(keras.ops.matmul(x_t, self.kernel) + keras.ops.matmul(h_tm1, self.recurrent_kernel))
        h = c * keras.ops.sigmoid(keras.ops.matmul(h_tm1, self.peephole))
        return h, [h]


OWN_FLAGS = list(itertools.product([False, True], repeat=4))


@pytest.mark.parametrize("return_sequences,go_backwards,with_state,with_mask", OWN_FLAGS,
                         ids=[flag_id(["seq", "back", "h0", "mask"], f) for f in OWN_FLAGS])
def test_own_cell_gradients_match_keras(return_sequences, go_backwards, with_state, with_mask):
    """rl.layers.RNN(learner's cell) learns as keras.layers.RNN(the same cell) does."""
    cells = {keras: KerasPeepholeCell, rl: PeepholeCell}
    k, r = twin_layers(lambda lib: lib.layers.RNN(cells[lib](UNITS), return_sequences=return_sequences,
                                                  return_state=True, go_backwards=go_backwards),
                       rl, (BATCH, TIMESTEPS, FEATURES), seed=14)
    x, mask, states, rng = data(14)
    compare(k, r, x, rng, initial_state=states[:1] if with_state else None,
            mask=mask if with_mask else None)

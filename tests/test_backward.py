"""Backpropagation in rnnlib: every layer and flag against float64 central differences,
the cell protocol for a learner's own cell, and the properties BPTT must have."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numpy.testing import assert_allclose

import rnnlib as rl
from rnnlib import layers

TOL = 1e-6          # relative error of analytic against central-difference gradients (float64)
RNNS = {"SimpleRNN": layers.SimpleRNN, "GRU": layers.GRU, "LSTM": layers.LSTM,
        "GRU-reset_before": lambda u, **kw: layers.GRU(u, reset_after=False, **kw)}


@pytest.fixture(autouse=True)
def float64():
    rl.set_floatx("float64")
    yield
    rl.set_floatx("float32")


def data(seed=0, batch=3, timesteps=4, features=2):
    return np.random.default_rng(seed).normal(size=(batch, timesteps, features))


def mask_with_padding(batch=3, timesteps=4):
    mask = np.ones((batch, timesteps), bool)
    mask[0, -2:] = False          # padding at the end
    mask[1, 0] = False            # padding at the start
    return mask


def target_for(layer, x, **kw):
    out = layer(x, **kw)
    first = out[0] if isinstance(out, tuple) else out
    return np.random.default_rng(9).normal(size=first.shape)


def assert_gradients_match(layer_or_model, x, y, **kw):
    errors = rl.gradient_check(layer_or_model, x, y, **kw)
    bad = {k: v for k, v in errors.items() if not v < TOL}
    assert not bad, f"relative errors above {TOL}: {bad}"


FLAGS = [dict(return_sequences=s, return_state=r, go_backwards=b)
         for s in (False, True) for r in (False, True) for b in (False, True)]


@pytest.mark.parametrize("flags", FLAGS, ids=lambda f: "-".join(k for k, v in f.items() if v) or "plain")
@pytest.mark.parametrize("with_state", [False, True], ids=["zeros", "initial_state"])
@pytest.mark.parametrize("with_mask", [False, True], ids=["nomask", "mask"])
@pytest.mark.parametrize("kind", list(RNNS))
def test_rnn_gradients_match_central_differences(kind, flags, with_state, with_mask):
    layer = RNNS[kind](3, seed=1, **flags)
    x = data()
    kw = {}
    if with_state:
        n = 2 if kind == "LSTM" else 1
        kw["initial_state"] = [np.random.default_rng(5 + k).normal(size=(3, 3)) for k in range(n)]
    if with_mask:
        kw["mask"] = mask_with_padding()
    assert_gradients_match(layer, x, target_for(layer, x, **kw), **kw)


def test_loss_on_returned_states_reaches_the_weights():
    """A loss on the states that return_state hands back: the gradient enters through them."""
    x = rl.Input(shape=(4, 2))
    _, h, c = layers.LSTM(3, return_state=True, seed=0)(x)
    model = rl.Model(x, layers.add([h, c]))
    assert_gradients_match(model, data(), np.ones((3, 3)))


@pytest.mark.parametrize("activation", ["relu", "linear", "sigmoid", "softsign", "elu"])
def test_other_activations_backpropagate(activation):
    layer = layers.SimpleRNN(3, activation=activation, seed=2, return_sequences=True)
    x = data()
    assert_gradients_match(layer, x, target_for(layer, x))


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_hard_sigmoid_gates_backpropagate(kind):
    layer = RNNS[kind](3, recurrent_activation="hard_sigmoid", seed=2)
    x = data()
    assert_gradients_match(layer, x, target_for(layer, x))


@pytest.mark.parametrize("kind", ["SimpleRNN", "GRU", "LSTM"])
def test_without_bias(kind):
    layer = RNNS[kind](3, use_bias=False, seed=3, return_sequences=True)
    x = data()
    assert_gradients_match(layer, x, target_for(layer, x))


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("with_mask", [False, True], ids=["nomask", "mask"])
def test_bidirectional_gradients(merge_mode, return_sequences, with_mask):
    inputs = rl.Input(shape=(4, 2))
    out = layers.Bidirectional(layers.GRU(3, return_sequences=return_sequences, seed=4),
                               merge_mode=merge_mode)(inputs)
    if merge_mode is None:
        out = layers.concatenate(list(out))
    x = data()
    if with_mask:                       # a mask reaches Bidirectional through a layer call
        layer = layers.Bidirectional(layers.LSTM(3, return_sequences=return_sequences, seed=4),
                                     merge_mode=merge_mode or "concat")
        kw = dict(mask=mask_with_padding())
        assert_gradients_match(layer, x, target_for(layer, x, **kw), **kw)
        return
    model = rl.Model(inputs, out)
    assert_gradients_match(model, x, np.random.default_rng(1).normal(size=model(x).shape))


def test_bidirectional_states_and_initial_state():
    layer = layers.Bidirectional(layers.LSTM(3, return_sequences=True, return_state=True, seed=6))
    x = data()
    h0 = [np.random.default_rng(k).normal(size=(3, 3)) for k in range(4)]
    assert_gradients_match(layer, x, target_for(layer, x, initial_state=h0), initial_state=h0)


@pytest.mark.filterwarnings("ignore:Layer .add:UserWarning")
def test_dense_reshape_add_concatenate_in_one_graph():
    """Branches, a tensor read twice, Add across ranks, Reshape and a softmax head."""
    x = rl.Input(shape=(4, 2))
    seq = layers.SimpleRNN(3, return_sequences=True, seed=0)(x)
    last = layers.GRU(3, seed=1)(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        both = layers.add([seq, last])                     # (None, 3) onto every step
    flat = layers.Reshape((12,))(both)
    joined = layers.concatenate([flat, last, layers.Dense(2)(last)])
    model = rl.Model(x, layers.Dense(5, activation="softmax")(joined))
    y = np.eye(5)[[0, 3, 1]]
    assert_gradients_match(model, data(), y, loss="categorical_crossentropy")


def test_shared_layer_gradients_add_up():
    a, b = rl.Input(shape=(4, 2)), rl.Input(shape=(4, 2))
    shared = layers.LSTM(3, seed=0)
    model = rl.Model([a, b], layers.concatenate([shared(a), shared(b)]))
    x = [data(0), data(1)]
    assert_gradients_match(model, x, np.random.default_rng(2).normal(size=(3, 6)))


def test_encoder_states_set_the_decoder_initial_state():
    enc_in, dec_in = rl.Input(shape=(4, 2)), rl.Input(shape=(3, 2))
    _, h, c = layers.LSTM(3, return_state=True, seed=0)(enc_in)
    dec = layers.LSTM(3, return_sequences=True, seed=1)(dec_in, initial_state=[h, c])
    model = rl.Model([enc_in, dec_in], layers.Dense(2)(dec))
    x = [data(0), data(1, timesteps=3)]
    assert_gradients_match(model, x, np.random.default_rng(3).normal(size=(3, 3, 2)))


def test_dense_on_2d_and_3d_input():
    for shape in [(5, 2), (5, 4, 2)]:
        x = rl.Input(shape=shape[1:])
        model = rl.Model(x, layers.Dense(3, activation="tanh")(x))
        xv = np.random.default_rng(0).normal(size=shape)
        assert_gradients_match(model, xv, np.zeros(shape[:-1] + (3,)), loss="mae")


# --- what BPTT must do -----------------------------------------------------------------

def test_gradients_do_not_change_the_weights():
    layer = layers.LSTM(3, seed=0)
    x = data()
    layer(x)
    weights = layer.get_weights()
    rl.gradients(layer, x, np.zeros((3, 3)))
    for a, b in zip(weights, layer.get_weights()):
        assert_allclose(a, b, rtol=0, atol=0)


def test_dh_over_time_has_one_entry_per_step():
    layer = layers.SimpleRNN(4, seed=0, name="rnn")
    g = rl.gradients(layer, data(timesteps=6), np.zeros((3, 4)))
    assert g.h["rnn"].shape == (3, 6, 4)
    norms = np.linalg.norm(g.h["rnn"], axis=(0, 2))
    assert norms[-1] > 0 and np.all(np.isfinite(norms))


def test_dh_t_is_the_gradient_of_the_hidden_state():
    """dL/dh_t: nudge h_t (through initial_state of the remaining steps) and watch L."""
    layer = layers.SimpleRNN(3, seed=0, name="r")
    x, y = data(timesteps=5), np.ones((3, 3))
    g = rl.gradients(layer, x, y)
    t = 2
    h_t = layers.SimpleRNN(3, return_sequences=True, seed=0)(x)[:, t]   # same seed, same weights
    rest = layers.SimpleRNN(3, seed=0)
    rest(x)
    h = h_t.copy()
    numeric = rl.numerical_gradient(lambda: float(rl.losses.get("mse")(y, rest(x[:, t + 1:], initial_state=[h]))), h)
    assert_allclose(g.h["r"][:, t], numeric, rtol=1e-6, atol=1e-9)


def test_a_masked_step_passes_the_gradient_straight_back():
    layer = layers.GRU(3, seed=0, name="g")
    x, mask = data(), np.ones((3, 4), bool)
    mask[:, 2] = False
    g = rl.gradients(layer, x, np.ones((3, 3)), mask=mask)
    assert_allclose(g.inputs[:, 2], 0.0, atol=0)                      # the step was not read
    assert_allclose(g.h["g"][:, 1], g.h["g"][:, 2], rtol=1e-12)        # h_2 = h_1


def test_stateful_chunks_stop_the_gradient_at_the_boundary():
    layer = layers.LSTM(3, stateful=True, seed=0)
    x = data(batch=2, timesteps=6)
    layer(x[:, :3])                                     # the first chunk sets the state
    g = rl.gradients(layer, x[:, 3:], np.ones((2, 3)))
    assert g.initial_state is None                       # nothing flows into the last call
    assert_gradients_match(layer, x[:, 3:], np.ones((2, 3)))


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(["SimpleRNN", "GRU", "LSTM"]), seed=st.integers(0, 2**16),
       timesteps=st.integers(1, 5), sequences=st.booleans())
def test_go_backwards_equals_forward_on_reversed_input(kind, seed, timesteps, sequences):
    x = np.random.default_rng(seed).normal(size=(2, timesteps, 2))
    fwd = RNNS[kind](3, return_sequences=sequences, seed=seed)
    bwd = RNNS[kind](3, return_sequences=sequences, go_backwards=True, seed=seed)
    y = np.random.default_rng(seed + 1).normal(size=fwd(x).shape)
    gf = rl.gradients(fwd, x[:, ::-1].copy(), y)
    gb = rl.gradients(bwd, x, y)
    for a, b in zip(gf.weights, gb.weights):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert_allclose(gf.inputs[:, ::-1], gb.inputs, rtol=1e-10, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(["SimpleRNN", "GRU", "LSTM"]), seed=st.integers(0, 2**16),
       steps=st.lists(st.booleans(), min_size=2, max_size=6))
def test_masked_steps_are_transparent(kind, seed, steps):
    """Dropping the masked steps from the input gives the same weight gradients."""
    x = np.random.default_rng(seed).normal(size=(1, len(steps), 2))
    keep = np.array(steps)
    if not keep.any():
        keep[0] = True
    a, b = RNNS[kind](3, seed=seed), RNNS[kind](3, seed=seed)
    y = np.ones((1, 3))
    g_mask = rl.gradients(a, x, y, mask=keep[None])
    g_drop = rl.gradients(b, x[:, keep], y)
    for p, q in zip(g_mask.weights, g_drop.weights):
        assert_allclose(p, q, rtol=1e-10, atol=1e-12)


# --- a learner's own cell ----------------------------------------------------------------

class MyCell:
    """The Keras cell protocol plus backward: h = tanh(x W + h_tm1 U)."""

    def __init__(self, kernel, recurrent_kernel):
        self.kernel, self.recurrent_kernel = kernel, recurrent_kernel
        self.state_size = recurrent_kernel.shape[0]

    @property
    def weights(self):
        return [self.kernel, self.recurrent_kernel]

    def call(self, x_t, states):
        h = np.tanh(x_t @ self.kernel + states[0] @ self.recurrent_kernel)
        return h, [h]

    def backward(self, x_t, states, d_output, d_new_states):
        h, _ = self.call(x_t, states)
        d_z = (d_output + d_new_states[0]) * (1 - h ** 2)
        return (d_z @ self.kernel.T, [d_z @ self.recurrent_kernel.T],
                [x_t.T @ d_z, states[0].T @ d_z])


def test_a_learners_cell_with_backward_trains_like_simple_rnn():
    ref = layers.SimpleRNN(3, use_bias=False, return_sequences=True, seed=0)
    x = data()
    ref(x)
    mine = layers.RNN(MyCell(*ref.get_weights()), return_sequences=True)
    y = target_for(ref, x)
    g_ref, g_mine = rl.gradients(ref, x, y), rl.gradients(mine, x, y)
    for a, b in zip(g_ref.weights, g_mine.weights):
        assert_allclose(a, b, rtol=1e-10)
    assert_allclose(g_ref.inputs, g_mine.inputs, rtol=1e-10)


def test_a_cell_without_backward_says_what_to_add():
    class Forward(MyCell):
        backward = None
    w = np.eye(2)
    layer = layers.RNN(Forward(w, w))
    with pytest.raises(TypeError, match=r"def backward\(self, x_t, states, d_output, d_new_states\)"):
        rl.gradients(layer, data(), np.zeros((3, 2)))


@pytest.mark.parametrize("cell_cls", [layers.SimpleRNNCell, layers.GRUCell, layers.LSTMCell],
                         ids=lambda c: c.__name__)
def test_every_cell_keeps_the_backward_protocol(cell_cls):
    """cell.backward(x_t, states, d_output, d_new_states) agrees with central differences."""
    cell = cell_cls(3, seed=0)
    cell.build((None, 2))
    rng = np.random.default_rng(1)
    x_t = rng.normal(size=(2, 2))
    n = len(cell.state_size) if isinstance(cell.state_size, list) else 1
    states = [rng.normal(size=(2, 3)) for _ in range(n)]
    d_out = rng.normal(size=(2, 3))
    d_new = [rng.normal(size=(2, 3)) for _ in range(n)]

    def loss():
        out, new = cell.call(x_t, states)
        return float((out * d_out).sum() + sum((s * d).sum() for s, d in zip(new, d_new)))

    d_x, d_states, d_weights = cell.backward(x_t, states, d_out, d_new)
    assert rl.gradcheck.relative_error(d_x, rl.numerical_gradient(loss, x_t)) < TOL
    for s, ds in zip(states, d_states):
        assert rl.gradcheck.relative_error(ds, rl.numerical_gradient(loss, s)) < TOL
    for w, dw in zip(cell.weights, d_weights):
        assert rl.gradcheck.relative_error(dw, rl.numerical_gradient(loss, w)) < TOL


def test_gradient_check_refuses_float32():
    rl.set_floatx("float32")
    layer = layers.SimpleRNN(2)
    with pytest.raises(ValueError, match=r"set_floatx\('float64'\)"):
        rl.gradient_check(layer, data().astype("float32"), np.zeros((3, 2)))

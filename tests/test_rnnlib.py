"""rnnlib on its own: teaching errors, invariants, the cell protocol, dtypes."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

import rnnlib as rl
from rnnlib import layers

ATOL = 1e-6
RNN_LAYERS = {"SimpleRNN": layers.SimpleRNN, "GRU": layers.GRU, "LSTM": layers.LSTM}
CELL_CLASSES = [layers.SimpleRNNCell, layers.GRUCell, layers.LSTMCell]


def sample(seed=0, batch=3, timesteps=5, features=2):
    return np.random.default_rng(seed).normal(size=(batch, timesteps, features)).astype("float32")


# --- the first Stack Overflow question, as errors that teach ------------------------

def test_2d_input_names_layer_facts_and_both_fixes():
    with pytest.raises(ValueError) as info:
        layers.SimpleRNN(10, name="rnn")(rl.Input(shape=(2,)))
    msg = str(info.value)
    assert 'layer "rnn"' in msg
    assert "expected ndim=3, found ndim=2" in msg
    assert "Full shape received: (None, 2)" in msg
    assert "(batch, timesteps, features)" in msg
    assert "shape=(2, 1)" in msg and "shape=(1, 2)" in msg


def test_2d_array_is_refused_eagerly_too():
    with pytest.raises(ValueError, match=r"found ndim=2. Full shape received: \(4, 3\)"):
        layers.GRU(2)(np.zeros((4, 3)))


def test_dense_accepts_what_simple_rnn_refuses():
    x = rl.Input(shape=(2,))
    assert layers.Dense(10)(x).shape == (None, 10)


def test_chaining_without_return_sequences_says_so():
    x = rl.Input(shape=(2, 1))
    h = layers.SimpleRNN(10, name="first")(x)
    with pytest.raises(ValueError, match=r"(?s)'first'.*return_sequences=True"):
        layers.SimpleRNN(10)(h)
    h = layers.SimpleRNN(10, return_sequences=True)(x)
    assert layers.SimpleRNN(10)(h).shape == (None, 10)


def test_summary_counts_120_parameters():
    x = rl.Input(shape=(2, 1))
    model = rl.Model(x, layers.SimpleRNN(10)(x))
    assert model.count_params() == 120
    rows = model.summary_rows()
    assert [(r["type"], r["output_shape"], r["params"]) for r in rows] == [
        ("InputLayer", "(None, 2, 1)", 0), ("SimpleRNN", "(None, 10)", 120)]


@pytest.mark.parametrize("shape,hint", [((None, 32, 32, 16), r"Reshape\(\(32, 512\)\)"),
                                        ((7,), r"x.reshape\(1, -1, 1\)")],
                         ids=["4d_feature_map", "1d_no_batch"])
def test_other_ranks_get_their_own_fix(shape, hint):
    with pytest.raises(ValueError, match=hint):
        layers.LSTM(3).check(shape)


def test_features_differ_from_build():
    layer = layers.LSTM(4)
    layer(sample(features=3))
    with pytest.raises(ValueError, match=r"built for 3 features.*received 5"):
        layer(sample(features=5))


@pytest.mark.parametrize("name,cls", RNN_LAYERS.items(), ids=list(RNN_LAYERS))
def test_initial_state_of_wrong_count(name, cls):
    x = sample()
    states = [np.zeros((3, 4), "float32")] * (1 if name == "LSTM" else 2)
    with pytest.raises(ValueError, match=r"\[h, c\]" if name == "LSTM" else r"\[h\]"):
        cls(4)(x, initial_state=states)


@pytest.mark.parametrize("bad,what", [((2, 4), "batch"), ((3, 5), "units"), ((3,), "rank")])
def test_initial_state_of_wrong_shape(bad, what):
    with pytest.raises(ValueError, match=r"initial_state\[0\] should have shape \(3, 4\)"):
        layers.SimpleRNN(4)(sample(), initial_state=[np.zeros(bad, "float32")])


@pytest.mark.parametrize("mask_shape", [(3, 4), (3,), (3, 5, 1)], ids=str)
def test_mask_of_wrong_shape(mask_shape):
    with pytest.raises(ValueError, match=r"mask should have shape \(3, 5\) \(batch, timesteps\)"):
        layers.GRU(2)(sample(), mask=np.ones(mask_shape, bool))


@pytest.mark.parametrize("units", [0, -3])
def test_units_must_be_positive(units):
    with pytest.raises(ValueError, match="units must be a positive whole number"):
        layers.SimpleRNN(units)


def test_units_must_be_whole():
    with pytest.raises(TypeError, match="whole number"):
        layers.LSTM(2.5)


def test_reshape_sizes_must_multiply():
    with pytest.raises(ValueError, match=r"each sample holds 16384 values.*32 x 500"):
        layers.Reshape((32, 500))(rl.Input(shape=(32, 32, 16)))


def test_zero_timesteps():
    with pytest.raises(ValueError, match="0 timesteps"):
        layers.SimpleRNN(2)(np.zeros((2, 0, 3)))


def test_text_input_is_a_type_error():
    with pytest.raises(TypeError, match="expects numbers"):
        layers.SimpleRNN(2)(np.array([[["a"]]]))


def test_unknown_activation_lists_known_ones():
    with pytest.raises(ValueError, match="Unknown activation 'tanhh'.*'tanh'"):
        layers.SimpleRNN(2, activation="tanhh")


def test_input_shape_must_be_a_tuple():
    with pytest.raises(ValueError, match=r"shape=\(2,\)"):
        rl.Input(shape=2)


def test_set_weights_names_expected_shapes():
    layer = layers.LSTM(2)
    layer(sample(features=3))
    with pytest.raises(ValueError, match=r"recurrent_kernel \(2, 8\)"):
        layer.set_weights(layer.get_weights()[:2])


def test_stateful_batch_must_stay_fixed():
    layer = layers.GRU(2, stateful=True)
    layer(sample(batch=3))
    with pytest.raises(ValueError, match="batch of 3, received a batch of 2"):
        layer(sample(batch=2))


def test_stateful_symbolic_needs_a_batch_size():
    with pytest.raises(ValueError, match="batch_size=N"):
        layers.LSTM(2, stateful=True)(rl.Input(shape=(4, 1)))


def test_bidirectional_refuses_a_backwards_layer():
    with pytest.raises(ValueError, match="go_backwards=True"):
        layers.Bidirectional(layers.GRU(2, go_backwards=True))


def test_concatenate_names_the_shapes():
    with pytest.raises(ValueError, match=r"\(None, 32, 16\).*\(None, 16\)"):
        layers.concatenate([rl.Input((32, 16)), rl.Input((16,))])


def test_model_input_shape_is_checked():
    x = rl.Input(shape=(2, 1))
    model = rl.Model(x, layers.SimpleRNN(3)(x))
    with pytest.raises(ValueError, match=r"expects shape \(None, 2, 1\).*\(4, 2\)"):
        model(np.zeros((4, 2)))


# --- invariants -------------------------------------------------------------------

@pytest.mark.parametrize("name,cls", RNN_LAYERS.items(), ids=list(RNN_LAYERS))
def test_stateful_chunks_equal_one_run(name, cls):
    x = sample(1, timesteps=9)
    whole = cls(4, return_sequences=True, seed=3)
    chunked = cls(4, return_sequences=True, stateful=True, seed=3)
    parts = [chunked(x[:, a:b]) for a, b in [(0, 2), (2, 7), (7, 9)]]
    assert_allclose(np.concatenate(parts, axis=1), whole(x), atol=ATOL)
    chunked.reset_states()
    assert_allclose(chunked(x[:, :2]), whole(x[:, :2]), atol=ATOL)


@pytest.mark.parametrize("name,cls", RNN_LAYERS.items(), ids=list(RNN_LAYERS))
def test_masked_steps_repeat_output_and_keep_state(name, cls):
    x = sample(2, timesteps=6)
    mask = np.ones((3, 6), bool)
    mask[:, 2] = mask[:, 3] = False
    mask[1, 0] = False
    layer = cls(4, return_sequences=True, return_state=True, seed=1)
    seq, *states = layer(x, mask=mask)
    assert_allclose(seq[:, 2], seq[:, 1], atol=0)
    assert_allclose(seq[:, 3], seq[:, 1], atol=0)
    assert_allclose(seq[1, 0], 0, atol=0)               # nothing read yet: zeros
    # the state skips the masked steps: same as running on the unmasked steps only
    keep = [0, 1, 4, 5]
    _, *ref = cls(4, return_state=True, seed=1)(x[[0, 2]][:, keep])
    for s, r in zip(states, ref):
        assert_allclose(s[[0, 2]], r, atol=ATOL)


@pytest.mark.parametrize("name,cls", RNN_LAYERS.items(), ids=list(RNN_LAYERS))
def test_go_backwards_equals_forward_on_reversed_input(name, cls):
    x = sample(3)
    back = cls(4, return_sequences=True, go_backwards=True, seed=5)
    fwd = cls(4, return_sequences=True, seed=5)
    assert_allclose(back(x), fwd(x[:, ::-1]), atol=ATOL)


def test_initial_state_sets_the_state():
    x = sample(4)
    layer = layers.SimpleRNN(3, return_sequences=True, seed=0)
    h0 = np.random.default_rng(0).normal(size=(3, 3)).astype("float32")
    seq = layer(x, initial_state=[h0])
    k, u, b = layer.get_weights()
    assert_allclose(seq[:, 0], np.tanh(x[:, 0] @ k + h0 @ u + b), atol=ATOL)


# --- the cell protocol: any object with state_size and call drives RNN ---------------

class MinimalCell:
    """A student's cell: no base class, only state_size and call."""

    def __init__(self, kernel, recurrent_kernel, bias):
        self.kernel, self.recurrent_kernel, self.bias = kernel, recurrent_kernel, bias
        self.state_size = kernel.shape[1]

    def call(self, x_t, states):
        h = np.tanh(x_t @ self.kernel + states[0] @ self.recurrent_kernel + self.bias)
        return h, [h]


def test_a_students_cell_drives_rnn_like_simple_rnn():
    x = sample(5)
    ref = layers.SimpleRNN(4, return_sequences=True, return_state=True, go_backwards=True, seed=2)
    expected = ref(x)
    mine = layers.RNN(MinimalCell(*ref.get_weights()), return_sequences=True,
                      return_state=True, go_backwards=True)
    for a, b in zip(mine(x), expected):
        assert_allclose(a, b, atol=ATOL)
    assert mine.compute_output_shape((None, 5, 2)) == ((None, 5, 4), (None, 4))


def test_a_students_cell_receives_its_states_as_a_tuple_as_in_keras():
    """Keras 3 hands a cell's call a tuple of states (one state or several)."""
    seen = []

    class Recording(MinimalCell):
        def call(self, x_t, states):
            seen.append(type(states))
            return super().call(x_t, states)

    layers.RNN(Recording(np.zeros((2, 4)), np.zeros((4, 4)), np.zeros(4)))(sample(timesteps=3))
    assert seen == [tuple] * 3    # one call a timestep


def test_a_cell_returning_wrong_shapes_is_told():
    class Bad(MinimalCell):
        def call(self, x_t, states):
            return x_t, states

    with pytest.raises(ValueError, match=r"returned an output of shape \(3, 2\).*expected \(3, 4\)"):
        layers.RNN(Bad(np.zeros((2, 4)), np.zeros((4, 4)), np.zeros(4)))(sample())


def test_rnn_refuses_a_non_cell():
    with pytest.raises(TypeError, match="state_size"):
        layers.RNN(object())


@pytest.mark.parametrize("cell_cls", CELL_CLASSES, ids=lambda c: c.__name__)
def test_every_cell_keeps_the_contract(cell_cls):
    """call(x_t, states) -> (output (batch, units), states matching state_size), and RNN agrees."""
    cell = cell_cls(3, seed=0)
    sizes = cell.state_size if isinstance(cell.state_size, list) else [cell.state_size]
    x = sample(6, timesteps=4)
    cell.build((None, 2))
    states = [np.zeros((3, s), "float32") for s in sizes]
    outputs = []
    for t in range(4):
        out, states = cell.call(x[:, t], states)
        assert out.shape == (3, cell.output_size)
        assert [s.shape for s in states] == [(3, s) for s in sizes]
        outputs.append(out)
    layer = layers.RNN(cell, return_sequences=True)
    assert_allclose(layer(x), np.stack(outputs, axis=1), atol=ATOL)
    assert "units=3" in repr(cell) and cell_cls.__name__ in repr(cell)
    assert [w.shape[0] for w in cell.weights[:1]] == [2]


@pytest.mark.parametrize("name,cls", RNN_LAYERS.items(), ids=list(RNN_LAYERS))
def test_seed_makes_layers_reproducible(name, cls):
    a, b = cls(3, seed=7), cls(3, seed=7)
    x = sample()
    assert_allclose(a(x), b(x), atol=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert_allclose(wa, wb, atol=0)


def test_initialisers_follow_keras():
    layer = layers.LSTM(8, seed=0)
    layer(sample(features=4))
    kernel, recurrent, bias = layer.get_weights()
    limit = np.sqrt(6 / (4 + 32))
    assert np.abs(kernel).max() <= limit
    assert_allclose(recurrent @ recurrent.T, np.eye(8), atol=1e-5)   # orthogonal rows
    assert_allclose(bias, np.r_[np.zeros(8), np.ones(8), np.zeros(16)])  # unit forget bias


def test_float64_for_gradient_checks():
    rl.set_floatx("float64")
    try:
        layer = layers.GRU(2)
        out = layer(sample())
        assert out.dtype == np.float64 and layer.get_weights()[0].dtype == np.float64
    finally:
        rl.set_floatx("float32")
    assert layers.GRU(2)(sample()).dtype == np.float32


def test_reprs_are_informative():
    assert "return_sequences=True" in repr(layers.GRU(2, return_sequences=True))
    assert "(None, 2, 1)" in repr(rl.Input(shape=(2, 1)))
    assert "merge_mode='sum'" in repr(layers.Bidirectional(layers.LSTM(2), merge_mode="sum"))


def test_sequential_layers_leave_out_the_input_and_functional_keeps_it():
    seq = rl.Sequential([rl.Input(shape=(2, 1)), layers.SimpleRNN(10)])
    assert [type(layer).__name__ for layer in seq.layers] == ["SimpleRNN"]
    x = rl.Input(shape=(2, 1))
    model = rl.Model(x, layers.SimpleRNN(10)(x))
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "SimpleRNN"]
    lazy = rl.Sequential([layers.LSTM(3, return_sequences=True), layers.Dense(2)])
    assert lazy(sample()).shape == (3, 5, 2)


def test_import_needs_only_numpy_and_viz_loads_on_use():
    import subprocess
    import sys
    code = ("import sys, rnnlib as rl; assert 'matplotlib' not in sys.modules; "
            "assert 'ipywidgets' not in sys.modules; rl.widgets; rl.viz; "
            "assert 'ipywidgets' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_empty_sequential_explains_that_it_has_no_input():
    with pytest.raises(ValueError, match=r"rl.Input\(shape=...\)"):
        rl.Sequential().input_shape
    with pytest.raises(ValueError, match="no input yet"):
        rl.Sequential([layers.Dense(2)]).output_shape


def test_a_subclass_that_overrides_call_is_run_as_written():
    class Silent(layers.SimpleRNNCell):
        def call(self, x_t, states):
            return 0 * states[0], [0 * states[0]]

    assert_allclose(layers.RNN(Silent(3, seed=0))(sample()), 0, atol=0)


@pytest.mark.parametrize("merge", [layers.add, lambda xs: layers.Add()(xs)], ids=["add", "Add"])
def test_the_add_warning_points_at_the_learners_line(merge):
    with pytest.warns(UserWarning) as record:
        merge([rl.Input((16,)), rl.Input((32, 16))])
    assert record[0].filename == __file__

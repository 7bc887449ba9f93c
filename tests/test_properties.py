"""Property tests: random bad shapes get a teaching ValueError/TypeError, never a crash.

Whatever shapes come in, rnnlib either computes an output of the shape it inferred
or raises ValueError/TypeError naming what it received - never an IndexError or a
NumPy broadcasting error from deep inside.
"""
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlib as rl
from rnnlib import layers
from rnnlib.engine import fmt_shape

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
dims = st.integers(min_value=0, max_value=5)
shapes = st.lists(dims, min_size=0, max_size=5).map(tuple)
RNNS = [layers.SimpleRNN, layers.GRU, layers.LSTM]


def assert_teaching_error(exc, *received):
    assert isinstance(exc, (ValueError, TypeError)), f"{type(exc).__name__}: {exc}"
    msg = str(exc)
    assert "received" in msg.lower(), msg
    tokens = [str(r) if isinstance(r, int) else fmt_shape(r) for r in received]
    assert any(t in msg for t in tokens), f"none of {tokens} named in: {msg}"


@SETTINGS
@given(cls=st.sampled_from(RNNS), shape=shapes, units=st.integers(1, 4),
       flags=st.fixed_dictionaries({"return_sequences": st.booleans(),
                                    "return_state": st.booleans(),
                                    "go_backwards": st.booleans()}))
def test_any_input_shape(cls, shape, units, flags):
    layer = cls(units, **flags)
    try:
        out = layer(np.zeros(shape, "float32"))
    except Exception as exc:  # noqa: BLE001 - the property is about the type
        assert_teaching_error(exc, shape)
        return
    assert len(shape) == 3 and shape[1] > 0
    want = layer.compute_output_shape(shape)
    got = tuple(o.shape for o in out) if isinstance(out, tuple) else out.shape
    assert got == want


@SETTINGS
@given(cls=st.sampled_from(RNNS), state_shapes=st.lists(shapes, min_size=0, max_size=3),
       mask_shape=st.one_of(st.none(), shapes), built_features=st.integers(1, 3))
def test_any_states_and_masks(cls, state_shapes, mask_shape, built_features):
    layer = cls(3)
    layer(np.zeros((2, 4, built_features), "float32"))
    x = np.zeros((2, 4, built_features), "float32")
    kwargs = {"initial_state": [np.zeros(s, "float32") for s in state_shapes] or None}
    if mask_shape is not None:
        kwargs["mask"] = np.ones(mask_shape, bool)
    try:
        layer(x, **kwargs)
    except Exception as exc:  # noqa: BLE001
        assert_teaching_error(exc, len(state_shapes), *state_shapes,
                              *([mask_shape] if mask_shape is not None else []))


@SETTINGS
@given(a=shapes, b=shapes)
def test_add_any_two_shapes(a, b):
    x, y = np.ones(a, "float32"), np.ones(b, "float32")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = layers.add([x, y])
    except Exception as exc:  # noqa: BLE001
        assert_teaching_error(exc, a, b)
        return
    assert out.shape == layers.Add().compute_output_shape([a, b])


@SETTINGS
@given(a=shapes, b=shapes, axis=st.integers(-3, 3))
def test_concatenate_any_two_shapes(a, b, axis):
    try:
        out = layers.concatenate([np.ones(a), np.ones(b)], axis=axis)
    except Exception as exc:  # noqa: BLE001
        assert_teaching_error(exc, a, b)
        return
    assert out.ndim == len(a) == len(b)


@SETTINGS
@given(shape=shapes, target=st.lists(st.integers(-1, 6), min_size=1, max_size=3).map(tuple))
def test_reshape_any_target(shape, target):
    try:
        out = layers.Reshape(target)(np.zeros(shape))
    except Exception as exc:  # noqa: BLE001
        assert_teaching_error(exc, shape, target)
        return
    assert out.shape[0] == shape[0] and out.size == int(np.prod(shape))


@SETTINGS
@given(shape=shapes)
def test_symbolic_and_eager_agree(shape):
    """Shape inference and computation take the same branches: same error or same shape."""
    def run(x):
        try:
            return layers.LSTM(2, return_sequences=True, seed=0)(x)
        except (ValueError, TypeError) as exc:
            return type(exc)
    symbolic = run(rl.Input(shape=shape[1:])) if len(shape) >= 1 else None
    eager = run(np.zeros(shape, "float32"))
    if symbolic is None or isinstance(eager, type):
        return
    assert not isinstance(symbolic, type)
    assert symbolic.shape[1:] == eager.shape[1:]


# --- training: any targets, any loss - a teaching error or a finite loss ---------------------

LOSSES = ["mse", "mae", "binary_crossentropy", "categorical_crossentropy",
          "sparse_categorical_crossentropy"]


def _small_model(sequences, units):
    x = rl.Input(shape=(3, 2))
    h = layers.SimpleRNN(4, return_sequences=sequences, seed=0)(x)
    return rl.Model(x, layers.Dense(units, activation="softmax" if units > 1 else "sigmoid")(h))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequences=st.booleans(), units=st.integers(1, 3), loss=st.sampled_from(LOSSES),
       target_shape=st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple),
       values=st.sampled_from(["probabilities", "labels", "big labels", "negative"]))
def test_bad_targets_always_get_a_teaching_error(sequences, units, loss, target_shape, values):
    """fit/train_on_batch with random target shapes and values: either it trains (a finite
    loss) or it raises ValueError/TypeError naming what it received - never a NumPy error."""
    model = _small_model(sequences, units)
    model.compile(optimizer="sgd", loss=loss)
    x = np.zeros((4, 3, 2), "float32")
    rng = np.random.default_rng(0)
    y = {"probabilities": rng.uniform(size=target_shape),
         "labels": rng.integers(0, max(units, 1), size=target_shape),
         "big labels": rng.integers(5, 9, size=target_shape),
         "negative": -rng.integers(1, 3, size=target_shape)}[values]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loss_value = model.train_on_batch(x, y)
    except Exception as exc:  # noqa: BLE001 - the property is about the type
        assert isinstance(exc, (ValueError, TypeError)), f"{type(exc).__name__}: {exc}"
        msg = str(exc)
        assert any(w in msg for w in (fmt_shape(target_shape), "samples", "label")), msg
        return
    assert np.isfinite(loss_value) or values == "negative"

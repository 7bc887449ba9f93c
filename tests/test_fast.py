"""rnnlib.fast: the fused loops equal the cells' plain equations, and leave the cells alone."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

import rnnlib as rl
from rnnlib import fast, layers

FUSED = {"GRU": (layers.GRU, layers.GRUCell), "LSTM": (layers.LSTM, layers.LSTMCell)}


def sample(seed=0, batch=3, timesteps=5, features=2):
    return np.random.default_rng(seed).normal(size=(batch, timesteps, features)).astype("float32")


def _unroll_calls(monkeypatch):
    """Record the cells fast.unroll ran (it still runs), and which of them it fused."""
    calls = []
    original = fast.unroll

    def counted(cell, xs, states, sequences=True):
        result = original(cell, xs, states, sequences)
        calls.append((type(cell).__name__, result is not None))
        return result
    monkeypatch.setattr(fast, "unroll", counted)
    return calls


# --- the cells' step is the plain equations, with nothing left behind by call ---------

def _gru_step_by_the_docstring(cell, x_t, h_tm1):
    """GRU's module docstring, reset_after=True, Keras's z|r|h, in float64."""
    k, rk, b = (np.asarray(w, np.float64) for w in cell.weights)
    u = cell.units
    sig = lambda a: 1 / (1 + np.exp(-a))                   # noqa: E731
    xp, inner = x_t @ k + b[0], h_tm1 @ rk + b[1]
    z = sig(xp[:, :u] + inner[:, :u])
    r = sig(xp[:, u:2 * u] + inner[:, u:2 * u])
    hh = np.tanh(xp[:, 2 * u:] + r * inner[:, 2 * u:])
    return z * h_tm1 + (1 - z) * hh


def test_gru_step_after_call_equals_step_on_a_fresh_cell():
    """project and step hold no hidden state: a call (which used to leave halved recurrent
    weights behind for step) changes nothing about the next plain step."""
    rng = np.random.default_rng(3)
    used, fresh = (layers.GRUCell(4, seed=1) for _ in range(2))
    for cell in (used, fresh):
        cell.build((None, 3))
        cell.bias[...] = rng.normal(size=cell.bias.shape)  # non-zero biases, both rows
    fresh.bias[...] = used.bias
    x, h = rng.normal(size=(2, 3)).astype("float32"), rng.normal(size=(2, 4)).astype("float32")
    used.call(x, [h])                                      # anything call may leave behind
    xp = x @ used.kernel + used.bias[0]                    # the input part, by hand
    after_call, _ = used.step(xp, [h])
    on_fresh, _ = fresh.step(xp, [h])
    assert_allclose(after_call, on_fresh, rtol=0, atol=1e-7)
    assert_allclose(after_call, _gru_step_by_the_docstring(used, x, h), atol=1e-6)


@pytest.mark.parametrize("name", FUSED)
def test_running_a_layer_keeps_nothing_on_its_cell(name):
    layer = FUSED[name][0](4, seed=0)
    before = set(vars(layer.cell)) | {"kernel", "recurrent_kernel", "bias", "built"}
    layer(sample())
    layer(sample(), mask=np.ones((3, 5), bool))
    assert set(vars(layer.cell)) <= before


# --- the fused loops against stepping -------------------------------------------------

@pytest.mark.parametrize("floatx", ["float32", "float64"])
@pytest.mark.parametrize("start", ["zeros", "initial_state", "stateful"])
@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "backwards"])
@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last"])
@pytest.mark.parametrize("batch", [1, 3], ids=["batch1", "batch3"])
@pytest.mark.parametrize("name", FUSED)
def test_fused_loop_equals_the_step_loop(monkeypatch, name, batch, sequences, go_backwards,
                                         use_bias, start, floatx):
    """Without a mask GRU and LSTM run fast.unroll; an all-True mask makes RNN step
    through cell.step instead.  Both must give the same outputs and states."""
    layer_cls, _ = FUSED[name]
    calls = _unroll_calls(monkeypatch)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(batch, 6, 3))
    h0 = list(rng.normal(size=(2 if name == "LSTM" else 1, batch, 5)))   # [h0, c0] or [h0]
    rl.set_floatx(floatx)
    try:
        def run(mask):
            layer = layer_cls(5, return_sequences=sequences, return_state=True, use_bias=use_bias,
                              go_backwards=go_backwards, stateful=start == "stateful", seed=2)
            layer.build((batch, 6, 3))
            if use_bias:                                   # non-zero biases, both rows for GRU
                layer.cell.bias[...] = np.random.default_rng(9).normal(size=layer.cell.bias.shape)
            kwargs = {"initial_state": h0} if start == "initial_state" else {}
            first = tuple(layer(x, mask=mask, **kwargs))
            if start != "stateful":
                return first
            return first + tuple(layer(x[:, :4], mask=None if mask is None else mask[:, :4]))
        fused = run(None)
        stepped = run(np.ones(x.shape[:2], bool))
    finally:
        rl.set_floatx("float32")
    assert calls and all(ran for _, ran in calls), "the fused loop did not run"
    tol = 1e-12 if floatx == "float64" else 1e-6
    for a, b in zip(fused, stepped):
        assert a.dtype == b.dtype == np.dtype(floatx)
        assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", FUSED)
def test_fused_loop_only_for_the_default_maths(monkeypatch, name):
    layer_cls, _ = FUSED[name]
    calls = _unroll_calls(monkeypatch)
    x = sample(4)
    layer_cls(3, activation="relu", seed=0)(x)            # other activations: step by step
    layer_cls(3, recurrent_activation="hard_sigmoid", seed=0)(x)
    if name == "GRU":
        layers.GRU(3, reset_after=False, seed=0)(x)       # reset before: step by step
    layers.SimpleRNN(3, seed=0)(x)                        # no fused loop for SimpleRNN
    assert not any(ran for _, ran in calls)
    layer_cls(3, seed=0)(x, mask=np.ones((3, 5), bool))   # a mask: not even tried
    assert len(calls) == 3 + (name == "GRU")
    layer_cls(3, seed=0)(x)
    assert calls[-1] == (f"{name}Cell", True)


@pytest.mark.parametrize("method", ["step", "project", "call"])
@pytest.mark.parametrize("name", FUSED)
def test_a_subclass_that_changes_the_maths_steps_as_written(name, method):
    class Variant(FUSED[name][1]):                         # a student's variant
        pass

    original = getattr(Variant, method)
    if method == "project":
        setattr(Variant, method, lambda self, x: 0 * original(self, x))
    else:
        def zeroed(self, *args):
            h, new_states = original(self, *args)
            return 0 * h, [0 * s for s in new_states]
        setattr(Variant, method, zeroed)
    cell = Variant(3, seed=0)
    x = sample()
    assert fast.unroll(cell, x.transpose(1, 0, 2), [np.zeros((3, 3), "float32")] * 2) is None
    out = layers.RNN(cell)(x)
    if method != "project":
        assert_allclose(out, 0, atol=0)


@pytest.mark.parametrize("name", FUSED)
def test_a_subclass_with_the_same_maths_is_still_fused(name):
    class Named(FUSED[name][1]):
        """Only a new name."""

    cell = Named(3, seed=0)
    cell.build((None, 2))
    xs, states = sample().transpose(1, 0, 2), [np.zeros((3, 3), "float32")] * 2
    assert fast.unroll(cell, xs, states) is not None


@pytest.mark.parametrize("batch,units", [(3, 4), (1, 4), (3, 1)], ids=str)
@pytest.mark.parametrize("name", FUSED)
def test_fused_loop_reuses_work_arrays_but_never_returns_them(name, batch, units):
    layer = FUSED[name][0](units, return_sequences=True, return_state=True, seed=0)
    first = layer(sample(5, batch=batch))
    kept = [a.copy() for a in first]
    layer(sample(6, batch=batch))                          # same shapes: the work arrays are reused
    work = fast._SCRATCH[layer.cell]
    assert set(work) == {"x1", "xp", "hs"}
    for mine, before in zip(first, kept):
        assert_allclose(mine, before, atol=0)              # the first results did not change
        assert not any(np.shares_memory(mine, w) for w in work.values())
    layer(sample(6, batch=2, timesteps=7))                 # new shapes: new work arrays
    assert fast._SCRATCH[layer.cell]["xp"].shape == (7, layer.cell.gates * units, 2)


def test_work_arrays_go_with_their_cell():
    layer = layers.LSTM(3, seed=0)
    layer(sample())
    assert layer.cell in fast._SCRATCH
    n = len(fast._SCRATCH)
    del layer
    import gc
    gc.collect()
    assert len(fast._SCRATCH) == n - 1

"""rnnlib.fast: the fused loops equal the cells' plain equations, and leave the cells alone."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

import rnnlib as rl
from rnnlib import fast, layers
from rnnlib.gradcheck import numerical_gradient

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
    import gc
    gc.collect()                # earlier tests' dead cells leave first, so only this one is counted
    layer = layers.LSTM(3, seed=0)
    layer(sample())
    assert layer.cell in fast._SCRATCH
    n = len(fast._SCRATCH)
    del layer
    gc.collect()
    assert len(fast._SCRATCH) == n - 1


# --- training: unroll_train / unroll_backward against central differences and torch ----

TRAINED = {"SimpleRNN": layers.SimpleRNNCell, "GRU": layers.GRUCell, "LSTM": layers.LSTMCell}


def _cell(name, units=3, features=2, use_bias=True, dtype="float64", seed=0):
    rl.set_floatx(dtype)
    try:
        cell = TRAINED[name](units, use_bias=use_bias, seed=seed)
        cell.build((None, features))
    finally:
        rl.set_floatx("float32")
    rng = np.random.default_rng(seed + 1)
    for w in cell.weights:                                 # weights of the size training meets
        w[...] = rng.normal(scale=0.6, size=w.shape)
    return cell


def _problem(cell, timesteps=4, batch=2, seed=5):
    """Inputs, initial states, and the weights of a linear loss on outputs and last states."""
    rng = np.random.default_rng(seed)
    dtype = cell.kernel.dtype
    n_states = len(np.atleast_1d(cell.state_size))
    xs = rng.normal(size=(timesteps, batch, cell.kernel.shape[0])).astype(dtype)
    states = [rng.normal(size=(batch, cell.units)).astype(dtype) for _ in range(n_states)]
    r_out = rng.normal(size=(timesteps, batch, cell.units)).astype(dtype)
    r_last = [rng.normal(size=(batch, cell.units)).astype(dtype) for _ in range(n_states)]
    return xs, states, r_out, r_last


def _stepped_loss(cell, xs, states, r_out, r_last, nudge=None):
    """The loss sum(outputs * r_out) + sum(last_states * r_last), stepping through cell.call
    (the plain equations).  nudge=(t, index, eps) adds eps to h_t[index] right after step t."""
    states, loss = list(states), 0.0
    for t in range(len(xs)):
        h, states = cell.call(xs[t], states)
        if nudge is not None and nudge[0] == t:
            h = h.copy()
            h[nudge[1]] += nudge[2]
            states = [h] + list(states[1:])
        loss += np.sum(h * r_out[t])
    return loss + sum(np.sum(s * r) for s, r in zip(states, r_last))


def _fast_grads(cell, xs, states, r_out, r_last):
    outputs, last, tape = fast.unroll_train(cell, xs, states)
    return outputs, last, fast.unroll_backward(cell, tape, r_out, r_last)


@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("name", TRAINED)
def test_unroll_train_gives_the_step_loops_outputs(name, use_bias):
    cell = _cell(name, use_bias=use_bias)
    xs, states, _, _ = _problem(cell)
    outputs, last, _ = fast.unroll_train(cell, xs, states)
    s = list(states)
    for t in range(len(xs)):
        h, s = cell.call(xs[t], s)
        assert_allclose(outputs[t], h, rtol=1e-12, atol=1e-12)
    for a, b in zip(last, s):
        assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("name", TRAINED)
def test_unroll_backward_equals_central_differences(name, use_bias):
    """float64: every gradient within 1e-6 (relative) of central differences of the plain
    step loop's loss."""
    cell = _cell(name, use_bias=use_bias)
    xs, states, r_out, r_last = _problem(cell)
    _, _, (d_xs, d_states, d_weights, d_h) = _fast_grads(cell, xs, states, r_out, r_last)

    def loss():
        return _stepped_loss(cell, xs, states, r_out, r_last)
    expected = ([numerical_gradient(loss, xs)], [numerical_gradient(loss, s) for s in states],
                [numerical_gradient(loss, w) for w in cell.weights])
    for got, want in zip(([d_xs], d_states, d_weights), expected):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            assert_allclose(g, w, rtol=1e-6, atol=1e-8)
    want_h = np.zeros_like(d_h)                            # the total dL/dh_t
    for t, b, j in np.ndindex(d_h.shape):
        up = _stepped_loss(cell, xs, states, r_out, r_last, nudge=(t, (b, j), 1e-6))
        down = _stepped_loss(cell, xs, states, r_out, r_last, nudge=(t, (b, j), -1e-6))
        want_h[t, b, j] = (up - down) / 2e-6
    assert_allclose(d_h, want_h, rtol=1e-6, atol=1e-8)


def _torch_twin(torch, name, cell):
    """A torch.nn RNN/GRU/LSTM with the cell's weights, and a map of its gradients back
    to the cell's weights (Keras gate order)."""
    kernel, recurrent, bias = cell.weights
    u = cell.units
    net = {"SimpleRNN": torch.nn.RNN, "GRU": torch.nn.GRU, "LSTM": torch.nn.LSTM}[name](
        kernel.shape[0], u, dtype=torch.float64)
    order = np.r_[u:2 * u, 0:u, 2 * u:3 * u] if name == "GRU" else np.arange(kernel.shape[1])
    b_ih, b_hh = (bias[0], bias[1]) if name == "GRU" else (bias, np.zeros_like(bias))
    with torch.no_grad():
        for param, value in ((net.weight_ih_l0, kernel[:, order].T), (net.bias_ih_l0, b_ih[order]),
                             (net.weight_hh_l0, recurrent[:, order].T), (net.bias_hh_l0, b_hh[order])):
            param.copy_(torch.from_numpy(np.ascontiguousarray(value)))

    def keras_grads():
        g = {k: getattr(net, k).grad.numpy() for k in ("weight_ih_l0", "weight_hh_l0",
                                                        "bias_ih_l0", "bias_hh_l0")}
        back = np.argsort(order)                           # torch columns -> Keras columns
        d_bias = (np.stack([g["bias_ih_l0"][back], g["bias_hh_l0"][back]]) if name == "GRU"
                  else g["bias_ih_l0"][back])
        return [g["weight_ih_l0"].T[:, back], g["weight_hh_l0"].T[:, back], d_bias]
    return net, keras_grads


@pytest.mark.parametrize("name", TRAINED)
def test_unroll_backward_equals_torch_autograd(name):
    torch = pytest.importorskip("torch")
    cell = _cell(name, units=4, features=3)
    xs, states, r_out, r_last = _problem(cell, timesteps=6, batch=3)
    _, _, (d_xs, d_states, d_weights, _) = _fast_grads(cell, xs, states, r_out, r_last)
    net, keras_grads = _torch_twin(torch, name, cell)
    x = torch.from_numpy(xs).requires_grad_()
    s0 = [torch.from_numpy(s[None].copy()).requires_grad_() for s in states]
    out, last = net(x, (s0[0], s0[1]) if name == "LSTM" else s0[0])
    last = list(last) if name == "LSTM" else [last]
    loss = (out * torch.from_numpy(r_out)).sum() + sum(
        (s[0] * torch.from_numpy(r)).sum() for s, r in zip(last, r_last))
    loss.backward()
    assert_allclose(d_xs, x.grad.numpy(), rtol=1e-10, atol=1e-12)
    for mine, theirs in zip(d_states, s0):
        assert_allclose(mine, theirs.grad.numpy()[0], rtol=1e-10, atol=1e-12)
    for mine, theirs in zip(d_weights, keras_grads()):
        assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", TRAINED)
def test_training_path_in_float32_stays_close_to_float64(name):
    cell64 = _cell(name, units=8, features=5)
    cell32 = _cell(name, units=8, features=5, dtype="float32")
    for w32, w64 in zip(cell32.weights, cell64.weights):
        w32[...] = w64
    xs, states, r_out, r_last = _problem(cell64, timesteps=12, batch=4)
    as32 = lambda a: a.astype("float32")                  # noqa: E731
    want = _fast_grads(cell64, xs, states, r_out, r_last)
    got = _fast_grads(cell32, as32(xs), [as32(s) for s in states], as32(r_out),
                      [as32(r) for r in r_last])
    assert got[0].dtype == np.float32 and got[2][0].dtype == np.float32
    assert_allclose(got[0], want[0], atol=1e-5)
    d_got, d_want = got[2], want[2]
    for g, w in zip([d_got[0], *d_got[1], *d_got[2], d_got[3]],
                    [d_want[0], *d_want[1], *d_want[2], d_want[3]]):
        assert_allclose(g, w, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", TRAINED)
def test_no_gradient_from_outside_gives_zero_gradients(name):
    cell = _cell(name)
    xs, states, r_out, _ = _problem(cell)
    _, _, tape = fast.unroll_train(cell, xs, states)
    d_xs, d_states, d_weights, d_h = fast.unroll_backward(cell, tape, None, [None])
    for g in [d_xs, d_h, *d_states, *d_weights]:
        assert_allclose(g, 0, atol=0)


def test_a_tape_serves_one_backward_pass():
    cell = _cell("LSTM")
    xs, states, r_out, r_last = _problem(cell)
    _, _, tape = fast.unroll_train(cell, xs, states)
    fast.unroll_backward(cell, tape, r_out, r_last)
    with pytest.raises(RuntimeError, match="Run unroll_train again"):
        fast.unroll_backward(cell, tape, r_out, r_last)


def test_unroll_train_leaves_the_callers_arrays_alone():
    cell = _cell("GRU")
    xs, states, r_out, r_last = _problem(cell)
    kept = [a.copy() for a in (xs, *states, r_out, *r_last, *cell.weights)]
    _fast_grads(cell, xs, states, r_out, r_last)
    for a, b in zip((xs, *states, r_out, *r_last, *cell.weights), kept):
        assert_allclose(a, b, atol=0)


@pytest.mark.parametrize("make", [
    lambda: layers.SimpleRNNCell(3, activation="relu"),
    lambda: layers.GRUCell(3, reset_after=False),
    lambda: layers.GRUCell(3, recurrent_activation="hard_sigmoid"),
    lambda: layers.LSTMCell(3, activation="relu"),
    lambda: type("Variant", (layers.LSTMCell,), {"step": lambda self, xp, s: layers.LSTMCell.step(self, xp, s)})(3),
], ids=["simple_relu", "gru_reset_before", "gru_hard_sigmoid", "lstm_relu", "lstm_subclass_step"])
def test_no_training_fast_path_for_other_maths(make):
    cell = make()
    cell.build((None, 2))
    xs = sample().transpose(1, 0, 2)
    assert fast.unroll_train(cell, xs, [np.zeros((3, 3), "float32")] * 2) is None


@pytest.mark.parametrize("name", TRAINED)
def test_a_first_layer_may_skip_the_input_gradient(name):
    cell = _cell(name)
    xs, states, r_out, r_last = _problem(cell)
    _, _, full = _fast_grads(cell, xs, states, r_out, r_last)
    _, _, tape = fast.unroll_train(cell, xs, states)
    d_xs, d_states, d_weights, d_h = fast.unroll_backward(cell, tape, r_out, r_last, d_inputs=False)
    assert d_xs is None
    for a, b in zip([*d_states, *d_weights, d_h], [*full[1], *full[2], full[3]]):
        assert_allclose(a, b, atol=0)


# --- benchmarks/train.py still runs and prints every column (no timing asserted) ------

def test_the_training_benchmark_runs_and_prints_every_column():
    import os
    import subprocess
    import sys
    from pathlib import Path
    pytest.importorskip("torch")
    pytest.importorskip("keras")
    run = subprocess.run(
        [sys.executable, "benchmarks/train.py", "--quick", "--rounds", "1", "--repeats", "1",
         "--settle", "0"], cwd=Path(__file__).resolve().parents[1], capture_output=True,
        text=True, timeout=900, env={**os.environ, "KERAS_BACKEND": "torch"})
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    headers = [line for line in lines if line.startswith("cell")]
    assert len(headers) == 2, run.stdout                   # the step table, the fit table
    for column in ("rnnlib ms", "torch ms", "keras ms", "GEMMs ms", "rnnlib/torch",
                   "rnnlib/keras", "GEMMs/torch", "cache MiB", "peak MiB", "path"):
        assert column in headers[0]
    for column in ("rnnlib s", "torch s", "keras s", "rnnlib/torch", "rnnlib/keras", "path"):
        assert column in headers[1]
    rows = [line.split() for line in lines if line.split()[:1] in (["SimpleRNN"], ["GRU"], ["LSTM"])]
    assert [row[0] for row in rows] == ["SimpleRNN", "GRU", "LSTM"] * 2
    for row in rows[:3]:
        figures = [float(v) for v in row[-10:-1]]          # 4 times, 3 ratios, 2 sizes in MiB
        assert all(v > 0 for v in figures[:4]) and all(v >= 0 for v in figures), row
        assert row[-1] in ("public", "by-hand"), row
    for row in rows[3:]:
        figures = [float(v) for v in row[1:6]]             # 3 times in seconds, 2 ratios
        assert all(v > 0 for v in figures[:3]) and all(v >= 0 for v in figures), row


@pytest.mark.parametrize("name", TRAINED)
def test_a_dead_tapes_arrays_are_reused_and_nothing_returned_changes(name):
    """After its backward pass a tape is dead, and the next training forward of the same cell
    reuses its arrays - never those of a live tape, and never memory it returned."""
    cell = _cell(name)
    xs, states, r_out, r_last = _problem(cell)
    out1, last1, tape1 = fast.unroll_train(cell, xs, states)
    _, _, live = fast.unroll_train(cell, xs, states)       # tape1 is alive: fresh arrays
    assert not any(np.shares_memory(a, b) for a in tape1.arrays.values()
                   for b in live.arrays.values() if a.ndim > 1 and b.ndim > 1)
    grads1 = fast.unroll_backward(cell, tape1, r_out, r_last)
    fast.unroll_backward(cell, live, r_out, r_last)
    first = [out1, *last1, grads1[0], *grads1[1], *grads1[2], grads1[3]]
    kept = [a.copy() for a in first]
    _, _, tape3 = fast.unroll_train(cell, xs + 1, states)  # the last tape is dead: reused
    assert np.shares_memory(tape3.arrays["A"], live.arrays["A"])
    fast.unroll_backward(cell, tape3, 2 * r_out, r_last)
    for a, b in zip(first, kept):
        assert_allclose(a, b, atol=0)

"""The checks of ps07_bptt, without nbgrader.

The reference solution comes from the instructor notebook (solution cells with their markers
removed), the wrong ones from tests/submissions/ps07_bptt.py; each test cell (visible and
hidden checks) runs in a plain namespace, as the kernel would run it, and earns its points
when it raises nothing.  tests/test_nbgrader_pipeline.py confirms the scores with nbgrader.

    .venv/bin/python -m pytest tests/test_autograded_ps07.py -q
"""
import copy
import functools

import nbformat
import numpy as np
import pytest

import nbgrader_harness as h
import rnnlib as rl
from autograded_tests import common, ps07_bptt
from autograded_tests.common import float64, reference_layer
from submissions import ps07_bptt as sub

AID = "ps07_bptt"
NOTEBOOK = nbformat.read(str(h.REPO / "source" / AID / f"{AID}.ipynb"), as_version=4)
CHECKS = {"rnn_step_backward": [ps07_bptt.check_rnn_step_backward],
          "rnn_backward": [ps07_bptt.check_rnn_backward,
                           functools.partial(ps07_bptt.check_rnn_backward, return_sequences=False)],
          "lstm_step_backward": [ps07_bptt.check_lstm_step_backward]}


def namespace(cells=None):
    """The notebook's code cells run except the test cells; ``cells`` replaces solutions."""
    return h.run_code_cells(NOTEBOOK, cells)


def run_tests(ns, part=None):
    """{test grade_id: (points, message or None)} (see nbgrader_harness.run_test_cells)."""
    return h.run_test_cells(NOTEBOOK, ns, part)


score = h.score


@functools.lru_cache(maxsize=None)
def reference():
    return namespace()


# --- the notebook ---------------------------------------------------------------------------

def test_reference_passes_every_check():
    results = run_tests(reference())
    assert {k: m for k, (_, m) in results.items() if m} == {}
    assert score(results) == sub.AUTOGRADED_POINTS == sum(h.test_points(NOTEBOOK).values())


def _release():
    from nbgrader.preprocessors import ClearSolutions
    nb, _ = ClearSolutions().preprocess(copy.deepcopy(NOTEBOOK), {})
    return nb


def test_untouched_release_fails_every_check():
    release = _release()
    stubs = {h.nbgrader_meta(c)["grade_id"]: c.source for c in release.cells if h.is_solution_code(c)}
    assert all("raise NotImplementedError()" in s for s in stubs.values()), stubs
    results = run_tests(namespace(stubs))
    assert all(m and "not implemented yet" in m for _, m in results.values()), results
    assert score(results) == 0


def test_points_add_up_in_headings():
    parts = h.part_points(NOTEBOOK)
    assert list(parts) == ["## Part A (3 points)", "## Part B (5 points)", "## Part C (4 points)"]
    for heading, points in parts.items():
        assert heading.endswith(f"({points} points)"), (heading, points)


def test_notebook_is_committed_clean_with_stable_ids_and_links():
    h.assert_clean_assignment(NOTEBOOK, suffixed_tests=True)
    text = "\n".join(c.source for c in NOTEBOOK.cells)
    for link in ("../../course/09_backpropagation_through_time.ipynb",
                 "../../course/02_the_recurrent_cell.ipynb", "under 20 seconds"):
        assert link in text
    assert (h.REPO / "course" / "02_the_recurrent_cell.ipynb").exists()


# --- the misconception variants ----------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(sub.VARIANTS))
def test_variant_scores_and_names_its_misconception(name):
    spec = sub.VARIANTS[name]
    ns = namespace(spec["cells"])
    results = run_tests(ns)
    messages = "\n".join(m for _, m in results.values() if m)
    for phrase in spec["feedback"]:
        assert phrase in messages
    assert score(results) == spec["score"], results
    for _, message in results.values():           # the misconception's line comes first
        assert message is None or "Misconception:" not in message or message.startswith("Misconception:")
    # the hidden checks, on their own shapes, name the same misconceptions
    hidden = "\n".join(m for _, m in run_tests(ns, "hidden").values() if m)
    for phrase in spec["feedback"]:
        if phrase.startswith("Misconception:"):
            assert phrase in hidden, hidden


REQUIRED = {   # issue 9's misconceptions: the variant that shows each one
    "weight gradients not summed over timesteps": "weights_not_summed",
    "gradient from the next step dropped": "next_step_dropped",
    "tanh' taken from the pre-activation": "tanh_prime_from_preactivation",
    "off by one in time": "off_by_one_in_time",
    "loss reaches only the last step": "next_step_dropped",
    "loss reaches no step": "loss_reaches_no_step",
    "transposed weight gradient": "transposed_weight_gradient",
    "dc not carried back through f": "dc_not_through_f",
}


@pytest.mark.parametrize("misconception", sorted(REQUIRED))
def test_every_required_misconception_has_a_variant(misconception):
    assert f"Misconception: {misconception}" in sub.VARIANTS[REQUIRED[misconception]]["feedback"]
    assert misconception in ps07_bptt.HINTS


def test_return_sequences_false_with_the_loss_only_at_the_last_step_is_right():
    """Putting d_out at the last step alone is right; the misconception is stopping there."""
    ns = reference()
    ps07_bptt.check_rnn_backward(ns["rnn_backward"], return_sequences=False, hidden=True)
    dropped = namespace(sub.VARIANTS["next_step_dropped"]["cells"])["rnn_backward"]
    with pytest.raises(AssertionError, match="^Misconception: loss reaches only the last step — "
                                             "with return_sequences=False the loss reads only"):
        ps07_bptt.check_rnn_backward(dropped, return_sequences=False)


# --- the wrong variants are built from the right maths -----------------------------------------

def _simple_case(seed, batch=2, timesteps=4, features=3, units=4):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 0.5, (features, units)), rng.normal(0, 0.5, (units, units)),
               rng.normal(0, 0.5, units)]
    return rng.normal(size=(batch, timesteps, features)), rng.normal(size=(batch, units)), weights


@pytest.mark.parametrize("return_sequences", [True, False], ids=["sequences", "last"])
def test_the_variants_right_bptt_equals_rnnlib(return_sequences):
    x, h0, weights = _simple_case(1)
    layer = reference_layer(rl.layers.SimpleRNN, 3, weights, units=4, return_sequences=return_sequences)
    d_out = np.random.default_rng(2).normal(size=(2, 4, 4) if return_sequences else (2, 4))
    with float64():
        _, cache = layer.forward(x, initial_state=[h0])
        g = layer.backward(cache, d_out)
    d_seq = d_out if return_sequences else np.concatenate([np.zeros((2, 3, 4)), d_out[:, None]], axis=1)
    ours = ps07_bptt.simple_bptt(d_seq, x, h0, *weights)
    for a, b in zip(ours, [g.inputs, g.initial_state[0], *g.weights]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_the_variants_right_lstm_step_equals_rnnlib():
    rng = np.random.default_rng(3)
    weights = [rng.normal(0, 0.5, s) for s in ((3, 8), (2, 8), (8,))]
    x_t, h_tm1, c_tm1, d_h, d_c = (rng.normal(size=(4, n)) for n in (3, 2, 2, 2, 2))
    cell = reference_layer(rl.layers.LSTM, 3, weights, units=2).cell
    with float64():
        d_x, d_states, d_weights = cell.backward(x_t, [h_tm1, c_tm1], d_h, [np.zeros_like(h_tm1), d_c])
    ours = ps07_bptt.lstm_step_grads(d_h, d_c, x_t, h_tm1, c_tm1, *weights)
    for a, b in zip(ours, [d_x, *d_states, *d_weights]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_rnnlib_agrees_with_central_differences_where_the_checks_use_it():
    x, h0, weights = _simple_case(4)
    layer = reference_layer(rl.layers.SimpleRNN, 3, weights, units=4, return_sequences=True)
    d_out = np.random.default_rng(5).normal(size=(2, 4, 4))
    arrays = [x.copy(), h0.copy()]
    with float64():
        _, cache = layer.forward(x, initial_state=[h0])
        g = layer.backward(cache, d_out)
        numeric = ps07_bptt.central_differences(
            lambda: float(np.sum(d_out * layer(arrays[0], initial_state=[arrays[1]]))),
            arrays + layer.weights)
    for a, n in zip([g.inputs, g.initial_state[0], *g.weights], numeric):
        assert ps07_bptt.relative_error(a, n) < 1e-8


# --- refusing rnnlib's backward passes -----------------------------------------------------------

def test_the_spies_cover_every_backward_pass_of_rnnlib():
    spied = {f"{getattr(o, '__qualname__', o.__name__)}.{a}" for o, a in ps07_bptt.BACKWARD}
    assert {"SimpleRNNCell.step_backward", "LSTMCell.step_backward", "RNN.backward",
            "rnnlib.fast.unroll_backward", "rnnlib.fast.simple_backward", "rnnlib.fast.lstm_backward",
            "rnnlib.gradients", "rnnlib.numerical_gradient"} <= spied
    assert set(common.CELL_MATHS + common.RNN_LOOP) <= set(ps07_bptt.FORBID)


@pytest.mark.parametrize("use", ["step_backward", "layer_backward", "rl_gradients"])
def test_a_backward_that_calls_rnnlib_is_refused_and_the_methods_come_back(use):
    originals = {(o, a): vars(o)[a] for o, a in ps07_bptt.FORBID}
    x, h0, weights = _simple_case(6, batch=1, timesteps=2)

    def cheat(*args, **kwargs):
        layer = reference_layer(rl.layers.SimpleRNN, 3, weights, units=4)
        if use == "step_backward":
            return layer.cell.step_backward(x[:, 0] @ weights[0], [h0], h0, [h0])
        if use == "layer_backward":
            return layer.backward(layer.forward(x)[1], h0)
        return rl.gradients(layer, x, h0)

    with pytest.raises(AssertionError, match="^Misconception: calls rnnlib instead of implementing"):
        common.call(cheat, forbid=ps07_bptt.FORBID)
    assert {(o, a): vars(o)[a] for o, a in ps07_bptt.FORBID} == originals


# --- garbage answers --------------------------------------------------------------------------

def garbage(ref):
    def raises(*args, **kwargs):
        raise IndexError("index 4 is out of bounds for axis 1 with size 4")

    def each(change):
        return lambda *a, **k: tuple(change(np.asarray(g)) for g in ref(*a, **k))

    return {
        "not_a_function": None,
        "returns_none": lambda *a, **k: None,
        "raises": raises,
        "not_implemented": lambda *a, **k: (_ for _ in ()).throw(NotImplementedError()),
        "returns_nan": each(lambda g: np.full(g.shape, np.nan)),
        "returns_text": lambda *a, **k: "gradients",
        "wrong_shape": each(lambda g: g[..., None]),
        "one_array": lambda *a, **k: ref(*a, **k)[0],
        "too_few": lambda *a, **k: ref(*a, **k)[:2],
        "strings_inside": lambda *a, **k: tuple("d" for _ in ref(*a, **k)),
        "changes_inputs": lambda *a, **k: [g.fill(0) for g in a if isinstance(g, np.ndarray)] and None,
    }


KINDS = sorted(garbage(None))


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name, index", [(n, i) for n, cs in CHECKS.items() for i in range(len(cs))],
                         ids=["step", "sequences", "last", "lstm"])
def test_garbage_fails_with_a_helpful_assertion(name, index, kind, hidden):
    fn = garbage(reference()[name])[kind]
    with pytest.raises(AssertionError) as info:
        CHECKS[name][index](fn, hidden=hidden)
    message = str(info.value)
    assert name in message and len(message) > 40, message


@pytest.mark.parametrize("batch, features, units, match", [
    (2, 3, 4, "^Misconception: transposed weight gradient"),
    (3, 2, 2, "^Misconception: transposed weight gradient"),     # square: caught by its values
])
def test_a_transposed_dkernel_alone_is_named(batch, features, units, match):
    ref = reference()["rnn_step_backward"]

    def transposed(*args):
        dx, dh, dk, drk, db = ref(*args)
        return dx, dh, dk.T, drk, db

    with pytest.raises(AssertionError, match=match):
        ps07_bptt.check_rnn_step_backward(transposed)
    with pytest.raises(AssertionError, match=match):
        ps07_bptt.check_rnn_step_backward(transposed, hidden=True)


def test_a_bias_gradient_not_summed_over_the_batch_is_named():
    ref = reference()["rnn_step_backward"]

    def per_sample(d_h, x_t, h_tm1, h, kernel, recurrent_kernel):
        *rest, _ = ref(d_h, x_t, h_tm1, h, kernel, recurrent_kernel)
        return (*rest, d_h * (1 - h ** 2))

    with pytest.raises(AssertionError, match="^Misconception: bias gradient not summed over the batch"):
        ps07_bptt.check_rnn_step_backward(per_sample)


def test_a_wrong_gradient_message_gives_both_errors_and_the_index():
    ref = reference()["rnn_step_backward"]

    def off(*args):
        dx, dh, dk, drk, db = ref(*args)
        dk = dk.copy()
        dk[1, 2] += 0.5
        return dx, dh, dk, drk, db

    with pytest.raises(AssertionError, match=r"dkernel has the right shape \(3, 4\) but wrong values: "
                                             r"relative error [\d.e-]+ against rnnlib's backward and "
                                             r"[\d.e-]+ against central differences[\s\S]*\(1, 2\)"):
        ps07_bptt.check_rnn_step_backward(off)


def test_patched_numpy_cannot_make_a_wrong_answer_pass(monkeypatch):
    nan = garbage(reference()["rnn_step_backward"])["returns_nan"]
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "isfinite", lambda a, *r, **k: np.ones(np.shape(a), bool))
    with pytest.raises(AssertionError, match="NaN"):
        ps07_bptt.check_rnn_step_backward(nan)

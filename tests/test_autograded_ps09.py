"""The checks of ps09_pytorch_layout, without nbgrader, and their NumPy PyTorch against torch.

The reference solution comes from the instructor notebook (solution cells with their markers
removed), the wrong ones from tests/submissions/ps09_pytorch_layout.py; each test cell (visible
and hidden checks) runs in a plain namespace and earns its points when it raises nothing.
tests/test_nbgrader_pipeline.py confirms the scores with nbgrader.  The tests marked ``keras``
(the reference extra) confirm the checks' NumPy equations, shapes and counts against PyTorch.

    .venv/bin/python -m pytest tests/test_autograded_ps09.py -q
"""
import copy
import functools

import nbformat
import numpy as np
import pytest

import nbgrader_harness as h
import rnnlib as rl
from autograded_tests import ps09_pytorch_layout as ps09
from submissions import ps09_pytorch_layout as sub

AID = "ps09_pytorch_layout"
NOTEBOOK = nbformat.read(str(h.REPO / "source" / AID / f"{AID}.ipynb"), as_version=4)


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


def test_untouched_release_fails_every_check():
    from nbgrader.preprocessors import ClearSolutions
    release, _ = ClearSolutions().preprocess(copy.deepcopy(NOTEBOOK), {})
    stubs = {h.nbgrader_meta(c)["grade_id"]: c.source for c in release.cells if h.is_solution_code(c)}
    assert all("raise NotImplementedError()" in s for s in stubs.values()), stubs
    results = run_tests(namespace(stubs))
    assert all(m and "not implemented yet" in m for _, m in results.values()), results
    assert score(results) == 0


def test_points_add_up_in_headings():
    parts = h.part_points(NOTEBOOK)
    assert list(parts) == ["## Part A (3 points)", "## Part B (4 points)", "## Part C (5 points)"]
    for heading, points in parts.items():
        assert heading.endswith(f"({points} points)"), (heading, points)


def test_notebook_is_committed_clean_with_stable_ids_and_links():
    h.assert_clean_assignment(NOTEBOOK)
    text = "\n".join(c.source for c in NOTEBOOK.cells)
    for link in ("../../course/02_the_recurrent_cell.ipynb", "../../course/08_inside_the_gates.ipynb"):
        assert link in text and (h.REPO / link.replace("../../", "")).exists()
    assert "under 20 seconds" in text


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
    hidden = "\n".join(m for _, m in run_tests(ns, "hidden").values() if m)
    for phrase in spec["feedback"]:               # the hidden checks name it too, on their own sizes
        assert phrase in hidden, hidden


REQUIRED = {   # issue 10's misconceptions: the variant that shows each one
    "weights not transposed": ["lstm_not_transposed", "gru_reshaped"],
    "gate blocks left in Keras order (z|r|h)": ["gru_keras_order"],
    "one bias where PyTorch has two": ["lstm_bias_in_both", "keras_parameter_count"],
    "time-major confused with batch-first": ["batch_first_by_default", "state_batch_first"],
    "h_n taken as the whole output sequence": ["h_n_is_the_output"],
}


@pytest.mark.parametrize("misconception", sorted(REQUIRED))
def test_every_required_misconception_has_a_variant(misconception):
    for variant in REQUIRED[misconception]:
        assert f"Misconception: {misconception}" in sub.VARIANTS[variant]["feedback"]
    assert misconception in ps09.HINTS


def test_at_most_eight_variants_keep_the_pipeline_small():
    assert len(sub.VARIANTS) <= 8


# --- misconceptions named by the checks alone --------------------------------------------------

def _wrap(name, change):
    ref = reference()[name]
    return functools.wraps(ref)(lambda *a, **k: change(ref(*a, **k), *a))


def _raises(check, fn, match, hidden_too=True):
    for hidden in (False, True) if hidden_too else (False,):
        with pytest.raises(AssertionError, match=match):
            check(fn, hidden=hidden)


@pytest.mark.parametrize("mistake, name", [
    ("h_n_batch_first", "batch_first applied to h_n"),
    ("directions", "num_directions left out"),
    ("time_major", "time-major confused with batch-first"),
    ("h_n_output", "h_n taken as the whole output sequence"),
])
def test_shape_mistakes_are_named(mistake, name):
    def wrong(kind, timesteps, batch, input_size, hidden_size, num_layers=1, bidirectional=False,
              batch_first=False):
        return ps09.shapes(kind, timesteps, batch, input_size, hidden_size, num_layers, bidirectional,
                           batch_first, mistake=mistake)
    _raises(ps09.check_torch_shapes, wrong, f"^Misconception: {name} — ")


def test_shapes_as_lists_or_numpy_ints_are_accepted():
    ref = reference()["torch_shapes"]
    ps09.check_torch_shapes(lambda *a, **k: [list(np.array(s)) for s in ref(*a, **k)], hidden=True)


def test_lstm_gates_reordered_is_named():
    _raises(ps09.check_keras_lstm_to_torch,
            lambda k, rk, b: ps09.lstm_to_torch(k, rk, b, mistake="ifog"),
            r"^Misconception: LSTM gate blocks reordered — ")


@pytest.mark.parametrize("keep", ["bias_ih", "bias_hh"])
def test_torch_lstm_to_keras_dropping_a_bias_is_named(keep):
    def one(w_ih, w_hh, b_ih, b_hh):
        return w_ih.T, w_hh.T, (b_ih if keep == "bias_ih" else b_hh)
    _raises(ps09.check_torch_lstm_to_keras, one, r"^Misconception: one bias where PyTorch has two — ")


def test_torch_lstm_to_keras_not_transposed_is_named_by_its_shape():
    _raises(ps09.check_torch_lstm_to_keras, lambda w_ih, w_hh, b_ih, b_hh: (w_ih, w_hh, b_ih + b_hh),
            r"^Misconception: weights not transposed — [\s\S]*kernel has shape \(16, 2\)", hidden_too=False)


def test_gru_bias_rows_added_into_one_is_named():
    _raises(ps09.check_keras_gru_to_torch, lambda k, rk, b: ps09.gru_to_torch(k, rk, b, mistake="one_bias"),
            r"^Misconception: one bias where PyTorch has two — ")


def test_gru_back_with_one_bias_row_is_named_by_its_shape():
    _raises(ps09.check_torch_gru_to_keras,
            _wrap("torch_gru_to_keras", lambda out, *a: (out[0], out[1], out[2].sum(axis=0))),
            r"^Misconception: one bias where PyTorch has two — [\s\S]*two rows")


def test_gru_back_left_in_torch_order_is_named():
    _raises(ps09.check_torch_gru_to_keras,
            lambda w_ih, w_hh, b_ih, b_hh: (w_ih.T, w_hh.T, np.stack([b_ih, b_hh])),
            r"^Misconception: gate blocks left in Keras order \(z\|r\|h\) — ")


def test_a_reshape_of_the_right_shape_is_caught_by_its_values_where_features_equal_units():
    sizes = ps09._sizes(True, None, 9210)
    batch, steps, features, units = sizes[0]
    assert features == units and batch == steps and sizes[1][2] != sizes[1][3]
    _raises(ps09.check_keras_lstm_to_torch, lambda k, rk, b: ps09.lstm_to_torch(k, rk, b, mistake="reshape"),
            r"^Misconception: weights not transposed — [\s\S]*computes what that mistake gives")


def test_a_wrong_value_with_no_name_says_how_far_off_it_is():
    def off(k, rk, b):
        w_ih, w_hh, b_ih, b_hh = ps09.lstm_to_torch(k, rk, b)
        return w_ih, w_hh * 1.1, b_ih, b_hh
    with pytest.raises(AssertionError, match=r"^keras_lstm_to_torch\(.*right shapes but do not compute the "
                                             r"same layer: .* differ by up to [\d.e-]+"):
        ps09.check_keras_lstm_to_torch(off)


def test_a_keras_count_for_the_gru_is_reset_after_false():
    counts = {}

    def keras_count(kind, input_size, hidden_size):
        counts[kind] = ps09.parameter_count(kind, input_size, hidden_size, biases=1)
        return counts[kind]
    with pytest.raises(AssertionError, match="^Misconception: one bias where PyTorch has two"):
        ps09.check_torch_parameter_count(keras_count)
    assert counts == {"RNN": 120}          # the first case already names it: nn.RNN(1, 10)
    assert ps09.parameter_count("GRU", 1, 10) == 390 and ps09.parameter_count("GRU", 1, 10, biases=1) == 360


# --- garbage answers --------------------------------------------------------------------------

CHECKS = {"torch_parameter_count": ps09.check_torch_parameter_count,
          "torch_shapes": ps09.check_torch_shapes,
          "keras_lstm_to_torch": ps09.check_keras_lstm_to_torch,
          "torch_lstm_to_keras": ps09.check_torch_lstm_to_keras,
          "keras_gru_to_torch": ps09.check_keras_gru_to_torch,
          "torch_gru_to_keras": ps09.check_torch_gru_to_keras,
          "keras_state_to_torch": functools.partial(
              lambda fn, hidden=False: ps09.check_states(fn, reference()["torch_state_to_keras"], hidden=hidden)),
          "torch_state_to_keras": functools.partial(
              lambda fn, hidden=False: ps09.check_states(reference()["keras_state_to_torch"], fn, hidden=hidden))}


def garbage(ref):
    def raises(*args, **kwargs):
        raise IndexError("index 4 is out of bounds for axis 0 with size 4")

    def nan(*args, **kwargs):
        out = ref(*args, **kwargs)
        if isinstance(out, tuple) and isinstance(out[0], np.ndarray):
            return tuple(np.full(np.shape(o), np.nan) for o in out)
        return np.full(np.shape(out), np.nan)

    def truncated(out):       # a tuple cut short, an array cut to one unit, a count off by one
        if isinstance(out, tuple):
            return out[:1]
        return out[..., :1] if isinstance(out, np.ndarray) else out + 1

    return {"not_a_function": None, "returns_none": lambda *a, **k: None, "raises": raises,
            "returns_nan": nan, "returns_text": lambda *a, **k: "weights",
            "truncated": lambda *a, **k: truncated(ref(*a, **k)),
            "wrong_signature": lambda renamed, *, extra: None}


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("kind", sorted(garbage(None)))
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_garbage_fails_with_a_helpful_assertion(name, kind, hidden):
    fn = garbage(reference()[name])[kind]
    with pytest.raises(AssertionError) as info:
        CHECKS[name](fn, hidden=hidden)
    message = str(info.value)
    assert name in message and len(message) > 40, message


def test_patched_numpy_cannot_make_a_wrong_answer_pass(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "isfinite", lambda a, *r, **k: np.ones(np.shape(a), bool))
    with pytest.raises(AssertionError, match="NaN"):
        ps09.check_keras_gru_to_torch(garbage(reference()["keras_gru_to_torch"])["returns_nan"])
    with pytest.raises(AssertionError, match="do not compute the same layer"):
        ps09.check_keras_gru_to_torch(lambda k, rk, b: tuple(0 * w for w in ps09.gru_to_torch(k, rk, b)))


def test_the_checks_give_the_student_copies():
    def spoils(kernel, recurrent_kernel, bias):
        out = tuple(o.copy() for o in ps09.lstm_to_torch(kernel, recurrent_kernel, bias))
        kernel[:] = 0
        return out
    ps09.check_keras_lstm_to_torch(spoils, hidden=True)


# --- the checks' own conversions agree with the reference solution -----------------------------

@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_the_checks_conversions_are_the_reference_solutions(kind):
    rng = np.random.default_rng(11)
    weights, _, _ = ps09._keras_case(rng, kind, 2, 3, 3, 4)
    ns = reference()
    ours = (ps09.lstm_to_torch if kind == "LSTM" else ps09.gru_to_torch)(*weights)
    theirs = ns[f"keras_{kind.lower()}_to_torch"](*weights)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    back = ns[f"torch_{kind.lower()}_to_keras"](*theirs)
    for a, b in zip(back, weights):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)


# --- against PyTorch and Keras themselves (the reference extra) ---------------------------------

def _torch_layer(torch, kind, input_size, hidden, weights, **kwargs):
    layer = getattr(torch.nn, kind)(input_size, hidden, **kwargs).double()
    with torch.no_grad():
        for name, value in zip(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"], weights):
            getattr(layer, name).copy_(torch.from_numpy(np.asarray(value, "float64")))
    return layer


@pytest.mark.keras
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("batch, timesteps, features, hidden", [(2, 5, 3, 4), (1, 3, 4, 4), (3, 1, 1, 2)],
                         ids=["2x5x3-4", "square", "one-step"])
def test_numpy_equations_match_torch(kind, batch, timesteps, features, hidden):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    g = ps09.GATES[kind] * hidden
    weights = [rng.normal(0, 0.5, s) for s in ((g, features), (g, hidden), (g,), (g,))]
    x = rng.normal(size=(timesteps, batch, features))
    states = [rng.normal(size=(1, batch, hidden)) for _ in range(2 if kind == "LSTM" else 1)]
    layer = _torch_layer(torch, kind, features, hidden, weights)
    with torch.no_grad():
        given = tuple(torch.from_numpy(s) for s in states)
        out, last = layer(torch.from_numpy(x), given if kind == "LSTM" else given[0])
    forward = ps09.torch_lstm_forward if kind == "LSTM" else ps09.torch_gru_forward
    ours, our_last = forward(x, *weights, *states)
    np.testing.assert_allclose(ours, out.numpy(), rtol=1e-12, atol=1e-12)
    for a, b in zip(our_last if kind == "LSTM" else [our_last], last if kind == "LSTM" else [last]):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.keras
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_reference_conversions_make_torch_compute_rnnlibs_layer(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    weights, x, states = ps09._keras_case(rng, kind, 3, 6, 2, 5)
    ns = reference()
    layer = _torch_layer(torch, kind, 2, 5, ns[f"keras_{kind.lower()}_to_torch"](*weights))
    h_0 = [torch.from_numpy(ns["keras_state_to_torch"](s)) for s in states]
    with torch.no_grad():
        out, last = layer(torch.from_numpy(np.swapaxes(x, 0, 1)), tuple(h_0) if kind == "LSTM" else h_0[0])
    want = ps09.keras_run(kind, weights, x, states)
    np.testing.assert_allclose(np.swapaxes(out.numpy(), 0, 1), want[0], rtol=1e-10, atol=1e-12)
    last = last if kind == "LSTM" else (last,)
    for got, expected in zip(last, want[1:]):
        np.testing.assert_allclose(ns["torch_state_to_keras"](got.numpy()), expected, rtol=1e-10, atol=1e-12)


CASES = [(kind, t, b, n_in, n_h, layers, bidir, bf)
         for kind in ("RNN", "GRU", "LSTM") for (t, b, n_in, n_h) in [(5, 2, 3, 4), (3, 3, 1, 1)]
         for layers in (1, 2) for bidir in (False, True) for bf in (False, True)]


@pytest.mark.keras
def test_shapes_and_counts_match_torch():
    torch = pytest.importorskip("torch")
    for kind, t, b, n_in, n_h, layers, bidir, bf in CASES:
        layer = getattr(torch.nn, kind)(n_in, n_h, num_layers=layers, bidirectional=bidir, batch_first=bf)
        with torch.no_grad():
            output, last = layer(torch.zeros((b, t, n_in) if bf else (t, b, n_in)))
        got = (tuple(output.shape), *(tuple(s.shape) for s in (last if kind == "LSTM" else [last])))
        assert ps09.shapes(kind, t, b, n_in, n_h, layers, bidir, bf) == got
        if layers == 1 and not bidir:
            assert ps09.parameter_count(kind, n_in, n_h) == sum(p.numel() for p in layer.parameters())


@pytest.mark.keras
@pytest.mark.parametrize("kind, reset_after, biases", [("SimpleRNN", None, 1), ("LSTM", None, 1),
                                                       ("GRU", True, 2), ("GRU", False, 1)])
def test_keras_counts_are_the_one_bias_counts(kind, reset_after, biases):
    pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    kwargs = {} if reset_after is None else {"reset_after": reset_after}
    layer = getattr(keras.layers, kind)(10, **kwargs)
    layer.build((None, None, 1))
    torch_kind = "RNN" if kind == "SimpleRNN" else kind
    assert layer.count_params() == ps09.parameter_count(torch_kind, 1, 10, biases=biases)
    rl_layer = getattr(rl.layers, kind)(10, **kwargs)
    rl_layer(rl.Input(shape=(None, 1)))
    assert rl_layer.count_params() == layer.count_params()

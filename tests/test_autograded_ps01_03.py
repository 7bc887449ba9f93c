"""The checks of ps01_timesteps, ps02_cell and ps03_unrolling, without nbgrader.

The reference solution and every sample submission (tests/submissions/<id>.py) are run
in-process, cell by cell, the way nbgrader runs them: a test cell (its hidden part
included) earns its points when it raises nothing.  So the exact scores written in the
sample submissions are checked here in seconds; tests/test_nbgrader_pipeline.py
confirms them with nbgrader itself.  Garbage answers must fail with an AssertionError
that says what was expected, never with another exception.

    .venv/bin/python -m pytest tests/test_autograded_ps01_03.py -q
"""
import copy
import functools
import importlib
import pkgutil
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

import nbgrader_harness as h
import rnnlib as rl
from autograded_tests import (common, ps01_timesteps, ps02_cell, ps03_unrolling, ps04_stacking,
                              ps05_state, ps06_directions)
from submissions import ps01_timesteps as sub01, ps02_cell as sub02, ps03_unrolling as sub03

REPO = Path(__file__).resolve().parents[1]
SUBMISSIONS = {m.ASSIGNMENT: m for m in (sub01, sub02, sub03)}


def source_notebook(aid):
    return nbformat.read(REPO / "source" / aid / f"{aid}.ipynb", as_version=4)


def run_notebook(aid, cells=None):
    """Run the reference notebook (solution cells replaced by ``cells``) like nbgrader.

    Returns (score, {test grade_id: failure message or None}, namespace).
    """
    nb = source_notebook(aid)
    code = h.reference_cells(nb)
    code.update(cells or {})
    namespace, results, score = {"__name__": "__main__"}, {}, 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = h.nbgrader_meta(cell)
        if h.is_solution_code(cell):
            exec(code[meta["grade_id"]], namespace)
        elif h.is_test(cell):
            try:
                exec(cell.source, namespace)
            except AssertionError as exc:
                results[meta["grade_id"]] = str(exc)
            else:
                results[meta["grade_id"]] = None
                score += meta["points"]
        else:
            exec(cell.source, namespace)
    return score, results, namespace


# --- the notebooks and the sample submissions ---------------------------------------------

@pytest.mark.parametrize("aid", sorted(SUBMISSIONS))
def test_reference_passes_every_check(aid):
    score, results, _ = run_notebook(aid)
    assert {k: v for k, v in results.items() if v} == {}
    assert score == SUBMISSIONS[aid].AUTOGRADED_POINTS


@pytest.mark.parametrize("aid", sorted(SUBMISSIONS))
def test_points_add_up_in_headings(aid):
    """``## Part X (N points)`` = the autograded plus manual points of that part's cells."""
    nb = source_notebook(aid)
    parts = h.part_points(nb)
    for heading, points in parts.items():
        assert heading.endswith(f"({points} points)"), (heading, points)
    assert sum(h.test_points(nb).values()) == SUBMISSIONS[aid].AUTOGRADED_POINTS


@pytest.mark.parametrize("aid", sorted(SUBMISSIONS))
def test_every_test_cell_has_hidden_tests_that_only_call_checks(aid):
    nb = source_notebook(aid)
    for cell in nb.cells:
        if h.is_test(cell):
            hidden = h.HIDDEN_RE.findall(cell.source)
            assert len(hidden) == 1, h.nbgrader_meta(cell)["grade_id"]
            for line in hidden[0].strip().splitlines():
                assert line.startswith("checks.check_") and line.endswith(", hidden=True)"), line


VARIANT_CASES = [pytest.param(aid, name, id=f"{aid}-{name}")
                 for aid, module in sorted(SUBMISSIONS.items()) for name in module.VARIANTS]


@pytest.mark.parametrize("aid, name", VARIANT_CASES)
def test_variant_scores_and_names_its_misconception(aid, name):
    spec = SUBMISSIONS[aid].VARIANTS[name]
    score, results, _ = run_notebook(aid, spec["cells"])
    messages = "\n".join(m for m in results.values() if m)
    for phrase in spec["feedback"]:
        assert phrase in messages
    assert score == spec["score"], results
    for message in filter(None, results.values()):       # the misconception's line comes first
        assert "Misconception:" not in message or message.startswith("Misconception:"), message


# --- garbage answers ------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _reference_namespace(aid):
    return run_notebook(aid)[2]


def _reference(aid, name):
    return _reference_namespace(aid)[name]


def _nan_like(out):
    if isinstance(out, (list, tuple)):
        return type(out)(_nan_like(o) for o in out)
    return np.full(np.shape(out), np.nan)


def garbage_functions(ref):
    """Wrong answers of every kind, made from the reference function ``ref``."""
    def raises(*args, **kwargs):
        raise IndexError("index 3 is out of bounds for axis 1 with size 3")
    return {
        "not_a_function": None,
        "returns_none": lambda *args, **kwargs: None,
        "raises": raises,
        "not_implemented": lambda *args, **kwargs: (_ for _ in ()).throw(NotImplementedError()),
        "returns_nan": lambda *a, **k: _nan_like(ref(*a, **k)),
        "returns_text": lambda *args, **kwargs: "h_t",
        "wrong_shape": lambda *a, **k: np.asarray(ref(*a, **k))[..., None],
        "returns_list_of_arrays": lambda *a, **k: [np.asarray(ref(*a, **k))] * 2,
    }


FUNCTION_CHECKS = [
    ("ps01_timesteps", "to_timesteps", ps01_timesteps.check_to_timesteps),
    ("ps01_timesteps", "input_shapes", ps01_timesteps.check_input_shapes),
    ("ps02_cell", "simple_rnn_step", ps02_cell.check_simple_rnn_step),
    ("ps02_cell", "simple_rnn_params", ps02_cell.check_simple_rnn_params),
    ("ps02_cell", "gru_params", ps02_cell.check_gru_params),
    ("ps02_cell", "lstm_params", ps02_cell.check_lstm_params),
    ("ps03_unrolling", "rnn_forward", ps03_unrolling.check_rnn_forward),
    ("ps03_unrolling", "rnn_forward", ps03_unrolling.check_rnn_forward_sequences),
    ("ps03_unrolling", "rnn_forward", ps03_unrolling.check_rnn_forward_backwards),
    ("ps03_unrolling", "layer_forward", ps03_unrolling.check_layer_forward),
]
GARBAGE = ["not_a_function", "returns_none", "raises", "not_implemented", "returns_nan",
           "returns_text", "wrong_shape", "returns_list_of_arrays"]


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("kind", GARBAGE)
@pytest.mark.parametrize("aid, name, check", [pytest.param(*c, id=c[2].__name__)
                                              for c in FUNCTION_CHECKS])
def test_garbage_fails_with_a_helpful_assertion(aid, name, check, kind, hidden):
    fn = garbage_functions(_reference(aid, name))[kind]
    with pytest.raises(AssertionError) as info:
        check(fn, hidden=hidden)
    message = str(info.value)
    assert name in message and len(message) > 40, message   # names the function, says more


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
def test_to_timesteps_error_garbage(hidden):
    check = ps01_timesteps.check_to_timesteps_error
    with pytest.raises(AssertionError, match="returned normally"):
        check(lambda v, t: v, hidden=hidden)
    with pytest.raises(AssertionError, match="IndexError"):
        check(lambda v, t: v[:, 99], hidden=hidden)
    with pytest.raises(AssertionError, match="not implemented"):
        check(garbage_functions(None)["not_implemented"], hidden=hidden)


PREDICTION_KEYS = [*ps01_timesteps.models_snippets(), *ps01_timesteps.data_snippets()]
PREDICTION_GARBAGE = {
    "none": None,
    "empty": {},
    "list": [(None, 10)],
    "strings": {k: "(None, 10)" for k in PREDICTION_KEYS},
    "ellipsis": {k: ... for k in PREDICTION_KEYS},
    "nested_garbage": {k: [[1, [2]], "x"] for k in PREDICTION_KEYS},
}


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("kind", sorted(PREDICTION_GARBAGE))
@pytest.mark.parametrize("check", [ps01_timesteps.check_shapes_models,
                                   ps01_timesteps.check_shapes_data], ids=lambda c: c.__name__)
def test_prediction_garbage_fails_with_a_helpful_assertion(check, kind, hidden):
    with pytest.raises(AssertionError, match="predicted_shapes"):
        check(copy.deepcopy(PREDICTION_GARBAGE[kind]), hidden=hidden)


@pytest.mark.parametrize("answer, match", [
    ({"two_timesteps": (10,)}, "the batch axis None comes first"),
    ({"two_timesteps": [None, 10]}, None),                       # a list is a fine shape
    ({"two_timesteps": (32, 10)}, "batch axis is None"),
    ({"dense": (None, 2, 10)}, "There is no time axis"),
    ({"sensors": (None, 4)}, "units, not the timesteps or the features"),
    ({"one_timestep": (None, 1, 10)}, "whatever the number of timesteps"),
    ({"one_sensor": (None, 12)}, "write both axes after the batch"),
    ({"one_sensor": (None, 1, 12)}, "^Misconception: timesteps and features swapped"),
], ids=["batch_missing", "list_accepted", "batch_fixed", "dense_has_no_time_axis",
        "units_set_the_last_axis", "one_vector_per_sample", "features_axis_missing",
        "data_swapped"])
def test_prediction_messages(answer, match):
    predicted = dict(_reference("ps01_timesteps", "predicted_shapes"), **answer)
    checks = (ps01_timesteps.check_shapes_models, ps01_timesteps.check_shapes_data)
    if match is None:
        for check in checks:
            check(predicted)
            check(predicted, hidden=True)
    else:
        with pytest.raises(AssertionError, match=match):
            for check in checks:
                check(predicted)
                check(predicted, hidden=True)


def _broken_cells():
    """Cell classes that are wrong in one way each."""
    class NoStateSize:
        def __init__(self, units):
            self.units = units

        def call(self, x_t, states):
            return states[0], states

    class RaisesInInit:
        def __init__(self, units):
            raise TypeError("unexpected keyword")

    class NoBuild:
        def __init__(self, units):
            self.state_size = units

        def call(self, x_t, states):
            return states[0], states

    class WrongOutputShape(NoBuild):
        def build(self, input_shape):
            self.kernel = np.zeros((input_shape[-1], self.state_size))
            self.recurrent_kernel = np.zeros((self.state_size, self.state_size))
            self.bias = np.zeros(self.state_size)

        def call(self, x_t, states):
            return x_t, [x_t]

    class ReturnsNaN(WrongOutputShape):
        def call(self, x_t, states):
            h = np.full_like(states[0], np.nan)
            return h, [h]

    class CallReturnsNone(WrongOutputShape):
        def call(self, x_t, states):
            return None

    return {"None": None, "no_state_size": NoStateSize, "raises_in_init": RaisesInInit,
            "no_build": NoBuild, "wrong_output_shape": WrongOutputShape,
            "returns_nan": ReturnsNaN, "call_returns_none": CallReturnsNone}


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("kind", sorted(_broken_cells()))
@pytest.mark.parametrize("check", [ps02_cell.check_my_simple_rnn_cell_build,
                                   ps02_cell.check_my_simple_rnn_cell], ids=lambda c: c.__name__)
def test_broken_cell_fails_with_a_helpful_assertion(check, kind, hidden):
    cls = _broken_cells()[kind]
    if check is ps02_cell.check_my_simple_rnn_cell_build and kind in (
            "wrong_output_shape", "returns_nan", "call_returns_none"):
        check(cls, hidden=hidden)          # build is right: only call is broken
        return
    with pytest.raises(AssertionError) as info:
        check(cls, hidden=hidden)
    assert len(str(info.value)) > 30


@pytest.mark.parametrize("container", [tuple, list])
def test_a_cells_states_may_be_a_tuple_or_a_list(container):
    class Cell(_reference("ps02_cell", "MySimpleRNNCell")):
        def call(self, x_t, states):
            h, new_states = super().call(x_t, states)
            return h, container(new_states)
    ps02_cell.check_my_simple_rnn_cell(Cell, hidden=True)     # return_state=True among them


# --- common: refusing rnnlib, messages, robustness -------------------------------------------

def _simple_rnn(x, units=3):
    layer = rl.layers.SimpleRNN(units, seed=0)
    return layer(x)


def test_refuse_rnnlib_names_what_ran_and_restores_the_methods():
    originals = {(c, a): c.__dict__[a] for c, a in common.CELL_MATHS + common.RNN_LOOP}
    x = np.ones((2, 4, 3))
    with pytest.raises(AssertionError, match=r"Misconception: calls rnnlib instead of "
                                             r"implementing[\s\S]*RNN\._loop"):
        with common.refuse_rnnlib():
            _simple_rnn(x)
    with pytest.raises(AssertionError, match="calls rnnlib"):  # refused even if it then raises
        with common.refuse_rnnlib():
            _simple_rnn(x)
            raise ValueError("later")
    assert {(c, a): c.__dict__[a] for c, a in originals} == originals
    assert _simple_rnn(x).shape == (2, 3)            # rnnlib still works afterwards


def test_refuse_cell_maths_allows_a_students_cell_in_rl_layers_rnn():
    with common.refuse_rnnlib(common.CELL_MATHS):
        out = rl.layers.RNN(_reference("ps02_cell", "MySimpleRNNCell")(4))(np.ones((2, 5, 3)))
    assert out.shape == (2, 4)
    with pytest.raises(AssertionError, match="SimpleRNNCell.step"):
        with common.refuse_rnnlib(common.CELL_MATHS):
            rl.layers.RNN(rl.layers.SimpleRNNCell(4))(np.ones((2, 5, 3)))


@pytest.mark.parametrize("aid, cell", [
    ("ps02_cell", {"simple_rnn_step": "import rnnlib as rl\n"
                   "def simple_rnn_step(x_t, h_tm1, kernel, recurrent_kernel, bias):\n"
                   "    layer = rl.layers.SimpleRNN(kernel.shape[1])\n"
                   "    layer(x_t[:, None])\n"
                   "    layer.set_weights([kernel, recurrent_kernel, bias])\n"
                   "    return layer(x_t[:, None], initial_state=[h_tm1])\n"}),
    ("ps03_unrolling", {"rnn_forward": "import rnnlib as rl\n"
                        "def rnn_forward(x, h0, kernel, recurrent_kernel, bias, **flags):\n"
                        "    cell = rl.layers.SimpleRNNCell(kernel.shape[1])\n"
                        "    cell.build(x.shape)\n"
                        "    cell.kernel, cell.recurrent_kernel, cell.bias = kernel, recurrent_kernel, bias\n"
                        "    h = h0\n"
                        "    for t in range(x.shape[1]):\n"
                        "        h, _ = cell.call(x[:, t], [h])\n"
                        "    return h\n"}),
], ids=["ps02_layer_in_step", "ps03_cell_in_loop"])
def test_a_solution_that_calls_rnnlib_is_refused(aid, cell):
    _, results, _ = run_notebook(aid, cell)
    refused = [gid for gid, msg in results.items()
               if msg and "Misconception: calls rnnlib instead of implementing" in msg]
    assert refused, results


def test_check_values_message_states_tolerance_and_index():
    expected = np.zeros((2, 3))
    got = expected.copy()
    got[1, 2] = 0.5
    with pytest.raises(AssertionError, match=r"rtol=1e-05, atol=1e-06[\s\S]*\(1, 2\)"):
        common.check_values(got, expected, "f(x)")


def test_check_values_prefers_the_misconception():
    expected, wrong = np.zeros(3), np.ones(3)
    with pytest.raises(AssertionError, match="^Misconception: time-major layout — the input"):
        common.check_values(wrong, expected, "f(x)", variants={"time-major layout": wrong})


def test_patched_numpy_cannot_make_a_wrong_answer_pass(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "isfinite", lambda a, *r, **k: np.ones(np.shape(a), bool))
    with pytest.raises(AssertionError, match="wrong values"):
        common.check_values(np.ones(3), np.zeros(3), "f(x)")
    with pytest.raises(AssertionError, match="NaN"):
        common.check_values(np.full(3, np.nan), np.zeros(3), "f(x)")


def test_call_does_not_let_the_student_change_the_inputs():
    x = np.zeros(3)

    def mutates(a):
        a += 1
        return a

    common.call(mutates, x, forbid=())
    assert (x == 0).all()


# --- what a student reads: the message first, then only their own lines ----------------------

def _strip_ansi(text):
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _one_bias_row(features, units, reset_after=True):
    return 3 * (features * units + units * units + units)


def _indexes_past_the_end(x, h0, kernel, recurrent_kernel, bias, return_sequences=False,
                          go_backwards=False):
    return x[:, 99]


#: What the checks' own source would show if their frames were printed.
CHECKER_SOURCE = ("3 * u * (f + u", "raise AssertionError", "autograded_tests", "def call")


def test_every_check_is_student_facing():
    """Every assignment's module (ps*.py, also those added later) wraps each of its checks."""
    import autograded_tests
    modules = [importlib.import_module(f"autograded_tests.{info.name}")
               for info in pkgutil.iter_modules(autograded_tests.__path__) if info.name.startswith("ps")]
    assert {ps01_timesteps, ps02_cell, ps03_unrolling, ps04_stacking, ps05_state,
            ps06_directions} <= set(modules)
    checks = [getattr(m, n) for m in modules for n in dir(m)
              if n.startswith("check_") and getattr(m, n).__module__ == m.__name__]
    assert len(checks) > 20
    assert [c.__name__ for c in checks if not getattr(c, "student_facing", False)] == []


def test_rendered_failure_names_the_misconception_first_and_hides_the_checks():
    with pytest.raises(AssertionError) as info:
        ps02_cell.check_gru_params(_one_bias_row)
    text = _strip_ansi("\n".join(info.value._render_traceback_()))
    assert text.startswith("AssertionError: Misconception: one bias row with reset_after — ")
    assert "ps02_cell.check_gru_params(_one_bias_row)" in text        # the caller's own line
    assert [s for s in CHECKER_SOURCE if s in text] == []


def test_rendered_failure_shows_where_the_students_code_raised():
    with pytest.raises(AssertionError) as info:
        ps03_unrolling.check_rnn_forward(_indexes_past_the_end)
    text = _strip_ansi("\n".join(info.value._render_traceback_()))
    assert text.startswith("AssertionError: `rnn_forward` raised IndexError")
    assert re.search(r"Where your code raised IndexError:\n.*in _indexes_past_the_end\n"
                     r"----> \d+     return x\[:, 99\]", text), text
    assert [s for s in CHECKER_SOURCE if s in text] == []


def test_arguments_are_described_by_their_shapes():
    weights = [(np.zeros((2, 4)), np.zeros((4, 4)), np.zeros(4))] * 2
    assert common._describe([np.ones((3, 5, 2)), weights, [True, False]], {"units": 3}) == (
        "array (3, 5, 2), [(array (2, 4), array (4, 4), array (4,)), (array (2, 4), array (4, 4), "
        "array (4,))], [True, False], units=3")


STUDENT_CELLS = {
    "gru_params": "def gru_params(features, units, reset_after=True):\n"
                  "    return 3 * (features * units + units * units + units)\n",
    "simple_rnn_step": "def simple_rnn_step(x_t, h_tm1, kernel, recurrent_kernel, bias):\n"
                       "    return np.tanh(x_t @ kernel + h_tm1 @ recurrent_kernel[99] + bias)\n",
}


def _released_with(aid, cells):
    """The instructor notebook as a student has it (hidden tests removed), with the reference
    solution except ``cells``."""
    nb = source_notebook(aid)
    code = dict(h.reference_cells(nb), **cells)
    for cell in nb.cells:
        if h.is_solution_code(cell):
            cell.source = code[h.nbgrader_meta(cell)["grade_id"]]
        elif h.is_test(cell):
            cell.source = h.HIDDEN_RE.sub("", cell.source)
    return nb


def _assert_reads_well(errors):
    """``errors``: {the check called: the text shown for its failure}."""
    gru = errors["checks.check_gru_params(gru_params)"]
    assert gru.startswith("AssertionError: Misconception: one bias row with reset_after — "), gru
    assert re.search(r"Cell In\[\d+\], line 1\n----> 1 checks.check_gru_params\(gru_params\)", gru), gru
    step = errors["checks.check_simple_rnn_step(simple_rnn_step)"]
    assert step.startswith("AssertionError: `simple_rnn_step` raised IndexError"), step
    assert "Where your code raised IndexError:" in step
    assert re.search(r"Cell In\[\d+\], line 2, in simple_rnn_step\n----> 2 .*recurrent_kernel\[99\]",
                     step), step
    for text in errors.values():
        assert [s for s in CHECKER_SOURCE if s in text] == [], text


@pytest.mark.slow
def test_a_notebook_shows_the_message_first_and_only_the_students_lines(tmp_path):
    nbclient = pytest.importorskip("nbclient")
    nb = _released_with("ps02_cell", STUDENT_CELLS)
    nbclient.NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = {cell.source.strip(): _strip_ansi("\n".join(out.traceback))
              for cell in nb.cells if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "error"}
    _assert_reads_well(errors)


@pytest.mark.slow
def test_validate_shows_the_message_first_and_only_the_students_lines(tmp_path):
    validator = pytest.importorskip("nbgrader.validator")
    path = tmp_path / "ps02_cell.ipynb"
    nbformat.write(_released_with("ps02_cell", STUDENT_CELLS), str(path))
    failed = validator.Validator().validate(str(path))["failed"]
    _assert_reads_well({cell["source"]: _strip_ansi(cell["raw_error"]) for cell in failed})


# --- the answers are true in Keras too (optional: needs the 'reference' extra) ---------------

@pytest.mark.keras
@pytest.mark.slow
def test_predicted_shapes_and_param_counts_agree_with_keras():
    keras = pytest.importorskip("keras")
    for snippets in (ps01_timesteps.models_snippets, ps01_timesteps.data_snippets):
        ours = {k: ps01_timesteps._shapes_of(out) for k, (_, out) in snippets().items()}
        theirs = {k: ps01_timesteps._shapes_of(out) for k, (_, out) in snippets(keras).items()}
        assert ours == theirs
    ns = _reference_namespace("ps02_cell")
    for features, units in [(1, 10), (7, 3)]:
        for layer, formula in [(keras.layers.SimpleRNN(units), ns["simple_rnn_params"](features, units)),
                               (keras.layers.GRU(units), ns["gru_params"](features, units)),
                               (keras.layers.GRU(units, reset_after=False),
                                ns["gru_params"](features, units, reset_after=False)),
                               (keras.layers.LSTM(units), ns["lstm_params"](features, units))]:
            layer(keras.Input(shape=(4, features)))
            assert layer.count_params() == formula, layer

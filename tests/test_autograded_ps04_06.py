"""The checks of ps04_stacking, ps05_state and ps06_directions, without nbgrader.

The reference solutions come from the instructor notebooks (solution cells with their
markers removed) and the wrong ones from tests/submissions/<id>.py; every test cell's
code (visible and hidden checks) runs in a plain namespace, as the kernel would run it.
"""
import copy
import importlib
import re

import nbformat
import numpy as np
import pytest

import nbgrader_harness as h
import rnnlib as rl
from autograded_tests import ps04_stacking, ps05_state, ps06_directions

ASSIGNMENTS = ("ps04_stacking", "ps05_state", "ps06_directions")


def _notebook(assignment):
    return nbformat.read(str(h.REPO / "source" / assignment / f"{assignment}.ipynb"), as_version=4)


NOTEBOOKS = {a: _notebook(a) for a in ASSIGNMENTS}
SUBMISSIONS = {a: importlib.import_module(f"submissions.{a}") for a in ASSIGNMENTS}


def _namespace(assignment, cells=None):
    """Run the notebook's code cells except the test cells; ``cells`` replaces solutions."""
    code = h.reference_cells(NOTEBOOKS[assignment])
    code.update(cells or {})
    ns = {}
    for cell in NOTEBOOKS[assignment].cells:
        if cell.cell_type != "code" or h.is_test(cell):
            continue
        source = (code[h.nbgrader_meta(cell)["grade_id"]] if h.is_solution_code(cell)
                  else cell.source)
        exec(compile(source, h.nbgrader_meta(cell).get("grade_id", "cell"), "exec"), ns)
    return ns


def _test_cells(assignment):
    return [(h.nbgrader_meta(c)["grade_id"], c.source, h.nbgrader_meta(c)["points"])
            for c in NOTEBOOKS[assignment].cells if h.is_test(c)]


def _run_tests(ns, assignment):
    """{test grade_id: the AssertionError it raised, or None}; any other exception fails."""
    results = {}
    for gid, source, _ in _test_cells(assignment):
        try:
            exec(source, dict(ns))
            results[gid] = None
        except AssertionError as exc:
            results[gid] = exc
    return results


# --- the notebooks are nbgrader assignments in the agreed shape -------------------------

@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_test_cell_has_hidden_checks_that_only_call_the_package(assignment):
    cells = _test_cells(assignment)
    assert sum(p for *_, p in cells) == SUBMISSIONS[assignment].AUTOGRADED_POINTS
    for gid, source, _ in cells:
        hidden = h.HIDDEN_RE.findall(source + "\n")
        assert hidden, f"{gid} has no hidden tests"
        lines = [line.strip() for block in hidden for line in block.splitlines() if line.strip()]
        assert lines and all(line.startswith("checks.check_") for line in lines), gid


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_part_headings_add_up_their_cells_points(assignment):
    part, totals, stated = None, {}, {}
    for cell in NOTEBOOKS[assignment].cells:
        m = re.match(r"## (Part \w) \((\d+) points?\)", cell.source)
        if cell.cell_type == "markdown" and m:
            part, stated[m.group(1)] = m.group(1), int(m.group(2))
        points = h.nbgrader_meta(cell).get("points", 0)
        if points:
            totals[part] = totals.get(part, 0) + points
    assert totals == stated


# --- the reference passes everything, visible and hidden ---------------------------------

REFERENCE_TESTS = [(a, gid) for a in ASSIGNMENTS for gid, *_ in _test_cells(a)]


@pytest.fixture(scope="module")
def reference():
    return {a: _namespace(a) for a in ASSIGNMENTS}


@pytest.mark.parametrize("assignment, test_id", REFERENCE_TESTS,
                         ids=[f"{a}-{t}" for a, t in REFERENCE_TESTS])
def test_reference_passes(reference, assignment, test_id):
    source = dict((gid, src) for gid, src, _ in _test_cells(assignment))[test_id]
    exec(source, dict(reference[assignment]))


# --- each sample submission fails exactly where its misconception says ---------------------

VARIANTS = [(a, name) for a in ASSIGNMENTS for name in SUBMISSIONS[a].VARIANTS]


@pytest.mark.parametrize("assignment, variant", VARIANTS, ids=[f"{a}-{v}" for a, v in VARIANTS])
def test_variant_scores_and_names_its_misconception(assignment, variant):
    spec = SUBMISSIONS[assignment].VARIANTS[variant]
    results = _run_tests(_namespace(assignment, spec["cells"]), assignment)
    points = {gid: p for gid, _, p in _test_cells(assignment)}
    score = sum(points[gid] for gid, exc in results.items() if exc is None)
    assert score == spec["score"], {gid: str(exc)[:300] for gid, exc in results.items() if exc}
    messages = "\n".join(str(exc) for exc in results.values() if exc)
    for phrase in spec["feedback"]:
        assert phrase in messages
    for message in (str(exc) for exc in results.values() if exc):   # the misconception first
        assert "Misconception:" not in message or message.startswith("Misconception:"), message


def test_every_misconception_of_the_brief_is_named_somewhere():
    """Between ps01-03 and ps04-06 each stable name must be covered; these are ours."""
    ours = {phrase for a in ASSIGNMENTS for spec in SUBMISSIONS[a].VARIANTS.values()
            for phrase in spec["feedback"]}
    for name in ["zero state instead of h0", "gates in the wrong order (i|f|o|g)",
                 "gates in the wrong order (r|z|h)", "reset gate applied before instead of after",
                 "reset gate applied after instead of before", "sequence not reversed for go_backwards",
                 "sequence reversed twice", "first instead of last output", "time-major layout",
                 "calls rnnlib instead of implementing"]:
        assert f"Misconception: {name}" in ours, name


# --- wrong ideas that only the hidden checks (or the check functions alone) see -------------

def _wrap(assignment, name, make):
    """A student function made from the reference one: ``make(reference_fn)``."""
    return make(_namespace(assignment)[name])


def _transposed_stack(ref):
    return lambda x, w, f: ref(x, [(k.T, r.T, b) for k, r, b in w], f)


def _time_major_bidirectional(ref):
    def fn(x, fwd, bwd, mode, rs):
        out = ref(np.swapaxes(x, 0, 1), fwd, bwd, mode, rs)
        return [np.swapaxes(o, 0, 1) if o.ndim == 3 else o for o in out] if mode is None else (
            np.swapaxes(out, 0, 1) if out.ndim == 3 else out)
    return fn


def _swapped_concat(ref):
    def fn(x, fwd, bwd, mode, rs):
        f, b = ref(x, fwd, bwd, None, rs)
        return np.concatenate([b, f], axis=-1) if mode == "concat" else ref(x, fwd, bwd, mode, rs)
    return fn


def _permuted(ref, order, gates):
    def fn(x_t, h_tm1, kernel, recurrent_kernel, bias, *rest, **kw):
        u = h_tm1.shape[1]
        perm = np.concatenate([np.arange(g * u, (g + 1) * u) for g in order])
        assert len(order) == gates
        return ref(x_t, h_tm1, kernel[:, perm], recurrent_kernel[:, perm], bias[..., perm],
                   *rest, **kw)
    return fn


def _first_outputs(ref):
    def fn(x, fwd, bwd, mode, rs):
        if rs:
            return ref(x, fwd, bwd, mode, rs)
        forward, backward = ref(x, fwd, bwd, None, True)      # both in time order
        return ps06_directions.MERGES[mode](forward[:, 0], backward[:, -1])
    return fn


def _stream_from_zeros(layer, x, chunk):
    runs = [layer(x[:, s:s + chunk]) for s in range(0, x.shape[1], chunk)]
    return np.concatenate([run[0] for run in runs], axis=1), runs[-1][1:]


def _aliased_stack(x, layers_weights, return_sequences_flags):
    """Each layer appends h and then overwrites it in place: every stored output is h."""
    sequence = x
    for (kernel, recurrent_kernel, bias), flag in zip(layers_weights, return_sequences_flags):
        h, outputs = np.zeros((x.shape[0], recurrent_kernel.shape[0])), []
        for t in range(sequence.shape[1]):
            h[:] = np.tanh(sequence[:, t] @ kernel + h @ recurrent_kernel + bias)
            outputs.append(h)
        sequence = np.stack(outputs, axis=1) if flag else h
    return sequence


def _dense_flattens(ref):
    def fn(input_shape, layers):
        shapes, shape = [], (None,) + tuple(input_shape)
        for layer in layers:
            if isinstance(layer, rl.layers.Dense):
                shape = (None, layer.units)
            elif len(shape) != 3:
                return shapes + ["error"]
            else:
                shape = (None, shape[1], layer.units) if layer.return_sequences else (None, layer.units)
            shapes.append(shape)
        return shapes
    return fn


EXTRA = {
    "transposed kernel (hidden)": (
        "ps04_stacking", "stack_forward", _transposed_stack,
        lambda fn: ps04_stacking.check_stack_forward(fn, hidden=True), "transposed kernel"),
    "time-major stack, batch != timesteps": (
        "ps04_stacking", "stack_forward", lambda ref: lambda x, w, f: np.swapaxes(
            ref(np.swapaxes(x, 0, 1), w, f), 0, 1) if f[-1] else ref(np.swapaxes(x, 0, 1), w, f),
        ps04_stacking.check_stack_forward, "time-major layout"),
    "in-place update inside a stack": (
        "ps04_stacking", "stack_forward", lambda ref: _aliased_stack,
        ps04_stacking.check_stack_forward, "every timestep holds the last output"),
    "Dense drops the time axis": (
        "ps04_stacking", "stack_output_shapes", _dense_flattens,
        ps04_stacking.check_stack_output_shapes, "Dense drops the time axis"),
    "h and c swapped": (
        "ps05_state", "lstm_step", lambda ref: lambda *a: ref(*a)[::-1],
        ps05_state.check_lstm_step, "h and c swapped"),
    "zero h and c": (
        "ps05_state", "lstm_step", lambda ref: lambda x, h0, c0, *w: ref(x, 0 * h0, 0 * c0, *w),
        lambda fn: ps05_state.check_lstm_step(fn, hidden=True), "zero state instead of h0"),
    "gru gates r|z|h, reset_after=False": (
        "ps05_state", "gru_step", lambda ref: _permuted(ref, [1, 0, 2], 3),
        lambda fn: ps05_state.check_gru_step(fn, hidden=True, reset_after=False),
        "gates in the wrong order (r|z|h)"),
    "gru bias rows swapped": (
        "ps05_state", "gru_step",
        lambda ref: lambda x, h0, k, r, b, reset_after=True: ref(x, h0, k, r, b[::-1], reset_after),
        ps05_state.check_gru_step, "bias rows swapped"),
    "gru reset before, recurrent bias dropped": (
        "ps05_state", "gru_step",
        lambda ref: lambda x, h0, k, r, b, reset_after=True: (
            ps05_state.gru_maths(x, h0, k, r, b[0], b[1], False, drop_recurrent_h_bias=True)),
        ps05_state.check_gru_step, "reset gate applied before instead of after"),
    "gru update gate the other way round": (
        "ps05_state", "gru_step",
        lambda ref: lambda x, h0, k, r, b, reset_after=True: (
            ps05_state.gru_maths(x, h0, k, r, b[0], b[1], True, swap_z=True)),
        ps05_state.check_gru_step, "update gate used the other way round"),
    "GRU stream not carried (hidden)": (
        "ps05_state", "stream_in_chunks", lambda ref: _stream_from_zeros,
        lambda fn: ps05_state.check_stream_in_chunks(fn, hidden=True),
        "state not carried between chunks"),
    "states with a time axis": (
        "ps05_state", "return_state_shapes",
        lambda ref: lambda kind, *a: [ref(kind, *a)[0]] * len(ref(kind, *a)),
        ps05_state.check_return_state_shapes, "return_sequences changes the states"),
    "GRU with two states": (
        "ps05_state", "return_state_shapes",
        lambda ref: lambda kind, *a: ref("LSTM", *a),
        ps05_state.check_return_state_shapes, "only the LSTM has a cell state c"),
    "time-major bidirectional": (
        "ps06_directions", "bidirectional_forward", _time_major_bidirectional,
        ps06_directions.check_bidirectional_forward, "time-major layout"),
    "concat backward first": (
        "ps06_directions", "bidirectional_forward", _swapped_concat,
        ps06_directions.check_bidirectional_forward, "forward and backward swapped"),
    "direction weights swapped": (
        "ps06_directions", "bidirectional_forward",
        lambda ref: lambda x, f, b, *a: ref(x, b, f, *a),
        ps06_directions.check_bidirectional_merge_modes, "weights of the two directions swapped"),
    "first output of both directions": (
        "ps06_directions", "bidirectional_forward", _first_outputs,
        ps06_directions.check_bidirectional_forward, "first instead of last output"),
}


@pytest.mark.parametrize("case", EXTRA)
def test_check_names_misconception(case):
    assignment, name, make, check, misconception = EXTRA[case]
    fn = _wrap(assignment, name, make)
    with pytest.raises(AssertionError, match=re.escape(f"Misconception: {misconception}")):
        check(fn)


# --- states as Keras 3 returns them (tuples) or as Keras 2 did (lists) --------------------

@pytest.mark.parametrize("container", [tuple, list])
def test_states_may_come_as_a_tuple_or_a_list(container):
    lstm = _namespace("ps05_state")["lstm_step"]
    ps05_state.check_lstm_step(lambda *a: container(lstm(*a)), hidden=True)
    stream = _namespace("ps05_state")["stream_in_chunks"]

    def streamed(layer, x, chunk):
        outputs, states = stream(layer, x, chunk)
        return container([outputs, container(states)])
    ps05_state.check_stream_in_chunks(streamed, hidden=True)
    shapes = _namespace("ps05_state")["return_state_shapes"]
    ps05_state.check_return_state_shapes(lambda *a: container(shapes(*a)), hidden=True)
    both = _namespace("ps06_directions")["bidirectional_forward"]
    ps06_directions.check_bidirectional_merge_modes(
        lambda x, f, b, mode, rs: container(both(x, f, b, mode, rs)) if mode is None
        else both(x, f, b, mode, rs), hidden=True)


# --- garbage fails with a helpful AssertionError, never another exception -----------------

def _raises(*args, **kwargs):
    raise RuntimeError("something broke inside")


def _nan_like(out):
    if isinstance(out, (list, tuple)):
        return type(out)(_nan_like(o) for o in out)
    return np.full(np.shape(out), np.nan)


GARBAGE = {
    "returns None": lambda ref: lambda *a, **k: None,
    "raises": lambda ref: _raises,
    "not implemented": lambda ref: lambda *a, **k: (_ for _ in ()).throw(NotImplementedError()),
    "NaN of the right shape": lambda ref: lambda *a, **k: _nan_like(ref(*a, **k)),
    "wrong shape": lambda ref: lambda *a, **k: np.zeros((1, 2, 3, 4)),
    "a string": lambda ref: lambda *a, **k: "(None, 10)",
    "a list of strings": lambda ref: lambda *a, **k: ["a", "b"],
    "not a function": lambda ref: 42,
}
FUNCTIONS = [(a, name) for a in ASSIGNMENTS for name, code in
             h.reference_cells(NOTEBOOKS[a]).items() if code.lstrip().startswith("def ")]
GARBAGE_CASES = [(a, n, g) for a, n in FUNCTIONS for g in GARBAGE]


@pytest.mark.parametrize("assignment, name, garbage", GARBAGE_CASES,
                         ids=[f"{a}-{n}-{g.replace(' ', '_')}" for a, n, g in GARBAGE_CASES])
def test_garbage_fails_with_an_assertion(assignment, name, garbage):
    ns = _namespace(assignment)
    ns[name] = GARBAGE[garbage](ns[name])
    results = _run_tests(ns, assignment)
    used = [gid for gid, source, _ in _test_cells(assignment) if f"({name}" in source]
    assert used
    for gid in used:
        assert results[gid] is not None, f"{gid} passed with garbage"
        assert len(str(results[gid])) > 20


@pytest.mark.parametrize("assignment, name", FUNCTIONS, ids=[f"{a}-{n}" for a, n in FUNCTIONS])
def test_patching_numpys_comparisons_does_not_pass(monkeypatch, assignment, name):
    """Zeros of the right shape, with np.allclose & co. patched to say yes, still fail."""
    for attr in ("allclose", "array_equal", "isclose", "isfinite", "isnan"):
        monkeypatch.setattr(np, attr, getattr(np, attr))          # restored afterwards
    for attr in ("assert_allclose", "assert_array_equal", "assert_array_almost_equal",
                 "assert_equal"):
        monkeypatch.setattr(np.testing, attr, getattr(np.testing, attr))
    code = h.reference_cells(NOTEBOOKS[assignment])[name]
    ns = _namespace(assignment, {name: h.monkeypatches_numpy(code)})
    results = _run_tests(ns, assignment)
    used = [gid for gid, source, _ in _test_cells(assignment) if f"({name}" in source]
    assert used and all(results[gid] is not None for gid in used)


@pytest.mark.parametrize("answer", [None, "gru_1", {"layer": "gru_1"},
                                    {"layer": 3, "flag": None, "value": "yes"},
                                    {"layer": "gru_9", "flag": "return_sequences", "value": True},
                                    {"layer": "gru_2", "flag": "units", "value": True},
                                    {"layer": "gru_1", "flag": "go_backwards", "value": True}],
                         ids=["None", "a string", "missing keys", "wrong types", "unknown layer",
                              "unknown flag", "wrong flag"])
def test_encoder_fix_garbage(answer):
    with pytest.raises(AssertionError):
        ps04_stacking.check_encoder_fix(copy.deepcopy(answer))
        ps04_stacking.check_encoder_fix(copy.deepcopy(answer), hidden=True)


@pytest.mark.parametrize("answer", [lambda: None, lambda: 42, _raises, lambda: rl.Sequential(),
                                    lambda: rl.Model(*(lambda i: (i, rl.layers.Dense(17)(i)))(
                                        rl.Input(shape=(32, 32, 16))))],
                         ids=["None", "a number", "raises", "empty Sequential", "one Dense"])
def test_build_fixed_encoder_garbage(answer):
    with pytest.raises(AssertionError):
        ps04_stacking.check_build_fixed_encoder(answer, hidden=True)


def _fixed_encoder_built_in_another_order():
    """The repaired encoder with the parallel branches made the other way round (twins
    first, and add's and concatenate's inputs swapped): the same layer shapes."""
    feature_map = rl.Input(shape=(32, 32, 16))
    x = rl.layers.Reshape((32, 512))(feature_map)
    backward = rl.layers.GRU(16, return_sequences=True, go_backwards=True)(x)
    forward = rl.layers.GRU(16, return_sequences=True)(x)
    merged = rl.layers.add([backward, forward])
    both = rl.layers.concatenate([rl.layers.GRU(16, return_sequences=True, go_backwards=True)(merged),
                                  rl.layers.GRU(16, return_sequences=True)(merged)])
    output = rl.layers.concatenate([feature_map, rl.layers.Reshape((32, 32, 1))(both)], axis=3)
    return rl.Model(feature_map, output)


def test_build_fixed_encoder_compares_layer_shapes_whatever_the_branch_order():
    ps04_stacking.check_build_fixed_encoder(_fixed_encoder_built_in_another_order, hidden=True)
    model = _fixed_encoder_built_in_another_order()
    reference, _ = ps04_stacking.so_encoder(dict(layer="gru_1", flag="return_sequences", value=True))
    assert ps04_stacking.first_shape_difference(model, reference) is None
    broken, _ = ps04_stacking.so_encoder()
    assert ps04_stacking.first_shape_difference(broken, reference) == (
        "layer `gru_1` (GRU) outputs (None, 16); no GRU of the repaired encoder outputs that "
        "(its GRU layers output (None, 32, 16)).")


# --- rnnlib doing the work is refused -------------------------------------------------------

def _shapes_by_rnnlib(input_shape, layers):
    x = rl.Input(shape=input_shape)
    return [tuple((x := layer(x)).shape) for layer in layers]


def _return_state_by_rnnlib(kind, batch, timesteps, units, return_sequences):
    layer = getattr(rl.layers, kind)(units, return_sequences=return_sequences, return_state=True)
    return [a.shape for a in layer(np.zeros((batch, timesteps, 1)))]


def _masked_by_rnnlib(x, mask, h0, kernel, recurrent_kernel, bias, return_sequences):
    layer = rl.layers.SimpleRNN(h0.shape[1], return_sequences=return_sequences)
    layer(x)
    layer.set_weights([kernel, recurrent_kernel, bias])
    return layer(x, initial_state=[h0], mask=mask)


def _gru_by_rnnlib(x_t, h_tm1, kernel, recurrent_kernel, bias, reset_after=True):
    layer = rl.layers.GRU(h_tm1.shape[1], reset_after=reset_after)
    layer(x_t[:, None])
    layer.set_weights([kernel, recurrent_kernel, bias])
    return layer(x_t[:, None], initial_state=[h_tm1])


@pytest.mark.parametrize("check, fn", [
    (ps04_stacking.check_stack_output_shapes, _shapes_by_rnnlib),
    (ps05_state.check_return_state_shapes, _return_state_by_rnnlib),
    (ps05_state.check_gru_step, _gru_by_rnnlib),
    (ps06_directions.check_masked_forward, _masked_by_rnnlib),
], ids=["stack_output_shapes", "return_state_shapes", "gru_step", "masked_forward"])
def test_rnnlib_doing_the_work_is_refused(check, fn):
    with pytest.raises(AssertionError, match="Misconception: calls rnnlib instead of implementing"):
        check(fn)


def test_checks_leave_rnnlib_as_they_found_it():
    """The spies on rnnlib's methods are removed again, also when a check fails."""
    from rnnlib.engine import Layer
    from rnnlib.layers.rnn import RNN
    before = (RNN.call, Layer.__call__)
    for check, fn in [(ps05_state.check_stream_in_chunks, _raises),
                      (ps05_state.check_stream_in_chunks, lambda layer, x, chunk: layer(x)),
                      (ps05_state.check_return_state_shapes, _return_state_by_rnnlib),
                      (ps04_stacking.check_stack_output_shapes, _shapes_by_rnnlib)]:
        with pytest.raises(AssertionError):
            check(fn)
        assert (RNN.call, Layer.__call__) == before


# --- the references of the checks agree with Keras 3 (when it is installed) -----------------

@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def _keras_cell(keras, cell, features, weights):
    cell.build((None, features))
    cell.set_weights([np.asarray(w, "float32") for w in weights])
    return cell


@pytest.mark.keras
@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "reset_before"])
def test_gru_and_lstm_references_agree_with_keras(keras, reset_after):
    rng = np.random.default_rng(7)
    x_t, h_tm1, c_tm1 = (rng.normal(size=s) for s in [(3, 2), (3, 4), (3, 4)])
    weights = ps04_stacking.random_weights(rng, 2, 4, 4)
    cell = _keras_cell(keras, keras.layers.LSTMCell(4), 2, weights)
    _, (h, c) = cell(x_t.astype("float32"), [h_tm1.astype("float32"), c_tm1.astype("float32")])
    np.testing.assert_allclose(ps05_state.reference_lstm_step(x_t, h_tm1, c_tm1, *weights),
                               [keras.ops.convert_to_numpy(h), keras.ops.convert_to_numpy(c)], rtol=1e-5, atol=1e-5)
    weights = ps04_stacking.random_weights(rng, 2, 4, 3, (2, 12) if reset_after else None)
    cell = _keras_cell(keras, keras.layers.GRUCell(4, reset_after=reset_after), 2, weights)
    h, _ = cell(x_t.astype("float32"), [h_tm1.astype("float32")])
    np.testing.assert_allclose(ps05_state.reference_gru_step(x_t, h_tm1, *weights, reset_after),
                               keras.ops.convert_to_numpy(h), rtol=1e-5, atol=1e-5)


@pytest.mark.keras
@pytest.mark.parametrize("return_sequences", [True, False], ids=["sequences", "last"])
def test_masked_reference_agrees_with_keras(keras, return_sequences):
    x, mask, h0, weights = ps06_directions._mask_case(5, 3, 6, 2, 4, [(0, 6), (0, 4), (2, 6)])
    layer = keras.layers.SimpleRNN(4, return_sequences=return_sequences)
    layer.build((None, 6, 2))
    layer.set_weights([np.asarray(w, "float32") for w in weights])
    got = layer(x.astype("float32"), initial_state=[h0.astype("float32")], mask=mask)
    np.testing.assert_allclose(ps06_directions.reference_masked(x, mask, h0, weights, return_sequences),
                               keras.ops.convert_to_numpy(got), rtol=1e-5, atol=1e-5)

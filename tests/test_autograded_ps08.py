"""The checks of ps08_training, without nbgrader.

The reference solution comes from the instructor notebook (solution cells with their markers
removed), the wrong ones from tests/submissions/ps08_training.py; every cell runs in a plain
namespace, as the kernel would run it (a cell that raises is reported and the next one runs,
as nbgrader goes on), and each test cell earns its points when it raises nothing.
tests/test_nbgrader_pipeline.py confirms the scores with nbgrader.

    .venv/bin/python -m pytest tests/test_autograded_ps08.py -q
"""
import contextlib
import copy
import functools
import io
import random

import nbformat
import numpy as np
import pytest

import nbgrader_harness as h
import rnnlib as rl
from autograded_tests import ps08_training as ps08
from rnnlib import backend
from submissions import ps08_training as sub

AID = "ps08_training"
NOTEBOOK = nbformat.read(str(h.REPO / "source" / AID / f"{AID}.ipynb"), as_version=4)
REFERENCE = h.reference_cells(NOTEBOOK)
#: cells that read nothing a student wrote (only the data and rnnlib): run once, then shared
INDEPENDENT = ("fit_model",)
#: what the timeout leaves of the endless variant: its model built, never trained (lr = 0)
AFTER_TIMEOUT = {"infinite_loop": {"train_model": sub._BUILD}}


@functools.lru_cache(maxsize=None)
def _independent_outputs():
    ns = run_cells()
    return {name: ns[name] for name in ("fit_model", "history")}


def run_cells(cells=None, share=False):
    """The notebook's code cells except the test cells, each in the same namespace; a cell that
    raises is skipped past, as nbgrader does.  ``share`` reuses the reference's run of the
    cells in INDEPENDENT when they are unchanged (they read only the data)."""
    code = dict(REFERENCE, **(cells or {}))
    ns = {"__name__": "__main__"}
    for cell in NOTEBOOK.cells:
        if cell.cell_type != "code" or h.is_test(cell):
            continue
        gid = h.nbgrader_meta(cell).get("grade_id")
        if share and gid in INDEPENDENT and code[gid] == REFERENCE[gid]:
            ns.update(copy.deepcopy(_independent_outputs()))
            continue
        source = code[gid] if h.is_solution_code(cell) else cell.source
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                exec(compile(source, gid or "setup", "exec"), ns)
            except Exception as exc:          # noqa: BLE001 (the kernel shows it, then goes on)
                ns.setdefault("_errors", []).append((gid, exc))
    return ns


def run_tests(ns, part=None):
    """{test grade_id: (points, message or None)}; any exception fails the cell, as in nbgrader."""
    results = {}
    for cell in (c for c in NOTEBOOK.cells if h.is_test(c)):
        source = cell.source
        if part == "hidden":
            source = h.HIDDEN_RE.findall(source)[0]
        meta = h.nbgrader_meta(cell)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(source, dict(ns))
            results[meta["grade_id"]] = (meta["points"], None)
        except Exception as exc:              # noqa: BLE001
            results[meta["grade_id"]] = (meta["points"], f"{type(exc).__name__}: {exc}"
                                         if not isinstance(exc, AssertionError) else str(exc))
    return results


score = h.score


@functools.lru_cache(maxsize=None)
def reference():
    return run_cells()


def ref(name):
    return reference()[name]


# --- the notebook ---------------------------------------------------------------------------

def test_reference_passes_every_check():
    results = run_tests(reference())
    assert {k: m for k, (_, m) in results.items() if m} == {}
    assert score(results) == sub.AUTOGRADED_POINTS == sum(h.test_points(NOTEBOOK).values())
    assert "_errors" not in reference()


def test_untouched_release_fails_every_check():
    from nbgrader.preprocessors import ClearSolutions
    release, _ = ClearSolutions().preprocess(copy.deepcopy(NOTEBOOK), {})
    stubs = {h.nbgrader_meta(c)["grade_id"]: c.source for c in release.cells if h.is_solution_code(c)}
    assert all("raise NotImplementedError()" in s for s in stubs.values()), stubs
    results = run_tests(run_cells(stubs))
    assert all(m for _, m in results.values()), results
    for name in ("test_minibatches", "test_mse_and_gradient", "test_train_step", "test_fit_by_hand"):
        assert "not implemented yet" in results[name][1]
    assert score(results) == 0


def test_points_add_up_in_headings():
    parts = h.part_points(NOTEBOOK)
    assert list(parts) == ["## Part A (2 points)", "## Part B (2 points)", "## Part C (3 points)",
                           "## Part D (3 points)", "## Part E (2 points)", "## Part F (3 points)"]
    for heading, points in parts.items():
        assert heading.endswith(f"({points} points)"), (heading, points)


def test_notebook_is_committed_clean_with_stable_ids_and_links():
    h.assert_clean_assignment(NOTEBOOK)
    assert NOTEBOOK.cells[1].source.startswith("import numpy as np\nimport rnnlib as rl")
    text = "\n".join(c.source for c in NOTEBOOK.cells)
    for phrase in ("../../course/10_training.ipynb",
                   "../../course/09_backpropagation_through_time.ipynb", "under 20 seconds"):
        assert phrase in text
    for banned in ("seq_len", "n_steps", "hidden_size", "batch_size =", "seed="):
        assert banned not in text, banned


def test_the_notebook_data_is_what_the_visible_checks_use():
    ns = reference()
    x_test, y_test = ps08.test_data(hidden=False)
    np.testing.assert_array_equal(ns["x_test"], x_test)
    np.testing.assert_array_equal(ns["y_test"], y_test)
    x_train, _ = ps08.adding_problem(1000, ps08.TIMESTEPS, np.random.default_rng(ps08.TRAIN_SEED))
    np.testing.assert_array_equal(ns["x_train"], x_train)
    hidden_x, _ = ps08.test_data(hidden=True)
    assert not any(np.array_equal(a, b) for a in hidden_x[:20] for b in np.concatenate([x_train, x_test]))


def test_adding_problem_marks_two_steps_and_sums_them():
    x, y = ps08.adding_problem(50, 7, np.random.default_rng(0))
    assert x.shape == (50, 7, 2) and y.shape == (50, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, :, 1].sum(axis=1), 2)
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(axis=1), rtol=1e-6)
    assert ((x[:, :, 0] >= 0) & (x[:, :, 0] < 1)).all()


# --- the misconception variants ----------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(sub.VARIANTS))
def test_variant_scores_and_names_its_misconception(name):
    spec = sub.VARIANTS[name]
    ns = run_cells({**spec["cells"], **AFTER_TIMEOUT.get(name, {})}, share=True)
    results = run_tests(ns)
    messages = "\n".join(m for _, m in results.values() if m)
    for phrase in spec["feedback"]:
        assert phrase in messages, messages
    assert score(results) == spec["score"], results
    for _, message in results.values():           # the misconception's line comes first
        assert message is None or "Misconception:" not in message or message.startswith("Misconception:")
    hidden = "\n".join(m for _, m in run_tests(ns, "hidden").values() if m)
    for phrase in spec["feedback"]:
        if phrase.startswith("Misconception:"):
            assert phrase in hidden, hidden


REQUIRED = {   # the brief's misconceptions, and the variant (or test below) that shows each
    "clipped per weight instead of globally": "clipped_per_weight",
    "clipping scales small gradients up": "clipping_scales_up",
    "update with + instead of -": "plus_instead_of_minus",
    "not shuffled": "not_shuffled",
    "last partial batch dropped": "last_batch_dropped",
    "loss summed instead of averaged": "sum_loss",
    "learning rate ignored": "learning_rate_ignored",
    "training diverged (NaN)": "nan_loss",
    "works on the visible test data only": "lookup_table",
}


@pytest.mark.parametrize("misconception", sorted(REQUIRED))
def test_every_required_misconception_has_a_variant(misconception):
    assert f"Misconception: {misconception}" in sub.VARIANTS[REQUIRED[misconception]]["feedback"]
    assert misconception in ps08.HINTS


def test_the_endless_variant_never_reaches_the_target():
    """What the timeout interrupts: a loop whose learning rate is 0 leaves the model as built."""
    source = sub.VARIANTS["infinite_loop"]["cells"]["train_model"]
    assert "while mse > 0.02" in source and "learning_rate = 0.0" in source
    ns = run_cells(AFTER_TIMEOUT["infinite_loop"], share=True)
    before = [w.copy() for w in ns["model"].get_weights()]
    ns["fit_by_hand"](ns["model"], ns["x_train"][:64], ns["y_train"][:64], 1, 16, 0.0, 1.0,
                      np.random.default_rng(0))
    for a, b in zip(ns["model"].get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("samples, batch", [(10, 4), (23, 5)])
def test_a_padded_last_batch_is_named(samples, batch):
    def padded(samples, batch, rng):
        order = rng.permutation(samples)
        return [order[s:s + batch] if s + batch <= samples else order[-batch:]
                for s in range(0, samples, batch)]

    with pytest.raises(AssertionError, match="^Misconception: last partial batch padded"):
        ps08.check_minibatches(padded, hidden=samples == 23)


@pytest.mark.parametrize("wrong, name", [
    (lambda t, p: (np.sum((p - t) ** 2) / len(p), 2 * (p - t) / len(p)), "mean over the batch only"),
    (lambda t, p: (np.mean((p - t) ** 2), (p - t) / p.size), "factor 2 missing from the gradient"),
    (lambda t, p: (np.mean((p - t) ** 2), 2 * (p - t)), "gradient of the sum, loss of the mean"),
], ids=["batch_only", "no_factor_2", "sum_gradient"])
def test_loss_misconceptions_are_named(wrong, name):
    with pytest.raises(AssertionError, match=f"^Misconception: {name}"):
        ps08.check_mse_and_gradient(wrong)


@pytest.mark.parametrize("wrong, name", [
    (lambda grads, c: [np.clip(g, -c, c) for g in grads], "clipped element by element"),
    (lambda grads, c: [g * c / max(sum(np.sum(a * a) for a in grads), c) for g in grads],
     "norm without the square root"),
    (lambda grads, c: [g * c / np.sqrt(sum(np.sum(a * a) for a in grads))
                       if np.sqrt(sum(np.sum(a * a) for a in grads)) > c else g for g in grads]
     if sum(np.sum(a * a) for a in grads) else [g * np.nan for g in grads],
     "divides by zero when every gradient is 0"),
], ids=["clipvalue", "no_sqrt", "zero_division"])
def test_clipping_misconceptions_are_named(wrong, name):
    with np.errstate(all="ignore"):
        with pytest.raises(AssertionError, match=f"^Misconception: {name}"):
            ps08.check_clip_by_global_norm(wrong, hidden=True)


def test_loss_after_the_update_is_named():
    step = ref("train_step")

    def late(model, x, y, learning_rate, clipnorm):
        step(model, x, y, learning_rate, clipnorm)
        return float(np.mean((model(x) - y) ** 2))

    with pytest.raises(AssertionError, match="^Misconception: loss measured after the update"):
        ps08.check_train_step(late)


def test_a_step_without_clipping_is_named():
    ns = reference()

    def unclipped(model, x, y, learning_rate, clipnorm):
        y_pred, tape = model.forward(x)
        loss, d = ns["mse_and_gradient"](y, y_pred)
        model.set_weights(ns["sgd_update"](model.get_weights(), model.backward(tape, d).weights,
                                           learning_rate))
        return loss

    with pytest.raises(AssertionError, match="^Misconception: clipping not applied"):
        ps08.check_train_step(unclipped)


def test_epoch_loss_of_the_last_batch_is_named():
    step, batches = ref("train_step"), ref("minibatches")

    def last(model, x, y, epochs, batch, learning_rate, clipnorm, rng):
        out = []
        for _ in range(epochs):
            for rows in batches(len(x), batch, rng):
                loss = step(model, x[rows], y[rows], learning_rate, clipnorm)
            out.append(loss)
        return out

    with pytest.raises(AssertionError, match="^Misconception: epoch loss is the last batch's loss"):
        ps08.check_fit_by_hand(last)


def test_a_model_that_never_learned_fails_the_target_with_the_numbers():
    rl.utils.set_random_seed(0)
    untrained = rl.Sequential([rl.Input(shape=(10, 2)), rl.layers.GRU(4), rl.layers.Dense(1)])
    with pytest.raises(AssertionError, match=r"mean squared error of [\d.]+ on x_test, y_test; "
                                             r"the target is below 0\.02"):
        ps08.check_trained_model(untrained)


def test_fit_model_must_be_trained_by_fit_with_sgd_and_global_clipnorm():
    ns = reference()
    fresh = rl.Sequential([rl.Input(shape=(10, 2)), rl.layers.GRU(4), rl.layers.Dense(1)])
    with pytest.raises(AssertionError, match="has not been trained by fit"):
        ps08.check_fit_model(fresh, ns["history"])
    fresh.compile(optimizer=rl.optimizers.SGD(0.5, clipnorm=1.0), loss="mse")
    fresh.train_on_batch(ns["x_train"][:16], ns["y_train"][:16])
    with pytest.raises(AssertionError, match="global_clipnorm"):
        ps08.check_fit_model(fresh, ns["history"])
    with pytest.raises(AssertionError, match="expected what fit returns"):
        ps08.check_fit_model(ns["fit_model"], None)


# --- the checks do not depend on global random state, nor change it --------------------------

def _global_state():
    return (np.random.get_state()[1].copy(), random.getstate(), backend._GLOBAL_RNG.bit_generator.state)


CHECKS = {"minibatches": ps08.check_minibatches, "mse_and_gradient": ps08.check_mse_and_gradient,
          "clip_by_global_norm": ps08.check_clip_by_global_norm, "sgd_update": ps08.check_sgd_update,
          "train_step": ps08.check_train_step, "fit_by_hand": ps08.check_fit_by_hand}


@pytest.mark.parametrize("name", sorted(CHECKS))
@pytest.mark.parametrize("seed", [0, 12345])
def test_checks_leave_the_global_random_state_alone(name, seed):
    rl.utils.set_random_seed(seed)
    before = _global_state()
    CHECKS[name](ref(name), hidden=True)
    after = _global_state()
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1:] == after[1:]


def test_trained_model_check_leaves_the_global_random_state_alone():
    rl.utils.set_random_seed(3)
    before = _global_state()
    ps08.check_trained_model(ref("model"), hidden=True)
    ps08.check_fit_model(ref("fit_model"), ref("history"), hidden=True)
    after = _global_state()
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1:] == after[1:]


@pytest.mark.parametrize("seed", [1, 99])
def test_hidden_data_is_the_same_whatever_the_global_random_state(seed):
    first = ps08.test_data(hidden=True)
    rl.utils.set_random_seed(seed)
    np.random.random(seed)                        # the order of random calls changes too
    random.random()
    again = ps08.test_data(hidden=True)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_a_loop_that_shuffles_with_the_global_generator_passes():
    """Keras's fit shuffles with NumPy's global generator: a student who does the same is right."""
    step = ref("train_step")

    def global_batches(samples, batch, rng):
        order = np.random.permutation(samples)
        return [order[s:s + batch] for s in range(0, samples, batch)]

    def fit_global(model, x, y, epochs, batch, learning_rate, clipnorm, rng):
        history = []
        for _ in range(epochs):
            total = sum(step(model, x[r], y[r], learning_rate, clipnorm) * len(r)
                        for r in global_batches(len(x), batch, rng))
            history.append(total / len(x))
        return history

    for seed in (0, 7):
        rl.utils.set_random_seed(seed)
        ps08.check_minibatches(global_batches, hidden=True)
        ps08.check_fit_by_hand(fit_global, hidden=True)


# --- garbage answers --------------------------------------------------------------------------

def _garbage(fn):
    def raises(*args, **kwargs):
        raise IndexError("index 4 is out of bounds for axis 0 with size 4")

    def nan(*args, **kwargs):
        out = fn(*args, **kwargs)
        if isinstance(out, (list, tuple)):
            return type(out)(np.full(np.shape(o), np.nan) for o in out)
        return np.full(np.shape(out), np.nan)

    return {"not_a_function": None, "returns_none": lambda *a, **k: None, "raises": raises,
            "not_implemented": lambda *a, **k: (_ for _ in ()).throw(NotImplementedError()),
            "returns_text": lambda *a, **k: "done", "returns_nan": nan}


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("kind", sorted(_garbage(None)))
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_garbage_fails_with_a_helpful_assertion(name, kind, hidden):
    fn = _garbage(ref(name))[kind]
    with np.errstate(all="ignore"), pytest.raises(AssertionError) as info:
        CHECKS[name](fn, hidden=hidden)
    message = str(info.value)
    assert len(message) > 40, message
    assert name in message or "NaN" in message or "expected" in message, message


def test_a_loop_that_calls_fit_or_the_optimizer_is_refused():
    def with_optimizer(grads, clipnorm):
        return rl.optimizers.SGD(global_clipnorm=clipnorm).clip(grads)

    with pytest.raises(AssertionError, match="^Misconception: calls rnnlib instead of implementing"):
        ps08.check_clip_by_global_norm(with_optimizer)


def test_patched_numpy_cannot_make_a_wrong_answer_pass(monkeypatch):
    wrong = sub.VARIANTS["clipped_per_weight"]["cells"]["clip_by_global_norm"]
    ns = {}
    exec(wrong, ns)
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "isfinite", lambda a, *r, **k: np.ones(np.shape(a), bool))
    with pytest.raises(AssertionError, match="clipped per weight"):
        ps08.check_clip_by_global_norm(ns["clip_by_global_norm"])

"""Lesson 9's explorers, headless: move a control, check what the learner would see.

The expected gradients are worked out here from the forward pass and the chain rule (a
SimpleRNN's dL/dh_tm1 = (dL/dh_t * (1 - h_t**2)) @ recurrent_kernel.T), and the clipped
vectors from the formulas in Keras 3's optimizers, never read back from the widget.
"""
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from numpy.testing import assert_allclose

import rnnlib as rl
import rnnlib.bptt_widgets as bw

ROOT = Path(__file__).resolve().parents[1]
LESSON = "09_backpropagation_through_time.ipynb"


def simple_rnn_dh_by_hand(scale, timesteps):
    """dL/dh_t of the explorer's SimpleRNN from its forward states and the chain rule."""
    layer, (kernel, recurrent_kernel, bias) = bw.new_layer("SimpleRNN")
    recurrent_kernel = recurrent_kernel.astype("float64") * scale
    x, y = bw.sequence_and_target(timesteps)
    h, hs = np.zeros((x.shape[0], bw.UNITS)), []
    for t in range(timesteps):
        h = np.tanh(x[:, t] @ kernel + h @ recurrent_kernel + bias)     # (batch, units)
        hs.append(h)
    d_h = [None] * timesteps
    d_h[-1] = 2 * (hs[-1] - y) / y.size                                 # mse: the mean
    for t in reversed(range(1, timesteps)):
        d_h[t - 1] = (d_h[t] * (1 - hs[t] ** 2)) @ recurrent_kernel.T
    return np.array([np.linalg.norm(d) for d in d_h])


@pytest.mark.parametrize("scale", [0.5, 1.0, 1.5], ids=lambda s: f"scale-{s}")
def test_simple_rnn_curve_is_the_chain_rule(scale):
    e = bw.bptt_explorer(cell="SimpleRNN", timesteps=20, scale=scale)
    assert_allclose(e.norms["SimpleRNN"], simple_rnn_dh_by_hand(scale, 20), rtol=1e-3)


def test_scale_up_grows_and_scale_down_vanishes_back_in_time():
    e = bw.bptt_explorer(cell="SimpleRNN", timesteps=30)
    e.scale.value = 1.5
    grown = e.norms["SimpleRNN"]
    assert grown[0] > 2 * grown[-1], "scaled up, the gradient grows going back"
    e.scale.value = 0.5
    shrunk = e.norms["SimpleRNN"]
    assert shrunk[0] < 1e-6 * shrunk[-1], "scaled down, it vanishes"
    assert shrunk[-1] == pytest.approx(grown[-1], rel=0.5), "the last step's own gradient stays"


def test_picture_draws_the_norms_on_a_log_axis():
    e = bw.bptt_explorer(cell="GRU", timesteps=12, scale=1.0)
    assert e.ax.get_yscale() == "log"
    for kind, line in e.lines.items():
        steps, drawn = line.get_data()
        assert list(steps) == list(range(1, 13))
        assert_allclose(drawn, np.maximum(e.norms[kind], bw.FLOOR))
        assert line.get_linewidth() == (2.5 if kind == "GRU" else 1.0), "the chosen cell in bold"
    e.cell.value = "LSTM"
    assert e.lines["LSTM"].get_linewidth() == 2.5 and "-> " + " " * 5 + "LSTM" in e.text


def test_every_ratio_in_the_text_is_the_curves():
    e = bw.bptt_explorer(timesteps=25)
    for kind, norms in e.norms.items():
        assert f"{kind}: {norms[0] / norms[-1]:.1e}" in e.text
    assert "||dL/dh_1|| / ||dL/dh_25||" in e.text
    assert "rnnlib's addition" in e.text


def test_initialisation_trap_the_gated_cells_fall_off_faster():
    """Lesson 9's claim at Keras's initialisation (30 steps, 16 units): GRU < LSTM < SimpleRNN."""
    e = bw.bptt_explorer(timesteps=30, scale=1.0)
    reach = {kind: bw.reach(norms) for kind, norms in e.norms.items()}
    assert reach["GRU"] < reach["LSTM"] < reach["SimpleRNN"]


def test_underflow_is_named_not_drawn_as_nothing():
    e = bw.bptt_explorer(cell="SimpleRNN", timesteps=100, scale=0.25)
    assert e.norms["SimpleRNN"][0] == 0.0, "float32 underflows this far back"
    assert "SimpleRNN: 0 (below float32's range)" in e.text
    assert np.all(e.lines["SimpleRNN"].get_data()[1] >= bw.FLOOR), "a log axis has no 0"


def test_explorer_layers_leave_the_learners_automatic_names_alone():
    rl.clear_session()
    e = bw.bptt_explorer()
    e.cell.value = "LSTM"
    e.timesteps.value = 7
    assert [rl.layers.SimpleRNN(1).name, rl.layers.GRU(1).name, rl.layers.LSTM(1).name] == \
        ["simple_rnn", "gru", "lstm"]


# --- clipping -------------------------------------------------------------------------------

def by_formula(option, c, grads):
    """Keras 3's optimizers (base_optimizer._clip_gradients): each option's rule."""
    if option == "clipvalue":
        return [np.clip(g, -c, c) for g in grads]
    if option == "clipnorm":
        return [g * c / max(np.linalg.norm(g), c) for g in grads]
    total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    return [g * c / max(total, c) for g in grads]


@pytest.mark.parametrize("option", bw.OPTIONS)
@pytest.mark.parametrize("size, c", [(2.0, 1.0), (0.3, 1.0), (8.0, 0.5), (1.0, 0.9)],
                         ids=["clipped", "untouched", "far-over", "between"])
def test_clipping_picture_shows_the_formulas_vectors(option, size, c):
    e = bw.clipping_explorer(size=size, threshold=c)
    grads = [size * d for d in bw.DIRECTIONS.values()]
    expected = by_formula(option, c, grads)
    assert_allclose(e.clipped[option], expected, rtol=1e-12)
    faint, solid = e.arrows[option]
    assert_allclose(np.c_[faint.U, faint.V], grads, rtol=1e-12)
    assert_allclose(np.c_[solid.U, solid.V], expected, rtol=1e-12)
    line = next(line for line in e.text.splitlines() if line.startswith(f"{option}="))
    for g in expected:
        assert f"norm {np.linalg.norm(g):.2f}" in line


def test_the_three_options_differ_where_they_should():
    """size 2, c 1: the kernel's gradient (norm 2) is over c, the recurrent kernel's (norm 1) not."""
    e = bw.clipping_explorer(size=2.0, threshold=1.0)
    kernel, recurrent = e.clipped["clipvalue"]
    assert_allclose(kernel, [1.0, 1.0]), "clipvalue turns the kernel's (1.6, 1.2)"
    kernel, recurrent = e.clipped["clipnorm"]
    assert_allclose(np.linalg.norm(kernel), 1.0) and assert_allclose(recurrent, [-0.6, 0.8])
    kernel, recurrent = e.clipped["global_clipnorm"]
    assert_allclose(np.sqrt(np.sum(kernel ** 2) + np.sum(recurrent ** 2)), 1.0)
    assert "both x 0.45" in e.axes["global_clipnorm"].get_title()


def test_clipping_region_follows_the_threshold():
    e = bw.clipping_explorer(threshold=1.0)
    e.threshold.value = 0.5
    assert e.regions["clipnorm"].get_radius() == 0.5
    assert e.regions["clipvalue"].get_width() == 1.0


# --- the lesson -----------------------------------------------------------------------------

def test_lesson_runs_top_to_bottom(tmp_path):
    """Until tests/test_lessons.py lists lesson 9 (it then runs it with the others)."""
    if LESSON in (ROOT / "tests" / "test_lessons.py").read_text():
        pytest.skip("tests/test_lessons.py runs it")
    from nbclient import NotebookClient
    copy = tmp_path / LESSON
    shutil.copy(ROOT / "course" / LESSON, copy)
    nb = nbformat.read(copy, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]

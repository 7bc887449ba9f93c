"""Lesson 9's explorers, headless: move a control, check what the learner would see.

The expected gradients are worked out here from the forward pass and the chain rule (a
SimpleRNN's dL/dh_tm1 = (dL/dh_t * (1 - h_t**2)) @ recurrent_kernel.T), and the clipped
vectors from the formulas in Keras 3's optimizers, never read back from the widget.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import rnnlib as rl
import rnnlib.bptt_widgets as bw



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


# --- what lesson 9 says of Keras 3 ------------------------------------------------------------

KERAS_CHECK = """
import json, numpy as np, keras, torch
x = np.array([[[1.0], [0.5], [-1.0]]], dtype="float32")
y = np.array([[0.2]], dtype="float32")
layer = keras.layers.SimpleRNN(1)
layer(x)
layer.set_weights([np.array([[0.5]], "float32"), np.array([[0.8]], "float32"),
                   np.array([0.1], "float32")])
loss = keras.losses.MeanSquaredError()(torch.tensor(y), layer(torch.tensor(x)))
loss.backward()
report = {"loss": float(loss), "grads": [float(w.value.grad) for w in layer.weights]}
grads = [np.array([1.6, 1.2], "float32"), np.array([-0.6, 0.8], "float32")]
for option in ("clipvalue", "clipnorm", "global_clipnorm"):
    weights = [keras.Variable(np.zeros(2, "float32")) for _ in grads]
    keras.optimizers.SGD(learning_rate=1.0, **{option: 1.0}).apply_gradients(
        zip([torch.tensor(g) for g in grads], weights))
    report[option] = [(-w.numpy()).tolist() for w in weights]
reach = {}
rng = np.random.default_rng(0)
xs = torch.tensor(rng.normal(size=(8, 30, 1)).astype("float32"))
target = torch.tensor(rng.normal(size=(8, 16)).astype("float32"))
keras.utils.set_random_seed(0)
for kind in ("SimpleRNN", "GRU", "LSTM"):      # dL/dh_t by unrolling Keras's own cell
    layer = getattr(keras.layers, kind)(16)
    layer(xs[:, :2])
    states, hs = [torch.zeros(8, 16) for _ in range(2 if kind == "LSTM" else 1)], []
    for t in range(30):
        h, states = layer.cell(xs[:, t], states)
        states = list(states)
        h.retain_grad()
        hs.append(h)
    ((h - target) ** 2).mean().backward()
    reach[kind] = float(hs[0].grad.norm() / hs[-1].grad.norm())
report["reach"] = reach
print(json.dumps(report))
"""


@pytest.mark.keras
@pytest.mark.slow
def test_lesson_numbers_hold_in_keras():
    """The hand-worked gradients, the three clippings and the initialisation trap, in Keras 3."""
    pytest.importorskip("keras", reason="Keras 3 is the reference: install the 'reference' extra")
    pytest.importorskip("torch", reason="Keras runs on the torch backend here")
    from keras_twins import keras_script_says
    keras_says = keras_script_says(KERAS_CHECK)
    w, u, b, xs, target = 0.5, 0.8, 0.1, [1.0, 0.5, -1.0], 0.2      # the lesson's numbers
    h = [0.0]
    for x_t in xs:
        h.append(np.tanh(w * x_t + u * h[-1] + b))
    d_h = {3: 2 * (h[3] - target)}
    for t in (3, 2):
        d_h[t - 1] = d_h[t] * (1 - h[t] ** 2) * u
    d_z = {t: d_h[t] * (1 - h[t] ** 2) for t in (1, 2, 3)}
    by_hand = [sum(d_z[t] * xs[t - 1] for t in d_z), sum(d_z[t] * h[t - 1] for t in d_z),
               sum(d_z.values())]
    assert_allclose(keras_says["loss"], (h[3] - target) ** 2, rtol=1e-5)
    assert_allclose(keras_says["grads"], by_hand, rtol=1e-4)
    grads = [2.0 * d for d in bw.DIRECTIONS.values()]       # the lesson's (1.6, 1.2), (-0.6, 0.8)
    for option in bw.OPTIONS:
        assert_allclose(keras_says[option], by_formula(option, 1.0, grads), rtol=1e-6)
    reach = keras_says["reach"]
    assert reach["GRU"] < reach["LSTM"] < reach["SimpleRNN"], reach

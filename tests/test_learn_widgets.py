"""Lesson 8's gates explorer, headless (tests/test_lessons.py runs the lesson itself).

Expected values come from the equations the lesson teaches (a gate before the event is the
sigmoid of its bias) or from rnnlib's and Keras's layers given the explorer's weights, never
from the explorer's own arithmetic.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose

import rnnlib as rl
import rnnlib.learn_widgets as lw

CELLS = {"LSTM": rl.layers.LSTM, "GRU": rl.layers.GRU}


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def drawn_input(e):
    """The x trace as drawn: the first line of the collection, (timesteps, 2) points."""
    return e.lines.get_segments()[0]


def panel_labels(e):
    return [t.get_text().split()[0] for t in e.ax.texts]


def same_weights(e, **flags):
    """A new rnnlib layer of the explorer's cell, given the explorer's weights."""
    options = {"reset_after": e.reset_after.value} if e.cell.value == "GRU" else {}
    layer = CELLS[e.cell.value](e.units.value, **options, **flags)
    layer(e.x)
    layer.set_weights(e.layer.get_weights())
    return layer


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
@pytest.mark.parametrize("event_at", [3, 12], ids=lambda t: f"event-at-{t}")
def test_moving_the_event_moves_the_spike_and_the_gates_react_there(cell, event_at):
    e = lw.gates_explorer(cell=cell, event_at=5)
    e.event_at.value = event_at
    points = drawn_input(e)
    assert int(points[np.argmax(points[:, 1]), 0]) == event_at
    assert list(e.event_line.get_xdata()) == [event_at, event_at]
    gates = ["i", "f", "c~", "o"] if cell == "LSTM" else ["z", "r", "h~"]
    for name in gates:
        values = e.panels[name]                          # (timesteps, units)
        assert_allclose(values[:event_at], np.repeat(values[:1], event_at, axis=0), atol=0)
        assert np.abs(values[event_at] - values[event_at - 1]).max() > 1e-3, f"{name} ignored the spike"


def test_before_the_event_each_gate_is_the_sigmoid_of_its_bias():
    e = lw.gates_explorer(cell="LSTM", units=4, event_at=6)
    e.forget_bias.value = 2.5
    b_i, b_f, b_c, b_o = np.split(e.layer.get_weights()[2], 4)
    assert_allclose(b_f, 2.5)
    assert_allclose(np.concatenate([b_i, b_c, b_o]), 0, atol=0)
    before = {name: e.panels[name][:6] for name in ["i", "f", "c~", "o", "c", "h"]}
    assert_allclose(before["f"], sigmoid(2.5), rtol=1e-6)
    assert_allclose(before["i"], 0.5)
    assert_allclose(before["o"], 0.5)
    for name in ["c~", "c", "h"]:
        assert_allclose(before[name], 0, atol=0)
    assert f"f = {sigmoid(2.5):.2f}" in e.text


@pytest.mark.parametrize("cell, state", [("LSTM", "c"), ("GRU", "h")])
def test_forget_bias_up_keeps_the_state_longer(cell, state):
    e = lw.gates_explorer(cell=cell, units=3, timesteps=20, event_at=5)
    kept = []
    for bias in [-2.0, 1.0, 4.0]:
        e.forget_bias.value = bias
        layer = same_weights(e, return_state=True)
        at_event = np.abs(layer(e.x[:, :6])[1 if state == "h" else 2]).max()
        at_end = np.abs(layer(e.x)[1 if state == "h" else 2]).max()
        assert_allclose(e.kept, at_end / at_event, rtol=1e-4)
        kept.append(e.kept)
    assert kept[0] < kept[1] < kept[2]
    assert kept[0] < 0.01 and kept[2] > 0.5


@pytest.mark.parametrize("cell, reset_after", [("LSTM", True), ("GRU", True), ("GRU", False)],
                         ids=["LSTM", "GRU-reset_after", "GRU-reset_before"])
@pytest.mark.parametrize("units", [1, 3, 8])
def test_the_explorer_runs_the_layers_equations(cell, reset_after, units):
    e = lw.gates_explorer(cell=cell, units=units)
    e.reset_after.value = reset_after
    e.forget_bias.value = 0.75
    y = same_weights(e, return_sequences=True)(e.x)[0]
    assert_allclose(e.panels["h"], y, atol=1e-6)


@pytest.mark.parametrize("cell, gates, panels", [
    ("LSTM", ["i", "f", "c", "o"], ["x", "i", "f", "c~", "o", "c", "h"]),
    ("GRU", ["z", "r", "h"], ["x", "z", "r", "h~", "h"]),
])
@pytest.mark.parametrize("units", [1, 3, 8])
def test_kernel_is_drawn_as_one_block_per_gate(cell, gates, panels, units):
    e = lw.gates_explorer(cell="GRU" if cell == "LSTM" else "LSTM", units=units)
    e.cell.value = cell
    assert panel_labels(e) == panels
    assert [t.get_text() for t in e.ax_blocks.texts][:len(gates)] == gates
    image = e.block_image.get_array()
    gaps = np.flatnonzero(image.mask.all(axis=0))          # columns that draw nothing
    assert list(gaps) == [k * (units + 1) + units for k in range(len(gates) - 1)]
    kernel, recurrent_kernel, bias = e.layer.get_weights()
    for k in range(len(gates)):
        block = image[:, k * (units + 1):k * (units + 1) + units]
        assert_allclose(block[0], kernel[0, k * units:(k + 1) * units])
        assert_allclose(block[2:2 + units], recurrent_kernel[:, k * units:(k + 1) * units])
        assert_allclose(block[-1], np.atleast_2d(bias)[-1, k * units:(k + 1) * units])


def test_gru_bias_rows_follow_reset_after():
    e = lw.gates_explorer(cell="GRU")
    labels = [t.get_text() for t in e.ax_blocks.texts]
    assert "bias[0]\ninput" in labels and "bias[1]\nrecurrent" in labels
    assert "bias (2, 9)" in e.text
    e.reset_after.value = False
    labels = [t.get_text() for t in e.ax_blocks.texts]
    assert "bias" in labels and "bias[0]\ninput" not in labels
    assert "bias (9,)" in e.text


def test_choosing_a_cell_puts_the_bias_back_to_keras_value():
    e = lw.gates_explorer(cell="LSTM")
    assert e.forget_bias.value == 1.0 and e.forget_bias.description == "forget bias b_f"
    assert e.reset_after.disabled
    e.forget_bias.value = 3.0
    e.cell.value = "GRU"
    assert e.forget_bias.value == 0.0 and e.forget_bias.description == "update bias b_z"
    assert not e.reset_after.disabled
    assert_allclose(np.split(e.layer.get_weights()[2][0], 3)[0], 0.0)
    e.cell.value = "LSTM"
    assert_allclose(np.split(e.layer.get_weights()[2], 4)[1], 1.0)   # unit_forget_bias=True


def test_fewer_timesteps_keep_the_event_inside_the_sequence():
    e = lw.gates_explorer(timesteps=20, event_at=15)
    e.timesteps.value = 8
    assert e.event_at.value == 7 and e.x.shape == (1, 8, 1)
    assert int(np.argmax(drawn_input(e)[:, 1])) == 7
    assert "x[0, 7, 0] = 3" in e.text
    assert "the event is the last step" in e.text and "% of it" not in e.text


def test_every_control_redraws_and_the_fallback_shows_picture_and_text():
    e = lw.gates_explorer()
    for control, value in [(e.cell, "GRU"), (e.reset_after, False), (e.units, 8),
                           (e.timesteps, 50), (e.event_at, 30), (e.forget_bias, 4.0)]:
        before = e.png
        control.value = value
        assert e.png != before, f"{control.description} did not redraw"
    bundle = e._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"].startswith("<img src='data:image/png;base64,")
    assert e.text.splitlines()[0] in bundle["text/plain"]
    assert repr(e).startswith("<GatesExplorer cell=GRU, ")


def test_the_learners_automatic_names_and_random_state_are_left_alone():
    rl.clear_session()
    rl.utils.set_random_seed(3)
    expected = rl.layers.LSTM(2)
    expected(np.zeros((1, 2, 1), "float32"))
    rl.clear_session()
    rl.utils.set_random_seed(3)
    lw._LAYERS.clear()                                # so that the explorer builds its layers now
    e = lw.gates_explorer(cell="GRU", units=5)        # new weights: not from the global generator
    e.reset_after.value = False
    layer = rl.layers.LSTM(2)
    layer(np.zeros((1, 2, 1), "float32"))
    assert layer.name == "lstm" and rl.layers.GRU(1).name == "gru"
    for mine, theirs in zip(layer.get_weights(), expected.get_weights()):
        assert_allclose(mine, theirs, atol=0)


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("cell, reset_after", [("LSTM", True), ("GRU", True), ("GRU", False)],
                         ids=["LSTM", "GRU-reset_after", "GRU-reset_before"])
def test_the_explorer_draws_what_keras_computes(cell, reset_after):
    keras = pytest.importorskip("keras")
    e = lw.gates_explorer(cell=cell, units=4)
    e.reset_after.value = reset_after
    e.forget_bias.value = 2.0
    options = {"reset_after": reset_after} if cell == "GRU" else {}
    layer = getattr(keras.layers, cell)(4, return_sequences=True, **options)
    layer.build((None, None, 1))
    layer.set_weights(e.layer.get_weights())
    y = keras.ops.convert_to_numpy(layer(e.x))[0]
    assert_allclose(e.panels["h"], y, atol=1e-5)

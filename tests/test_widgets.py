"""The lesson explorers, headless: move a control, check what the learner would see.

Every expected number below is worked out from the formula the lessons teach
(``units * (features + units + 1)`` per gate block), never copied from the widget.
"""
import re
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

import rnnlib as rl
import rnnlib.viz as viz
import rnnlib.widgets as widgets


def simple_rnn_params(units, features):
    return units * (features + units + 1)


def flat(text):
    """The text with line breaks (the explorers wrap long messages) made single spaces."""
    return " ".join(text.split())


def output_shape_line(text):
    return re.search(r"Output shape: (.*)", text).group(1)


def total_params(text):
    return int(re.search(r"Total params: ([\d,]+) \(", text).group(1).replace(",", ""))


# --- what every explorer shares ------------------------------------------------------------

@pytest.fixture(params=list(widgets.EXPLORERS), ids=list(widgets.EXPLORERS))
def explorer(request):
    return widgets.EXPLORERS[request.param]()


def test_explorer_shows_text_picture_and_repr(explorer):
    assert explorer.text and explorer.text in explorer.label.value.replace("&#x27;", "'") \
        .replace("&gt;", ">").replace("&lt;", "<").replace("&quot;", '"')
    assert explorer.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert repr(explorer).startswith(f"<{type(explorer).__name__} ")


def test_explorer_degrades_to_static_picture_and_text(explorer):
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle   # live, where a front end can
    assert bundle["text/html"].startswith("<img src='data:image/png;base64,")
    assert explorer.text.splitlines()[0] in bundle["text/plain"]   # terminals get the text


def test_every_control_redraws_the_picture(explorer):
    """Every control a learner can move redraws (a disabled one, which does not apply to the
    case shown, is left alone: its own explorer's tests move it where it applies)."""
    moved = 0
    for control in explorer.controls:
        if getattr(control, "disabled", False):
            continue
        moved += 1
        before = explorer.png
        options = getattr(control, "options", None)
        if isinstance(control.value, bool):
            control.value = not control.value
        elif options:
            control.value = next(v for v in _labels(options) if v != control.value)
        else:
            control.value = control.max if control.value != control.max else control.min
        assert explorer.png != before, f"{control.description} did not redraw"
    assert moved >= 1


def _labels(options):
    return [o[1] if isinstance(o, tuple) else o for o in options]


def test_explorers_leave_the_learners_automatic_names_alone(explorer):
    """An explorer names its own layers, so the learner's next layer is still `simple_rnn`."""
    rl.clear_session()
    for control in explorer.controls:
        if isinstance(control.value, bool):
            control.value = not control.value
    names = [rl.layers.SimpleRNN(1).name, rl.layers.GRU(1).name, rl.layers.Dense(1).name,
             rl.layers.Reshape((1,)).name, rl.layers.Add().name, rl.Input(shape=(1,)).name]
    assert names == ["simple_rnn", "gru", "dense", "reshape", "add", "input_layer"]


def test_import_rnnlib_needs_neither_matplotlib_nor_ipywidgets():
    code = ("import sys, rnnlib, rnnlib.viz; "
            "print(sorted(m for m in ('matplotlib', 'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- lesson 1 --------------------------------------------------------------------------------

@pytest.mark.parametrize("length, timesteps", [(12, 3), (12, 12), (2, 2), (2, 1), (24, 8)],
                         ids=lambda v: str(v))
def test_timesteps_explorer_reshapes(length, timesteps):
    e = widgets.timesteps_explorer()
    e.length.value = length
    e.timesteps.value = timesteps
    features = length // timesteps
    assert e.shape == (None, timesteps, features)
    assert f"input shape {(None, timesteps, features)}" in e.text
    assert f"x.reshape(batch, {timesteps}, {features})" in e.text


@pytest.mark.parametrize("n", [20, 21, 24, 40, 41, 60], ids=lambda n: f"{n}-values")
def test_every_value_has_a_colour_of_its_own(n):
    colours = viz.value_colours(n)
    assert colours.shape == (n, 4)
    assert len({tuple(c) for c in np.round(colours, 6)}) == n, "no colour comes back"


def test_grid_keeps_each_values_colour():
    """Lesson 1 promises 'same numbers, same colours': the grid's cell (t, f) has the colour
    of flat position t * features + f, also past 20 values (the explorer's 24)."""
    e = widgets.timesteps_explorer(length=12, timesteps=3)
    e.length.value, e.timesteps.value = 24, 4
    flat = e.ax_flat.images[-1].get_array()[0]             # (24, 4)
    grid = e.ax_grid.images[-1].get_array()                # (4, 6, 4)
    assert grid.shape == (4, 6, 4)
    assert_allclose(grid.reshape(24, 4), flat)
    assert len({tuple(c) for c in np.round(flat, 6)}) == 24


def test_timesteps_slider_offers_only_whole_splits():
    e = widgets.timesteps_explorer(length=12, timesteps=4)
    e.length.value = 7                               # 4 does not divide 7: back to 1 timestep
    assert list(e.timesteps.options) == [1, 7] and e.timesteps.value == 1
    assert "(None, 1, 7)" in e.text
    e.length.value = 14
    e.timesteps.value = 7
    e.length.value = 21                              # 7 still divides 21: kept
    assert e.timesteps.value == 7 and "(None, 7, 3)" in e.text


# --- lesson 2 --------------------------------------------------------------------------------

CELL_CASES = [("SimpleRNN", True, 1), ("GRU", True, 3), ("GRU", False, 3), ("LSTM", True, 4)]


@pytest.mark.parametrize("cell, reset_after, gates", CELL_CASES,
                         ids=["SimpleRNN", "GRU-reset_after", "GRU-reset_before", "LSTM"])
@pytest.mark.parametrize("features, units", [(1, 10), (3, 7), (64, 64)], ids=lambda v: str(v))
def test_parameter_explorer_counts(cell, reset_after, gates, features, units):
    e = widgets.parameter_explorer()
    e.cell.value, e.reset_after.value = cell, reset_after
    e.features.value, e.units.value = features, units
    expected = gates * simple_rnn_params(units, features) + (3 * units if cell == "GRU" and reset_after else 0)
    assert e.count == expected
    assert f"= {expected:,}\n" in e.text
    assert f"kernel {(features, gates * units)}" in e.text
    assert f"recurrent_kernel {(units, gates * units)}" in e.text


def test_parameter_explorer_default_is_the_120_of_the_question():
    e = widgets.parameter_explorer()
    assert "params = 10*1 + 10*10 + 10 = 120" in e.text


@pytest.mark.parametrize("cell", ["SimpleRNN", "GRU", "LSTM"])
def test_parameter_explorer_offers_reset_after_only_for_gru(cell):
    e = widgets.parameter_explorer(cell=cell)
    assert e.reset_after.disabled == (cell != "GRU")


# --- lesson 3 (its controls are a contract with tests/test_browser.py) ------------------------

def test_unroll_explorer_controls_contract():
    e = widgets.unroll_explorer()
    assert [(s.description, s.value, s.min, s.max) for s in (e.timesteps, e.units, e.features)] == \
        [("timesteps", 5, 1, 50), ("units", 10, 1, 64), ("features", 1, 1, 16)]
    assert all(s.continuous_update for s in (e.timesteps, e.units, e.features))
    assert output_shape_line(e.text) == "(None, 10)"
    assert total_params(e.text) == 120


def test_unroll_units_10_to_20_gives_440_params():
    e = widgets.unroll_explorer()
    e.units.value = 20
    assert total_params(e.text) == simple_rnn_params(20, 1) == 440
    assert output_shape_line(e.text) == "(None, 20)"


@pytest.mark.parametrize("timesteps, units, features", [(5, 10, 1), (7, 3, 2), (50, 64, 16), (1, 1, 1)],
                         ids=lambda v: str(v))
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_unroll_explorer_shape_and_params(timesteps, units, features, return_sequences):
    e = widgets.unroll_explorer()
    e.timesteps.value, e.units.value, e.features.value = timesteps, units, features
    e.return_sequences.value = return_sequences
    shape = (None, timesteps, units) if return_sequences else (None, units)
    assert output_shape_line(e.text) == str(shape)
    assert "simple_rnn (SimpleRNN)" in e.text and str(shape) in e.text.split("simple_rnn")[1]
    assert total_params(e.text) == simple_rnn_params(units, features)
    assert e.h.shape == (timesteps, units)


@pytest.mark.parametrize("flags, shown", [
    ((True, False), "(None, 5, 10)"),
    ((False, True), "[(None, 10), (None, 10)]"),
    ((True, True), "[(None, 5, 10), (None, 10)]"),
    ((False, False), "(None, 10)"),
], ids=["return_sequences", "return_state", "both", "back-to-neither"])
def test_unroll_toggles_change_the_output_shape(flags, shown):
    e = widgets.unroll_explorer()
    e.return_sequences.value, e.return_state.value = True, True      # move them first
    e.return_sequences.value, e.return_state.value = flags
    assert output_shape_line(e.text) == shown


def test_unroll_heatmap_is_the_hidden_state_of_the_fixed_input():
    e = widgets.unroll_explorer(timesteps=9, units=4, features=2)
    layer = rl.layers.SimpleRNN(4, return_sequences=True, seed=0)
    assert_allclose(e.h, layer(widgets.signal(9, 2))[0], atol=1e-6)


# --- lesson 4 --------------------------------------------------------------------------------

def test_stack_explorer_teaching_error_then_fix():
    e = widgets.stack_explorer(layers=2)
    assert e.text.startswith("ValueError: ")
    assert "expected ndim=3, found ndim=2" in flat(e.text)
    assert "create 'simple_rnn' with return_sequences=True" in flat(e.text)
    assert e.status["simple_rnn_1"] == "bad"
    e.return_sequences[0].value = True
    assert not e.text.startswith("ValueError")
    assert total_params(e.text) == simple_rnn_params(10, 1) + simple_rnn_params(10, 10)


@pytest.mark.parametrize("flags, failing", [
    ((True, False, False), "simple_rnn_2"),        # the middle layer cuts the time axis
    ((False, True, True), "simple_rnn_1"),
    ((True, True, False), None),
    ((True, True, True), None),
], ids=["middle-False", "first-False", "last-False-ok", "all-True-ok"])
def test_stack_explorer_three_layers(flags, failing):
    e = widgets.stack_explorer(layers=3)
    for toggle, flag in zip(e.return_sequences, flags):
        toggle.value = flag
    if failing:
        assert e.text.startswith("ValueError: ") and f'layer "{failing}"' in flat(e.text)
        assert [n for n, s in e.status.items() if s == "bad"] == [failing]
    else:
        shape = (None, 5, 10) if flags[-1] else (None, 10)
        assert "simple_rnn_2 (SimpleRNN)" in e.text and str(shape) in e.text
        assert total_params(e.text) == simple_rnn_params(10, 1) + 2 * simple_rnn_params(10, 10)


def test_stack_explorer_hides_toggles_of_absent_layers():
    e = widgets.stack_explorer(layers=2)
    e.layers.value = 1
    shown = [t.layout.display != "none" for t in e.return_sequences]
    assert shown == [True, False, False, False]
    assert not e.text.startswith("ValueError")


# --- lesson 5 --------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, names", [("SimpleRNN", ["h"]), ("GRU", ["h"]), ("LSTM", ["h", "c"])],
                         ids=["SimpleRNN-one-state", "GRU-one-state", "LSTM-two-states"])
def test_state_explorer_states(cell, names):
    e = widgets.state_explorer(timesteps=6, units=5, cell=cell)
    assert e.state_names == names
    assert f"{1 + len(names)} arrays: output (1, 5), " + ", ".join(f"{n} (1, 5)" for n in names) in e.text
    assert [v.shape for v in e.states_over_time] == [(6, 5)] * len(names)
    assert sum(h.ax.get_visible() for h in e.heatmaps) == len(names)
    layer = {"SimpleRNN": rl.layers.SimpleRNN, "GRU": rl.layers.GRU, "LSTM": rl.layers.LSTM}[cell]
    y = layer(5, return_sequences=True, seed=0)(widgets.signal(6, 1))[0]
    assert_allclose(e.states_over_time[0], y, atol=1e-6)      # the h heatmap is the layer's h


def test_state_explorer_follows_timesteps_and_units():
    e = widgets.state_explorer(cell="LSTM")
    e.timesteps.value, e.units.value = 50, 64
    assert "x (1, 50, 1)" in e.text and "c (1, 64)" in e.text
    assert e.states_over_time[1].shape == (50, 64)


# --- lesson 6 --------------------------------------------------------------------------------

@pytest.mark.parametrize("merge_mode, width", [("concat", 6), ("sum", 3), ("ave", 3), ("mul", 3)],
                         ids=lambda v: str(v))
def test_directions_explorer_merge_modes(merge_mode, width):
    e = widgets.directions_explorer()
    e.merge_mode.value = merge_mode
    assert f"Bidirectional: (1, 8, {width})" in e.text
    assert e.outputs["Bidirectional"].shape == (1, 8, width)


def test_directions_explorer_marks_the_concat_halves_only():
    e = widgets.directions_explorer()
    lines = e.heatmaps["Bidirectional"].ax.lines
    assert [line.get_ydata()[0] for line in lines] == [e.units.value - 0.5]
    assert "forward units above the line" in e.text
    e.merge_mode.value = "sum"
    assert len(e.heatmaps["Bidirectional"].ax.lines) == 0 and "merges (sum)." in e.text


def test_directions_explorer_backward_is_flipped_back_in_bidirectional():
    e = widgets.directions_explorer(padding=0)
    e.mask.value = False
    merged = e.outputs["Bidirectional"][0]                     # concat: forward | backward
    units = e.units.value
    assert_allclose(merged[:, :units], e.outputs["forward"][0], atol=1e-6)
    assert_allclose(merged[:, units:], e.outputs["backward"][0][::-1], atol=1e-6)


@pytest.mark.parametrize("panel", ["forward", "backward", "Bidirectional"])
def test_directions_explorer_mask_matters_in_every_panel(panel):
    """With padding, switching the mask changes every panel, the backward one too (a zero bias
    and zero padding would keep the backward h at 0 and hide the mask)."""
    e = widgets.directions_explorer(padding=2)
    masked = e.outputs[panel].copy()
    e.mask.value = False
    assert np.abs(e.outputs[panel] - masked).max() > 0.05


def test_directions_explorer_masked_steps_repeat_or_zero_as_keras():
    e = widgets.directions_explorer(padding=3)                # 5 real steps, 3 padded
    real, units = 5, e.units.value
    forward, backward = e.outputs["forward"][0], e.outputs["backward"][0]
    merged = e.outputs["Bidirectional"][0]
    assert_allclose(forward[real:], np.repeat(forward[real - 1:real], 3, axis=0), atol=1e-7)
    assert_allclose(backward[:3], 0, atol=0)                  # read first, before any real step
    assert np.abs(backward[3:]).min() > 0
    assert_allclose(merged[real:], 0, atol=0)                 # zeros in both halves
    assert_allclose(merged[:real, :units], forward[:real], atol=1e-6)
    assert_allclose(merged[:real, units:], backward[::-1][:real], atol=1e-6)
    assert "Bidirectional gives zeros in both halves" in flat(e.text)


def test_directions_explorer_padding_and_toggles():
    e = widgets.directions_explorer()
    e.padding.value = 5
    assert "3 real steps, 5 padded, masked" in e.text
    e.mask.value = False
    assert "NOT masked" in e.text
    e.forward.value = False
    e.merged.value = False
    shown = [name for name, h in e.heatmaps.items() if h.ax.get_visible()]
    assert shown == ["backward"]


# --- lesson 7 --------------------------------------------------------------------------------

def test_encoder_explorer_warns_until_fixed():
    e = widgets.encoder_explorer()
    assert "UserWarning" in e.text and "(None, 16) and (None, 32, 16)" in flat(e.text)
    assert e.status == {"add": "warn"}
    e.return_sequences.value = True
    assert "UserWarning" not in e.text and e.status == {}
    rows = {r["name"]: r["output_shape"] for r in e.rows}
    assert rows["gru1"] == "(None, 32, 16)" and rows["concatenate_1"] == "(None, 32, 32, 17)"


def _graph_edges(model):
    """Every (source layer, layer) pair, read from the model's own nodes, not from the rows."""
    return {(t.node.layer.name, layer.name) for layer in model.layers if layer._nodes
            for t in layer._nodes[0].input_tensors}


@pytest.mark.parametrize("fixed", [False, True], ids=["as-written", "fixed"])
def test_layers_picture_is_the_encoders_real_graph(fixed):
    model, _ = widgets.encoder(fixed)
    places, edges = viz.graph(model.summary_rows())
    assert set(edges) == _graph_edges(model) and len(edges) == len(set(edges))
    assert {("gru1", "add"), ("gru1_b", "add"), ("gru2", "concatenate"), ("gru2_b", "concatenate"),
            ("feature_map", "concatenate_1"), ("reshape_1", "concatenate_1")} <= set(edges)
    column = {name: c for name, (c, x, y) in places.items()}
    height = {name: y for name, (c, x, y) in places.items()}
    for a, b, merge in [("gru1", "gru1_b", "add"), ("gru2", "gru2_b", "concatenate")]:
        assert column[a] == column[b] == column[merge] - 1, "branches side by side, then the merge"
        assert height[a] != height[b]
    assert column["concatenate_1"] - column["feature_map"] > 1, "the skip spans the model"
    assert len(set(column.values())) == 8


def test_layers_picture_draws_each_box_and_edge_where_the_graph_says():
    model, _ = widgets.encoder()
    e = widgets.encoder_explorer()
    places, edges = viz.graph(model.summary_rows())
    boxes = [(p.get_x(), p.get_y()) for p in e.ax.patches]
    assert_allclose(sorted(boxes), sorted((x, y) for _, x, y in places.values()), atol=1e-9)
    skips = [(s, t) for s, t in edges if places[t][0] - places[s][0] > 1]
    assert len(e.ax.lines) == len(skips) == 1               # routed above the boxes
    arrows = e.ax.collections[-1].get_offsets()             # one quiver: an arrow per edge
    assert len(arrows) == len(edges)


def test_layers_picture_of_a_plain_stack_is_one_row():
    x = rl.Input(shape=(5, 1))
    h = rl.layers.SimpleRNN(4, return_sequences=True)(x)
    model = rl.Model(x, rl.layers.Dense(1)(rl.layers.GRU(3)(h)))
    rows = model.summary_rows()
    places, edges = viz.graph(rows)
    names = [r["name"] for r in rows]
    assert edges == list(zip(names, names[1:]))
    assert [places[n][0] for n in names] == list(range(len(names)))
    assert {y for _, _, y in places.values()} == {0.0}
    assert repr(viz.layers(model)).count(" -> ") == len(names) - 1
    sequential = rl.Sequential([rl.Input(shape=(5, 1)), rl.layers.SimpleRNN(2)])
    assert viz.graph(sequential.summary_rows())[1] == []       # its input is no row of its own


def test_layers_picture_puts_an_input_just_before_its_reader():
    a, b = rl.Input(shape=(5, 1), name="a"), rl.Input(shape=(5, 2), name="b")
    both = rl.layers.concatenate([rl.layers.SimpleRNN(3, return_sequences=True)(a), b])
    model = rl.Model([a, b], rl.layers.GRU(2)(both))
    places, edges = viz.graph(model.summary_rows())
    assert set(edges) == _graph_edges(model)
    assert all(places[t][0] - places[s][0] == 1 for s, t in edges), "no edge skips a column"
    fig = viz.new_figure(6, 2)
    viz.draw_layers(fig.add_axes([0, 0, 1, 1]), model.summary_rows())
    assert len(fig.axes[0].lines) == 0


def test_layers_picture_routes_a_skip_from_a_lower_branch_underneath():
    x = rl.Input(shape=(5, 1), name="x")
    up = rl.layers.SimpleRNN(3, return_sequences=True, name="up")(x)
    down = rl.layers.SimpleRNN(3, return_sequences=True, name="down")(x)
    after = rl.layers.SimpleRNN(3, return_sequences=True, name="after")(up)
    model = rl.Model(x, rl.layers.add([after, down], name="sum"))
    places, edges = viz.graph(model.summary_rows())
    assert set(edges) == _graph_edges(model) and places["down"][2] < places["up"][2]
    fig = viz.new_figure(6, 2)
    viz.draw_layers(fig.add_axes([0, 0, 1, 1]), model.summary_rows())
    (skip,) = fig.axes[0].lines
    assert max(skip.get_ydata()[1:]) < min(y for _, _, y in places.values())


# --- the pictures on their own ---------------------------------------------------------------

def test_pictures_are_png_and_say_what_they_show():
    pictures = [viz.vector_grid(np.arange(6), timesteps=2),
                viz.unrolled(timesteps=7, units=3, features=2, return_sequences=True, return_state=True),
                viz.heatmap(np.zeros((4, 3))),
                viz.weights({"kernel": (1, 10), "bias": (10,)}),
                viz.layers([dict(name="a", type="InputLayer", output_shape="(None, 2, 1)")])]
    for picture in pictures:
        assert picture._repr_png_()[:4] == b"\x89PNG"
    assert repr(pictures[0]) == "<Picture: 6 values as 2 timesteps x 3 features>"
    assert "over 7 timesteps of 2 features" in repr(pictures[1])


@pytest.mark.parametrize("timesteps, shown", [(1, [0]), (5, [0, 1, 2, 3, 4]), (50, [0, 1, 2, None, 49])],
                         ids=lambda v: str(v))
def test_unrolled_diagram_shows_first_steps_and_the_last(timesteps, shown):
    assert viz.shown_steps(timesteps) == shown

"""Lesson 12 (the same network in PyTorch) and its layout explorer, against torch itself.

The lesson needs no torch: it writes PyTorch's RNN, LSTM and GRU in NumPy.  Here its weights
are loaded into torch's own layers (``load_state_dict``, so the names and shapes must be
PyTorch's) and torch's forward must give what the lesson's NumPy computed; every count and
shape the lesson prints is torch's.  The explorer's shapes and counts are checked against
torch, rnnlib and Keras layers of the same settings.  tests/test_lessons.py runs the lesson
in a kernel (and under Keras); this file runs its code cells in one namespace, cell by cell.
"""
import contextlib
import io
import os

import nbformat
import numpy as np
import pytest
from numpy.testing import assert_allclose

import rnnlib as rl
import rnnlib.torch_layout_widgets as tw

LESSON = os.path.join(os.path.dirname(__file__), "..", "course", "12_the_same_network_in_pytorch.ipynb")
TOL = dict(rtol=1e-10, atol=1e-12)          # float64 NumPy against float64 torch


@pytest.fixture(scope="module")
def lesson():
    """(snapshots, stdout): the namespace after each code cell (keyed by the cell's first
    line), and everything the cells printed.  Pictures and the explorer are skipped."""
    nb = nbformat.read(LESSON, as_version=4)
    namespace, snapshots, out = {}, {}, io.StringIO()
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.source.startswith(("rl.widgets.", "rl.viz.")):
            continue
        with contextlib.redirect_stdout(out):
            exec(compile(cell.source, cell.id, "exec"), namespace)
        snapshots[cell.source.splitlines()[0]] = dict(namespace)
    return snapshots, out.getvalue()


def after(lesson, first_line):
    """The namespace after the code cell whose first line starts with ``first_line``."""
    (namespace,) = [ns for line, ns in lesson[0].items() if line.startswith(first_line)]
    return namespace


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch", reason="torch is the reference: install the 'reference' extra")
    before = torch.is_grad_enabled()
    torch.set_grad_enabled(False)          # forward passes only; given back for the tests after
    yield torch
    torch.set_grad_enabled(before)


def torch_layer(torch, kind, weights, *args, **kwargs):
    """torch.nn.<kind>(*args, **kwargs) in float64 holding the lesson's ``weights`` (strict)."""
    layer = getattr(torch.nn, kind)(*args, **kwargs).double()
    layer.load_state_dict({name: torch.from_numpy(np.asarray(w, "float64")) for name, w in weights.items()})
    return layer


def as_numpy(out):
    return [t.numpy() for t in out]


# --- the lesson's numbers are torch's ---------------------------------------------------------

def test_the_lesson_imports_no_torch():
    code = "\n".join(c.source for c in nbformat.read(LESSON, as_version=4).cells if c.cell_type == "code")
    assert "import torch" not in code and "from torch" not in code


def test_the_three_layouts_address_the_same_number(lesson):
    ns = after(lesson, "batch, timesteps, features = 2, 3, 4")
    x = ns["x"]
    for b in range(2):
        for t in range(3):
            for f in range(4):
                assert x[b, t, f] == ns["x_time_major"][t, b, f] == ns["x_columns"][f, b, t]
    assert "reshape: the same shape: True | the same data: False" in lesson[1]


@pytest.mark.keras
def test_rnn_counts_and_forward_are_torchs(lesson, torch):
    ns = after(lesson, "batch, timesteps = 3, 5")
    layer = torch_layer(torch, "RNN", ns["rnn"], 1, 10)
    assert sum(p.numel() for p in torch.nn.RNN(1, 10).parameters()) == 130
    assert list(torch.nn.RNN(1, 10, bias=False).state_dict()) == ["weight_ih_l0", "weight_hh_l0"]
    assert "PyTorch: 130 parameters = 10*1 + 10*10 + 10 + 10" in lesson[1]
    assert "Keras:   120 parameters, weights [(1, 10), (10, 10), (10,)]" in lesson[1]
    output, h_n = as_numpy(layer(torch.from_numpy(ns["x_time_major"].astype("float64"))))
    assert_allclose(ns["output"], output, **TOL)
    assert_allclose(ns["h_n"], h_n, **TOL)
    assert "output (5, 3, 10) | h_n (1, 3, 10)" in lesson[1]
    assert "h_n[0] is the last step of output: True" in lesson[1]


def test_keras_given_the_sum_of_the_biases_is_the_same_network(lesson):
    assert "Keras's sequence == PyTorch's output, axes swapped: True" in lesson[1]
    assert "Keras's state == h_n[0]: True" in lesson[1]


@pytest.mark.keras
def test_pytorch_initialises_every_weight_within_one_over_sqrt_units(torch):
    torch.manual_seed(0)
    for kind in ("RNN", "LSTM", "GRU"):
        values = torch.cat([p.flatten() for p in getattr(torch.nn, kind)(1, 10).parameters()]).numpy()
        assert np.abs(values).max() <= 1 / np.sqrt(10)
        assert np.abs(values).max() > 0.9 / np.sqrt(10)           # uniform over the whole range


@pytest.mark.keras
def test_stacked_bidirectional_rnn_is_torchs(lesson, torch):
    ns = after(lesson, "layer_input = x_time_major")
    layer = torch_layer(torch, "RNN", ns["stack"], 1, 10, num_layers=2, bidirectional=True)
    assert list(layer.state_dict()) == list(ns["stack"])               # the same names, in order
    assert sum(p.numel() for p in layer.parameters()) == 900 and "parameters: 900" in lesson[1]
    output, h_n = as_numpy(layer(torch.from_numpy(ns["x_time_major"].astype("float64"))))
    assert_allclose(ns["output"], output, **TOL)
    assert_allclose(ns["h_n"], h_n, **TOL)
    assert "output (5, 3, 20) | h_n (4, 3, 10)" in lesson[1]
    assert_allclose(h_n[3], output[0, :, 10:], **TOL)                 # the backward layer's last h
    assert "is output's FIRST step, second half: True" in lesson[1]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, False), (1, True), (3, True)],
                         ids=["1-layer", "2-layers", "bidirectional", "3-layers-bidirectional"])
@pytest.mark.keras
def test_batch_first_changes_output_but_not_h_n(torch, kind, num_layers, bidirectional):
    """The lesson's shape rules: output (timesteps, batch, dirs*units), h_n (layers*dirs, batch,
    units) whatever batch_first is; c_n like h_n."""
    dirs = 2 if bidirectional else 1
    for batch_first in (False, True):
        layer = getattr(torch.nn, kind)(3, 4, num_layers=num_layers, bidirectional=bidirectional,
                                        batch_first=batch_first)
        x = torch.zeros((2, 5, 3) if batch_first else (5, 2, 3))
        output, state = layer(x)
        assert tuple(output.shape) == ((2, 5, 4 * dirs) if batch_first else (5, 2, 4 * dirs))
        for s in (state if kind == "LSTM" else (state,)):
            assert tuple(s.shape) == (num_layers * dirs, 2, 4)


@pytest.mark.keras
def test_lstm_forward_and_count_are_torchs(lesson, torch):
    ns = after(lesson, "sigmoid = lambda a: 1 / (1 + np.exp(-a))")
    layer = torch_layer(torch, "LSTM", ns["lstm"], 1, 10)
    output, (h_n, c_n) = layer(torch.from_numpy(ns["x_time_major"].astype("float64")))
    assert_allclose(ns["lstm_output"], output.numpy(), **TOL)
    assert_allclose(ns["lstm_h_n"], h_n.numpy(), **TOL)
    assert_allclose(ns["lstm_c_n"], c_n.numpy(), **TOL)
    assert sum(p.numel() for p in layer.parameters()) == 520
    assert "PyTorch LSTM: 520 parameters | Keras LSTM(10): 480 parameters, bias (40,)" in lesson[1]


@pytest.mark.keras
def test_gru_forward_is_torchs_and_b_hn_cannot_move(lesson, torch):
    ns = after(lesson, 'gru = {"weight_ih_l0"')
    x = torch.from_numpy(ns["x_time_major"].astype("float64"))
    output, h_n = as_numpy(torch_layer(torch, "GRU", ns["gru"], 1, 10)(x))
    assert_allclose(ns["gru_output"], output, **TOL)
    assert_allclose(ns["gru_h_n"], h_n, **TOL)
    _, moved = as_numpy(torch_layer(torch, "GRU", ns["moved"], 1, 10)(x))
    assert_allclose(ns["last_h"][1], moved[0], **TOL)
    assert np.abs(moved - h_n).max() > 1e-3
    assert "b_hn moved into b_in, the same GRU: False" in lesson[1]
    assert sum(p.numel() for p in torch.nn.GRU(1, 10).parameters()) == 390
    assert "PyTorch GRU: 390 parameters" in lesson[1]
    assert "Keras GRU(10, reset_after=True): 390 parameters, bias (2, 30)" in lesson[1]
    assert "Keras GRU(10, reset_after=False): 360 parameters, bias (30,)" in lesson[1]


@pytest.mark.keras
def test_lstm_bias_merges_where_the_gru_candidate_bias_does_not(lesson, torch):
    """The prose: only b_ih + b_hh counts in the RNN and the LSTM."""
    ns = after(lesson, "sigmoid = lambda a: 1 / (1 + np.exp(-a))")
    x = torch.from_numpy(ns["x_time_major"].astype("float64"))
    total = ns["lstm"]["bias_ih_l0"] + ns["lstm"]["bias_hh_l0"]
    merged = dict(ns["lstm"], bias_ih_l0=total, bias_hh_l0=0 * total)
    output, _ = torch_layer(torch, "LSTM", merged, 1, 10)(x)
    assert_allclose(output.numpy(), ns["lstm_output"], **TOL)


@pytest.mark.keras
def test_keras_calls_reset_after_true_the_cudnn_compatible_gru():
    keras = pytest.importorskip("keras")
    assert "cuDNN compatible" in " ".join(keras.layers.GRU.__doc__.split())


# --- the explorer -----------------------------------------------------------------------------

CELLS = {"SimpleRNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}
SETTINGS = [("SimpleRNN", 1, 10, 1, False), ("LSTM", 3, 4, 2, True), ("GRU", 5, 3, 3, False),
            ("GRU", 2, 6, 1, True), ("LSTM", 64, 64, 3, True)]
IDS = [f"{c}-f{f}-u{u}-l{n}" + ("-bi" if b else "") for c, f, u, n, b in SETTINGS]


def explorer(cell, features, units, num_layers, bidirectional, framework):
    e = tw.layout_explorer(cell=cell, layout=framework, units=units, features=features,
                           num_layers=num_layers, bidirectional=bidirectional)
    e.timesteps.value, e.batch.value = 7, 3
    return e


@pytest.mark.keras
@pytest.mark.parametrize("setting", SETTINGS, ids=IDS)
@pytest.mark.parametrize("batch_first", [False, True], ids=["time-major", "batch-first"])
def test_pytorch_shapes_and_count_are_torchs(torch, setting, batch_first):
    cell, features, units, layers, bidirectional = setting
    e = explorer(*setting, "PyTorch")
    e.batch_first.value = batch_first
    layer = getattr(torch.nn, CELLS[cell])(features, units, num_layers=layers, bidirectional=bidirectional,
                                           batch_first=batch_first)
    assert e.weights == [(name, tuple(p.shape)) for name, p in layer.state_dict().items()]
    assert e.count == sum(p.numel() for p in layer.parameters()) == e.counts["PyTorch"]
    assert f"{e.count:,} parameters;" in e.text
    output, state = layer(torch.zeros(e.input_shape))
    states = state if cell == "LSTM" else (state,)
    assert [s for _, s, _ in e.returned] == [tuple(output.shape)] + [tuple(s.shape) for s in states]


def keras_model(library, cell, features, units, layers, bidirectional, reset_after=True):
    options = {"reset_after": reset_after} if cell == "GRU" else {}
    x = library.Input(shape=(7, features), batch_size=3)
    y = x
    for k in range(layers):             # the last layer returns its states too: (output, *states)
        layer = getattr(library.layers, cell)(units, return_sequences=True,
                                              return_state=k == layers - 1, **options)
        y = (library.layers.Bidirectional(layer) if bidirectional else layer)(y)
    return library.Model(x, list(y))


def keras_shapes(model):
    weights = [tuple(w.shape) for w in model.get_weights()]
    outputs = [tuple(o.shape) for o in model.outputs]
    return weights, outputs, model.count_params()


@pytest.mark.parametrize("setting, reset_after",
                         [(s, True) for s in SETTINGS] + [(s, False) for s in SETTINGS if s[0] == "GRU"],
                         ids=IDS + [i + "-reset_before" for i, s in zip(IDS, SETTINGS) if s[0] == "GRU"])
def test_keras_shapes_and_count_are_rnnlibs(setting, reset_after):
    cell, features, units, layers, bidirectional = setting
    e = explorer(*setting, "Keras")
    e.reset_after.value = reset_after
    weights, outputs, count = keras_shapes(keras_model(rl, cell, features, units, layers, bidirectional,
                                                       reset_after))
    assert [s for _, s in e.weights] == weights
    assert [s for _, s, _ in e.returned] == outputs
    assert e.count == count == e.counts["Keras"]
    assert e.input_shape == (3, 7, features)


@pytest.mark.keras
@pytest.mark.parametrize("setting", SETTINGS[:4], ids=IDS[:4])
def test_keras_shapes_and_count_are_keras(setting):
    keras = pytest.importorskip("keras")
    e = explorer(*setting, "Keras")
    weights, outputs, count = keras_shapes(keras_model(keras, *setting))
    assert [s for _, s in e.weights] == weights
    assert [s for _, s, _ in e.returned] == outputs
    assert e.count == count


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
def test_columns_are_one_layer_of_kerass_weights_transposed(cell):
    e = explorer(cell, 3, 5, 2, True, "columns")
    keras, _, count = keras_shapes(keras_model(rl, cell, 3, 5, 1, False))
    assert [s for _, s in e.weights] == [s[::-1] if len(s) == 2 else (s[0], 1) for s in keras]
    assert e.count == count and e.input_shape == (3, 3, 7)
    assert e.returned[0][1] == (5, 3, 7) and e.returned[1][1] == (5, 3)
    assert e.num_layers.disabled and e.bidirectional.disabled and e.batch_first.disabled


def drawn_gates(e):
    """The gate letters drawn beside layer 0's weights, in order."""
    return [t.get_text() for t in e.ax.texts if t.get_text() in "ifcgozrhn" and t.get_text()]


@pytest.mark.keras
@pytest.mark.parametrize("cell, keras, torch_order", [("LSTM", "ifco", "ifgo"), ("GRU", "zrh", "rzn")])
def test_gate_blocks_are_drawn_in_each_frameworks_order_one_colour_per_gate(cell, keras, torch_order):
    e = tw.layout_explorer(cell=cell, layout="Keras", units=4)
    assert drawn_gates(e) == list(keras)
    keras_colours = [p.get_facecolor() for p in e.ax.patches[:len(keras)]]    # the kernel's blocks
    e.framework.value = "PyTorch"
    assert drawn_gates(e) == list(torch_order)
    torch_colours = [p.get_facecolor() for p in e.ax.patches[:len(keras)]]
    same = {"g": "c", "n": "h"}
    for gate, colour in zip(torch_order, torch_colours):
        assert colour == keras_colours[keras.index(same.get(gate, gate))]
    kernel = e.ax.patches[0]
    assert kernel.get_height() == 4 and kernel.get_width() == 1      # rows of units, 1 feature wide


def test_the_text_compares_the_counts():
    e = tw.layout_explorer(cell="SimpleRNN", layout="PyTorch", units=10, features=1)
    assert "130 parameters;" in e.text and "120 parameters in Keras, 130 in PyTorch" in e.text
    assert "torch.nn.RNN(1, 10)(x)" in e.text
    e.cell.value = "GRU"
    assert "390 parameters in Keras and in PyTorch" in e.text
    e.framework.value = "Keras"
    e.reset_after.value = False
    assert "360 parameters" in e.text and "reset_after=False" in e.text
    assert e.batch_first.disabled and not e.reset_after.disabled
    e.framework.value = "PyTorch"
    assert e.reset_after.disabled and not e.batch_first.disabled


def test_every_control_redraws():
    e = tw.layout_explorer()
    for control, value in [(e.cell, "GRU"), (e.framework, "Keras"), (e.units, 20), (e.features, 5),
                           (e.timesteps, 9), (e.batch, 4), (e.num_layers, 2), (e.bidirectional, True),
                           (e.reset_after, False), (e.framework, "PyTorch"), (e.batch_first, True)]:
        before = e.png
        control.value = value
        assert e.png != before, f"{control.description} did not redraw"
    assert repr(e).startswith("<LayoutExplorer cell=GRU, layout=PyTorch, ")


def test_where_no_widget_renders_the_picture_and_the_text_are_shown():
    e = tw.layout_explorer(cell="GRU")
    bundle = e._repr_mimebundle_()
    assert {"application/vnd.jupyter.widget-view+json", "text/html", "text/plain"} <= set(bundle)
    assert bundle["text/html"].startswith("<img src='data:image/png;base64,")
    assert "torch.nn.GRU(1, 10)(x)" in bundle["text/html"]
    assert bundle["text/plain"] == f"{e!r}\n{e.text}"

"""Live explorers for the lessons: sliders and toggles, a picture, and the text Keras would print.

One line in a notebook shows one:

    import rnnlib as rl
    rl.widgets.unroll_explorer()         # rl.widgets is imported on first use

Each explorer is a small class.  Its controls are attributes (``explorer.units`` is
the units slider), ``explorer.text`` is the text the learner sees, and every change
of a control recomputes the model and redraws the picture (reusing one figure).
Where no front end renders widgets (an HTML export, a terminal) it shows a static
picture and the same text instead.

This module needs ipywidgets and matplotlib; ``import rnnlib`` does not.
"""
import base64
import html
import textwrap
import warnings
from collections import OrderedDict

import ipywidgets as W
import numpy as np

from . import viz
from .engine import Input, fmt_shape, snake_case
from .initializers import Constant
from .layers import GRU, LSTM, Bidirectional, Reshape, SimpleRNN, add, concatenate
from .models import Model

CELLS = {"SimpleRNN": SimpleRNN, "GRU": GRU, "LSTM": LSTM}


def _slider(description, value, low, high):
    return W.IntSlider(value=value, min=low, max=high, description=description,
                       continuous_update=True, style={"description_width": "initial"})


def _toggle(description, value=False):
    return W.Checkbox(value=value, description=description, indent=False,
                      layout=W.Layout(width="auto"))


def _cell_buttons(value="SimpleRNN"):
    return W.ToggleButtons(options=list(CELLS), value=value, description="cell",
                           style={"button_width": "110px"})


_BUILT_CELLS = OrderedDict()     # (kind, units, features, seed, options) -> a built cell


def rnn_layer(kind, units, features, seed=0, name=None, **options):
    """``SimpleRNN``/``GRU``/``LSTM`` with Keras's name, its cell's weights made once per setting.

    Building a cell draws an orthogonal matrix (a QR decomposition); dragging a slider
    back and forth should not pay for that again, so built cells are kept (the last 32;
    the weights are the same anyway: they come from ``seed``).
    """
    cell_options = {k: options.pop(k) for k in ("reset_after", "bias_initializer") if k in options}
    layer = CELLS[kind](units, seed=seed, name=name or snake_case(kind), **cell_options, **options)
    key = (kind, units, features, seed, tuple(sorted((k, repr(v)) for k, v in cell_options.items())))
    if key in _BUILT_CELLS:
        _BUILT_CELLS.move_to_end(key)
        layer.cell = _BUILT_CELLS[key]          # built, so the layer will not build it again
    else:
        layer.cell.build((None, features))
        _BUILT_CELLS[key] = layer.cell
        if len(_BUILT_CELLS) > 32:
            _BUILT_CELLS.popitem(last=False)
    return layer


def signal(timesteps, features):
    """The fixed input the explorers feed: a smooth wave per feature, (1, timesteps, features)."""
    t = np.arange(timesteps)[:, None]                      # (timesteps, 1)
    f = np.arange(features)[None, :]                       # (1, features)
    return np.sin(0.6 * t + 1.3 * f + 1.0)[None].astype("float32")  # (1, timesteps, features)


def wrap(text, width=100):
    """Wrap each line of a long message; continuation lines are indented.  Not for tables."""
    return "\n".join(textwrap.fill(line, width, subsequent_indent="  ") for line in text.splitlines())


def summary_text(model):
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


class Explorer:
    """Controls on top, then a picture, then text; a change of any control updates both.

    A subclass sets ``self.<control>`` attributes, then calls
    ``super().__init__(rows, figsize)`` (``rows``: lists of controls, one list per line
    on screen), and writes ``layout(fig)`` (makes its axes, once), ``compute()``
    (returns the text) and ``draw()`` (draws what ``compute`` left on those axes;
    reusing them is what keeps an update fast).
    """

    def __init__(self, rows, figsize):
        self.controls = controls = [control for row in rows for control in row]
        self.figure = viz.new_figure(*figsize)
        self.layout(self.figure)
        width = int(self.figure.get_figwidth() * self.figure.dpi)   # 1 image pixel = 1 screen pixel
        self.image = W.Image(format="png", layout=W.Layout(width=f"{width}px", max_width="100%"))
        self.label = W.HTML()
        self.widget = W.VBox([W.HBox(row, layout=W.Layout(flex_flow="row wrap")) for row in rows]
                             + [self.image, self.label])
        self.text = ""
        for control in controls:
            control.observe(self._changed, names="value")
        self.update()

    _holding = False      # True while a control adjusts another: one update at the end

    def _changed(self, change):
        if not self._holding:
            self.update()

    def update(self):
        """Recompute, rewrite the text and redraw the picture."""
        self.text = self.compute()
        self.label.value = (f"<pre style='line-height:1.25; white-space:pre; overflow-x:auto'>"
                            f"{html.escape(self.text)}</pre>")
        self.draw()
        self.png = viz.png_bytes(self.figure)
        self.image.value = self.png

    def layout(self, fig):
        self.ax = fig.add_axes([0, 0, 1, 1])

    def compute(self):
        raise NotImplementedError

    def draw(self):
        raise NotImplementedError

    def settings(self):
        return ", ".join(f"{c.description.replace(' ', '_')}={c.value}" for c in self.controls
                         if c.layout.display != "none")

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The live widget where a front end can show it; a static picture and text elsewhere."""
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        picture = base64.b64encode(self.png).decode("ascii")
        bundle["text/html"] = (f"<img src='data:image/png;base64,{picture}'/>"
                               f"<pre>{html.escape(self.text)}</pre>")
        bundle["text/plain"] = f"{self!r}\n{self.text}"
        return bundle

    def __repr__(self):
        return f"<{type(self).__name__} {self.settings()}>"


# --- lesson 1 ----------------------------------------------------------------------------

def divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


class TimestepsExplorer(Explorer):
    """A flat vector of ``length`` values cut into ``timesteps`` rows of ``features``."""

    def __init__(self, length=12, timesteps=3):
        self.length = _slider("length", length, 1, 24)
        self.timesteps = W.SelectionSlider(options=divisors(length), value=timesteps,
                                           description="timesteps", continuous_update=True)
        self.length.observe(self._new_length, names="value")
        super().__init__([[self.length, self.timesteps]], (6, 3.2))

    def _new_length(self, change):
        """Offer only the timesteps that split the vector evenly; keep the choice if it still does."""
        keep = self.timesteps.value if change["new"] % self.timesteps.value == 0 else 1
        self._holding = True               # the length observer updates once, after this
        try:
            self.timesteps.options = divisors(change["new"])
            self.timesteps.value = keep
        finally:
            self._holding = False

    def compute(self):
        n, t = self.length.value, self.timesteps.value
        self.x = np.arange(1, n + 1, dtype="float32")
        self.shape = (None, t, n // t)
        return (f"x.reshape(batch, {t}, {n // t}): {viz.plural(t, 'timestep')} of "
                f"{viz.plural(n // t, 'feature')} per sample\n"
                f"rl.Input(shape={(t, n // t)}) -> input shape {fmt_shape(self.shape)}")

    def layout(self, fig):
        self.ax_flat = fig.add_axes([0.05, 0.78, 0.9, 0.14])
        self.ax_grid = fig.add_axes([0.05, 0.05, 0.9, 0.6])

    def draw(self):
        viz.draw_vector_grid(self.ax_flat, self.ax_grid, self.x, self.shape[1])


def timesteps_explorer(length=12, timesteps=3):
    """Lesson 1: a flat vector and a timesteps slider that reshapes it into a grid."""
    return TimestepsExplorer(length, timesteps)


# --- lesson 2 ----------------------------------------------------------------------------

def parameter_formula(cell, units, features, reset_after=True):
    """The parameter count of one RNN layer as a formula (text) and its value."""
    u, f = units, features
    gates = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}[cell]
    inner = f"{u}*{f} + {u}*{u} + {u}"
    text = f"{inner}" if gates == 1 else f"{gates}*({inner})"
    count = gates * (u * f + u * u + u)
    if cell == "GRU" and reset_after:
        text += f" + 3*{u}"
        count += 3 * u
    return text, count


class ParameterExplorer(Explorer):
    """Features, units and cell type -> the weights' shapes and the parameter count."""

    def __init__(self, features=1, units=10, cell="SimpleRNN", reset_after=True):
        self.features = _slider("features", features, 1, 64)
        self.units = _slider("units", units, 1, 64)
        self.cell = _cell_buttons(cell)
        self.reset_after = _toggle("reset_after (GRU)", reset_after)
        super().__init__([[self.features, self.units], [self.cell, self.reset_after]], (7, 2.2))

    def compute(self):
        cell, u, f = self.cell.value, self.units.value, self.features.value
        self.reset_after.disabled = cell != "GRU"           # only a GRU has the choice
        kwargs = {"reset_after": self.reset_after.value} if cell == "GRU" else {}
        layer = rnn_layer(cell, u, f, **kwargs)
        layer(Input(shape=(None, f), name="x"))
        self.count = layer.count_params()
        self.shapes = dict(zip(layer.weight_names, [w.shape for w in layer.weights]))
        formula, count = parameter_formula(cell, u, f, self.reset_after.value)
        assert count == self.count, (formula, count, self.count)
        shapes = ", ".join(f"{n} {fmt_shape(s)}" for n, s in self.shapes.items())
        return (f"{cell}({u}) on {viz.plural(f, 'feature')}\n"
                f"params = {formula} = {self.count:,}\n"
                f"weights: {shapes}")

    def draw(self):
        viz.draw_weights(self.ax, self.shapes)


def parameter_explorer(features=1, units=10, cell="SimpleRNN"):
    """Lesson 2: where an RNN layer's parameters come from."""
    return ParameterExplorer(features, units, cell)


# --- lesson 3 ----------------------------------------------------------------------------

class UnrollExplorer(Explorer):
    """A SimpleRNN unrolled: diagram, ``summary()`` and the hidden state over time."""

    def __init__(self, timesteps=5, units=10, features=1, return_sequences=False,
                 return_state=False):
        self.timesteps = _slider("timesteps", timesteps, 1, 50)
        self.units = _slider("units", units, 1, 64)
        self.features = _slider("features", features, 1, 16)
        self.return_sequences = _toggle("return_sequences", return_sequences)
        self.return_state = _toggle("return_state", return_state)
        super().__init__([[self.timesteps, self.units, self.features],
                          [self.return_sequences, self.return_state]], (7.5, 4.4))

    def compute(self):
        t, u, f = self.timesteps.value, self.units.value, self.features.value
        x = Input(shape=(t, f), name="input_layer")
        layer = rnn_layer("SimpleRNN", u, f, name="simple_rnn",
                          return_sequences=self.return_sequences.value,
                          return_state=self.return_state.value)
        model = Model(x, layer(x), name="functional")
        shape = model.output_shape                      # several outputs: a list, as Keras prints
        self.output_shape = fmt_shape(list(shape) if isinstance(shape[0], tuple) else shape)
        self.count = model.count_params()
        every_h = rnn_layer("SimpleRNN", u, f, return_sequences=True)   # the same weights
        self.h = every_h(signal(t, f))[0]                               # (timesteps, units)
        return f"Output shape: {self.output_shape}\n\n{summary_text(model)}"

    def layout(self, fig):
        self.ax = fig.add_axes([0, 0.42, 1, 0.58])
        self.heatmap = viz.Heatmap(fig.add_axes([0.08, 0.08, 0.9, 0.26]))

    def draw(self):
        viz.draw_unrolled(self.ax, self.timesteps.value, self.units.value, self.features.value,
                          self.return_sequences.value, self.return_state.value)
        self.heatmap.show(self.h, "h_t over time, for a fixed input wave")


def unroll_explorer(timesteps=5, units=10, features=1):
    """Lesson 3: timesteps, units, features and the return flags, live."""
    return UnrollExplorer(timesteps, units, features)


# --- lesson 4 ----------------------------------------------------------------------------

class StackExplorer(Explorer):
    """A stack of SimpleRNN layers; each has a return_sequences toggle.  Summary or error."""

    most = 4

    def __init__(self, layers=2, timesteps=5, units=10, features=1):
        self.shape = (timesteps, features)
        self.units = units
        self.layers = _slider("layers", layers, 1, self.most)
        self.return_sequences = [_toggle(f"layer {k + 1} return_sequences")
                                 for k in range(self.most)]
        self.layers.observe(self._show_toggles, names="value")
        self._show_toggles()
        super().__init__([[self.layers], self.return_sequences], (7.5, 1.3))

    def _show_toggles(self, change=None):
        for k, toggle in enumerate(self.return_sequences):
            toggle.layout.display = None if k < self.layers.value else "none"

    def compute(self):
        x = Input(shape=self.shape, name="input_layer")
        self.rows = [dict(name="input_layer", type="InputLayer", output_shape=fmt_shape(x.shape))]
        self.status, self.error, y = {}, None, x
        for k in range(self.layers.value):
            name = "simple_rnn" + (f"_{k}" if k else "")
            layer = rnn_layer("SimpleRNN", self.units, self.units if k else self.shape[1],
                              seed=k, name=name,
                              return_sequences=self.return_sequences[k].value)
            shape = "-"                  # never built: an earlier layer failed
            if self.error is None:
                try:
                    y = layer(y)
                    shape = fmt_shape(y.shape)
                except ValueError as exc:
                    self.error, shape = str(exc), "error"
            self.status[name] = {"-": "off", "error": "bad"}.get(shape)
            self.rows.append(dict(name=name, type="SimpleRNN", output_shape=shape))
        if self.error:
            return wrap(f"ValueError: {self.error}")
        return summary_text(Model(x, y, name="functional"))

    def draw(self):
        viz.draw_layers(self.ax, self.rows, self.status)


def stack_explorer(layers=2):
    """Lesson 4: stack RNN layers and see the summary, or the error that says why not."""
    return StackExplorer(layers)


# --- lesson 5 ----------------------------------------------------------------------------

class StateExplorer(Explorer):
    """h (and c for an LSTM) over time, and the shapes of the states ``return_state`` gives."""

    def __init__(self, timesteps=10, units=8, cell="LSTM"):
        self.timesteps = _slider("timesteps", timesteps, 1, 50)
        self.units = _slider("units", units, 1, 64)
        self.cell = _cell_buttons(cell)
        super().__init__([[self.timesteps, self.units], [self.cell]], (7.5, 3.0))

    def compute(self):
        t, u, cell = self.timesteps.value, self.units.value, self.cell.value
        layer = rnn_layer(cell, u, 1, return_state=True)
        x = signal(t, 1)
        output, *states = layer(x)
        self.states_over_time = _states_over_time(layer.cell, x)
        names = ["h", "c"][:len(states)]
        self.state_names = names
        shapes = ", ".join(f"{n} {fmt_shape(s.shape)}" for n, s in zip(names, states))
        return (f"output, {', '.join(names)} = {cell}({u}, return_state=True)(x)   "
                f"# x {fmt_shape(x.shape)}\n"
                f"{1 + len(states)} arrays: output {fmt_shape(output.shape)}, {shapes}\n"
                f"{len(states)} state{'s' * (len(states) > 1)}; output equals the last h: "
                f"{bool(np.allclose(output, states[0]))}")

    def layout(self, fig):
        self.heatmaps = [viz.Heatmap(fig.add_axes([0.07, 0.17, 0.4, 0.7])),
                         viz.Heatmap(fig.add_axes([0.57, 0.17, 0.4, 0.7]))]

    def draw(self):
        k = len(self.states_over_time)
        for i, heatmap in enumerate(self.heatmaps):
            heatmap.ax.set_visible(i < k)
            heatmap.ax.set_position([0.07 + i * 0.5, 0.17, 0.9 / k - 0.1 * (k - 1), 0.7])
        for heatmap, name, values in zip(self.heatmaps, self.state_names, self.states_over_time):
            vmax = max(float(np.abs(values).max()), 1e-3)     # small states still show colour
            heatmap.show(values, f"{name} over time {fmt_shape(values.shape)}, "
                                 f"colours to ±{vmax:.2g}", vmax=vmax)


def _states_over_time(cell, x):
    """Run ``cell`` step by step over x (1, timesteps, features): each state, (timesteps, size)."""
    states = [np.zeros((1, s), "float32") for s in np.atleast_1d(cell.state_size)]
    history = []
    for t in range(x.shape[1]):
        _, states = cell.call(x[:, t], states)
        history.append([s[0] for s in states])
    return [np.array(h) for h in zip(*history)]


def state_explorer(timesteps=10, units=8, cell="LSTM"):
    """Lesson 5: where the state lives and what return_state hands back."""
    return StateExplorer(timesteps, units, cell)


# --- lesson 6 ----------------------------------------------------------------------------

class DirectionsExplorer(Explorer):
    """A padded sequence read forwards, backwards (go_backwards) and by Bidirectional.

    All three read with the same weights and a bias of 0.5, as a trained layer has one: with
    a new layer's zero bias, padding read before any real step (the backward layer's, here)
    would leave h at 0, and the mask would seem not to matter backwards.
    """

    bias = Constant(0.5)

    def __init__(self, timesteps=8, padding=2, units=3):
        self.timesteps_total = timesteps
        self.padding = _slider("padding", padding, 0, timesteps - 1)
        self.units = _slider("units", units, 1, 8)
        self.merge_mode = W.Dropdown(options=["concat", "sum", "ave", "mul"], value="concat",
                                     description="merge_mode", style={"description_width": "initial"},
                                     layout=W.Layout(width="200px"))
        self.mask = _toggle("mask the padding", True)
        self.forward = _toggle("forward", True)
        self.backward = _toggle("backward (go_backwards)", True)
        self.merged = _toggle("Bidirectional", True)
        super().__init__([[self.padding, self.units, self.merge_mode, self.mask],
                          [self.forward, self.backward, self.merged]], (7.5, 3.6))

    def compute(self):
        t, u = self.timesteps_total, self.units.value
        real = t - self.padding.value
        self.x = np.zeros((1, t, 1), "float32")
        self.x[0, :real, 0] = np.arange(1, real + 1) / real          # 1 sample, padded at the end
        mask = (np.arange(t) < real)[None] if self.mask.value else None   # (1, timesteps)
        fwd = rnn_layer("SimpleRNN", u, 1, name="forward", return_sequences=True,
                        bias_initializer=self.bias)
        bwd = rnn_layer("SimpleRNN", u, 1, name="backward", return_sequences=True,
                        go_backwards=True, bias_initializer=self.bias)   # the same cell, weights
        both = Bidirectional(SimpleRNN(u, return_sequences=True, name="simple_rnn"),
                             merge_mode=self.merge_mode.value, name="bidirectional")
        self.outputs = {"forward": fwd(self.x, mask=mask), "backward": bwd(self.x, mask=mask)}
        both(self.x, mask=mask)
        both.set_weights(fwd.get_weights() + bwd.get_weights())        # the same weights, to compare
        self.outputs["Bidirectional"] = both(self.x, mask=mask)
        self.real = real
        lines = [f"x {fmt_shape(self.x.shape)}: {real} real steps, {t - real} padded"
                 + (", masked" if mask is not None else ", NOT masked (padding is read as data)")]
        for name, y in self.outputs.items():
            lines.append(f"{name:>13}: {fmt_shape(y.shape)}")
        lines.append("backward comes out in reading order: its column 0 is the LAST timestep.")
        mode = self.merge_mode.value
        where = ": forward units above the line, backward below" if mode == "concat" else ""
        lines.append(f"Bidirectional flips it back, then merges ({mode}{where}).")
        if mask is not None and real < t:
            lines.append("Masked steps: forward repeats its last real output, backward gives zeros "
                         "(nothing read yet); Bidirectional gives zeros in both halves.")
        lines.append("All three: the same weights, bias 0.5 (a trained layer's bias is not zero).")
        return wrap("\n".join(lines))

    def layout(self, fig):
        self.heatmaps = {name: viz.Heatmap(fig.add_axes([0, 0, 1, 1]))
                         for name in ("forward", "backward", "Bidirectional")}

    def draw(self):
        toggles = {"forward": self.forward, "backward": self.backward,
                   "Bidirectional": self.merged}
        shown = [name for name in self.heatmaps if toggles[name].value]
        t = self.timesteps_total
        padded = list(range(self.real, t))
        steps = [f"x{k}" for k in range(t)]
        for name, heatmap in self.heatmaps.items():
            heatmap.ax.set_visible(name in shown)
            if name not in shown:
                continue
            i, k = shown.index(name), len(shown)
            heatmap.ax.set_position([0.06 + i / k, 0.15, 1 / k - 0.09, 0.7])
            backward = name == "backward"          # its columns are in reading order
            halves = name == "Bidirectional" and self.merge_mode.value == "concat"
            heatmap.show(self.outputs[name][0], f"{name} {fmt_shape(self.outputs[name].shape)}",
                         padded=[t - 1 - p for p in padded] if backward else padded,
                         step_labels=steps[::-1] if backward else steps,
                         split=self.units.value if halves else None)


def directions_explorer(timesteps=8, padding=2):
    """Lesson 6: forward, backward and Bidirectional outputs of a padded sequence."""
    return DirectionsExplorer(timesteps, padding)


# --- lesson 7 ----------------------------------------------------------------------------

def encoder(gru_1_return_sequences=False):
    """The GRU encoder of lesson 7 on a (32, 32, 16) feature map; returns (model, warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        feature_map = Input(shape=(32, 32, 16), name="feature_map")
        sequence = Reshape((32, 512), name="reshape")(feature_map)
        gru_1 = GRU(16, return_sequences=gru_1_return_sequences, seed=1, name="gru1")(sequence)
        gru_1b = GRU(16, return_sequences=True, go_backwards=True, seed=2, name="gru1_b")(sequence)
        merged = add([gru_1, gru_1b], name="add")
        gru_2 = GRU(16, return_sequences=True, seed=3, name="gru2")(merged)
        gru_2b = GRU(16, return_sequences=True, go_backwards=True, seed=4, name="gru2_b")(merged)
        both = concatenate([gru_2, gru_2b], name="concatenate")
        image = Reshape((32, 32, 1), name="reshape_1")(both)
        fusion = concatenate([feature_map, image], axis=3, name="concatenate_1")
        model = Model(feature_map, fusion, name="encoder")
    return model, [str(w.message) for w in caught]


class EncoderExplorer(Explorer):
    """Lesson 7's encoder as its graph: toggle gru1's return_sequences, watch the add warning go."""

    def __init__(self, return_sequences=False):
        self.return_sequences = _toggle("gru1 return_sequences", return_sequences)
        super().__init__([[self.return_sequences]], (9.5, 2.7))   # two branches and a skip

    def compute(self):
        model, self.warnings = encoder(self.return_sequences.value)
        self.rows = model.summary_rows()
        self.status = {"add": "warn"} if self.warnings else {}
        warned = "".join(wrap(f"UserWarning: {w}") + "\n\n" for w in self.warnings)
        return warned + summary_text(model)

    def draw(self):
        viz.draw_layers(self.ax, self.rows, self.status)


def encoder_explorer(return_sequences=False):
    """Lesson 7: the encoder's shapes, with and without the fix."""
    return EncoderExplorer(return_sequences)


EXPLORERS = {
    "timesteps_explorer": timesteps_explorer, "parameter_explorer": parameter_explorer,
    "unroll_explorer": unroll_explorer, "stack_explorer": stack_explorer,
    "state_explorer": state_explorer, "directions_explorer": directions_explorer,
    "encoder_explorer": encoder_explorer,
}


def gates_explorer(**settings):
    """Lesson 8: an LSTM's or GRU's gates, c and h over time around one event (rnnlib/learn_widgets.py)."""
    from .learn_widgets import gates_explorer as explorer    # imported here: it builds on Explorer
    return explorer(**settings)


EXPLORERS["gates_explorer"] = gates_explorer


def bptt_explorer(**settings):
    """Lesson 9: how the gradient dL/dh_t grows or vanishes back through time (rnnlib/bptt_widgets.py)."""
    from .bptt_widgets import bptt_explorer as explorer      # imported here: it builds on Explorer
    return explorer(**settings)


def clipping_explorer(**settings):
    """Lesson 9: clipvalue, clipnorm and global_clipnorm on two gradients (rnnlib/bptt_widgets.py)."""
    from .bptt_widgets import clipping_explorer as explorer
    return explorer(**settings)


EXPLORERS["bptt_explorer"] = bptt_explorer
EXPLORERS["clipping_explorer"] = clipping_explorer


def training_explorer(**settings):
    """Lesson 10: training and validation curves, overfitting (rnnlib/train_widgets.py)."""
    from .train_widgets import training_explorer as explorer   # imported here: it builds on Explorer
    return explorer(**settings)


def live_loss_plot(**settings):
    """Lesson 10: a callback that redraws the loss curves at every epoch of fit (rnnlib/train_widgets.py)."""
    from .train_widgets import live_loss_plot as callback
    return callback(**settings)


def tasks_explorer(**settings):
    """Lesson 11: the four shapes of real tasks, every tensor's shape (rnnlib/task_widgets.py)."""
    from .task_widgets import tasks_explorer as explorer
    return explorer(**settings)


def task_shapes(**settings):
    """Lesson 11: a picture of the four shapes of task side by side (rnnlib/task_widgets.py)."""
    from .task_widgets import task_shapes as picture
    return picture(**settings)


def layout_explorer(**settings):
    """Lesson 12: one network in Keras's, PyTorch's and a from-scratch layout (rnnlib/torch_layout_widgets.py)."""
    from .torch_layout_widgets import layout_explorer as explorer
    return explorer(**settings)


EXPLORERS["training_explorer"] = training_explorer
EXPLORERS["tasks_explorer"] = tasks_explorer
EXPLORERS["layout_explorer"] = layout_explorer

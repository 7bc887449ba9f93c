"""Explorers for the lessons on how networks learn: lesson 8, inside the gates.

    import rnnlib as rl
    rl.widgets.gates_explorer()          # rl.widgets hands it out, like the others

Built as the explorers in ``rnnlib/widgets.py``: the controls are attributes
(``explorer.event_at`` is the slider that moves the event), ``explorer.text`` is the
text the learner reads, every change recomputes and redraws one reused figure, and
where no front end renders widgets a static picture and the same text are shown.
"""
import ipywidgets as W
import numpy as np

from . import viz
from .engine import fmt_shape
from .initializers import GlorotUniform, Orthogonal
from .layers import GRU, LSTM
from .widgets import Explorer, _slider, _toggle, wrap

# The kernel's column blocks, in Keras's order, and the panels drawn over time.
GATES = {"LSTM": ("i", "f", "c", "o"), "GRU": ("z", "r", "h")}
PANELS = {
    "LSTM": [("x", "input"), ("i", "input gate"), ("f", "forget gate"), ("c~", "candidate"),
             ("o", "output gate"), ("c", "memory cell"), ("h", "output")],
    "GRU": [("x", "input"), ("z", "update gate"), ("r", "reset gate"), ("h~", "candidate"),
            ("h", "output, the state")],
}
SIGMOID_PANELS = {"i", "f", "o", "z", "r"}       # drawn on a fixed 0..1 scale
UNIT_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
                "#17becf"]
KERAS_KEEP_BIAS = {"LSTM": 1.0, "GRU": 0.0}      # unit_forget_bias=True sets b_f = 1; GRU: zeros


def event_input(timesteps, event_at, height=3.0):
    """Zeros with one spike: x[0, event_at, 0] = height.  (1, timesteps, 1)."""
    x = np.zeros((1, timesteps, 1), "float32")
    x[0, event_at, 0] = height
    return x


_LAYERS = {}     # (cell, units, reset_after) -> a built layer; its bias is set on every update


def gate_layer(cell, units, reset_after=True):
    """An LSTM or GRU on 1 feature with the same weights every time, made the Keras way:
    seeded initializer objects (a layer's ``seed=`` seeds only dropout in Keras)."""
    key = (cell, units, reset_after)
    if key not in _LAYERS:
        options = {"reset_after": reset_after} if cell == "GRU" else {}
        layer = {"LSTM": LSTM, "GRU": GRU}[cell](
            units, return_sequences=True, name=cell.lower(),
            kernel_initializer=GlorotUniform(seed=8), recurrent_initializer=Orthogonal(seed=9),
            **options)
        layer(event_input(2, 0))                  # builds it on 1 feature
        _LAYERS[key] = layer
    return _LAYERS[key]


def with_keep_bias(layer, value):
    """The layer's weights with the bias of the gate that keeps the state set to ``value``:
    the LSTM's forget gate f (block 2 of i|f|c|o), the GRU's update gate z (block 1 of z|r|h,
    in the input row when the bias has two rows)."""
    kernel, recurrent_kernel, bias = layer.cell.weights
    units, bias = layer.cell.units, np.array(bias)
    columns = slice(units, 2 * units) if isinstance(layer, LSTM) else slice(0, units)
    (bias[0] if bias.ndim == 2 else bias)[columns] = value
    return [kernel, recurrent_kernel, bias]


def gates_over_time(cell, x):
    """Every gate, candidate and state of ``cell`` at every step of x (1, timesteps, features):
    a dict name -> (timesteps, units), from the cell's own equations (``cell.parts``)."""
    lstm = len(np.atleast_1d(cell.state_size)) == 2
    names = {"i": "i", "f": "f", "c~": "c_hat", "o": "o", "c": "c", "h": "h"} if lstm else \
        {"z": "z", "r": "r", "h~": "hh", "h": "h"}
    states = [np.zeros((1, cell.units), "float32") for _ in range(2 if lstm else 1)]
    history = {name: [] for name in names}
    for t in range(x.shape[1]):
        parts = cell.parts(cell.project(x[:, t]), *states)     # one step, every intermediate
        states = [parts.h, parts.c] if lstm else [parts.h]
        for name, attribute in names.items():
            history[name].append(getattr(parts, attribute)[0])
    return {name: np.array(values) for name, values in history.items()}


def weight_blocks(weights, gates):
    """kernel, recurrent_kernel and bias as one picture, cut into one column block per gate.

    Returns ``(image, rows)``: ``image`` (rows, columns) with a NaN column between gate
    blocks and a NaN row between the weights (NaN draws as background), and ``rows`` the
    ``(label, first row, last row)`` of each weight.
    """
    kernel, recurrent_kernel, bias = weights
    bias = np.atleast_2d(bias)
    parts = [("kernel", kernel), ("recurrent_kernel", recurrent_kernel)]
    parts += [("bias", bias)] if len(bias) == 1 else [("bias[0]\ninput", bias[:1]),
                                                      ("bias[1]\nrecurrent", bias[1:])]
    stacked, rows, top = [], [], 0
    for label, weight in parts:
        stacked += [weight, np.full((1, weight.shape[1]), np.nan)]
        rows.append((label, top, top + len(weight) - 1))
        top += len(weight) + 1
    full = np.vstack(stacked[:-1])                        # (rows, gates*units)
    blocks = np.split(full, gates, axis=1)                # one per gate, Keras's order
    gap = np.full((len(full), 1), np.nan)
    return np.hstack([b for block in blocks for b in (block, gap)][:-1]), rows


class GatesExplorer(Explorer):
    """One event in a sequence of zeros: each gate, c and h of an LSTM or a GRU over time.

    ``forget_bias`` is the bias of the gate that keeps the state: the LSTM's forget gate
    (``unit_forget_bias=True`` sets it to 1, Keras's default) or, for a GRU, the update
    gate z (h = z * h_tm1 + (1 - z) * h~, so z near 1 keeps h; Keras starts it at 0).
    Choosing a cell puts the slider back to that cell's Keras value.
    """

    def __init__(self, cell="LSTM", units=3, timesteps=20, event_at=5, reset_after=True):
        self.cell = W.ToggleButtons(options=list(GATES), value=cell, description="cell",
                                    style={"button_width": "80px"})
        self.reset_after = _toggle("reset_after (GRU)", reset_after)
        self.units = _slider("units", units, 1, len(UNIT_COLOURS))
        self.timesteps = _slider("timesteps", timesteps, 2, 50)
        self.event_at = _slider("event at timestep", event_at, 0, timesteps - 1)
        self.forget_bias = W.FloatSlider(value=KERAS_KEEP_BIAS[cell], min=-3, max=5, step=0.25,
                                         continuous_update=True,
                                         style={"description_width": "initial"})
        self._name_bias()
        self.cell.observe(self._new_cell, names="value")
        self.timesteps.observe(self._new_timesteps, names="value")
        super().__init__([[self.cell, self.reset_after], [self.units, self.timesteps],
                          [self.event_at, self.forget_bias]], (8.6, 4.6))

    def _name_bias(self):
        self.forget_bias.description = ("forget bias b_f" if self.cell.value == "LSTM"
                                        else "update bias b_z")
        self.reset_after.disabled = self.cell.value != "GRU"     # only a GRU has the choice

    def _new_cell(self, change):
        self._holding = True            # the cell's own observer updates once, after this
        try:
            self._name_bias()
            self.forget_bias.value = KERAS_KEEP_BIAS[change["new"]]
        finally:
            self._holding = False

    def _new_timesteps(self, change):
        self._holding = True
        try:
            self.event_at.max = change["new"] - 1       # clamps the event into the sequence
        finally:
            self._holding = False

    def compute(self):
        cell, units, t = self.cell.value, self.units.value, self.timesteps.value
        event, bias = self.event_at.value, self.forget_bias.value
        self.layer = layer = gate_layer(cell, units, self.reset_after.value)
        layer.set_weights(with_keep_bias(layer, bias))
        self.x = event_input(t, event)
        self.panels = {"x": self.x[0], **gates_over_time(layer.cell, self.x)}
        self.blocks, self.block_rows = weight_blocks(layer.get_weights(), len(GATES[cell]))
        self.colour_scale = max(float(np.abs(layer.get_weights()[k]).max()) for k in (0, 1))
        kept = "c" if cell == "LSTM" else "h"
        size = np.abs(self.panels[kept]).max(axis=1)          # (timesteps,): the largest unit
        self.kept = float(size[-1] / size[event]) if size[event] > 0 else 0.0
        shapes = ", ".join(f"{n} {fmt_shape(w.shape)}" for n, w in
                           zip(layer.weight_names, layer.get_weights()))
        gates = "|".join(GATES[cell])
        flag = f", reset_after={self.reset_after.value}" if cell == "GRU" else ""
        lines = [f"{cell}({units}{flag}) on x {fmt_shape(self.x.shape)}: zeros and one spike "
                 f"x[0, {event}, 0] = {self.x[0, event, 0]:g}",
                 f"weights: {shapes}; column blocks {gates}, each {units} wide"]
        sigmoid = 1 / (1 + np.exp(-bias))
        if cell == "LSTM":
            lines += [f"forget bias b_f = {bias:g} (unit_forget_bias=True starts it at 1)",
                      f"before the event x = 0 and h = c = 0: each gate is sigmoid of its bias, "
                      f"f = {sigmoid:.2f}, i = o = 0.50, and c~ = tanh(0) = 0, so c and h stay 0",
                      "c = f * c_tm1 + i * c~: where no new input comes, f decides how much of "
                      "c is kept"]
        else:
            lines += [f"update bias b_z = {bias:g} (Keras starts every bias at 0)",
                      f"before the event x = 0 and h = 0: z = sigmoid(b_z) = {sigmoid:.2f} and "
                      "h~ = tanh(0) = 0, so h stays 0",
                      "h = z * h_tm1 + (1 - z) * h~: z near 1 keeps h, and lets little of "
                      "the event in"]
        if event == t - 1:
            lines.append(f"the event is the last step: move it earlier to see how much {kept} keeps")
        else:
            lines.append(f"largest |{kept}|: {size[event]:.3g} at the event (t={event}), "
                         f"{size[-1]:.3g} at the last step (t={t - 1}): {100 * self.kept:.0f}% of it")
        return wrap("\n".join(lines))

    def layout(self, fig):
        from matplotlib.collections import LineCollection
        from matplotlib.ticker import MaxNLocator

        self.ax = fig.add_axes([0.19, 0.1, 0.47, 0.84])
        self.ax.set_yticks([])
        self.ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        self.ax.set_xlabel("timestep", fontsize=8)
        self.ax.tick_params(labelsize=7)
        self.guides = self.ax.add_collection(LineCollection([], colors="#cccccc", lw=0.8))
        self.lines = self.ax.add_collection(LineCollection([], lw=1.4))
        self.event_line = self.ax.axvline(0, color="#fd8d3c", lw=6, alpha=0.3)
        self.ax_blocks = fig.add_axes([0.74, 0.1, 0.25, 0.72])
        # titles as figure texts: an axes title costs a layout pass on every draw
        self.title = fig.text(0.425, 0.975, "", ha="center", va="top", fontsize=9)
        self.blocks_title = fig.text(0.865, 0.94, "", ha="center", va="top", fontsize=8)
        self.ax_blocks.set_axis_off()
        self.block_image = self.ax_blocks.imshow(np.zeros((1, 1)), cmap=viz.DIVERGING,
                                                 aspect="auto", interpolation="nearest")

    def draw(self):
        self._draw_traces()
        self._draw_blocks()

    def _draw_traces(self):
        """Each panel in a band of height 1, top to bottom; one line per unit."""
        ax, t = self.ax, self.timesteps.value
        for text in list(ax.texts):
            text.remove()
        steps = np.arange(t)
        segments, colours, guides = [], [], []
        panels = PANELS[self.cell.value]
        for k, (name, meaning) in enumerate(panels):
            base = 1.3 * (len(panels) - 1 - k)
            values = self.panels[name]                          # (timesteps, units)
            if name in SIGMOID_PANELS:
                scaled, scale = values, "0..1"
                guides += [[(-0.5, base), (t - 0.5, base)], [(-0.5, base + 0.95), (t - 0.5, base + 0.95)]]
            else:
                top = max(float(np.abs(values).max()), 1e-3)
                scaled, scale = 0.5 + 0.5 * values / top, f"±{top:.2g}"
                if name == "x":
                    scaled, scale = values / top, f"0..{top:g}"
                guides.append([(-0.5, base + (0 if name == "x" else 0.5)),
                               (t - 0.5, base + (0 if name == "x" else 0.5))])
            for unit in range(values.shape[1]):
                segments.append(np.column_stack([steps, base + 0.95 * scaled[:, unit]]))
                colours.append("#333333" if name == "x" else UNIT_COLOURS[unit])
            ax.text(-0.01, base + 0.5, f"{name}  {meaning} ({scale})", ha="right", va="center",
                    fontsize=7, transform=ax.get_yaxis_transform())
        self.lines.set_segments(segments)
        self.lines.set_color(colours)
        self.guides.set_segments(guides)
        self.event_line.set_xdata([self.event_at.value] * 2)
        ax.set_xlim(-0.5, t - 0.5)
        ax.set_ylim(-0.2, 1.3 * len(panels) - 0.2)
        self.title.set_text(f"{self.cell.value}: one spike at t={self.event_at.value} (orange); "
                            "a line per unit")

    def _draw_blocks(self):
        """The kernel, recurrent kernel and bias, one column block per gate (i|f|c|o or z|r|h)."""
        ax, image, units = self.ax_blocks, self.blocks, self.units.value
        for text in list(ax.texts):
            text.remove()
        rows, columns = image.shape
        vmax = max(self.colour_scale, 1e-3)           # the kernels' range: a large bias saturates
        self.block_image.set_data(np.ma.masked_invalid(image))
        self.block_image.set_clim(-vmax, vmax)
        self.block_image.set_extent((-0.5, columns - 0.5, rows - 0.5, -0.5))
        ax.set_xlim(-0.5, columns - 0.5)
        ax.set_ylim(rows - 0.5, -0.5)
        for k, gate in enumerate(GATES[self.cell.value]):
            ax.text(k * (units + 1) + (units - 1) / 2, -0.7, gate, ha="center", va="bottom",
                    fontsize=9, weight="bold")
        for label, first, last in self.block_rows:
            ax.text(-0.7, (first + last) / 2, label, ha="right", va="center", fontsize=6,
                    rotation=90 if last > first else 0)
        self.blocks_title.set_text(f"weights by gate, colours to ±{vmax:.2g}")   # a larger bias saturates


def gates_explorer(cell="LSTM", units=3, timesteps=20, event_at=5):
    """Lesson 8: an LSTM's or a GRU's gates, c and h over time, around one event."""
    return GatesExplorer(cell, units, timesteps, event_at)

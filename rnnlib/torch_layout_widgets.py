"""Lesson 12's explorer: one recurrent network's shapes in Keras's layout, PyTorch's, and columns.

    import rnnlib as rl
    rl.widgets.layout_explorer()         # rl.widgets hands it out, like the others

Built as the explorers in ``rnnlib/widgets.py``: the controls are attributes
(``explorer.framework`` picks the layout), ``explorer.text`` is the text the learner reads,
every change recomputes and redraws one reused figure, and where no front end renders
widgets a static picture and the same text are shown.

Only shapes are computed here (the shapes of what each framework's layer takes, returns and
stores), never a conversion of weights from one layout to another: moving an LSTM's and a
GRU's weights between Keras and PyTorch is ps09's exercise.  tests/test_torch_lesson.py checks
every shape and count against rnnlib, Keras and torch itself.
"""
import ipywidgets as W
import numpy as np

from . import viz
from .engine import fmt_shape
from .widgets import Explorer, _cell_buttons, _slider, _toggle, wrap

LAYOUTS = {"Keras": "(batch, timesteps, features)", "PyTorch": "(timesteps, batch, features)",
           "columns": "(features, batch, timesteps)"}
# gate blocks in each framework's order; "columns" are Keras's weights transposed
GATES = {"Keras": {"SimpleRNN": ("h",), "LSTM": ("i", "f", "c", "o"), "GRU": ("z", "r", "h")},
         "PyTorch": {"SimpleRNN": ("h",), "LSTM": ("i", "f", "g", "o"), "GRU": ("r", "z", "n")}}
GATES["columns"] = GATES["Keras"]
TORCH_NAMES = {"SimpleRNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}
# one colour per meaning: PyTorch's g is the LSTM's candidate c~, its n the GRU's candidate h~
MEANING = {"g": "c", "n": "h"}
GATE_COLOURS = {"i": "#9ecae1", "f": "#fdd49e", "c": "#a1d99b", "o": "#bcbddc",
                "z": "#fdae6b", "r": "#c6dbef", "h": "#a1d99b"}


class LayoutExplorer(Explorer):
    """A SimpleRNN, LSTM or GRU in one of three layouts: the shapes of its input, of what it
    returns and of every weight, the parameter count, and layer 0's weights drawn in gate blocks.

    ``Keras``: ``num_layers`` stacked layers (each ``return_sequences=True``, the last also
    ``return_state=True``), each wrapped in ``Bidirectional`` when ``bidirectional``.
    ``PyTorch``: ``torch.nn.RNN/LSTM/GRU(features, units, num_layers, bidirectional=...,
    batch_first=...)`` and its ``output, h_n`` (LSTM ``output, (h_n, c_n)``); its GRU is always
    Keras's ``reset_after=True``.  ``columns``: one layer, one direction, x ``(features, batch,
    timesteps)`` and Keras's weights transposed, multiplying column vectors from the left.
    """

    def __init__(self, cell="LSTM", layout="PyTorch", units=10, features=1, timesteps=5, batch=2,
                 num_layers=1, bidirectional=False):
        self.cell = _cell_buttons(cell)
        self.framework = W.ToggleButtons(options=[(f"{name} {axes}", name) for name, axes in LAYOUTS.items()],
                                      value=layout, description="layout",
                                      style={"button_width": "250px"})
        self.units = _slider("units", units, 1, 64)
        self.features = _slider("features", features, 1, 64)
        self.timesteps = _slider("timesteps", timesteps, 1, 50)
        self.batch = _slider("batch", batch, 1, 32)
        self.num_layers = _slider("num_layers", num_layers, 1, 3)
        self.bidirectional = _toggle("bidirectional", bidirectional)
        self.batch_first = _toggle("batch_first (PyTorch)")
        self.reset_after = _toggle("reset_after (GRU)", True)
        super().__init__([[self.cell], [self.framework],
                          [self.units, self.features, self.timesteps, self.batch],
                          [self.num_layers, self.bidirectional, self.batch_first, self.reset_after]],
                         (8.6, 3.6))

    # --- shapes ----------------------------------------------------------------------------

    def compute(self):
        cell, layout = self.cell.value, self.framework.value
        self.num_layers.disabled = self.bidirectional.disabled = layout == "columns"
        self.batch_first.disabled = layout != "PyTorch"
        self.reset_after.disabled = cell != "GRU" or layout == "PyTorch"
        self.gates = GATES[layout][cell]
        self.input_shape, self.returned, self.weights, header = getattr(self, f"_{layout.lower()}")()
        self.count = sum(int(np.prod(shape)) for _, shape in self.weights)
        self.counts = {"Keras": self._count(two_biases=False), "PyTorch": self._count(two_biases=True)}
        lines = [header,
                 f"x {fmt_shape(self.input_shape)}: {self._axes()}",
                 "returns " + ", ".join(f"{name} {fmt_shape(s)}" for name, s, _ in self.returned),
                 *self._weight_lines(),
                 f"{self.count:,} parameters; gate blocks {'|'.join(self.gates)}, each {self.units.value} "
                 + ("columns wide (kernel: features x gates*units)" if layout == "Keras" else
                    "rows tall (gates*units x features)")]
        lines.append(self._compare())
        return wrap("\n".join(lines), width=110)

    def _weight_lines(self):
        """The weights, one line per layer and direction: 3 of them (Keras, columns) or 4 (PyTorch)."""
        per = 4 if self.framework.value == "PyTorch" else 3
        groups = [self.weights[k:k + per] for k in range(0, len(self.weights), per)]
        return [("weights: " if k == 0 else "         ") + ", ".join(f"{n} {fmt_shape(s)}" for n, s in group)
                for k, group in enumerate(groups)]

    def _axes(self):
        if self.framework.value == "PyTorch" and self.batch_first.value:
            return "(batch, timesteps, features), batch_first=True"
        return LAYOUTS[self.framework.value]

    def _blocks(self):
        return len(GATES["Keras"][self.cell.value])

    def _directions(self):
        return 2 if self.bidirectional.value and self.framework.value != "columns" else 1

    def _keras(self):
        cell, units, features = self.cell.value, self.units.value, self.features.value
        batch, steps, directions = self.batch.value, self.timesteps.value, self._directions()
        layers = self.num_layers.value
        g = self._blocks() * units
        two_rows = cell == "GRU" and self.reset_after.value
        weights = []
        for k in range(layers):
            inputs = features if k == 0 else directions * units
            for side in (["forward ", "backward "] if directions == 2 else [""]):
                prefix = f"{k + 1}: {side}" if layers > 1 else side
                weights += [(f"{prefix}kernel", (inputs, g)), (f"{prefix}recurrent_kernel", (units, g)),
                            (f"{prefix}bias", (2, g) if two_rows else (g,))]
        states = ["h", "c"] if cell == "LSTM" else ["h"]
        sides = ["forward ", "backward "] if directions == 2 else [""]
        returned = [("output", (batch, steps, directions * units),
                     "(batch, timesteps, 2*units)" if directions == 2 else "(batch, timesteps, units)")]
        returned += [(f"{side}{s}", (batch, units), "(batch, units)") for side in sides for s in states]
        flag = f", reset_after={self.reset_after.value}" if cell == "GRU" else ""
        layer = f"{cell}({units}{flag}, return_sequences=True" + (")" if layers > 1 else ", return_state=True)")
        layer = f"Bidirectional({layer})" if directions == 2 else layer
        header = f"Keras: {layer}" if layers == 1 else \
            f"Keras: {layers} layers {layer}, the last one also return_state=True (the states are its own)"
        return (batch, steps, features), returned, weights, header

    def _pytorch(self):
        cell, units, features = self.cell.value, self.units.value, self.features.value
        batch, steps, directions = self.batch.value, self.timesteps.value, self._directions()
        layers, batch_first = self.num_layers.value, self.batch_first.value
        g = self._blocks() * units
        weights = []
        for k in range(layers):
            inputs = features if k == 0 else directions * units
            for suffix in ["", "_reverse"][:directions]:
                weights += [(f"weight_ih_l{k}{suffix}", (g, inputs)), (f"weight_hh_l{k}{suffix}", (g, units)),
                            (f"bias_ih_l{k}{suffix}", (g,)), (f"bias_hh_l{k}{suffix}", (g,))]
        x = (batch, steps, features) if batch_first else (steps, batch, features)
        output = (batch, steps, directions * units) if batch_first else (steps, batch, directions * units)
        state = (layers * directions, batch, units)                # batch_first does not change it
        order = "(batch, timesteps, " if batch_first else "(timesteps, batch, "
        returned = [("output", output, order + ("2*units)" if directions == 2 else "units)"))]
        returned += [(name, state, "(num_layers*num_directions, batch, units)")
                     for name in (["h_n", "c_n"] if cell == "LSTM" else ["h_n"])]
        options = "".join([f", num_layers={layers}" if layers > 1 else "",
                           ", bidirectional=True" if directions == 2 else "",
                           ", batch_first=True" if batch_first else ""])
        call = "output, (h_n, c_n)" if cell == "LSTM" else "output, h_n"
        header = f"PyTorch: {call} = torch.nn.{TORCH_NAMES[cell]}({features}, {units}{options})(x)"
        if cell == "GRU":
            header += "  (r after the recurrent product: reset_after=True)"
        return x, returned, weights, header

    def _columns(self):
        cell, units, features = self.cell.value, self.units.value, self.features.value
        batch, steps = self.batch.value, self.timesteps.value
        g = self._blocks() * units
        two = cell == "GRU" and self.reset_after.value
        weights = [("W_x", (g, features)), ("W_h", (g, units)), ("b", (g, 2) if two else (g, 1))]
        returned = [("h at every step", (units, batch, steps), "(units, batch, timesteps)"),
                    ("last h", (units, batch), "(units, batch)")]
        if cell == "LSTM":
            returned.append(("last c", (units, batch), "(units, batch)"))
        header = (f"columns: x_t = x[:, :, t] {fmt_shape((features, batch))} and h {fmt_shape((units, batch))} "
                  "are columns; the weights, Keras's transposed, multiply them from the left (W_x @ x_t, "
                  "W_h @ h_tm1); Keras's gate order; one layer, one direction")
        return (features, batch, steps), returned, weights, header

    def _count(self, two_biases):
        """The parameters of the same network (cell, units, features, layers, directions)."""
        units, g = self.units.value, self._blocks() * self.units.value
        directions, total = self._directions(), 0
        layers = 1 if self.framework.value == "columns" else self.num_layers.value
        biases = 2 if two_biases or (self.cell.value == "GRU" and self.reset_after.value) else 1
        for k in range(layers):
            inputs = self.features.value if k == 0 else directions * units
            total += directions * g * (inputs + units + biases)
        return total

    def _compare(self):
        keras, torch = self.counts["Keras"], self.counts["PyTorch"]
        if self.cell.value == "GRU" and not self.reset_after.value and self.framework.value != "PyTorch":
            return (f"the same network in Keras: {keras:,} parameters (reset_after=False: one bias); "
                    f"PyTorch's GRU has only r after the product, {torch:,} parameters")
        if keras == torch:
            return f"the same network: {keras:,} parameters in Keras and in PyTorch (both have two biases)"
        return (f"the same network: {keras:,} parameters in Keras, {torch:,} in PyTorch: its second bias "
                f"vectors ({torch - keras:,} numbers) are added into the same sums")

    # --- picture ---------------------------------------------------------------------------

    def layout(self, fig):
        self.ax_data = fig.add_axes([0.0, 0.0, 0.3, 0.9])
        self.ax = fig.add_axes([0.33, 0.02, 0.66, 0.84])
        for ax in (self.ax_data, self.ax):
            ax.set_axis_off()
        self.title = fig.text(0.66, 0.97, "", ha="center", va="top", fontsize=9)
        self.data_title = fig.text(0.15, 0.97, "", ha="center", va="top", fontsize=9)
        # x and at most 5 returned arrays: a box and a label each, made once, refilled on update
        # (a text's own bbox would be measured again on every draw)
        from matplotlib.patches import FancyBboxPatch

        self.ax_data.set_xlim(0, 1)
        self.ax_data.set_ylim(0, 1)
        self.data_boxes = [self.ax_data.add_patch(FancyBboxPatch(
            (0.03, 0), 0.94, 0.1, boxstyle="round,pad=0,rounding_size=0.03", ec="#555555", lw=1))
            for _ in range(6)]
        self.data_labels = [self.ax_data.text(0.5, 0, "", ha="center", va="center", fontsize=7.5)
                            for _ in range(6)]

    def draw(self):
        self._draw_data()
        self._draw_weights()

    def _draw_data(self):
        rows = [("x", self.input_shape, self._axes().split(", batch_first")[0], viz.INPUT)] + [
            (name, shape, axes, viz.OUTPUT if k == 0 else viz.STATE)
            for k, (name, shape, axes) in enumerate(self.returned)]
        step = 1 / (len(rows) + 0.5)
        for k, (box, label) in enumerate(zip(self.data_boxes, self.data_labels)):
            box.set_visible(k < len(rows))
            label.set_visible(k < len(rows))
            if k < len(rows):
                name, shape, axes, colour = rows[k]
                middle = 1 - (k + 0.6) * step
                box.set_y(middle - 0.3 * step)
                box.set_height(0.6 * step)
                box.set_facecolor(colour)
                label.set_position((0.5, middle))
                label.set_text(f"{name} {fmt_shape(shape)}\n{axes}")
        self.data_title.set_text(f"{self.framework.value}: in and out")

    def _limits(self, x0, x1, y0, y1, left, top, right=0.0):
        """Fit [x0, x1] x [y0, y1] with square cells into the axes, leaving the fractions
        ``left``, ``top`` and ``right`` of it for labels; returns the data units per pixel."""
        box = self.ax.get_position()
        width = box.width * self.figure.get_figwidth() * self.figure.dpi      # pixels
        height = box.height * self.figure.get_figheight() * self.figure.dpi
        w, h = width * (1 - left - right), height * (1 - top)
        per_pixel = max((x1 - x0) / w, (y1 - y0) / h)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        self.ax.set_xlim(cx - per_pixel * (w / 2 + left * width), cx + per_pixel * (w / 2 + right * width))
        self.ax.set_ylim(cy - per_pixel * h / 2, cy + per_pixel * (h / 2 + top * height))
        return per_pixel

    def _first_weights(self):
        """Layer 0's weights of the first direction: [(name, shape)] (3 or 4 of them)."""
        return self.weights[:4 if self.framework.value == "PyTorch" else 3]

    def _draw_weights(self):
        """Keras's matrices one above the other (their gate blocks are columns, aligned);
        PyTorch's and the columns' side by side (their gate blocks are rows, aligned)."""
        from matplotlib.patches import Rectangle

        ax, units, gates = self.ax, self.units.value, self.gates
        viz.wipe(ax)
        wide = self.framework.value == "Keras"
        g = len(gates) * units
        weights = self._first_weights()
        across = [(shape[0] if wide else shape[1]) if len(shape) == 2 else 1 for _, shape in weights]
        span = max(g, sum(across))
        thin, gap = 0.03 * span, 0.06 * span                # a vector's thickness, the space between
        sizes = [max(float(a), thin) for a in across]
        extent = sum(sizes) + gap * (len(sizes) - 1)
        if wide:
            pixel = self._limits(0, g, -extent, 0, left=0.4, top=0.08)
        else:
            pixel = self._limits(0, extent, -g, 0, left=0.04, top=0.3, right=0.15)
        position = 0.0
        for (name, shape), size in zip(weights, sizes):
            for k, gate in enumerate(gates):
                colour = GATE_COLOURS[MEANING.get(gate, gate)]
                if wide:      # gates along x, this weight from y = -position down
                    box = (k * units, -position - size, units, size)
                else:         # gates along y (top down), this weight from x = position right
                    box = (position, -(k + 1) * units, size, units)
                ax.add_patch(Rectangle(box[:2], box[2], box[3], fc=colour, ec="#555555", lw=0.8))
            label = f"{name} {fmt_shape(shape)}"
            if wide:
                ax.text(-6 * pixel, -position - size / 2, label, ha="right", va="center", fontsize=7)
            else:
                ax.text(position + size / 2, 4 * pixel, label, ha="left", va="bottom", fontsize=7,
                        rotation=45)
            position += size + gap
        for k, gate in enumerate(gates):
            if wide:
                ax.text(k * units + units / 2, 4 * pixel, gate, ha="center", va="bottom",
                        fontsize=9, weight="bold")
            else:
                ax.text(-5 * pixel, -k * units - units / 2, gate, ha="right", va="center",
                        fontsize=9, weight="bold")
        where = "columns" if wide else "rows"
        self.title.set_text(f"layer 0's weights: gate blocks {'|'.join(gates)} as {where}; "
                            "a colour is one gate in every framework")


def layout_explorer(cell="LSTM", layout="PyTorch", units=10, features=1, num_layers=1, bidirectional=False):
    """Lesson 12: a recurrent layer's shapes in Keras's layout, PyTorch's, and columns."""
    return LayoutExplorer(cell, layout, units, features, num_layers=num_layers, bidirectional=bidirectional)

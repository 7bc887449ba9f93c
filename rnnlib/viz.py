"""Pictures for the lessons.  matplotlib is imported only when a picture is drawn.

Each ``draw_*`` function draws into a matplotlib ``Axes`` (the widgets reuse one
figure and call them on every slider move); each public function without the
``draw_`` prefix returns a ``Picture``, which Jupyter shows as a PNG and a plain
terminal as one line of text:

    import rnnlib as rl
    rl.viz.unrolled(timesteps=3, units=10, features=1)     # a diagram, every shape labelled
    rl.viz.heatmap(h, title="h over time")                 # h: (timesteps, units)
    rl.viz.layers(model)                                   # the model's graph, output shapes

No pyplot: figures are drawn with the Agg canvas, so nothing depends on a backend.
"""
import io
import re

import numpy as np

from .engine import fmt_shape

# Colours shared by every picture.
INPUT, CELL, STATE, OUTPUT, BAD, WARN, OFF = (
    "#9ecae1", "#fdd49e", "#c7e9c0", "#bcbddc", "#ef3b2c", "#fd8d3c", "#e0e0e0")
DIVERGING = "RdBu_r"       # tanh values in [-1, 1]: blue negative, white 0, red positive


def plural(n, word):
    """``plural(1, "timestep") == "1 timestep"``, ``plural(3, "timestep") == "3 timesteps"``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def new_figure(width, height, dpi=96):
    """A figure on an Agg canvas (no pyplot, no GUI): ``width`` x ``height`` inches."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig):
    """The figure as PNG bytes (for an ``ipywidgets.Image`` or a notebook output)."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"text.hinting": "no_hinting"}):  # ~15% faster text, same look
        fig.canvas.print_png(buf, pil_kwargs={"compress_level": 1})   # fast beats small here
    return buf.getvalue()


class Picture:
    """A drawn figure: a PNG in Jupyter (and in an HTML export), a line of text elsewhere."""

    def __init__(self, figure, text):
        self.figure, self.text = figure, text

    def png(self):
        return png_bytes(self.figure)

    def _repr_png_(self):
        return self.png()

    def __repr__(self):
        return f"<Picture: {self.text}>"


def _bare(ax):
    ax.set_axis_off()
    ax.set_aspect("auto")


def wipe(ax):
    """Remove what was drawn on ``ax`` but keep the axes (much faster than ``ax.clear()``)."""
    for artist in [*ax.patches, *ax.texts, *ax.lines, *ax.images, *ax.collections]:
        artist.remove()


def _box(ax, x, y, w, h, text, color, fontsize=9):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                fc=color, ec="#555555", lw=1))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def _draw_arrows(ax, arrows):
    """Draw ``arrows`` [(x0, y0, x1, y1), ...] as one quiver: far cheaper than one annotate each."""
    if arrows:
        x0, y0, x1, y1 = np.array(arrows, dtype=float).T
        ax.quiver(x0, y0, x1 - x0, y1 - y0, angles="xy", scale_units="xy", scale=1,
                  color="#333333", width=0.002, headwidth=6, headlength=8, headaxislength=7)


# --- lesson 1: a flat vector cut into timesteps ------------------------------------------

def value_colours(n):
    """``n`` different colours (RGBA rows), one per position in a flat vector.

    Up to 40 from two qualitative palettes (tab20, then tab20b); beyond, evenly spaced
    along a continuous map, so no colour ever comes back.
    """
    from matplotlib import colormaps

    if n <= 40:
        palette = np.vstack([colormaps["tab20"].colors, colormaps["tab20b"].colors])
        return np.hstack([palette[:n], np.ones((n, 1))])
    return colormaps["turbo"](np.linspace(0, 1, n))


def draw_vector_grid(ax_flat, ax_grid, values, timesteps):
    """The flat vector on top, the same values as a ``timesteps x features`` grid below.

    Each value keeps its colour (a colour of its own), so you can follow where it went.
    """
    values = np.asarray(values).ravel()
    n = values.size
    features = n // timesteps
    wipe(ax_flat)
    wipe(ax_grid)
    colours = value_colours(n)                     # (n, 4): position k has colours[k]
    for ax, shape, title in [
        (ax_flat, (1, n), f"flat vector: shape ({n},)"),
        (ax_grid, (timesteps, features),
         f"one sample: {plural(timesteps, 'timestep')} x {plural(features, 'feature')}"),
    ]:
        ax.imshow(colours.reshape(shape + (4,)), aspect="equal", interpolation="nearest")
        flat = values.reshape(shape)
        if n <= 24:
            dark = colours[:, :3] @ [0.299, 0.587, 0.114] < 0.45    # white text on dark colours
            for k, ((r, c), v) in enumerate(np.ndenumerate(flat)):
                ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=8,
                        color="white" if dark[k] else "black")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title, fontsize=9)
    ax_grid.set_ylabel("timesteps", fontsize=8)
    ax_grid.set_xlabel("features", fontsize=8)


def vector_grid(values, timesteps):
    """``Picture`` of ``values`` reshaped to ``(timesteps, len(values) // timesteps)``."""
    values = np.asarray(values).ravel()
    fig = new_figure(6, 3.2)
    draw_vector_grid(fig.add_axes([0.05, 0.78, 0.9, 0.14]), fig.add_axes([0.05, 0.05, 0.9, 0.6]),
                     values, timesteps)
    return Picture(fig, f"{values.size} values as {plural(timesteps, 'timestep')} x "
                        f"{plural(values.size // timesteps, 'feature')}")


# --- lesson 2: the weights of one cell ----------------------------------------------------

def draw_weights(ax, shapes):
    """Rectangles for each weight (name -> shape), sized like the matrices, shapes labelled."""
    wipe(ax)
    _bare(ax)
    mats = [(name, s if len(s) == 2 else (1,) + tuple(s)) for name, s in shapes.items()]
    tallest = max(s[0] for _, s in mats)
    widest = max(s[1] for _, s in mats)
    scale = 1.0 / max(tallest, widest / 2.5)
    x = 0.0
    for name, (rows, cols) in mats:
        w, h = max(cols * scale, 0.04), max(rows * scale, 0.04)
        ax.add_patch(_rect(x, 1.0 - h, w, h))
        label = f"{name}\n{fmt_shape(shapes[name])}"
        ax.text(x + w / 2, 1.05, label, ha="center", va="bottom", fontsize=8)
        x += w + 0.25
    ax.set_xlim(-0.1, max(x, 1.0))
    ax.set_ylim(-0.05, 1.35)


def draw_step(ax, features, units):
    """One SimpleRNN step as shapes: x_t @ kernel + h_tm1 @ recurrent_kernel + bias -> tanh -> h_t."""
    wipe(ax)
    _bare(ax)
    terms = [("x_t", (None, features), INPUT), ("@", None, None),
             ("kernel", (features, units), CELL), ("+", None, None),
             ("h_tm1", (None, units), STATE), ("@", None, None),
             ("recurrent_kernel", (units, units), CELL), ("+", None, None),
             ("bias", (units,), CELL), ("-> tanh ->", None, None),
             ("h_t", (None, units), STATE)]
    x = 0.0
    for text, shape, colour in terms:
        if shape is None:
            w = 0.45 if len(text) < 3 else 1.2
            ax.text(x + w / 2, 0.5, text, ha="center", va="center", fontsize=11 if len(text) < 3 else 9)
        else:
            w = 0.5 + 0.075 * len(text)
            _box(ax, x, 0.2, w, 0.6, f"{text}\n{fmt_shape(shape).replace('None', 'batch')}", colour, 8)
        x += w
    ax.set_xlim(-0.1, x + 0.1)
    ax.set_ylim(0, 1)


def step(features, units):
    """``Picture`` of one SimpleRNN step with the shape of every term."""
    fig = new_figure(9, 0.9)
    draw_step(fig.add_axes([0, 0, 1, 1]), features, units)
    return Picture(fig, f"one step: x_t (batch, {features}) -> h_t (batch, {units})")


def weights(shapes):
    """``Picture`` of a layer's weights, e.g. ``dict(zip(layer.weight_names, shapes))``."""
    shapes = {name: tuple(shape) for name, shape in shapes.items()}
    fig = new_figure(6, 1.8)
    draw_weights(fig.add_axes([0.02, 0.02, 0.96, 0.96]), shapes)
    return Picture(fig, ", ".join(f"{n} {fmt_shape(s)}" for n, s in shapes.items()))


def _rect(x, y, w, h):
    from matplotlib.patches import Rectangle
    return Rectangle((x, y), w, h, fc=CELL, ec="#555555", lw=1)


# --- lesson 3: the loop, unrolled ---------------------------------------------------------

def shown_steps(timesteps, most=5):
    """Which timesteps a diagram draws: all when few, else the first 3, a gap, the last."""
    if timesteps <= most:
        return list(range(timesteps))
    return [0, 1, 2, None, timesteps - 1]


def draw_unrolled(ax, timesteps, units, features, return_sequences=False, return_state=False,
                  cell="SimpleRNN"):
    """The same cell once per timestep: x_t in, h_t across, outputs up; shapes labelled.

    Timesteps count from 0, as NumPy indexes them: step t reads x_t = x[:, t] and h_(t-1).
    The first step has every shape written next to it; the key line says they hold for all.
    """
    wipe(ax)
    _bare(ax)
    steps = shown_steps(timesteps)
    n = len(steps)
    ax.set_xlim(-1.9, 2.0 * n + 0.7)
    ax.set_ylim(-1.3, 2.45)
    x_shape, h_shape = fmt_shape((None, features)), fmt_shape((None, units))
    out = (f"{fmt_shape((None, timesteps, units))}: all h_t" if return_sequences
           else f"{fmt_shape((None, units))}: last h")
    ax.text(-1.85, 2.3, f"x {fmt_shape((None, timesteps, features))} -> output {out}\n"
            f"each x_t {x_shape}, each h_t {h_shape}", fontsize=9, va="top")
    _box(ax, -1.8, 0.0, 1.0, 0.6, "initial h\n(zeros)", STATE, 7)
    prev_right, arrows = -0.8, []
    for k, t in enumerate(steps):
        x0 = 2.0 * k
        if t is None:
            ax.text(x0 + 0.6, 0.3, "...", fontsize=14, ha="center", va="center")
            prev_right = x0 + 1.2
            continue
        shape = f" {h_shape}" if k == 0 else ""
        arrows.append((prev_right, 0.3, x0, 0.3))
        if t:
            ax.text((prev_right + x0) / 2, 0.4, f"h_{t - 1}", fontsize=7, ha="center",
                    va="bottom", color="#006d2c")
        _box(ax, x0, 0.0, 1.2, 0.6, f"{cell}\nt={t}" if k == 0 else f"t={t}", CELL, 8)
        arrows.append((x0 + 0.6, -0.7, x0 + 0.6, 0.0))
        ax.text(x0 + 0.6, -0.75, f"x_{t}{f' {x_shape}' if k == 0 else ''}", ha="center",
                va="top", fontsize=7, color="#08519c")
        if return_sequences or t == timesteps - 1:
            arrows.append((x0 + 0.6, 0.6, x0 + 0.6, 1.2))
            ax.text(x0 + 0.6, 1.25, f"h_{t}{shape if return_sequences else f' {h_shape}'}",
                    ha="center", va="bottom", fontsize=7, color="#54278f")
        prev_right = x0 + 1.2
    if return_state:
        arrows.append((prev_right, 0.3, prev_right + 0.5, 0.3))
        ax.text(prev_right + 0.1, 0.2, f"state\nh_{timesteps - 1}", ha="left",
                va="top", fontsize=7, color="#006d2c")
    _draw_arrows(ax, arrows)


def unrolled(timesteps, units, features, return_sequences=False, return_state=False,
             cell="SimpleRNN"):
    """``Picture`` of an RNN layer unrolled over ``timesteps``, every tensor's shape labelled."""
    fig = new_figure(7.5, 2.6)
    draw_unrolled(fig.add_axes([0, 0, 1, 1]), timesteps, units, features,
                  return_sequences, return_state, cell)
    return Picture(fig, f"{cell}({units}) unrolled over {plural(timesteps, 'timestep')} of "
                        f"{plural(features, 'feature')}")


# --- heatmaps of states over time -----------------------------------------------------------

class Heatmap:
    """``values`` (timesteps, units) as colours on one axes: a column per timestep, a row per unit.

    ``show`` can be called again and again: it reuses the image (fast, for the widgets).
    ``padded`` lists timestep columns to hatch (padding); ``step_labels`` names each column
    (e.g. which x was read there); ``split`` draws a line above that unit (e.g. where the
    backward half of a concatenation starts).
    """

    def __init__(self, ax):
        self.ax = ax
        self.image = ax.imshow(np.zeros((1, 1)), cmap=DIVERGING, vmin=-1, vmax=1, aspect="auto",
                               interpolation="nearest")
        ax.set_xlabel("timestep", fontsize=8)
        ax.set_ylabel("unit", fontsize=8)
        ax.tick_params(labelsize=7)
        self.hatches = []

    def show(self, values, title, padded=(), vmax=1.0, step_labels=None, split=None):
        from matplotlib.patches import Rectangle
        from matplotlib.ticker import MaxNLocator

        values = np.asarray(values)
        timesteps, units = values.shape
        self.image.set_data(values.T)
        self.image.set_clim(-vmax, vmax)
        self.image.set_extent((-0.5, timesteps - 0.5, units - 0.5, -0.5))
        self.ax.set_xlim(-0.5, timesteps - 0.5)
        self.ax.set_ylim(units - 0.5, -0.5)
        self.ax.set_title(title, fontsize=9, y=1.0)        # y given: no search for a clear spot
        self._place_labels(units)
        for patch in self.hatches:
            patch.remove()
        self.hatches = []
        if len(padded):                 # padding is one block of steps: hatch it in one patch
            self.hatches.append(self.ax.add_patch(Rectangle(
                (min(padded) - 0.5, -0.5), max(padded) - min(padded) + 1, units, fill=False,
                hatch="//", ec="#777777", lw=0)))
        if split is not None:
            self.hatches.append(self.ax.axhline(split - 0.5, color="black", lw=1.5))
        if step_labels is not None:
            self.ax.set_xticks(range(len(step_labels)), step_labels)
        else:
            self.ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
            self.ax.xaxis.set_major_formatter("{x:.0f}")
        self.ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))


    def _place_labels(self, units):
        """Put the axis labels where matplotlib would, at fixed distances (in points) from the
        axes: left to matplotlib, every redraw measures every tick label to place them (a
        third of the time an explorer's update takes)."""
        fig, box = self.ax.figure, self.ax.get_position()
        height = box.height * fig.get_figheight() * 72          # the axes' size in points
        width = box.width * fig.get_figwidth() * 72
        digits = len(str(units - 1))                            # the widest unit tick label
        self.ax.xaxis.set_label_coords(0.5, -18 / height)
        self.ax.yaxis.set_label_coords(-(11 + 4.5 * digits) / width, 0.5)


def draw_heatmap(ax, values, title, padded=(), vmax=1.0, step_labels=None):
    """Draw ``values`` (timesteps, units) on ``ax`` once; see ``Heatmap`` to redraw fast."""
    Heatmap(ax).show(values, title, padded, vmax, step_labels)


def heatmap(values, title="hidden state over time", padded=(), vmax=None):
    """``Picture`` of ``values`` (timesteps, units): red positive, blue negative.

    The colours span ``±vmax``; by default the largest absolute value, so small states show.
    """
    values = np.asarray(values)
    vmax = vmax or max(float(np.abs(values).max()), 1e-3)
    fig = new_figure(6, 2.4)
    ax = fig.add_axes([0.1, 0.2, 0.85, 0.68])
    draw_heatmap(ax, values, f"{title} {fmt_shape(values.shape)}, colours to ±{vmax:.2g}",
                 padded=padded, vmax=vmax)
    return Picture(fig, f"{title}: {values.shape[0]} timesteps x {values.shape[1]} units")


# --- lessons 4 and 7: a model's layers, as the graph they form ------------------------------

BOX_W, BOX_H, COLUMN, ROW = 1.3, 0.8, 1.7, 1.35     # box size and spacing, in data units


def graph(rows):
    """Where each layer of a model goes: columns by depth, parallel branches one above the other.

    ``rows`` as ``model.summary_rows()`` gives them (``name``, ``type``, ``output_shape``,
    ``connected_to`` such as ``["gru1[0][0]", "gru1_b[0][0]"]``).  A row without
    ``connected_to`` reads the row before it (a plain stack).  Returns ``(places, edges)``:
    ``places[name] = (column, x, y)`` (x, y: the box's lower-left corner) and ``edges`` a list
    of ``(source, target)`` names, one per input tensor of each layer.
    """
    names = [row["name"] for row in rows]
    edges = []
    for k, row in enumerate(rows):
        if "connected_to" not in row:
            sources = names[k - 1:k]
        else:
            sources = [re.sub(r"(\[\d+\])+$", "", s) for s in row["connected_to"]]
        edges += [(s, row["name"]) for s in sources if s in names]  # a Sequential's input is no row
    depth = {}
    for name in names:                  # summary order is a topological order
        depth[name] = 1 + max((depth[s] for s, t in edges if t == name), default=-1)
    for name in names:                  # an input stands just before its first reader
        readers = [depth[t] for s, t in edges if s == name]
        if readers and not any(t == name for _, t in edges):
            depth[name] = min(readers) - 1
    columns = {}
    for name in names:
        columns.setdefault(depth[name], []).append(name)
    places = {}
    for column, members in columns.items():
        for i, name in enumerate(members):       # a column's boxes centred on y = 0
            places[name] = (column, COLUMN * column, ROW * ((len(members) - 1) / 2 - i))
    return places, edges


def draw_layers(ax, rows, status=None):
    """One box per layer with its output shape below, and an arrow per input tensor.

    Layers that read the same tensor stand one above the other (branches); an edge that
    skips columns runs above the boxes (below them, where it starts and ends at the bottom
    of its columns).  ``status`` maps a layer name to "bad" (red: the
    error), "warn" (orange: a warning) or "off" (grey: never built).
    """
    wipe(ax)
    _bare(ax)
    status = status or {}
    colours = {"bad": BAD, "warn": WARN, "off": OFF}
    places, edges = graph(rows)
    top = max(y for _, _, y in places.values()) + BOX_H
    for k, row in enumerate(rows):
        _, x, y = places[row["name"]]
        colour = colours.get(status.get(row["name"]), INPUT if row["type"] == "InputLayer"
                             or (k == 0 and "connected_to" not in row) else CELL)
        _box(ax, x, y, BOX_W, BOX_H, f"{row['name']}\n({row['type']})", colour, 7)
        ax.text(x + BOX_W / 2, y - 0.12, row["output_shape"], ha="center", va="top", fontsize=7)
    bottom = min(y for _, _, y in places.values())
    arrows, high, low = [], top, bottom - 0.45

    def lowest(name):                    # no box below it in its column
        column, _, y = places[name]
        return y == min(yy for c, _, yy in places.values() if c == column)

    def highest(name):
        column, _, y = places[name]
        return y == max(yy for c, _, yy in places.values() if c == column)

    for source, target in edges:
        (c0, x0, y0), (c1, x1, y1) = places[source], places[target]
        if c1 - c0 == 1:                 # next column: straight from side to side
            arrows.append((x0 + BOX_W, y0 + BOX_H / 2, x1, y1 + BOX_H / 2))
            continue
        xs = [x0 + BOX_W / 2, x0 + BOX_W / 2, x1 + BOX_W / 2]
        if lowest(source) and lowest(target) and not (highest(source) and highest(target)):
            low -= 0.3                   # a skip from below: down, across under everything, up
            ax.plot(xs, [y0, low, low], color="#333333", lw=0.8)
            arrows.append((x1 + BOX_W / 2, low, x1 + BOX_W / 2, y1))
        else:
            high += 0.3                  # a skip: up, across above everything, down into it
            ax.plot(xs, [y0 + BOX_H, high, high], color="#333333", lw=0.8)
            arrows.append((x1 + BOX_W / 2, high, x1 + BOX_W / 2, y1 + BOX_H))
    _draw_arrows(ax, arrows)
    width = COLUMN * (1 + max(c for c, _, _ in places.values())) - (COLUMN - BOX_W)
    ax.set_xlim(-0.15, width + 0.15)
    ax.set_ylim(min(bottom - 0.6, low - 0.2), high + 0.2)


def layers(model_or_rows, status=None):
    """``Picture`` of a model's layers as the graph they form, each with its output shape.

    Takes a model or its ``summary_rows()``.  A plain stack is one row of boxes; parallel
    branches stand one above the other; a skip connection runs above the boxes.
    """
    rows = model_or_rows.summary_rows() if hasattr(model_or_rows, "summary_rows") else model_or_rows
    places, edges = graph(rows)
    columns = 1 + max(c for c, _, _ in places.values())
    tallest = max(sum(c == k for c, _, _ in places.values()) for k in range(columns))
    skips = sum(places[t][0] - places[s][0] > 1 for s, t in edges)
    fig = new_figure(min(1.6 * columns, 12), 0.5 + 0.95 * tallest + 0.25 * skips)
    draw_layers(fig.add_axes([0, 0, 1, 1]), rows, status)
    names = [r["name"] for r in rows]
    if edges == list(zip(names, names[1:])):          # a plain stack
        text = " -> ".join(f"{r['name']} {r['output_shape']}" for r in rows)
    else:
        text = "; ".join(f"{' + '.join(s for s, t in edges if t == r['name'])} -> "
                         f"{r['name']} {r['output_shape']}" for r in rows
                         if any(t == r["name"] for _, t in edges))
    return Picture(fig, text)


"""Explorers for lesson 9, backpropagation through time: how far back a gradient reaches,
and what each kind of gradient clipping does to it.

    import rnnlib as rl
    rl.widgets.bptt_explorer()           # ||dL/dh_t|| against t, for a cell and a scale
    rl.widgets.clipping_explorer()       # clipvalue, clipnorm, global_clipnorm, drawn

Built as the explorers in ``rnnlib/widgets.py``: the controls are attributes
(``explorer.scale`` is the recurrent scale slider), ``explorer.text`` is what the learner
reads, every change recomputes and redraws one reused figure.  The numbers come from
rnnlib's own calls: ``rl.gradients(...).h`` (rnnlib's addition: Keras has no public call
for dL/dh_t) and the optimizers' ``clip``, the one ``fit`` uses.
"""
import ipywidgets as W
import numpy as np

from .backprop import gradients
from .engine import snake_case
from .initializers import GlorotUniform, Orthogonal
from .layers import GRU, LSTM, SimpleRNN
from .optimizers import SGD
from .widgets import Explorer, _cell_buttons, _slider

KINDS = {"SimpleRNN": SimpleRNN, "GRU": GRU, "LSTM": LSTM}
COLOURS = {"SimpleRNN": "#1f77b4", "GRU": "#2ca02c", "LSTM": "#d62728"}
UNITS, BATCH, MOST_STEPS = 16, 8, 100
FLOOR = 1e-40          # drawn where a norm underflows float32 to 0 (a log axis has no 0)


def _slider_float(description, value, low, high, step):
    return W.FloatSlider(value=value, min=low, max=high, step=step, description=description,
                         continuous_update=True, readout_format=".2f",
                         style={"description_width": "initial"})


def sequence_and_target(timesteps):
    """The fixed batch the explorer backpropagates: x (8, timesteps, 1) from a normal draw,
    and a target y (8, 16) for the last output.  The first steps stay the same as t grows."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, MOST_STEPS, 1)).astype("float32")   # (batch, timesteps, features)
    y = rng.normal(size=(BATCH, UNITS)).astype("float32")          # (batch, units)
    return x[:, :timesteps], y


_LAYERS = {}      # kind -> (a built layer, its weights at Keras's initialisation)
_NORMS = {}       # (kind, timesteps, scale) -> norms at Keras's initialisation: a cell change
                  # or a slider dragged back recomputes nothing


def new_layer(kind):
    """``kind``(16) on 1 feature, returning its last output, with the same weights every time,
    made the Keras way: seeded initializer objects (in Keras a layer's ``seed=`` seeds only
    its dropout).  The bias keeps Keras's default (zeros; an LSTM's forget bias 1)."""
    if kind not in _LAYERS:
        layer = KINDS[kind](UNITS, name=snake_case(kind), kernel_initializer=GlorotUniform(seed=1),
                            recurrent_initializer=Orthogonal(seed=2))
        layer(sequence_and_target(2)[0])              # builds it
        _LAYERS[kind] = (layer, layer.get_weights())
    return _LAYERS[kind]


def gradient_norms(kind, timesteps, scale=1.0):
    """||dL/dh_t|| for t = 1..timesteps (norm over the batch and the units), the loss being
    the mse of the last output; the recurrent kernel (every gate's block) times ``scale``."""
    key = (kind, timesteps, float(scale))
    if key in _NORMS:
        return _NORMS[key]
    layer, initial = new_layer(kind)
    weights = list(initial)
    weights[1] = weights[1] * np.float32(scale)      # recurrent_kernel (units, gates * units)
    layer.set_weights(weights)
    x, y = sequence_and_target(timesteps)
    d_h = gradients(layer, x, y, loss="mse").h[layer.name]   # (batch, timesteps, units)
    norms = np.sqrt((d_h.astype("float64") ** 2).sum(axis=(0, 2)))   # (timesteps,)
    if len(_NORMS) > 512:
        _NORMS.clear()
    _NORMS[key] = norms
    return norms


def reach(norms):
    """||dL/dh_1|| / ||dL/dh_T||: how much of the last step's gradient reaches the first."""
    return norms[0] / norms[-1]


def _ratio(value):
    return "0 (below float32's range)" if value == 0 else f"{value:.1e}"


class BPTTExplorer(Explorer):
    """||dL/dh_t|| against t on a log axis for one cell (bold) beside the other two (thin)."""

    def __init__(self, cell="SimpleRNN", timesteps=30, scale=1.0):
        self.cell = _cell_buttons(cell)
        self.timesteps = _slider("timesteps", timesteps, 2, MOST_STEPS)
        self.scale = _slider_float("recurrent scale", scale, 0.25, 2.0, 0.05)
        super().__init__([[self.cell], [self.timesteps, self.scale]], (7.5, 3.4))

    def compute(self):
        t, scale, chosen = self.timesteps.value, self.scale.value, self.cell.value
        self.norms = {kind: gradient_norms(kind, t, scale) for kind in KINDS}
        lines = [f"{chosen}({UNITS}) on {t} timesteps, loss = mse of the last output, "
                 f"recurrent_kernel x {scale:.2f} (x 1.00: Keras's initialisation)",
                 f"||dL/dh_1|| / ||dL/dh_{t}||, how much of the last step's gradient reaches "
                 f"the first:"]
        for kind, norms in self.norms.items():
            mark = "->" if kind == chosen else "  "
            lines.append(f"{mark} {kind:>9}: {_ratio(reach(norms))}")
        lines.append("dL/dh_t from rl.gradients(layer, x, y).h: rnnlib's addition, Keras has "
                     "no public call for it.")
        return "\n".join(lines)

    def layout(self, fig):
        from matplotlib.ticker import NullLocator
        self.ax = ax = fig.add_axes([0.11, 0.15, 0.86, 0.75])
        ax.set_yscale("log")
        ax.yaxis.set_minor_locator(NullLocator())     # few ticks, placed by hand: a fast redraw
        self.lines = {kind: ax.plot([], [], color=COLOURS[kind], label=kind)[0] for kind in KINDS}
        ax.legend(loc="lower right", fontsize=8)
        # title and labels at fixed places (matplotlib would measure every tick label for them)
        self.title = fig.text(0.54, 0.93, "", ha="center", fontsize=10)
        fig.text(0.54, 0.01, "timestep t", ha="center", fontsize=9)
        fig.text(0.01, 0.52, "||dL/dh_t||", va="center", rotation=90, fontsize=9)

    def draw(self):
        t = self.timesteps.value
        steps = np.arange(1, t + 1)
        shown = []
        for kind, line in self.lines.items():
            norms = np.maximum(self.norms[kind], FLOOR)
            chosen = kind == self.cell.value
            line.set_data(steps, norms)
            line.set_linewidth(2.5 if chosen else 1.0)
            line.set_alpha(1.0 if chosen else 0.45)
            shown.append(norms)
        low = np.log10(min(n.min() for n in shown)) - 0.5
        high = np.log10(max(n.max() for n in shown)) + 0.5
        every = max(1, int(np.ceil((high - low) / 6)))          # at most about 6 labels
        decades = np.arange(np.ceil(low / every) * every, high, every)
        self.ax.set_yticks(10.0 ** decades, [f"1e{d:+03.0f}" for d in decades], fontsize=8)
        self.ax.set_ylim(10 ** low, 10 ** high)
        self.ax.set_xlim(0.5, t + 0.5)
        ticks = _steps_ticks(t)
        self.ax.set_xticks(ticks, [str(k) for k in ticks], fontsize=8)
        self.title.set_text(f"the gradient flowing back from step {t}: {self.cell.value} in bold")


def _steps_ticks(timesteps):
    """t = 1, then round numbers up to ``timesteps``, and ``timesteps`` itself: 2 to 7 ticks."""
    every = next(k for k in (1, 2, 5, 10, 20, 25, 50) if timesteps / k <= 5)
    return sorted({1, timesteps, *range(every, timesteps, every)})


def bptt_explorer(cell="SimpleRNN", timesteps=30, scale=1.0):
    """Lesson 9: how far back the gradient of the last output reaches, per cell and scale."""
    return BPTTExplorer(cell, timesteps, scale)


# --- clipping ------------------------------------------------------------------------------

# Two weights' gradients, each drawn as a 2-D vector: per unit of "gradient size", the
# kernel's has norm 1 and the recurrent kernel's norm 0.5 (together sqrt(1.25)).
DIRECTIONS = {"kernel": np.array([0.8, 0.6]), "recurrent_kernel": np.array([-0.3, 0.4])}
OPTIONS = ("clipvalue", "clipnorm", "global_clipnorm")
RULES = {
    "clipvalue": "each element to [-c, c]: the direction can turn",
    "clipnorm": "each weight's g * c / max(||g||, c): per weight, direction kept",
    "global_clipnorm": "every g * c / max(||all g||, c): one scale for all",
}


def clip(option, threshold, grads):
    """``grads`` clipped as ``rl.optimizers.SGD(**{option: threshold})`` clips them in fit."""
    return SGD(**{option: threshold}).clip([np.asarray(g, "float64") for g in grads])


def _vector(v):
    return f"({v[0]:+.2f}, {v[1]:+.2f}) norm {np.linalg.norm(v):.2f}"


class ClippingExplorer(Explorer):
    """Two weights' gradients before (faint) and after (solid) each clipping option."""

    def __init__(self, size=2.0, threshold=1.0):
        self.size = W.FloatLogSlider(value=size, base=10, min=-1, max=1, step=0.05,
                                     description="gradient size", continuous_update=True,
                                     style={"description_width": "initial"})
        self.threshold = _slider_float("threshold c", threshold, 0.1, 3.0, 0.05)
        super().__init__([[self.size, self.threshold]], (9.0, 3.5))

    def compute(self):
        c = self.threshold.value
        self.grads = [self.size.value * d for d in DIRECTIONS.values()]
        self.clipped = {option: clip(option, c, self.grads) for option in OPTIONS}
        everything = np.sqrt(sum(np.sum(g * g) for g in self.grads))
        lines = ["before: " + ",  ".join(f"{name} {_vector(g)}"
                                         for name, g in zip(DIRECTIONS, self.grads))
                 + f",  all together {everything:.2f}"]
        for option in OPTIONS:
            after = ",  ".join(f"{name} {_vector(g)}"
                               for name, g in zip(DIRECTIONS, self.clipped[option]))
            lines.append(f"{option}={c:.2f}: {after}")
            lines.append(f"    {RULES[option]}")
        return "\n".join(lines)

    def layout(self, fig):
        from matplotlib.patches import Circle, Rectangle
        self.axes, self.arrows, self.regions = {}, {}, {}
        for k, option in enumerate(OPTIONS):
            ax = fig.add_axes([0.02 + k / 3, 0.1, 1 / 3 - 0.04, 0.8])
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.axhline(0, color="0.85", lw=0.8)
            ax.axvline(0, color="0.85", lw=0.8)
            region = (Rectangle((-1, -1), 2, 2, fill=False, ls="--", color="0.5")
                      if option == "clipvalue" else
                      Circle((0, 0), 1, fill=False, ls="--", color="0.5"))
            ax.add_patch(region)
            colours = ["#1f77b4", "#d62728"]
            quiver = dict(angles="xy", scale_units="xy", scale=1, width=0.012, color=colours)
            self.arrows[option] = (ax.quiver([0, 0], [0, 0], [1, 1], [1, 1], alpha=0.3, **quiver),
                                   ax.quiver([0, 0], [0, 0], [1, 1], [1, 1], **quiver))
            self.axes[option], self.regions[option] = ax, region
        fig.text(0.5, 0.02, "blue: the kernel's gradient, red: the recurrent kernel's;  faint: "
                 "before, solid: after;  dashed: the bound c", ha="center",
                 fontsize=8)

    def draw(self):
        c = self.threshold.value
        before = np.array(self.grads)                           # (2 weights, 2 elements)
        lim = 1.2 * max(np.abs(before).max(), c)
        for option in OPTIONS:
            ax, (faint, solid) = self.axes[option], self.arrows[option]
            after = np.array(self.clipped[option])
            faint.set_UVC(before[:, 0], before[:, 1])
            solid.set_UVC(after[:, 0], after[:, 1])
            region = self.regions[option]
            if option == "clipvalue":
                region.set_xy((-c, -c))
                region.set_width(2 * c)
                region.set_height(2 * c)
            else:
                region.set_radius(c)
            region.set_visible(option != "global_clipnorm")
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            extra = ""
            if option == "global_clipnorm":
                scale = np.linalg.norm(after) / np.linalg.norm(before)
                extra = f": both x {scale:.2f}"
            ax.set_title(f"{option}={c:.2f}{extra}", fontsize=10)


def clipping_explorer(size=2.0, threshold=1.0):
    """Lesson 9: a kernel's and a recurrent kernel's gradients under each clipping option."""
    return ClippingExplorer(size, threshold)

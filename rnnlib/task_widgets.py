"""Lesson 11's picture and explorer: the four shapes of real tasks.

    import rnnlib as rl
    rl.widgets.task_shapes()             # the four cases side by side, each tensor's shape
    rl.widgets.tasks_explorer()          # one case at a time: timesteps, units, padding, decoder

The cases, on token ids (id 0 is padding: ``Embedding(..., mask_zero=True)``):

    many-to-one      ids (batch, timesteps) -> LSTM -> its last h (batch, units) -> Dense: a label
    many-to-many     ids -> LSTM(return_sequences=True) -> Dense at every step: a tag per token
    one-to-many      x (batch, features) -> Dense -> RepeatVector(n) -> LSTM(return_sequences=True)
                     -> Dense at every step: a sequence out of one vector
    encoder-decoder  ids -> encoder LSTM, then either its last h repeated (RepeatVector) or its
                     [h, c] as the decoder's initial_state, the decoder reading the target
                     shifted by one step (teacher forcing) -> Dense at every output step

Every shape in the text and the picture is read off an rnnlib model built on symbolic
inputs (``rl.Input``), never worked out here.  Built as the explorers in
``rnnlib/widgets.py``: controls are attributes, a change recomputes and redraws one figure.
"""
from types import SimpleNamespace

import ipywidgets as W
import numpy as np

from . import viz
from .engine import Input, fmt_shape
from .initializers import GlorotUniform, Orthogonal, RandomUniform
from .layers import LSTM, Dense, Embedding, RepeatVector, TimeDistributed
from .models import Model
from .widgets import Explorer, _slider, _toggle, wrap

CASES = ("many-to-one", "many-to-many", "one-to-many", "encoder-decoder")
DECODERS = ("RepeatVector", "initial_state")
VOCABULARY, VECTOR, CLASSES = 10, 4, 10    # ids 0..9 (0 = padding), vectors of 4, 10 ids out
SAMPLE = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]   # the token ids of the sample sequence shown
FEATURES = 1                               # one-to-many: the one input vector's size
TARGET_COLOUR = "#fcbba1"                  # targets and the tags compared with them


def _seeded(seed):
    """Seeded initializers (the Keras way to fixed weights): the learner's random state and
    automatic names are left alone."""
    return dict(kernel_initializer=GlorotUniform(seed=seed), recurrent_initializer=Orthogonal(seed=seed + 1))


def _embedding(name, mask_zero, seed):
    return Embedding(VOCABULARY, VECTOR, mask_zero=mask_zero, name=name,
                     embeddings_initializer=RandomUniform(seed=seed))


def _dense(units, activation, name, seed):
    return Dense(units, activation=activation, name=name, kernel_initializer=GlorotUniform(seed=seed))


def task_model(case, timesteps=6, units=8, steps_out=4, decoder="RepeatVector",
               time_distributed=False, mask_zero=True):
    """The case as an rnnlib model, built on symbolic inputs (shapes, no data).

    Returns a namespace: ``model``; ``rows``, one ``(name, tensor, what it is)`` per tensor in
    reading order (the inputs, each layer's output, the LSTM's states); ``states``, the
    name of the LSTM whose ``[h, c]`` the text lists, and those two tensors; ``embedding``,
    the Embedding layer that reads the ids (None for one-to-many).  Every LSTM is called with ``return_state=True`` so that its states are tensors
    too; its output is the same tensor as without.
    """
    if case not in CASES:
        raise ValueError(f"case must be one of {', '.join(CASES)}; received {case!r}.")
    rows, lstm_name, embedding = [], "lstm", None
    if case == "one-to-many":
        x = Input(shape=(FEATURES,), name="x")
        vector = _dense(units, "tanh", "dense_in", 1)(x)
        repeated = RepeatVector(steps_out, name="repeat_vector")(vector)
        sequence, h, c = LSTM(units, return_sequences=True, return_state=True, name="lstm",
                              **_seeded(2))(repeated)
        inputs = x
        rows += [("x", x, "one vector per sample"),
                 ("dense_in", vector, f"Dense({units}, activation='tanh')"),
                 ("repeat_vector", repeated, f"RepeatVector({steps_out}): the vector at each step"),
                 ("lstm", sequence, f"LSTM({units}, return_sequences=True): h at every step")]
    else:
        ids = Input(shape=(timesteps,), dtype="int32", name="ids")
        embedding = _embedding("embedding", mask_zero, 1)
        vectors = embedding(ids)
        rows += [("ids", ids, "token ids, 0 = padding"),
                 ("embedding", vectors, f"Embedding({VOCABULARY}, {VECTOR}"
                  f"{', mask_zero=True' if mask_zero else ''}): a vector per id")]
        inputs = ids
        if case in ("many-to-one", "many-to-many"):
            every = case == "many-to-many"
            sequence, h, c = LSTM(units, return_sequences=every, return_state=True, name="lstm",
                                  **_seeded(2))(vectors)
            rows.append(("lstm", sequence, f"LSTM({units}"
                         + (", return_sequences=True): h at every step" if every else "): the last h only")))
        else:
            lstm_name = "encoder"
            last, h, c = LSTM(units, return_state=True, name="encoder", **_seeded(2))(vectors)
            rows.append(("encoder", last, f"LSTM({units}, return_state=True): the last h ..."))
            if decoder == "RepeatVector":
                repeated = RepeatVector(steps_out, name="repeat_vector")(last)
                sequence, *_ = LSTM(units, return_sequences=True, return_state=True, name="decoder",
                                    **_seeded(4))(repeated)
                rows += [("repeat_vector", repeated, f"RepeatVector({steps_out}): the last h at each step"),
                         ("decoder", sequence, f"LSTM({units}, return_sequences=True)")]
            else:
                shifted = Input(shape=(steps_out,), dtype="int32", name="decoder_ids")
                read = _embedding("decoder_embedding", False, 3)(shifted)
                sequence, *_ = LSTM(units, return_sequences=True, return_state=True, name="decoder",
                                    **_seeded(4))(read, initial_state=[h, c])
                inputs = [ids, shifted]
                rows += [("decoder_ids", shifted, "the target shifted by one step: start, y_0, y_1, ..."),
                         ("decoder_embedding", read, f"Embedding({VOCABULARY}, {VECTOR})"),
                         ("decoder", sequence, f"LSTM({units}, return_sequences=True)"
                          "(..., initial_state=[h, c])")]
    if case == "many-to-one":
        out = _dense(1, "sigmoid", "dense", 5)(sequence)
        rows.append(("dense", out, "Dense(1, activation='sigmoid'): the label"))
    elif time_distributed and case == "many-to-many":
        out = TimeDistributed(_dense(CLASSES, "softmax", "dense", 5), name="time_distributed")(sequence)
        rows.append(("time_distributed", out, f"TimeDistributed(Dense({CLASSES}, activation='softmax'))"))
    else:
        out = _dense(CLASSES, "softmax", "dense", 5)(sequence)
        rows.append(("dense", out, f"Dense({CLASSES}, activation='softmax'): at every step"))
    return SimpleNamespace(model=Model(inputs, out, name=case.replace("-", "_")), rows=rows,
                           states=(lstm_name, h, c), embedding=embedding)


def sample_ids(timesteps, padding):
    """The sample sequence the picture shows: ``timesteps - padding`` ids, then 0s.  (1, timesteps)."""
    real = timesteps - padding
    ids = np.zeros((1, timesteps), "int64")
    ids[0, :real] = (SAMPLE * (1 + timesteps // len(SAMPLE)))[:real]
    return ids


# --- the picture ------------------------------------------------------------------------------

def _boxes(ax, boxes):
    """Rectangles [(x, y, w, h, colour, label, fontsize), ...] as one collection, then labels."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    patches = [Rectangle((x, y), w, h) for x, y, w, h, *_ in boxes]
    ax.add_collection(PatchCollection(patches, facecolors=[b[4] for b in boxes],
                                      edgecolors="#555555", linewidths=0.8))
    for x, y, w, h, _, label, size in boxes:
        if label:
            ax.text(x + w / 2, y + h / 2, label, ha="center", va="center", fontsize=size)


def draw_task(ax, case, shapes, timesteps=6, steps_out=4, padding=0, decoder="RepeatVector",
              mask_zero=True, small=False):
    """One case unrolled in time: inputs below, LSTM steps in the middle, outputs on top.

    ``shapes`` maps a row name of ``task_model`` to its shape text (the model's own); padded
    steps are grey, and where the mask holds, their cells keep h and c.
    """
    viz.wipe(ax)
    ax.set_axis_off()
    total = timesteps + (steps_out if case == "encoder-decoder" else 0)
    size = 6 if small or total > 12 else 7
    boxes, arrows = [], []
    bw, bh, gap = 0.7, 0.5, 1.0                  # a box's width and height, one step's width
    y_in, y_cell, y_out = 0.0, 1.0, 2.0
    real = timesteps - padding
    ids = sample_ids(timesteps, padding)[0]
    masked = mask_zero and padding > 0 and case != "one-to-many"

    def cells(x0, n, first_label, grey=()):
        for t in range(n):
            x = x0 + t * gap
            kept = t in grey and mask_zero
            boxes.append((x, y_cell, bw, bh, viz.OFF if kept else viz.CELL,
                          "keeps\nh, c" if kept and not small else (first_label if t == 0 else ""), size))
            if t:
                arrows.append((x - gap + bw, y_cell + bh / 2, x, y_cell + bh / 2))

    def token_inputs(x0, n, labels, grey=(), colour=viz.INPUT):
        for t in range(n):
            x = x0 + t * gap
            boxes.append((x, y_in, bw, bh, viz.OFF if t in grey else colour, labels[t], size))
            arrows.append((x + bw / 2, y_in + bh, x + bw / 2, y_cell))

    def outputs(x0, n, label, grey=()):
        for t in range(n):
            x = x0 + t * gap
            boxes.append((x, y_out, bw, bh, viz.OFF if t in grey else viz.OUTPUT,
                          "" if t in grey and mask_zero else f"{label}{t}", size))
            arrows.append((x + bw / 2, y_cell + bh, x + bw / 2, y_out))

    padded = set(range(real, timesteps))
    if case in ("many-to-one", "many-to-many", "encoder-decoder"):
        token_inputs(0, timesteps, [str(i) if i else "0 pad" if not small else "0" for i in ids], padded)
        cells(0, timesteps, "LSTM", padded if masked else ())
    if case == "many-to-one":
        last = (timesteps - 1) * gap
        boxes.append((last + gap, y_out, bw, bh, viz.OUTPUT, "label", size))
        arrows.append((last + bw, y_cell + bh / 2, last + gap + bw / 2, y_out))
        right = last + gap + bw
    elif case == "many-to-many":
        outputs(0, timesteps, "tag", padded if masked else ())
        right = (timesteps - 1) * gap + bw
    elif case == "one-to-many":
        boxes.append((0, y_in, bw, bh, viz.INPUT, "x", size))
        boxes.append((0, y_cell, bw, bh, viz.CELL, "Dense", size))
        arrows.append((bw / 2, y_in + bh, bw / 2, y_cell))
        x0 = gap + 0.3
        arrows.append((bw, y_cell + bh / 2, x0 - 0.15, y_cell + bh / 2))
        ax.plot([x0 - 0.15, x0 - 0.15, x0 + (steps_out - 1) * gap + bw / 2],
                [y_cell + bh / 2, y_in + 0.2, y_in + 0.2], color="#333333", lw=0.8)
        for t in range(steps_out):
            arrows.append((x0 + t * gap + bw / 2, y_in + 0.2, x0 + t * gap + bw / 2, y_cell))
        ax.text(x0 + 0.1, y_in + 0.12, f"repeat_vector {shapes['repeat_vector']}: the same vector at each step",
                fontsize=size, va="top")
        cells(x0, steps_out, "LSTM")
        outputs(x0, steps_out, "y")
        right = x0 + (steps_out - 1) * gap + bw
    else:
        x0 = timesteps * gap + 0.6
        last = (timesteps - 1) * gap
        if decoder == "RepeatVector":
            arrows.append((last + bw, y_cell + bh / 2, x0 - 0.25, y_cell + bh / 2))
            ax.plot([x0 - 0.25, x0 - 0.25, x0 + (steps_out - 1) * gap + bw / 2],
                    [y_cell + bh / 2, y_in + 0.2, y_in + 0.2], color="#333333", lw=0.8)
            for t in range(steps_out):
                arrows.append((x0 + t * gap + bw / 2, y_in + 0.2, x0 + t * gap + bw / 2, y_cell))
            ax.text(x0, y_in + 0.12, f"repeat_vector {shapes['repeat_vector']}: the last h at each step",
                    fontsize=size, va="top")
        else:
            arrows.append((last + bw, y_cell + bh / 2, x0, y_cell + bh / 2))
            ax.text((last + bw + x0) / 2, y_cell + bh / 2 + 0.05, "[h, c]", ha="center", va="bottom",
                    fontsize=size, color="#006d2c", weight="bold")
            token_inputs(x0, steps_out, ["start"] + [f"y{t}" for t in range(steps_out - 1)],
                         colour=TARGET_COLOUR)
        cells(x0, steps_out, "decoder")
        outputs(x0, steps_out, "y")
        ax.text(bw / 2, y_cell + bh + 0.08, "encoder", fontsize=size, ha="center", va="bottom")
        right = x0 + (steps_out - 1) * gap + bw
    _boxes(ax, boxes)
    viz._draw_arrows(ax, arrows)
    out = next(name for name in ("time_distributed", "dense") if name in shapes)
    first = "x" if case == "one-to-many" else "ids"
    margin = ax.get_yaxis_transform()            # x in axes fractions: labels left of the axes
    for y, label in [(y_out, f"{out} {shapes[out]}"), (y_cell, f"h_t {shapes['h']}"),
                     (y_in, f"{first} {shapes[first]}")]:
        ax.text(-0.01, y + bh / 2, label, ha="right", va="center", fontsize=size, transform=margin)
    if masked:
        ax.text(-0.01, y_in - 0.1, f"mask {shapes['mask']}", ha="right", va="top", fontsize=size,
                transform=margin, color="#555555")
    if "decoder_ids" in shapes:
        ax.text(x0, y_in - 0.1, f"decoder_ids {shapes['decoder_ids']}"
                + ("" if small else ": the target shifted by one step"), fontsize=size, va="top")
    ax.set_xlim(-0.2, max(right, 4.5) + 0.2)
    ax.set_ylim(-0.45, 2.9)


def shape_texts(task, timesteps):
    """Row name -> its shape as text, from the model's tensors; and h's and the mask's."""
    shapes = {name: fmt_shape(tensor.shape) for name, tensor, _ in task.rows}
    shapes["h"] = fmt_shape(task.states[1].shape)
    shapes["mask"] = fmt_shape((None, timesteps))
    return shapes


TITLES = {"many-to-one": "many-to-one: a label per sequence",
          "many-to-many": "many-to-many, aligned: a tag per token",
          "one-to-many": "one-to-many: a sequence from one vector",
          "encoder-decoder": "many-to-many, unaligned: encoder-decoder"}


def task_shapes(timesteps=5, units=8, steps_out=3, padding=1):
    """``Picture`` of the four cases, each unrolled in time with its shapes (from the models)."""
    fig = viz.new_figure(10, 4.6)
    places = [(0.0, 0.52), (0.5, 0.52), (0.0, 0.02), (0.5, 0.02)]
    for (left, bottom), case in zip(places, CASES):
        decoder = "initial_state" if case == "encoder-decoder" else "RepeatVector"
        steps = 4 if case == "encoder-decoder" else timesteps
        task = task_model(case, steps, units, steps_out, decoder)
        ax = fig.add_axes([left + 0.1, bottom, 0.39, 0.42])
        draw_task(ax, case, shape_texts(task, steps), steps, steps_out,
                  0 if case == "encoder-decoder" else padding, decoder, small=True)
        fig.text(left + 0.25, bottom + 0.445, TITLES[case], ha="center", fontsize=9, weight="bold")
    return viz.Picture(fig, "four shapes of task: " + ", ".join(TITLES.values()))


# --- the explorer -----------------------------------------------------------------------------

class TasksExplorer(Explorer):
    """The four cases, one at a time: each tensor's shape, the mask and the states."""

    def __init__(self, case="many-to-one", timesteps=6, units=8, steps_out=4, padding=2,
                 decoder="RepeatVector", time_distributed=False, mask_zero=True):
        self.case = W.ToggleButtons(options=list(CASES), value=case, description="case",
                                    style={"button_width": "120px"})
        self.decoder = W.ToggleButtons(options=list(DECODERS), value=decoder, description="decoder",
                                       style={"button_width": "110px"})
        self.timesteps = _slider("timesteps", timesteps, 1, 10)
        self.steps_out = _slider("output steps", steps_out, 1, 8)
        self.units = _slider("units", units, 1, 32)
        self.padding = _slider("padding", padding, 0, timesteps - 1)
        self.mask_zero = _toggle("mask_zero", mask_zero)
        self.time_distributed = _toggle("TimeDistributed(Dense)", time_distributed)
        self.timesteps.observe(self._new_timesteps, names="value")
        self._enable()
        super().__init__([[self.case], [self.decoder, self.time_distributed, self.mask_zero],
                          [self.timesteps, self.padding], [self.steps_out, self.units]], (8.6, 2.6))

    def _new_timesteps(self, change):
        self._holding = True               # the timesteps observer updates once, after this
        try:
            self.padding.max = change["new"] - 1        # at least one real step
        finally:
            self._holding = False

    def _enable(self):
        """Only the controls that mean something for the case are enabled."""
        case = self.case.value
        self.decoder.disabled = case != "encoder-decoder"
        self.time_distributed.disabled = case != "many-to-many"
        self.steps_out.disabled = case not in ("one-to-many", "encoder-decoder")
        tokens = case != "one-to-many"
        self.timesteps.disabled = self.padding.disabled = self.mask_zero.disabled = not tokens

    def compute(self):
        self._enable()
        case, t, units = self.case.value, self.timesteps.value, self.units.value
        s, padding = self.steps_out.value, self.padding.value
        self.task = task = task_model(case, t, units, s, self.decoder.value,
                                      self.time_distributed.value, self.mask_zero.value)
        self.shapes = shape_texts(task, t)
        lines = [TITLES[case]]
        width = max(len(name) for name, _, _ in task.rows) + 2
        for name, tensor, what in task.rows:
            lines.append(f"{name:<{width}}{fmt_shape(tensor.shape):<16}{what}")
            if name == task.states[0]:
                _, h, c = task.states
                hand = (" -> the decoder's initial_state" if case == "encoder-decoder"
                        and self.decoder.value == "initial_state" else " (return_state=True)")
                lines.append(f"{'':<{width}}states: h {fmt_shape(h.shape)}, c {fmt_shape(c.shape)}{hand}")
        if case != "one-to-many":
            ids = sample_ids(t, padding)
            self.mask = task.embedding.compute_mask(ids) if self.mask_zero.value else None
            lines.append(f"a sample: ids {ids[0].tolist()}" + (
                f", mask {self.mask[0].astype(int).tolist()} (1 = real step)" if self.mask is not None
                else ": no mask, so the 0s are read as tokens (id 0 has its own vector)"
                if padding else ""))
            if self.mask is not None and padding:
                lines.append(self._mask_line(case, padding))
        else:
            self.mask = None
        if case == "many-to-many" and self.time_distributed.value:
            lines.append("TimeDistributed(Dense) applies the Dense to each step: the same numbers "
                         "as the Dense alone, which acts on the last axis.")
        if case == "encoder-decoder" and self.decoder.value == "initial_state":
            lines.append("teacher forcing: in training the decoder reads the true previous token; "
                         "predicting, its own previous guess, one step at a time.")
        return wrap("\n".join(lines), 110)

    def _mask_line(self, case, padding):
        steps = viz.plural(padding, "padded step")
        if case == "many-to-one":
            return (f"at the {steps} the LSTM keeps h and c, so its last h is the last real step's; "
                    "the mask stops there (return_sequences=False).")
        if case == "many-to-many":
            return (f"at the {steps} the LSTM keeps its state and repeats its output; the mask goes "
                    "on to the tags, and the loss leaves those steps out.")
        return (f"the encoder keeps h and c at the {steps}: what it hands on is the last real step's; "
                "the mask stops at the encoder.")

    def layout(self, fig):
        self.ax = fig.add_axes([0.14, 0.0, 0.85, 1.0])     # the shape labels left of it

    def draw(self):
        case = self.case.value
        one = case == "one-to-many"
        draw_task(self.ax, case, self.shapes, self.timesteps.value, self.steps_out.value,
                  0 if one else self.padding.value, self.decoder.value, self.mask_zero.value)


def tasks_explorer(case="many-to-one", timesteps=6, units=8, steps_out=4, padding=2,
                   decoder="RepeatVector"):
    """Lesson 11: the four shapes of task, every tensor's shape, the mask and the states."""
    return TasksExplorer(case, timesteps, units, steps_out, padding, decoder)

"""Checks for ps07_bptt: the backward of one SimpleRNN step, backpropagation through a whole
sequence (``return_sequences`` True and False) and the backward of one LSTM step.

Every gradient a student returns is graded twice, in float64: against rnnlib's own backward
(the cells' ``backward``, ``RNN.backward``) given copies of the same weights, and against
central differences (L(w + eps) - L(w - eps)) / (2 eps) of the loss
``L = sum(d_out * output)`` through rnnlib's forward pass, whose gradient with respect to
the output is ``d_out``.  A wrong answer that equals a known wrong variant (computed here
in a few lines of NumPy) names its misconception.  A student's function may not run
rnnlib's cells, loop or backward passes (:data:`FORBID`).

The hidden checks draw their shapes and values from their own seeded generators; one
hidden case has ``features == units``, so that a transposed kernel gradient has the right
shape and is caught by its values.
"""
import numpy as np

import rnnlib as rl
from rnnlib import backprop, fast, gradcheck
from rnnlib.layers.gru import GRUCell
from rnnlib.layers.lstm import LSTMCell
from rnnlib.layers.rnn import RNN, Cell
from rnnlib.layers.simple_rnn import SimpleRNNCell

from .common import (CELL_MATHS, RNN_LOOP, _close, _isfinite, as_array, call, describe, float64,
                     misconception, reference_layer)
from .feedback import student_facing

_norm = np.linalg.norm        # captured before any student code runs, as common's comparisons

#: rnnlib's backward passes and gradient helpers: a student who writes a backward pass must
#: not run them (rl.gradients and the cells' backward are rnnlib's own additions; Keras has
#: no per-step backward).  Names a future rnnlib lacks are left out rather than failing.
BACKWARD = tuple((owner, name) for owner, name in (
    (SimpleRNNCell, "step_backward"), (LSTMCell, "step_backward"), (GRUCell, "step_backward"),
    (Cell, "backward"), (Cell, "project_backward"), (RNN, "backward"), (RNN, "_loop_backward"),
    (fast, "unroll_train"), (fast, "unroll_backward"),
    *((fast, f"{kind}_{part}") for kind in ("simple", "gru", "lstm") for part in ("train", "backward")),
    (rl, "gradients"), (backprop, "gradients"),
    (rl, "numerical_gradient"), (gradcheck, "numerical_gradient"),
    (rl, "gradient_check"), (gradcheck, "gradient_check"),
) if name in vars(owner))
#: Everything a ps07 function must not run: rnnlib's cells' maths, its time loop, its backward.
FORBID = CELL_MATHS + RNN_LOOP + BACKWARD

RTOL, ATOL = 1e-5, 1e-7       # against rnnlib's gradient (both float64)
MAX_RELATIVE_ERROR = 1e-5     # against central differences, ||a - n|| / (||a|| + ||n||)
EPS = 1e-6

HINTS = {
    "tanh' taken from the pre-activation":
        "h = tanh(z), so dh/dz = 1 - tanh(z)**2 = 1 - h**2: take it from h, the step's output. "
        "1 - np.tanh(h)**2 treats h as if it were z, and 1 - z**2 treats z as if it were h.",
    "tanh' missing":
        "h = tanh(z): multiply d_h by tanh' = 1 - h**2 before it reaches the weights, "
        "d_z = d_h * (1 - h**2).",
    "transposed weight gradient":
        "a weight's gradient has the weight's shape: dkernel = x_t.T @ d_z is (features, units) "
        "like kernel, drecurrent_kernel = h_tm1.T @ d_z is (units, units); d_z.T @ x_t is its transpose.",
    "weight not transposed going back":
        "the forward multiplies on the right by the weight (h_tm1 @ recurrent_kernel), so the "
        "gradient goes back through its transpose: dh_tm1 = d_z @ recurrent_kernel.T, "
        "dx_t = d_z @ kernel.T.",
    "bias gradient not summed over the batch":
        "the bias (units,) is added to every sample of the batch, so its gradient adds up the "
        "samples: dbias = d_z.sum(axis=0).",
    "weight gradients not summed over timesteps":
        "the same kernel, recurrent_kernel and bias are used at every timestep, so their "
        "gradients are the SUM of every step's contribution: start from zeros and add "
        "(dkernel += ...) at each step; do not keep one step's, nor average them.",
    "gradient from the next step dropped":
        "h_t is read twice: by the output (d_out at step t) and by the next step (the dh_tm1 "
        "that step t+1 hands back). At step t use d_h = d_out[:, t] + dh_next.",
    "off by one in time":
        "step t reads x[:, t] and h_tm1 = h_{t-1} and returns h_t; its backward needs those "
        "same three: keep hs = [h0, h1, ..., h_T] (h0 included), then step t's h_tm1 is hs[t] "
        "and its h is hs[t + 1], for t = T-1 down to 0.",
    "loss reaches only the last step":
        "with return_sequences=False the loss reads only the last output, so d_out enters at "
        "the last step only (that part is right), but h_T depends on every earlier step through "
        "h_tm1 @ recurrent_kernel: carry dh_tm1 back to the earlier steps. Your gradients "
        "stop at the last step.",
    "loss reaches no step":
        "every gradient you returned is zero: d_out never entered the backward pass (or your "
        "rnn_step_backward returns zeros). d_out is dL/d(output): with return_sequences=False "
        "add it to the last step's d_h, with return_sequences=True add d_out[:, t] at each step t.",
    "loss placed at the first step":
        "without return_sequences the layer returns the LAST step's h: d_out is dL/dh_T and "
        "enters at the last step (t = timesteps - 1), not the first.",
    "loss placed at every step":
        "with return_sequences=False the loss reads only the last output: d_out enters at the "
        "last step alone; the earlier steps get their gradient through h, from the step after them.",
    "gradient of h0 missing":
        "h0 is read by the first step: dh0 is the dh_tm1 that the first step's backward (t = 0) "
        "hands back, the last one your reverse loop computes.",
    "dc not carried back through f":
        "c = f * c_tm1 + i * c~, so dc_tm1 = dc * f, where dc is the total gradient reaching c "
        "(the d_c from the next step plus what comes from h = o * tanh(c)).",
    "h's gradient not passed into c":
        "h = o * tanh(c) also depends on c: dc = d_c + d_h * o * (1 - tanh(c)**2), where d_c "
        "comes from the next step.",
    "gradient from the next step dropped (c)":
        "c is read by the next step too: the d_c you are given is that gradient. Add it: "
        "dc = d_c + d_h * o * (1 - tanh(c)**2).",
    "tanh'(c) taken as 1 - c**2":
        "h = o * tanh(c): d tanh(c)/dc = 1 - tanh(c)**2. c itself is not a tanh (it is not "
        "bounded by 1), so 1 - c**2 is wrong here (the candidate's 1 - c~**2 is right).",
    "gates in the wrong order (i|f|o|g)":
        "Keras packs the LSTM gates as i|f|c|o: the blocks of d_z (and of dkernel's columns) are "
        "[0:u] input gate, [u:2u] forget gate, [2u:3u] candidate c~, [3u:4u] output gate.",
    "sigmoid' missing":
        "i, f and o are sigmoids of their blocks: d(sigmoid(a))/da = s * (1 - s), taken from "
        "the gate's value s.",
}


# --- comparing gradients ------------------------------------------------------------------

def relative_error(a, b):
    """||a - b|| / (||a|| + ||b||) in float64: 0 when equal, 1 when unrelated."""
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    scale = float(_norm(a) + _norm(b))
    return float(_norm(a - b)) / scale if scale > 0 else 0.0


def central_differences(loss, arrays):
    """dL/da for each array ``a`` that ``loss()`` reads, by central differences in float64."""
    return [rl.numerical_gradient(loss, a, EPS) for a in arrays]


def _shape_misconception(name, got, want, batch):
    """A misconception that a gradient's wrong shape shows, or None."""
    if len(want) == 2 and got == want[::-1] and name.startswith(("dkernel", "drecurrent")):
        return "transposed weight gradient"
    if name == "dbias" and got == (batch,) + tuple(want):
        return "bias gradient not summed over the batch"
    return None


def compare_gradients(got, expected, numeric, names, what, variants, batch, hint=""):
    """Check ``got`` (a tuple of gradients) against rnnlib's ``expected`` and the central
    differences ``numeric``; name a misconception when ``got`` equals one of ``variants``
    ((name, tuple of gradients) pairs) as a whole, or at its first wrong gradient."""
    shapes = ", ".join(f"{n} {tuple(e.shape)}" for n, e in zip(names, expected))
    if not isinstance(got, (list, tuple)) or len(got) != len(names):
        n = f" of {len(got)}" if isinstance(got, (list, tuple)) else ""
        raise AssertionError(f"{what} returned {describe(got)} (a {type(got).__name__}{n}); "
                             f"expected a tuple of {len(names)} arrays: {shapes}. "
                             f"End with `return {', '.join(names)}`.")
    if not _close(list(got), list(expected), RTOL, ATOL):
        for label, wrong in variants:
            if _close(list(got), list(wrong), RTOL, ATOL):
                raise AssertionError(misconception(label, HINTS.get(label)) +
                                     f"\n{what}: every gradient is what that mistake gives.")
    for k, (name, g, e, n) in enumerate(zip(names, got, expected, numeric)):
        label = f"{what}: {name}"
        g = as_array(g, label)
        if g.shape != e.shape:
            wrong = _shape_misconception(name, g.shape, e.shape, batch)
            lead = misconception(wrong, HINTS[wrong]) + "\n" if wrong else ""
            raise AssertionError(f"{lead}{label} has shape {g.shape}; expected {e.shape} "
                                 f"(the gradients' shapes: {shapes}).")
        if not _isfinite(g).all():
            raise AssertionError(f"{label} contains NaN or inf values; expected finite numbers.")
        error = relative_error(g, n)
        if _close(g, e, RTOL, ATOL) and error < MAX_RELATIVE_ERROR:
            continue
        for wrong_name, wrong in variants:
            w = np.asarray(wrong[k], float)
            if w.shape == e.shape and not _close(w, e, RTOL, ATOL) and _close(g, w, RTOL, ATOL):
                raise AssertionError(misconception(wrong_name, HINTS.get(wrong_name)) +
                                     f"\n{label} is what that mistake gives.")
        diff = np.abs(g - e)
        worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
        raise AssertionError(
            f"{label} has the right shape {e.shape} but wrong values: relative error "
            f"{relative_error(g, e):.3g} against rnnlib's backward and {error:.3g} against "
            f"central differences (L(w + eps) - L(w - eps)) / (2 eps), eps={EPS:g}; a right "
            f"gradient is below {MAX_RELATIVE_ERROR:g}.\nAt index {worst}: expected "
            f"{e[worst]:.6g}, got {g[worst]:.6g}." + (f"\nHint: {hint}" if hint else ""))


# --- the cases ------------------------------------------------------------------------------

def _sizes(hidden, visible, seed, timesteps=False):
    """[(batch, timesteps, features, units), ...]: the visible ones, or two drawn from the
    check's own generator (the first with features == units, the second without)."""
    if not hidden:
        return [visible]
    rng = np.random.default_rng(seed)
    cases = []
    for square in (True, False):
        batch, steps, features = (int(v) for v in (rng.integers(1, 5), rng.integers(3, 7),
                                                   rng.integers(1, 6)))
        units = features if square else int(rng.choice([u for u in range(1, 6) if u != features]))
        cases.append((batch, steps if timesteps else 1, features, units))
    return cases


def _weights(rng, features, units, gates=1):
    return [rng.normal(0, 0.5, (features, gates * units)), rng.normal(0, 0.5, (units, gates * units)),
            rng.normal(0, 0.5, gates * units)]


# --- Part A: one SimpleRNN step ----------------------------------------------------------------

def simple_step_grads(d_h, x_t, h_tm1, h, kernel, recurrent_kernel, tanh_prime="h",
                      transposed=False, back_not_transposed=False):
    """The gradients of one SimpleRNN step written out, right or wrong in one way each:
    (dx_t, dh_tm1, dkernel, drecurrent_kernel, dbias)."""
    derivative = {"h": 1 - h ** 2, "tanh(h)": 1 - np.tanh(h) ** 2,
                  "z": 1 - np.arctanh(np.clip(h, -1 + 1e-15, 1 - 1e-15)) ** 2, "none": 1.0}
    d_z = d_h * derivative[tanh_prime]                                  # (batch, units)
    back_w, back_u = ((kernel, recurrent_kernel) if back_not_transposed
                      else (kernel.T, recurrent_kernel.T))
    d_x = d_z @ back_w if back_w.shape[0] == d_z.shape[1] else np.zeros_like(x_t)
    weights = ((d_z.T @ x_t, d_z.T @ h_tm1) if transposed else (x_t.T @ d_z, h_tm1.T @ d_z))
    return [d_x, d_z @ back_u, *weights, d_z.sum(axis=0)]


def step_variants(grads):
    """``grads(**wrong) -> gradients``: the wrong variants of a step's backward."""
    return [("tanh' taken from the pre-activation", grads(tanh_prime="tanh(h)")),
            ("tanh' taken from the pre-activation", grads(tanh_prime="z")),
            ("tanh' missing", grads(tanh_prime="none")),
            ("transposed weight gradient", grads(transposed=True)),
            ("weight not transposed going back", grads(back_not_transposed=True))]


STEP_NAMES = ("dx_t", "dh_tm1", "dkernel", "drecurrent_kernel", "dbias")


@student_facing
def check_rnn_step_backward(rnn_step_backward, hidden=False):
    """``rnn_step_backward(d_h, x_t, h_tm1, h, kernel, recurrent_kernel)`` -> (dx_t, dh_tm1,
    dkernel, drecurrent_kernel, dbias), as SimpleRNNCell's backward."""
    for k, (batch, _, features, units) in enumerate(_sizes(hidden, (2, 1, 3, 4), 7101)):
        rng = np.random.default_rng(7110 + k + 10 * hidden)
        weights = _weights(rng, features, units)
        x_t, h_tm1 = rng.normal(size=(batch, features)), rng.normal(size=(batch, units))
        d_h = rng.normal(size=(batch, units))
        layer = reference_layer(rl.layers.SimpleRNN, features, weights, units=units)
        arrays = [x_t.copy(), h_tm1.copy()]
        with float64():
            h = layer(x_t[:, None], initial_state=[h_tm1])                     # (batch, units)
            d_x, (d_h_tm1,), d_weights = layer.cell.backward(x_t, [h_tm1], d_h, [np.zeros_like(h)])
            numeric = central_differences(
                lambda: float(np.sum(d_h * layer(arrays[0][:, None], initial_state=[arrays[1]]))),
                arrays + layer.weights)
        expected = [d_x, d_h_tm1, *d_weights]
        what = (f"rnn_step_backward(d_h {d_h.shape}, x_t {x_t.shape}, h_tm1 {h_tm1.shape}, "
                f"h {h.shape}, kernel {weights[0].shape}, recurrent_kernel {weights[1].shape})")
        got = call(rnn_step_backward, d_h, x_t, h_tm1, h, *weights[:2], name="rnn_step_backward",
                   forbid=FORBID, expected="a tuple (dx_t, dh_tm1, dkernel, drecurrent_kernel, dbias)")
        grads = lambda **wrong: simple_step_grads(d_h, x_t, h_tm1, h, *weights[:2], **wrong)  # noqa: E731
        compare_gradients(got, expected, numeric, STEP_NAMES, what, step_variants(grads), batch,
                          hint="d_z = d_h * (1 - h**2); dx_t = d_z @ kernel.T; dh_tm1 = d_z @ "
                               "recurrent_kernel.T; dkernel = x_t.T @ d_z; drecurrent_kernel = "
                               "h_tm1.T @ d_z; dbias = d_z.sum(axis=0).")


# --- Part B: through a whole sequence ------------------------------------------------------------

def simple_bptt(d_seq, x, h0, kernel, recurrent_kernel, bias, carry=True, weights="sum",
                pair="right", skip_first=False, **step_kw):
    """Backpropagation through time written out, right or wrong in one way each.

    ``d_seq`` (batch, timesteps, units): what the loss sends to each step's output.
    ``weights``: "sum" | "first" | "last" | "mean" (which steps' weight gradients count);
    ``pair``: which states a step's backward gets ("right": h_{t-1}, h_t; "wrap": hs without
    h0, so step 0 gets h_T; "h_t twice": h_t as h_tm1 too; "h_tm1 twice": h_{t-1} as h too).
    -> [dx, dh0, dkernel, drecurrent_kernel, dbias]
    """
    timesteps = x.shape[1]
    hs = [h0]
    for t in range(timesteps):
        hs.append(np.tanh(x[:, t] @ kernel + hs[-1] @ recurrent_kernel + bias))
    d_x, d_next = np.zeros_like(x), np.zeros_like(h0)
    total, kept = None, None
    for t in reversed(range(1 if skip_first else 0, timesteps)):
        h_tm1, h = {"right": (hs[t], hs[t + 1]), "wrap": (hs[1:][t - 1], hs[t + 1]),
                    "h_t twice": (hs[t + 1], hs[t + 1]), "h_tm1 twice": (hs[t], hs[t])}[pair]
        d_h = d_seq[:, t] + (d_next if carry else 0)
        d_x[:, t], d_next, *step = simple_step_grads(d_h, x[:, t], h_tm1, h, kernel,
                                                     recurrent_kernel, **step_kw)
        total = step if total is None else [a + b for a, b in zip(total, step)]
        if weights == "first" and t == 0 or weights == "last" and t == timesteps - 1:
            kept = step
    if weights == "mean":
        kept = [a / timesteps for a in total]
    return [d_x, d_next, *(total if weights == "sum" else kept)]


def sequence_variants(bptt, d_out, timesteps, return_sequences):
    """``bptt(d_seq, **wrong) -> gradients``: the wrong variants of a whole backward pass."""
    if return_sequences:
        d_seq = d_out
        variants = [("gradient from the next step dropped", bptt(d_seq, carry=False))]
    else:
        d_seq = np.zeros(d_out.shape[:1] + (timesteps,) + d_out.shape[1:])
        d_seq[:, -1] = d_out
        first, every = np.zeros_like(d_seq), np.repeat(d_out[:, None], timesteps, axis=1)
        first[:, 0] = d_out
        variants = [("loss reaches only the last step", bptt(d_seq, carry=False)),
                    ("loss placed at the first step", bptt(first)),
                    ("loss placed at every step", bptt(every))]
    zero = bptt(d_seq)
    variants += [("loss reaches no step", [np.zeros_like(g) for g in zero]),
                 *[("weight gradients not summed over timesteps", bptt(d_seq, weights=w))
                   for w in ("first", "last", "mean")],
                 *[("off by one in time", bptt(d_seq, pair=p)) for p in ("wrap", "h_t twice",
                                                                          "h_tm1 twice")],
                 ("off by one in time", bptt(d_seq, skip_first=True)),
                 ("gradient of h0 missing", zero[:1] + [np.zeros_like(zero[1])] + zero[2:]),
                 ("tanh' taken from the pre-activation", bptt(d_seq, tanh_prime="tanh(h)")),
                 ("tanh' taken from the pre-activation", bptt(d_seq, tanh_prime="z")),
                 ("tanh' missing", bptt(d_seq, tanh_prime="none")),
                 ("transposed weight gradient", bptt(d_seq, transposed=True)),
                 ("weight not transposed going back", bptt(d_seq, back_not_transposed=True))]
    return variants


SEQUENCE_NAMES = ("dx", "dh0", "dkernel", "drecurrent_kernel", "dbias")


@student_facing
def check_rnn_backward(rnn_backward, hidden=False, return_sequences=True):
    """``rnn_backward(d_out, x, h0, kernel, recurrent_kernel, bias, return_sequences)`` ->
    (dx, dh0, dkernel, drecurrent_kernel, dbias), as rl.layers.SimpleRNN's backward."""
    seed = 7200 + 50 * return_sequences
    for k, (batch, timesteps, features, units) in enumerate(
            _sizes(hidden, (2, 4, 3, 4), seed + 1, timesteps=True)):
        rng = np.random.default_rng(seed + 10 + k + 10 * hidden)
        weights = _weights(rng, features, units)
        x, h0 = rng.normal(size=(batch, timesteps, features)), rng.normal(size=(batch, units))
        d_out = rng.normal(size=(batch, timesteps, units) if return_sequences else (batch, units))
        layer = reference_layer(rl.layers.SimpleRNN, features, weights, units=units,
                                return_sequences=return_sequences)
        arrays = [x.copy(), h0.copy()]
        with float64():
            _, cache = layer.forward(x, initial_state=[h0])
            g = layer.backward(cache, d_out)
            numeric = central_differences(
                lambda: float(np.sum(d_out * layer(arrays[0], initial_state=[arrays[1]]))),
                arrays + layer.weights)
        expected = [g.inputs, g.initial_state[0], *g.weights]
        what = (f"rnn_backward(d_out {d_out.shape}, x {x.shape}, h0 {h0.shape}, ..., "
                f"return_sequences={return_sequences})")
        got = call(rnn_backward, d_out, x, h0, *weights, return_sequences=return_sequences,
                   name="rnn_backward", forbid=FORBID,
                   expected="a tuple (dx, dh0, dkernel, drecurrent_kernel, dbias)")
        bptt = lambda d_seq, **wrong: simple_bptt(d_seq, x, h0, *weights, **wrong)  # noqa: E731
        compare_gradients(got, expected, numeric, SEQUENCE_NAMES, what,
                          sequence_variants(bptt, d_out, timesteps, return_sequences), batch,
                          hint="run the forward keeping hs = [h0, h1, ..., h_T]; then for t from "
                               "T-1 down to 0: d_h = (d_out at step t) + dh_next, call "
                               "rnn_step_backward(d_h, x[:, t], hs[t], hs[t + 1], ...), store "
                               "dx[:, t], add the weight gradients, dh_next = dh_tm1; dh0 is "
                               "the last dh_next.")


# --- Part C: one LSTM step ----------------------------------------------------------------------

def _sigmoid(a):
    return 0.5 * (1 + np.tanh(0.5 * a))


def lstm_step_grads(d_h, d_c, x_t, h_tm1, c_tm1, kernel, recurrent_kernel, bias, through_f=True,
                    from_h=True, from_next=True, tanh_c="tanh(c)", sigmoid_prime=True,
                    transposed=False):
    """The gradients of one LSTM step (gates i|f|c|o) written out, right or wrong in one way
    each: (dx_t, dh_tm1, dc_tm1, dkernel, drecurrent_kernel, dbias)."""
    u = h_tm1.shape[1]
    z = x_t @ kernel + h_tm1 @ recurrent_kernel + bias                 # (batch, 4*units)
    i, f, o = _sigmoid(z[:, :u]), _sigmoid(z[:, u:2 * u]), _sigmoid(z[:, 3 * u:])
    c_hat = np.tanh(z[:, 2 * u:3 * u])
    c = f * c_tm1 + i * c_hat
    tanh_c_value = np.tanh(c)
    derivative = {"tanh(c)": 1 - tanh_c_value ** 2, "c": 1 - c ** 2}[tanh_c]
    d_c_total = (d_c if from_next else 0) + (d_h * o * derivative if from_h else 0)
    s = (lambda g: g * (1 - g)) if sigmoid_prime else (lambda g: 1.0)  # noqa: E731
    d_z = np.concatenate([d_c_total * c_hat * s(i), d_c_total * c_tm1 * s(f),
                          d_c_total * i * (1 - c_hat ** 2), d_h * tanh_c_value * s(o)], axis=1)
    d_c_tm1 = d_c_total * f if through_f else d_c_total
    weights = ((d_z.T @ x_t, d_z.T @ h_tm1) if transposed else (x_t.T @ d_z, h_tm1.T @ d_z))
    return [d_z @ kernel.T, d_z @ recurrent_kernel.T, d_c_tm1, *weights, d_z.sum(axis=0)]


def _ifog(w, u):
    """The gate blocks i|f|c|o of ``w``'s last axis read as i|f|o|g (swaps the last two)."""
    return np.concatenate([w[..., :2 * u], w[..., 3 * u:], w[..., 2 * u:3 * u]], axis=-1)


def lstm_variants(grads, weights, units):
    kernel, recurrent_kernel, bias = weights
    swapped = grads(kernel=_ifog(kernel, units), recurrent_kernel=_ifog(recurrent_kernel, units),
                    bias=_ifog(bias, units))
    swapped = swapped[:3] + [_ifog(w, units) for w in swapped[3:]]
    return [("dc not carried back through f", grads(through_f=False)),
            ("h's gradient not passed into c", grads(from_h=False)),
            ("gradient from the next step dropped (c)", grads(from_next=False)),
            ("tanh'(c) taken as 1 - c**2", grads(tanh_c="c")),
            ("sigmoid' missing", grads(sigmoid_prime=False)),
            ("gates in the wrong order (i|f|o|g)", swapped),
            ("transposed weight gradient", grads(transposed=True))]


LSTM_NAMES = ("dx_t", "dh_tm1", "dc_tm1", "dkernel", "drecurrent_kernel", "dbias")


@student_facing
def check_lstm_step_backward(lstm_step_backward, hidden=False):
    """``lstm_step_backward(d_h, d_c, x_t, h_tm1, c_tm1, kernel, recurrent_kernel, bias)`` ->
    (dx_t, dh_tm1, dc_tm1, dkernel, drecurrent_kernel, dbias), as LSTMCell's backward."""
    for k, (batch, _, features, units) in enumerate(_sizes(hidden, (3, 1, 2, 4), 7301)):
        rng = np.random.default_rng(7310 + k + 10 * hidden)
        weights = _weights(rng, features, units, gates=4)
        x_t = rng.normal(size=(batch, features))
        h_tm1, c_tm1, d_h, d_c = (rng.normal(size=(batch, units)) for _ in range(4))
        layer = reference_layer(rl.layers.LSTM, features, weights, units=units, return_state=True)
        arrays = [x_t.copy(), h_tm1.copy(), c_tm1.copy()]

        def loss():
            _, h, c = layer(arrays[0][:, None], initial_state=[arrays[1], arrays[2]])
            return float(np.sum(d_h * h) + np.sum(d_c * c))

        with float64():
            d_x, d_states, d_weights = layer.cell.backward(
                x_t, [h_tm1, c_tm1], d_h, [np.zeros_like(h_tm1), d_c])
            numeric = central_differences(loss, arrays + layer.weights)
        expected = [d_x, *d_states, *d_weights]
        what = (f"lstm_step_backward(d_h {d_h.shape}, d_c {d_c.shape}, x_t {x_t.shape}, h_tm1, "
                f"c_tm1, kernel {weights[0].shape}, recurrent_kernel {weights[1].shape}, "
                f"bias {weights[2].shape})")
        got = call(lstm_step_backward, d_h, d_c, x_t, h_tm1, c_tm1, *weights,
                   name="lstm_step_backward", forbid=FORBID,
                   expected="a tuple (dx_t, dh_tm1, dc_tm1, dkernel, drecurrent_kernel, dbias)")

        def grads(**wrong):
            w = dict(zip(("kernel", "recurrent_kernel", "bias"), weights), **{
                key: wrong.pop(key) for key in ("kernel", "recurrent_kernel", "bias") if key in wrong})
            return lstm_step_grads(d_h, d_c, x_t, h_tm1, c_tm1, **w, **wrong)

        compare_gradients(got, expected, numeric, LSTM_NAMES, what,
                          lstm_variants(grads, weights, units), batch,
                          hint="dc = d_c + d_h * o * (1 - tanh(c)**2); then the four blocks of "
                               "d_z (i|f|c|o): dc * c~ * i(1-i), dc * c_tm1 * f(1-f), "
                               "dc * i * (1 - c~**2), d_h * tanh(c) * o(1-o); dc_tm1 = dc * f; "
                               "the rest as for a SimpleRNN step.")

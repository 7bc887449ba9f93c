"""Checks for ps06_directions: a bidirectional SimpleRNN with every merge mode, and a
masked forward pass where masked steps keep the previous state.

The reference is rnnlib (``Bidirectional``, and ``SimpleRNN`` called with ``mask=``)
in float64; the wrong variants are built from rnnlib's SimpleRNN run one way or the
other, or from a few lines of NumPy.
"""
import numpy as np

import rnnlib as rl

from .common import call, reference_layer
from .feedback import student_facing
from .ps04_stacking import compare, random_weights, swap_time_batch

MERGES = {"concat": lambda a, b: np.concatenate([a, b], axis=-1), "sum": np.add,
          "mul": np.multiply, "ave": lambda a, b: (a + b) / 2, None: lambda a, b: [a, b]}


def _case(seed, batch, timesteps, features, units):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (batch, timesteps, features))
    return x, random_weights(rng, features, units), random_weights(rng, features, units)


# --- Part A: bidirectional_forward ---------------------------------------------------

def reference_bidirectional(x, fwd_weights, bwd_weights, merge_mode, return_sequences):
    def make(units):
        return rl.layers.Bidirectional(
            rl.layers.SimpleRNN(units, return_sequences=return_sequences), merge_mode=merge_mode)
    return reference_layer(make, x.shape[-1], list(fwd_weights) + list(bwd_weights),
                           units=fwd_weights[1].shape[0])(x)


def _sequence(x, weights):
    """A forward SimpleRNN's whole output sequence (batch, timesteps, units)."""
    return reference_layer(rl.layers.SimpleRNN, x.shape[-1], weights,
                           units=weights[1].shape[0], return_sequences=True)(x)


def bidirectional_variants(x, fwd, bwd, merge_mode, return_sequences):
    merge = MERGES[merge_mode]
    f_seq = _sequence(x, fwd)                                   # time order
    b_read = _sequence(x[:, ::-1], bwd)                         # reading order: last step first
    b_unreversed = _sequence(x, bwd)                            # read in time order (wrong)
    if return_sequences:
        variants = [("sequence not reversed for go_backwards", merge(f_seq, b_unreversed)),
                    ("sequence not reversed for go_backwards", merge(f_seq, b_unreversed[:, ::-1])),
                    ("backward sequence not re-reversed before merging", merge(f_seq, b_read))]
        backward = b_read[:, ::-1]
        forward = f_seq
    else:
        variants = [("sequence not reversed for go_backwards",
                     merge(f_seq[:, -1], b_unreversed[:, -1])),
                    ("sequence reversed twice", merge(f_seq[:, -1], b_read[:, 0])),
                    ("first instead of last output", merge(f_seq[:, 0], b_read[:, 0]))]
        backward, forward = b_read[:, -1], f_seq[:, -1]
    if merge_mode == "concat":
        variants.append(("forward and backward swapped", merge(backward, forward)))
    variants.append(("weights of the two directions swapped",
                     reference_bidirectional(x, bwd, fwd, merge_mode, return_sequences)))
    wrong = reference_bidirectional(swap_time_batch(x), fwd, bwd, merge_mode, return_sequences)
    variants.append(("time-major layout", [swap_time_batch(w) for w in wrong]
                     if merge_mode is None else swap_time_batch(wrong)))
    return variants


BIDIRECTIONAL_HINTS = {
    "backward sequence not re-reversed before merging":
        "the backward direction's sequence comes out in reading order (its first entry has read "
        "only x[:, -1]). Flip it back with [:, ::-1] before merging, so that step t of both "
        "directions belongs to timestep t.",
    "sequence reversed twice":
        "without return_sequences the backward direction's result is its LAST output, the one "
        "after reading x[:, 0]. You flipped its sequence back into time order and then took the "
        "last entry, which is its first step.",
    "forward and backward swapped": "concat puts the forward direction first: "
                                    "[forward units | backward units].",
    "weights of the two directions swapped": "fwd_weights belong to the direction that reads "
                                             "forwards, bwd_weights to the one that reads backwards.",
}


def _check_bidirectional(fn, cases):
    for seed, batch, timesteps, features, units, merge_mode, rs in cases:
        x, fwd, bwd = _case(seed, batch, timesteps, features, units)
        expected = reference_bidirectional(x, fwd, bwd, merge_mode, rs)
        what = (f"bidirectional_forward(x of shape {x.shape}, ..., merge_mode={merge_mode!r}, "
                f"return_sequences={rs})")
        shape = ([e.shape for e in expected] if merge_mode is None else expected.shape)
        got = call(fn, x, fwd, bwd, merge_mode, rs, name="bidirectional_forward",
                   expected=f"{'a pair (tuple or list) of arrays of shapes' if merge_mode is None else 'an array of shape'} {shape}")
        compare(got, expected, what, bidirectional_variants(x, fwd, bwd, merge_mode, rs),
                BIDIRECTIONAL_HINTS,
                hint="the forward direction reads x[:, 0] ... x[:, -1]; the backward one reads "
                     "x[:, -1] ... x[:, 0] with its own weights. With return_sequences its "
                     "sequence is flipped back into time order before merging; without, the "
                     "last outputs of both are merged.")


@student_facing
def check_bidirectional_forward(bidirectional_forward, hidden=False):
    """bidirectional_forward(x, fwd_weights, bwd_weights, "concat", return_sequences)."""
    cases = ([(90, 2, 5, 3, 4, "concat", True), (91, 3, 4, 2, 3, "concat", False)] if not hidden
             else [(92, 4, 4, 4, 4, "concat", True), (93, 3, 3, 2, 3, "concat", False),
                   (94, 1, 7, 1, 2, "concat", False)])
    _check_bidirectional(bidirectional_forward, cases)


@student_facing
def check_bidirectional_merge_modes(bidirectional_forward, hidden=False):
    """bidirectional_forward with merge_mode "sum", "mul", "ave" and None."""
    rs = not hidden
    cases = [(100 + k + 10 * hidden, 3, 4, 2, 3, mode, rs)
             for k, mode in enumerate(["sum", "mul", "ave", None])]
    if hidden:
        cases.append((120, 3, 3, 3, 3, "ave", True))
    _check_bidirectional(bidirectional_forward, cases)


# --- Part B: masked_forward --------------------------------------------------------------

def reference_masked(x, mask, h0, weights, return_sequences):
    layer = reference_layer(rl.layers.SimpleRNN, x.shape[-1], weights, units=h0.shape[1],
                            return_sequences=return_sequences)
    return layer(x, initial_state=[h0], mask=mask)


def masked_loop(x, mask, h0, weights, return_sequences, on_masked):
    """The wrong ways to treat a masked step, written out in NumPy."""
    kernel, recurrent_kernel, bias = weights
    h, out, outputs = h0, np.zeros_like(h0), []
    for t in range(x.shape[1]):
        h_new = np.tanh(x[:, t] @ kernel + h @ recurrent_kernel + bias)   # (batch, units)
        m = mask[:, t, None]                                                # (batch, 1)
        if on_masked == "reset":
            h = out = np.where(m, h_new, 0.0)
        elif on_masked == "zeros out":
            h, out = np.where(m, h_new, h), np.where(m, h_new, 0.0)
        elif on_masked == "state out":
            h = out = np.where(m, h_new, h)
        else:                                                               # mask ignored
            h = out = h_new
        outputs.append(out)
    return np.stack(outputs, axis=1) if return_sequences else out


MASK_HINTS = {
    "masked step resets the state": "a masked step changes nothing: keep the previous state "
                                    "(np.where(m, h_new, h_tm1)), do not set it to zero.",
    "masked step outputs zeros": "a single layer repeats its previous output at a masked step "
                                 "(zeros only before the first real step). Zeros at every masked "
                                 "step is what Bidirectional with return_sequences does.",
    "h0 repeated before the first real step": "the state stays h0 until a real step, but the "
                                              "output is zeros until the layer has read a step.",
    "mask ignored": "steps where mask is False are padding: do not let them change the state.",
}


def _mask_case(seed, batch, timesteps, features, units, pattern):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (batch, timesteps, features))
    h0 = rng.normal(0, 1, (batch, units))
    mask = np.ones((batch, timesteps), bool)
    for row, (start, stop) in enumerate(pattern):                 # False outside [start, stop)
        mask[row, :start] = mask[row, stop:] = False
    mask[0, timesteps // 2] = False                               # a gap in the middle
    return x, mask, h0, random_weights(rng, features, units)


@student_facing
def check_masked_forward(masked_forward, hidden=False, return_sequences=True):
    """masked_forward(x, mask, h0, kernel, recurrent_kernel, bias, return_sequences) equals
    SimpleRNN(...)(x, initial_state=[h0], mask=mask)."""
    cases = ([(130, 3, 6, 2, 4, [(0, 6), (0, 4), (2, 6)])] if not hidden else
             [(131, 4, 5, 3, 3, [(0, 5), (1, 3), (0, 0), (3, 5)]),
              (132, 2, 8, 1, 2, [(0, 8), (4, 8)])])
    for seed, batch, timesteps, features, units, pattern in cases:
        seed += 0 if return_sequences else 20
        x, mask, h0, weights = _mask_case(seed, batch, timesteps, features, units, pattern)
        expected = reference_masked(x, mask, h0, weights, return_sequences)
        what = (f"masked_forward(x of shape {x.shape}, mask, h0, ..., "
                f"return_sequences={return_sequences})")
        got = call(masked_forward, x, mask, h0, *weights, return_sequences,
                   name="masked_forward", expected=f"an array of shape {expected.shape}")
        variants = [(name, masked_loop(x, mask, h0, weights, return_sequences, kind))
                    for name, kind in [("masked step resets the state", "reset"),
                                       ("masked step outputs zeros", "zeros out"),
                                       ("h0 repeated before the first real step", "state out"),
                                       ("mask ignored", "ignored")]]
        variants.append(("zero state instead of h0",
                         reference_masked(x, mask, 0 * h0, weights, return_sequences)))
        compare(got, expected, what, variants, MASK_HINTS,
                hint="at a step where mask is True, compute h as usual; where it is False, keep "
                     "the state and repeat the previous output (zeros before the first real step).")

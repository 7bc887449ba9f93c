"""Bidirectional: one copy of an RNN reads forwards, a second copy reads backwards.

As Keras 3: with ``return_sequences`` the backward copy's sequence (which comes out in
reading order, last timestep first) is flipped back before the two are merged, so
step t of the result has seen the whole sequence.  Without it, the two last
outputs are merged as they are.
"""
import copy

import numpy as np

from ..engine import Grads, Layer, flatten
from .rnn import RNN

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    """Wraps an RNN layer; ``merge_mode`` is "concat" (default), "sum", "mul", "ave" or None."""

    def __init__(self, layer, merge_mode="concat", name=None, **kwargs):
        if not isinstance(layer, RNN):
            raise TypeError(f"Bidirectional wraps an RNN layer (SimpleRNN, GRU, LSTM, RNN), received {layer!r}.")
        if layer.go_backwards:
            raise ValueError(
                f"Bidirectional received layer '{layer.name}' with go_backwards=True. Pass the "
                "forward layer (go_backwards=False): Bidirectional makes the backward copy itself."
            )
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Unknown merge_mode {merge_mode!r}; use one of {MERGE_MODES}.")
        super().__init__(name, **kwargs)
        self.merge_mode = merge_mode
        self.forward_layer = _copy(layer, "forward", go_backwards=False)
        self.backward_layer = _copy(layer, "backward", go_backwards=True)
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = layer.stateful
        for part in (self.forward_layer, self.backward_layer):
            part.zero_output_for_mask = self.return_sequences   # Keras: padded steps output 0

    @property
    def weight_names(self):
        return self.forward_layer.weight_names + self.backward_layer.weight_names

    @property
    def weights(self):
        return self.forward_layer.weights + self.backward_layer.weights

    def set_weights(self, weights):
        n = len(self.forward_layer.weights)
        if not isinstance(weights, (list, tuple)) or len(weights) != 2 * n:
            got = len(weights) if isinstance(weights, (list, tuple)) else type(weights).__name__
            raise ValueError(f"Layer '{self.name}' expects {2 * n} weight arrays "
                             f"(forward then backward), received {got}.")
        self.forward_layer.set_weights(weights[:n])
        self.backward_layer.set_weights(weights[n:])

    supports_masking = call_takes_mask = True

    def compute_mask(self, inputs, mask):
        """As Keras 3: with return_sequences the mask goes on (twice with merge_mode=None)."""
        mask = next((m for m in flatten(mask) if m is not None), None) if self.return_sequences else None
        outputs = (mask, mask) if self.merge_mode is None else (mask,)
        states = (None,) * (2 * len(self.forward_layer.state_sizes)) if self.return_state else ()
        return outputs + states if len(outputs + states) > 1 else mask

    def _split(self, initial_state):
        if initial_state is None:
            return None, None
        n = len(self.forward_layer.state_sizes)
        if not isinstance(initial_state, (list, tuple)) or len(initial_state) != 2 * n:
            got = len(initial_state) if isinstance(initial_state, (list, tuple)) else 1
            raise ValueError(
                f"Layer '{self.name}' takes {2 * n} initial states: {n} for the forward layer, "
                f"then {n} for the backward one; received {got}."
            )
        return list(initial_state[:n]), list(initial_state[n:])

    def check(self, shape, initial_state=None, mask=None):
        fwd_state, bwd_state = self._split(initial_state)
        self.forward_layer.check(shape, initial_state=fwd_state, mask=mask)
        self.backward_layer.check(shape, initial_state=bwd_state, mask=mask)

    def build(self, shape):
        for part in (self.forward_layer, self.backward_layer):
            part.build(shape)
            part.built = True

    def compute_output_shape(self, shape, initial_state=None, mask=None):
        fwd = self.forward_layer.compute_output_shape(shape)
        return self._merge(fwd, fwd, flip=False, shapes=True)

    def call(self, x, initial_state=None, mask=None):
        return self.call_for_backward(x, initial_state, mask)[0]

    def call_for_backward(self, x, initial_state=None, mask=None):
        fwd_state, bwd_state = self._split(initial_state)
        y, fwd_cache = self.forward_layer.forward(x, initial_state=fwd_state, mask=mask)
        y_rev, bwd_cache = self.backward_layer.forward(x, initial_state=bwd_state, mask=mask)
        return self._merge(y, y_rev, flip=self.return_sequences), (y, y_rev, fwd_cache, bwd_cache)

    def backward(self, cache, d_out):
        """Undo the merge, then run each direction's backward and add their dL/dx."""
        y, y_rev, fwd_cache, bwd_cache = cache
        d_states = []
        if self.merge_mode is None:
            d_y, d_y_rev, *d_states = d_out
        else:
            if self.return_state:
                d_out, *d_states = d_out
            y_out, y_rev_out = (y[0], y_rev[0]) if self.return_state else (y, y_rev)
            if self.return_sequences:
                y_rev_out = y_rev_out[:, ::-1]             # as it was merged, in time order
            d_y, d_y_rev = self._unmerge(d_out, y_out, y_rev_out)
        if self.return_sequences:
            d_y_rev = d_y_rev[:, ::-1]                     # back into the reading order
        n = len(self.forward_layer.state_sizes)
        if self.return_state:
            d_y, d_y_rev = (d_y, *d_states[:n]), (d_y_rev, *d_states[n:])
        fwd = self.forward_layer.backward(fwd_cache, d_y)
        bwd = self.backward_layer.backward(bwd_cache, d_y_rev)
        d_init = None if fwd.initial_state is None else fwd.initial_state + bwd.initial_state
        return Grads(fwd.inputs + bwd.inputs, fwd.weights + bwd.weights, d_init,
                     {**fwd.h, **bwd.h})

    def _unmerge(self, d, y, y_rev):
        """dL/d(merged) -> (dL/dy, dL/dy_rev) for each merge mode."""
        if self.merge_mode == "concat":
            return d[..., :y.shape[-1]], d[..., y.shape[-1]:]
        if self.merge_mode == "sum":
            return d, d
        if self.merge_mode == "ave":
            return d / 2, d / 2
        return d * y_rev, d * y                            # mul

    def _merge(self, y, y_rev, flip, shapes=False):
        """Merge forward and backward results: arrays in ``call``, shapes in inference."""
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if flip:
            y_rev = y_rev[:, ::-1]                 # back into time order
        if self.merge_mode is None:
            return (y, y_rev, *states)             # tuples, as Keras 3
        if shapes:
            out = y[:-1] + (2 * y[-1],) if self.merge_mode == "concat" else y
        elif self.merge_mode == "concat":
            out = np.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            out = y + y_rev
        elif self.merge_mode == "ave":
            out = (y + y_rev) / 2
        else:
            out = y * y_rev
        return (out, *states) if self.return_state else out

    def reset_states(self):
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    reset_state = reset_states

    def __repr__(self):
        return f"<Bidirectional name={self.name!r}, merge_mode={self.merge_mode!r}, layer={self.forward_layer!r}>"


def _copy(layer, direction, go_backwards):
    """A copy of ``layer``'s configuration named ``forward_<name>`` or ``backward_<name>``, with
    fresh (unbuilt) weights, as Keras 3 (the layer you pass is left untouched)."""
    part = copy.copy(layer)
    part.cell = copy.deepcopy(layer.cell)
    if hasattr(part.cell, "build"):
        part.cell.built = False
    if go_backwards and isinstance(getattr(part.cell, "seed", None), int):
        part.cell.seed += 1                        # reproducible, but not the forward weights
    part.name = f"{direction}_{layer.name}"
    part.go_backwards = go_backwards
    part.built = False
    part.states = None
    part._nodes = []
    return part

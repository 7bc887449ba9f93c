"""Bidirectional: one copy of an RNN reads forwards, a second copy reads backwards.

As Keras 3: with ``return_sequences`` the backward copy's sequence (which comes out in
reading order, last timestep first) is flipped back before the two are merged, so
step t of the result has seen the whole sequence.  Without it, the two last
outputs are merged as they are.
"""
import copy

import numpy as np

from ..engine import Layer, fmt_shape
from .rnn import RNN

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    """Wraps an RNN layer; ``merge_mode`` is "concat" (default), "sum", "mul", "ave" or None."""

    def __init__(self, layer, merge_mode="concat", name=None):
        if not isinstance(layer, RNN):
            raise TypeError(f"Bidirectional wraps an RNN layer (SimpleRNN, GRU, LSTM, RNN), received {layer!r}.")
        if layer.go_backwards:
            raise ValueError(
                f"Bidirectional received layer '{layer.name}' with go_backwards=True. Pass the "
                "forward layer (go_backwards=False): Bidirectional makes the backward copy itself."
            )
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Unknown merge_mode {merge_mode!r}; use one of {MERGE_MODES}.")
        super().__init__(name)
        self.merge_mode = merge_mode
        self.forward_layer = layer
        self.backward_layer = _backward_copy(layer)
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
        fwd_state, bwd_state = self._split(initial_state)
        y = self.forward_layer(x, initial_state=fwd_state, mask=mask)
        y_rev = self.backward_layer(x, initial_state=bwd_state, mask=mask)
        return self._merge(y, y_rev, flip=self.return_sequences)

    def _merge(self, y, y_rev, flip, shapes=False):
        """Merge forward and backward results: arrays in ``call``, shapes in inference."""
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if flip:
            y_rev = y_rev[:, ::-1]                 # back into time order
        if self.merge_mode is None:
            return [y, y_rev, *states]
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
        return [out, *states] if self.return_state else out

    def reset_states(self):
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    reset_state = reset_states

    def __repr__(self):
        return f"<Bidirectional name={self.name!r}, merge_mode={self.merge_mode!r}, layer={self.forward_layer!r}>"


def _backward_copy(layer):
    """The same configuration reading backwards, with fresh (unbuilt) weights, as Keras."""
    back = copy.copy(layer)
    back.cell = copy.deepcopy(layer.cell)
    if hasattr(back.cell, "build"):
        back.cell.built = False
    if isinstance(getattr(back.cell, "seed", None), int):
        back.cell.seed += 1                        # reproducible, but not the forward weights
    back.name = f"backward_{layer.name}"
    back.go_backwards = True
    back.built = False
    back.states = None
    back._nodes = []
    return back

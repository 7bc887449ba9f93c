"""``RNN``: the one time loop, and ``Cell``, what the built-in cells share.

A *cell* does one timestep: ``call(x_t, states) -> (output_t, new_states)``, with
``x_t`` of shape ``(batch, features)`` and each state ``(batch, size)`` for each
``size`` in ``state_size``.  ``RNN`` runs a cell over the time axis of a
``(batch, timesteps, features)`` input and owns everything about time:
``return_sequences``, ``return_state``, ``go_backwards``, ``stateful`` and masks.
Any object with ``state_size`` and ``call`` can drive it - your own cell too.

Learning: ``RNN.backward`` is backpropagation through time, the same loop run from the
last timestep to the first.  Your own cell joins it by supplying, beside ``call``,

    backward(x_t, states, d_output, d_new_states) -> (d_x_t, d_states, d_weights)

the gradients of the loss with respect to call's inputs (x_t and states) and to the
cell's ``weights`` (in that order), given those with respect to what call returned.
It may recompute the forward from x_t and states; it must not keep anything between
calls.  rnnlib's cells split it as their forward is split: ``project_backward`` and
``step_backward``.

For speed, ``RNN`` first tries ``rnnlib.fast`` (the default maths and no mask: the whole
sequence in one fused loop) and falls back to the step loop below; tests check that both
agree.  Keras's GRU and LSTM have the same shape of code: they try the backend's fused
kernel first (cuDNN on a GPU) and fall back to their step loop - which is what Keras on
the torch backend runs on a CPU.
"""
import numpy as np

from .. import backend, fast, initializers
from ..engine import Grads, Layer, as_float_array, fmt_shape, set_weights_checked


def check_units(units, owner):
    if isinstance(units, bool) or not isinstance(units, (int, np.integer)):
        raise TypeError(f"{owner}: units must be a whole number, received {units!r}.")
    if units <= 0:
        raise ValueError(
            f"{owner}: units must be a positive whole number, received units={units}. "
            "units is the size of the hidden state h (and of each output vector); "
            "it has nothing to do with the number of timesteps."
        )
    return int(units)


def _leaves(x):
    return [leaf for item in x for leaf in _leaves(item)] if isinstance(x, (list, tuple)) else [x]


def _add(a, b):
    """Add gradients kept by name (a dict) or in order (a list)."""
    if isinstance(a, dict):
        return {k: a[k] + b[k] for k in a}
    return [p + q for p, q in zip(a, b)]


def _flag(value, name, owner):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, received {value!r}.")
    return bool(value)


class Cell:
    """What SimpleRNNCell, GRUCell and LSTMCell share.

    A subclass sets ``gates`` (kernel blocks per unit) and writes ``step``, the
    recurrent part of one timestep.  ``project`` (the input part) is split out so
    that ``RNN`` can do it for all timesteps in one matrix product.  Both are the
    plain equations; the speed-ups live in ``rnnlib.fast``.
    """

    gates = 1

    def __init__(self, units, activation="tanh", use_bias=True, seed=None,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros"):
        self.units = check_units(units, type(self).__name__)
        self.activation = backend.get_activation(activation)
        self.use_bias = _flag(use_bias, "use_bias", type(self).__name__)
        self.seed = seed    # rnnlib only: seeds the weights (Keras's seed= seeds only dropout)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.built = False
        self.weight_names = ("kernel", "recurrent_kernel") + (("bias",) if self.use_bias else ())

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def build(self, input_shape):
        """Make the weights for ``input_shape[-1]`` features, initialised as Keras does."""
        features, width = input_shape[-1], self.gates * self.units
        rng, dtype = backend.make_rng(self.seed), backend.floatx()
        self.kernel = self.kernel_initializer((features, width), dtype, rng)
        self.recurrent_kernel = self.recurrent_initializer((self.units, width), dtype, rng)
        if self.use_bias:
            self.bias = self.initial_bias(dtype, rng)
        self.built = True

    def initial_bias(self, dtype, rng):
        return self.bias_initializer((self.gates * self.units,), dtype, rng)

    @property
    def weights(self):
        return [getattr(self, n) for n in self.weight_names] if self.built else []

    @property
    def input_bias(self):
        return self.bias

    def project(self, x):
        """The input part of a step: ``x @ kernel + bias``, for one step or all at once.

        x: (batch, features) or (timesteps, batch, features) -> (..., gates * units)
        """
        z = x.reshape(-1, x.shape[-1]) @ self.kernel   # one matrix product for all rows
        if self.use_bias:
            z += self.input_bias
        return z.reshape(x.shape[:-1] + (z.shape[-1],))  # (..., gates * units)

    def call(self, x_t, states):
        """One timestep: x_t (batch, features), states [h_tm1, ...] -> (h, new states)."""
        return self.step(self.project(x_t), list(states))

    # --- the backward passes, beside their forwards -----------------------------------
    def project_backward(self, x, d_xp):
        """The backward of ``project``.  x (..., features), d_xp = dL/d(x @ kernel + bias)
        (..., gates*units) -> (dL/dx (..., features), {"kernel": ..., "input_bias": ...})."""
        rows_x = x.reshape(-1, x.shape[-1])            # every timestep is a row
        rows_d = d_xp.reshape(-1, d_xp.shape[-1])
        d = {"kernel": rows_x.T @ rows_d}              # (features, gates*units)
        if self.use_bias:
            d["input_bias"] = rows_d.sum(axis=0)       # (gates*units,)
        return d_xp @ self.kernel.T, d

    def gather(self, d):
        """Gradients by name ({"kernel": ...}) -> a list in ``weights`` order."""
        return [d["kernel"], d["recurrent_kernel"]] + ([d["input_bias"]] if self.use_bias else [])

    def backward(self, x_t, states, d_output, d_new_states):
        """The backward of ``call``, as any cell may supply it to join backpropagation:
        x_t (batch, features) and states as ``call`` got them, d_output and d_new_states the
        gradients of the loss with respect to what it returned
        -> (dL/dx_t (batch, features), dL/dstates [(batch, size)...], dL/dweights in
        ``weights`` order)."""
        d_xp, d_states, d_rec = self.step_backward(self.project(x_t), list(states), d_output,
                                                   list(d_new_states))
        d_x, d_in = self.project_backward(x_t, d_xp)
        return d_x, d_states, self.gather({**d_rec, **d_in})

    def config(self):
        return dict(units=self.units, activation=self.activation,
                    use_bias=self.use_bias, seed=self.seed)

    def __repr__(self):
        extra = ", ".join(f"{k}={backend.activation_name(v) if callable(v) else v!r}"
                          for k, v in self.config().items() if k != "units")
        return f"{type(self).__name__}(units={self.units}, {extra})"


class RNN(Layer):
    """Runs a cell over time.

    Input ``(batch, timesteps, features)``.  Output ``(batch, units)``, the last
    step's output, or ``(batch, timesteps, units)`` with ``return_sequences=True``;
    with ``return_state=True`` a tuple ``(output, *final_states)``, as Keras 3.

    Call as ``layer(x, initial_state=None, mask=None)``: ``initial_state`` is a list
    of ``(batch, size)`` arrays (``[h0]``, or ``[h0, c0]`` for LSTM); ``mask`` is a
    boolean ``(batch, timesteps)`` array, False where a step is padding.
    """

    def __init__(self, cell, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, zero_output_for_mask=False, name=None, **kwargs):
        if not hasattr(cell, "state_size") or not callable(getattr(cell, "call", None)):
            raise TypeError(
                f"RNN needs a cell: an object with a `state_size` attribute and a method "
                f"`call(x_t, states) -> (output_t, new_states)`. Received {cell!r}."
            )
        super().__init__(name, **kwargs)
        owner = f"Layer '{self.name}'"
        self.cell = cell
        self.return_sequences = _flag(return_sequences, "return_sequences", owner)
        self.return_state = _flag(return_state, "return_state", owner)
        self.go_backwards = _flag(go_backwards, "go_backwards", owner)
        self.stateful = _flag(stateful, "stateful", owner)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.states = None          # the carried state of a stateful layer
        self._input_source = None   # the layer that produced a symbolic input (for hints)
        self.state_sizes            # raises now, not mid-loop, if state_size is not sizes

    # --- sizes ---------------------------------------------------------------
    @property
    def state_sizes(self):
        """``state_size`` as a list: ``[units]``, or ``[units, units]`` for LSTM."""
        size = self.cell.state_size
        sizes = list(size) if isinstance(size, (list, tuple)) else [size]
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s <= 0:
                raise ValueError(f"The cell's state_size must be positive whole numbers, got {size!r}.")
        return [int(s) for s in sizes]

    @property
    def output_size(self):
        return int(getattr(self.cell, "output_size", self.state_sizes[0]))

    @property
    def units(self):
        return self.output_size

    # --- weights live in the cell ----------------------------------------------
    @property
    def weight_names(self):
        return tuple(getattr(self.cell, "weight_names", ()))

    @property
    def weights(self):
        return list(getattr(self.cell, "weights", [])) if self.built else []

    def set_weights(self, weights):
        set_weights_checked(self, self.cell, weights)

    # --- validation: shapes only, before any arithmetic -------------------------
    def __call__(self, inputs, **kwargs):
        node = getattr(inputs, "node", None)
        self._input_source = node.layer if node is not None else None
        return super().__call__(inputs, **kwargs)

    def check(self, shape, initial_state=None, mask=None):
        where = f'Input 0 of layer "{self.name}" is incompatible with the layer'
        if isinstance(shape, list):
            raise ValueError(
                f"{where}: it takes one tensor (batch, timesteps, features), received a list "
                f"of {len(shape)}: {fmt_shape(shape)}. Merge them first (rl.layers.concatenate) "
                "or pass states with initial_state=[...]."
            )
        if len(shape) != 3:
            raise ValueError(self._ndim_message(where, shape))
        batch, timesteps, features = shape
        if timesteps == 0:
            raise ValueError(
                f"{where}: received 0 timesteps, full shape {fmt_shape(shape)}. An RNN reads "
                "at least one timestep; check how the sequences were cut or padded."
            )
        if not features:
            raise ValueError(f"{where}: the features axis (the last) must have a known size of at "
                             f"least 1, received {fmt_shape(shape)}.")
        if self.built and features != self._features:
            raise ValueError(
                f"{where}: it was built for {self._features} features per timestep "
                f"(its kernel has {self._features} rows) but received {features}. Full shape "
                f"received: {fmt_shape(shape)}. Every call must have the same number of "
                "features (the last axis); for data with a different number, make a new layer."
            )
        if self.stateful:
            self._check_stateful_batch(batch, initial_state)
        if initial_state is not None:
            self._check_initial_state(batch, initial_state)
        if mask is not None:
            self._check_mask(shape, mask)

    def _ndim_message(self, where, shape):
        msg = (f"{where}: expected ndim=3, found ndim={len(shape)}. "
               f"Full shape received: {fmt_shape(shape)}.\n"
               "An RNN reads sequences: its input is (batch, timesteps, features), for every "
               "sample a list of timesteps, each a vector of features.")
        src = self._input_source
        if len(shape) == 2 and src is not None and getattr(src, "return_sequences", True) is False:
            return msg + (
                f"\nThe input comes from layer '{src.name}', which returns only its last output "
                f"{fmt_shape(shape)} because return_sequences=False. To stack RNNs, create "
                f"'{src.name}' with return_sequences=True, so that it passes on the whole "
                f"sequence ({shape[0]}, timesteps, {shape[1]})."
            )
        if len(shape) == 2:
            n = shape[1]
            return msg + (
                f"\nEach sample here is a flat vector of {n} values. Give it a time axis:\n"
                f"  - {n} timesteps of 1 feature: rl.Input(shape=({n}, 1)), or x.reshape(-1, {n}, 1)\n"
                f"  - 1 timestep of {n} features: rl.Input(shape=(1, {n})), or x.reshape(-1, 1, {n})"
            )
        if len(shape) == 1:
            return msg + ("\nThis looks like a single sample without its batch axis: "
                          "x.reshape(1, -1, 1) makes it one sample of many timesteps.")
        if len(shape) > 3:
            rest = shape[2:]
            size = int(np.prod(rest)) if None not in rest else None
            tail = f"({shape[1]}, {size})" if size else "(timesteps, features)"
            return msg + (f"\nThe axes after timesteps must be merged into one features axis, "
                          f"e.g. rl.layers.Reshape({tail}) first.")
        return msg

    def _check_initial_state(self, batch, initial_state):
        kind = type(self).__name__
        states = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
        sizes = self.state_sizes
        if len(states) != len(sizes):
            names = "[h, c]" if len(sizes) == 2 else "[h]" if len(sizes) == 1 else f"{len(sizes)} states"
            raise ValueError(
                f"Layer '{self.name}' ({kind}) takes {len(sizes)} initial state"
                f"{'s' if len(sizes) != 1 else ''} {names}, each (batch, units); "
                f"received {len(states)}."
                + (" An LSTM carries two states: the hidden state h and the cell state c, "
                   "so pass initial_state=[h0, c0]." if len(sizes) == 2 else "")
            )
        for k, (s, size) in enumerate(zip(states, sizes)):
            shape = tuple(getattr(s, "shape", np.shape(s)))
            expected = (batch, size)
            bad = (len(shape) != 2 or shape[1] != size
                   or (batch is not None and shape[0] is not None and shape[0] != batch))
            if bad:
                raise ValueError(
                    f"Layer '{self.name}': initial_state[{k}] should have shape "
                    f"{fmt_shape(expected)} (batch, units), received {fmt_shape(shape)}. "
                    "Use one row per sample in the batch and one column per unit."
                )

    def _check_mask(self, shape, mask):
        mshape = tuple(getattr(mask, "shape", np.shape(mask)))
        ok = (len(mshape) == 2 and all(a is None or b is None or a == b
                                       for a, b in zip(mshape, shape[:2])))
        if not ok:
            raise ValueError(
                f"Layer '{self.name}': mask should have shape {fmt_shape(shape[:2])} "
                f"(batch, timesteps), one True/False per step, received {fmt_shape(mshape)}."
            )
        if not hasattr(mask, "node"):
            kind = np.asarray(mask).dtype.kind
            if kind not in "biu":
                raise TypeError(f"Layer '{self.name}': mask must be boolean (True = read this step), "
                                f"received dtype {np.asarray(mask).dtype}.")

    def _check_stateful_batch(self, batch, initial_state):
        if batch is None:
            raise ValueError(
                f"Layer '{self.name}' is stateful, so its batch size must be fixed: "
                "use rl.Input(shape=..., batch_size=N). When using `stateful=True` in a RNN, "
                "the batch size must be static."
            )
        if self.states is not None and initial_state is None and self.states[0].shape[0] != batch:
            raise ValueError(
                f"If an RNN is stateful, the batch size of the input sequences must be the same "
                f"as the batch size of the initial state. Layer '{self.name}' carries state for "
                f"a batch of {self.states[0].shape[0]}, received a batch of {batch}. Sample i of "
                "each call continues sample i of the last call, so keep the batch size fixed "
                "(or make a new layer for a new batch size)."
            )

    # --- build and shapes --------------------------------------------------------
    def build(self, shape):
        self._features = shape[-1]
        if hasattr(self.cell, "build") and not getattr(self.cell, "built", False):
            self.cell.build((shape[0], shape[-1]))
            try:
                self.cell.built = True
            except AttributeError:
                pass

    def compute_output_shape(self, shape, initial_state=None, mask=None):
        batch, timesteps, _ = shape
        out = self.output_size
        return self._assemble((batch, timesteps, out), (batch, out),
                              [(batch, s) for s in self.state_sizes])

    supports_masking = call_takes_mask = True

    def compute_mask(self, inputs, mask):
        """As Keras 3: the mask goes on with the sequence (return_sequences), else stops;
        returned states carry none."""
        mask = next((m for m in _leaves(mask) if m is not None), None)
        return self._assemble(mask, None, [None] * len(self.state_sizes))

    def _assemble(self, sequence, last, states):
        """What the layer returns; used for arrays (``call``) and shapes alike."""
        output = sequence if self.return_sequences else last
        return (output, *states) if self.return_state else output   # a tuple, as Keras 3

    # --- the computation -----------------------------------------------------------
    def call(self, x, initial_state=None, mask=None):
        return self._run(x, initial_state, mask, train=False)[0]

    def call_for_backward(self, x, initial_state=None, mask=None):
        """As ``call``, keeping every step's input and states for ``backward``."""
        if not (isinstance(self.cell, Cell) or callable(getattr(self.cell, "backward", None))):
            raise TypeError(
                f"Layer '{self.name}': the cell {self.cell!r} has no backward method, so "
                "gradients cannot flow through it. Add one beside its call:\n"
                "    def backward(self, x_t, states, d_output, d_new_states):\n"
                "        # the gradients of the loss with respect to call's inputs and weights\n"
                "        return d_x_t, d_states, d_weights   # d_weights in cell.weights order"
            )
        return self._run(x, initial_state, mask, train=True)

    def _run(self, x, initial_state, mask, train):
        states = self._initial_states(x.shape[0], initial_state)
        xs = x.transpose(1, 0, 2)                     # (timesteps, batch, features)
        if mask is not None:
            mask = np.asarray(mask).astype(bool)
        if self.go_backwards:                         # read time backwards, mask alike
            xs, mask = xs[::-1], None if mask is None else mask[:, ::-1]
        outputs, last, states, tape = self._loop(xs, states, mask, train)
        if self.stateful:
            self.states = [s.copy() for s in states]
        sequence = None if outputs is None else outputs.transpose(1, 0, 2)
        cache = (x.shape, initial_state is not None, tape)
        return self._assemble(sequence, last, states), cache

    def _initial_states(self, batch, initial_state):
        if initial_state is not None:
            states = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
            return [as_float_array(s, self, "initial_state") for s in states]
        if self.stateful and self.states is not None:
            return self.states
        return [np.zeros((batch, s), self.dtype) for s in self.state_sizes]

    def _loop(self, xs, states, mask, train=False):
        """xs (timesteps, batch, features), in reading order -> (outputs (timesteps, batch,
        units) or None, the last output, the final states, a tape for backward or None)."""
        if mask is None:    # a fused loop if one applies (rnnlib.fast), else step by step
            fused = (fast.unroll_train(self.cell, xs, states) if train
                     else fast.unroll(self.cell, xs, states, self.return_sequences))
            if fused is not None and train:
                outputs, states, cache = fused
                return outputs if self.return_sequences else None, states[0], states, ("fast", cache)
            if fused is not None:
                outputs, states = fused
                return outputs, states[0], states, None
        own = isinstance(self.cell, Cell) and type(self.cell).call is Cell.call
        inputs = self.cell.project(xs) if own else xs   # own cells: one product for all steps
        step = self.cell.step if own else self._foreign_step
        timesteps, batch = xs.shape[:2]
        outputs = (np.empty((timesteps, batch, self.output_size), self.dtype)
                   if self.return_sequences else None)
        output = np.zeros((batch, self.output_size), self.dtype)
        history = []                                  # the states each step started from
        for t in range(timesteps):
            history.append(states)
            new_output, new_states = step(inputs[t], states)
            if mask is not None:
                m = mask[:, t, None]                  # (batch, 1): True = read this step
                held = 0.0 if self.zero_output_for_mask else output
                new_output = np.where(m, new_output, held)
                new_states = [np.where(m, n, s) for n, s in zip(new_states, states)]
            output, states = new_output, new_states
            if outputs is not None:
                outputs[t] = output
        tape = ("steps", (xs, inputs, history, mask, own)) if train else None
        return outputs, output, list(states), tape

    # --- backpropagation through time ----------------------------------------------
    can_skip_inputs = True          # backward(..., need_inputs=False): no dL/dx (a first layer)

    def backward(self, cache, d_out, need_inputs=True):
        """dL/d(what call returned) -> Grads: dL/dx (batch, timesteps, features), dL/dweights,
        dL/d(initial_state) if one was given, and dL/dh_t (batch, timesteps, units)."""
        (batch, timesteps, _), had_initial_state, (kind, tape) = cache
        d_output, d_states = (d_out[0], list(d_out[1:])) if self.return_state else (d_out, None)
        if d_states is None:
            d_states = [np.zeros((batch, s), self.dtype) for s in self.state_sizes]
        if self.return_sequences:
            d_seq = np.asarray(d_output).transpose(1, 0, 2)   # (timesteps, batch, units), as read
        elif kind == "fast":                           # no mask on fast paths: the last output is h_T
            d_seq, d_states = None, [d_states[0] + d_output, *d_states[1:]]
        else:
            d_seq = np.zeros((timesteps, batch, self.output_size), self.dtype)
            d_seq[-1] = d_output                       # only the last output was returned
        if kind == "fast":
            d_xs, d_states, d_weights, d_h = fast.unroll_backward(self.cell, tape, d_seq, d_states,
                                                                  d_inputs=need_inputs)
        else:
            d_xs, d_states, d_weights, d_h = self._loop_backward(tape, d_seq, d_states)
        if d_xs is not None and self.go_backwards:
            d_xs = d_xs[::-1]                          # back into the input's time order
        return Grads(None if d_xs is None else d_xs.transpose(1, 0, 2), d_weights,
                     d_states if had_initial_state else None, {self.name: d_h.transpose(1, 0, 2)})

    def _loop_backward(self, tape, d_seq, d_states):
        """The reverse loop: from the last step to the first, each step's backward gets
        dL/d(its output) and dL/d(its new states) and hands dL/d(its old states) back."""
        xs, inputs, history, mask, own = tape
        d_inputs, d_h = np.empty_like(inputs), np.empty_like(d_seq)
        d_held, d_weights = 0.0, None                  # d_held: into the output a masked step repeats
        for t in reversed(range(len(inputs))):
            d_o, d_new = d_seq[t] + d_held, d_states
            d_h[t] = d_o + d_states[0]                 # dL/dh_t, the total (a masked h_t = h_tm1)
            if mask is not None:                       # a masked step passes everything back
                m = mask[:, t, None]
                d_held = 0.0 if self.zero_output_for_mask else np.where(m, 0.0, d_o)
                d_kept = [np.where(m, 0.0, d) for d in d_states]
                d_o, d_new = np.where(m, d_o, 0.0), [np.where(m, d, 0.0) for d in d_states]
            step_backward = self.cell.step_backward if own else self._foreign_backward
            d_inputs[t], d_states, d_w = step_backward(inputs[t], history[t], d_o, d_new)
            if mask is not None:
                d_states = [a + b for a, b in zip(d_states, d_kept)]
            d_weights = d_w if d_weights is None else _add(d_weights, d_w)
        if not own:
            return d_inputs, d_states, list(d_weights or []), d_h
        d_xs, d_in = self.cell.project_backward(xs, d_inputs)   # one product for all steps
        return d_xs, d_states, self.cell.gather({**d_weights, **d_in}), d_h

    def _foreign_backward(self, x_t, states, d_output, d_new_states):
        """Call a learner's cell's backward, and check what it returns."""
        d_x, d_states, d_weights = self.cell.backward(x_t, list(states), d_output, list(d_new_states))
        d_states = list(d_states) if isinstance(d_states, (list, tuple)) else [d_states]
        d_x, d_states = np.asarray(d_x), [np.asarray(d) for d in d_states]
        weights = list(getattr(self.cell, "weights", []))
        bad = (d_x.shape != x_t.shape or [d.shape for d in d_states] != [s.shape for s in states]
               or len(d_weights) != len(weights)
               or any(np.shape(d) != w.shape for d, w in zip(d_weights, weights)))
        if bad:
            raise ValueError(
                f"The cell {self.cell!r} returned gradients of the wrong shapes from backward: "
                f"d_x_t {fmt_shape(d_x.shape)} (expected {fmt_shape(x_t.shape)}), d_states "
                f"{[fmt_shape(d.shape) for d in d_states]} (expected "
                f"{[fmt_shape(s.shape) for s in states]}), d_weights "
                f"{[fmt_shape(np.shape(d)) for d in d_weights]} (expected "
                f"{[fmt_shape(w.shape) for w in weights]}, in cell.weights order)."
            )
        return d_x, d_states, [np.asarray(d) for d in d_weights]

    def _foreign_step(self, x_t, states):
        """Call a cell that is not rnnlib's, and check what it returns."""
        output, new_states = self.cell.call(x_t, tuple(states))     # a tuple, as Keras passes them
        if not isinstance(new_states, (list, tuple)):
            new_states = [new_states]
        output = np.asarray(output)
        new_states = [np.asarray(s) for s in new_states]
        want = (x_t.shape[0], self.output_size)
        if output.shape != want:
            raise ValueError(
                f"The cell {self.cell!r} returned an output of shape {fmt_shape(output.shape)} "
                f"from call(x_t, states); expected {fmt_shape(want)} (batch, output_size)."
            )
        if [s.shape for s in new_states] != [(want[0], n) for n in self.state_sizes]:
            raise ValueError(
                f"The cell {self.cell!r} returned new states of shapes "
                f"{[fmt_shape(s.shape) for s in new_states]}; its state_size "
                f"{self.cell.state_size} asks for {[fmt_shape((want[0], n)) for n in self.state_sizes]}."
            )
        return output, new_states

    def reset_states(self):
        """Forget the carried state of a stateful layer (the next call starts from zeros)."""
        if self.states is not None:
            self.states = [np.zeros_like(s) for s in self.states]

    reset_state = reset_states

    def config(self):
        return dict(return_sequences=self.return_sequences, return_state=self.return_state,
                    go_backwards=self.go_backwards, stateful=self.stateful)

    def __repr__(self):
        flags = "".join(f", {k}=True" for k, v in self.config().items() if v)
        return f"<{type(self).__name__} name={self.name!r}, units={self.units}{flags}, cell={self.cell!r}>"

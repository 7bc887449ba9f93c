"""The graph: symbolic tensors, the ``Layer`` base class and ``Input``.

A layer called on a NumPy array computes at once (eager).  A layer called on a
``SymbolicTensor`` (from ``Input``) only works out shapes, builds its weights
and records a ``Node``, so a whole model can be checked before any data exists.
Both paths validate first, with the same checks, then either compute or infer.
"""
import os
import re
import sys
import warnings
from typing import Any, NamedTuple, Optional

import numpy as np

from . import backend

_NAME_COUNTS = {}


def caller_level():
    """The stacklevel of the first frame outside rnnlib: the learner's line gets the warning."""
    package = os.path.dirname(__file__)
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def clear_session():
    """Forget the automatic layer names, so the next SimpleRNN is ``simple_rnn`` again."""
    _NAME_COUNTS.clear()


def unique_name(base):
    n = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def fmt_shape(shape):
    """``(None, 2)`` as Keras prints it (a 1-tuple keeps its comma)."""
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(fmt_shape(s) for s in shape) + "]"
    return str(tuple(shape))


class SymbolicTensor:
    """A placeholder with a shape and no values; ``None`` in the shape is 'any size'.

    ``rl.Input(shape=(2, 1)).shape == (None, 2, 1)``: the batch axis is ``None``.
    """

    def __init__(self, shape, dtype=None, name=None, node=None, index=0, has_mask=False):
        self.shape = tuple(shape)
        self.dtype = dtype or backend.floatx()
        self.name = name or unique_name("symbolic_tensor")
        self.node, self.index = node, index   # the layer call that made me
        self.has_mask = has_mask              # a mask (batch, timesteps) will come with the values

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"{self!r} is symbolic: it has a shape but no values. Build a model with "
            "rl.Model(inputs, outputs) and call it on a NumPy array to get numbers."
        )


def flatten(structure):
    """Flatten nested lists/tuples into a list of leaves."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def pack_like(structure, leaves):
    """The inverse of ``flatten``: rebuild ``structure`` from an iterator of leaves."""
    leaves = iter(leaves)

    def _pack(s):
        if isinstance(s, (list, tuple)):
            return type(s)(_pack(item) for item in s)
        return next(leaves)

    return _pack(structure)


def is_symbolic(structure):
    return any(isinstance(t, SymbolicTensor) for t in flatten(structure))


class Node:
    """One call of a layer on symbolic tensors: what went in, what came out."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer, self.args, self.kwargs, self.outputs = layer, args, kwargs, outputs
        self.input_tensors = [t for t in flatten((args, list(kwargs.values())))
                              if isinstance(t, SymbolicTensor)]

    @property
    def outputs_have_mask(self):
        """True if a layer (Embedding, Masking) made a mask here from unmasked inputs."""
        return any(t.has_mask for t in flatten(self.outputs))

    def arguments(self, values):
        """The call's (args, kwargs) with each symbolic tensor replaced by its array in ``values``."""
        def sub(s):
            return pack_like(s, [values[id(t)] if isinstance(t, SymbolicTensor) else t
                                 for t in flatten(s)])
        return sub(list(self.args)), {k: sub(v) for k, v in self.kwargs.items()}


class Grads(NamedTuple):
    """What ``Layer.backward`` returns.  ``h`` maps a recurrent layer's name to dL/dh_t,
    (batch, timesteps, units), t in the order the layer read its input."""
    inputs: Any
    weights: list
    initial_state: Optional[list] = None
    h: Optional[dict] = None


class Layer:
    """Base class.  A subclass writes ``check``, ``build``, ``compute_output_shape``, ``call``.

    ``check(shapes, **kwargs)`` raises a teaching error for bad shapes; it sees
    shapes only, so it runs before any arithmetic, in both eager and symbolic use.
    """

    weight_names = ()
    supports_masking = False    # True: passes a mask on (``compute_mask``), as in Keras 3
    call_takes_mask = False     # True: ``call(..., mask=)`` reads the input's mask (RNNs)
    uses_training = False       # True: ``call(..., training=)`` differs in fit (Dropout)

    def __init__(self, name=None, **kwargs):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a string, got {name!r}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.built = False
        self.dtype = backend.floatx()
        self._nodes = []
        self._input_shape_arg = self._input_shape_argument(kwargs)

    def _input_shape_argument(self, kwargs):
        """Keras 3 still accepts ``input_shape=``/``input_dim=`` on a first layer, with a warning."""
        input_dim, input_shape = kwargs.pop("input_dim", None), kwargs.pop("input_shape", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        shape = (input_dim,) if input_dim is not None else input_shape
        if shape is not None:
            warnings.warn(
                "Do not pass an `input_shape`/`input_dim` argument to a layer. When using "
                "Sequential models, prefer using an `Input(shape)` object as the first layer in "
                "the model instead.", UserWarning, stacklevel=caller_level())
            shape = tuple(shape) if hasattr(shape, "__iter__") else (shape,)
        return shape

    def compute_mask(self, inputs, mask):
        """The mask of the output: Keras 3's rule - passed on if ``supports_masking``, else None."""
        return mask if self.supports_masking else None

    # --- the two ways in -------------------------------------------------
    def __call__(self, inputs, **kwargs):
        if is_symbolic((inputs, list(kwargs.values()))):
            return self._call_symbolic(inputs, **kwargs)
        return self.call(self._prepare(inputs, kwargs), **kwargs)

    def _prepare(self, inputs, kwargs):
        """Arrays of the layer's dtype, checked (and the weights built) before any arithmetic."""
        inputs = self._to_arrays(inputs)
        shapes = _shapes_of(inputs)
        self.check(shapes, **kwargs)
        if not self.built:
            self.build(shapes)
            self.built = True
        return inputs

    def _call_symbolic(self, inputs, **kwargs):
        shapes = _shapes_of(inputs)
        self.check(shapes, **kwargs)
        if not self.built:
            self.build(shapes)
            self.built = True
        out_shapes = self.compute_output_shape(shapes, **kwargs)
        node = Node(self, (inputs,), kwargs, None)
        masks = flatten(self._symbolic_mask(inputs, kwargs))
        leaves = [SymbolicTensor(s, self.dtype, name=f"{self.name}/out{i}", node=node,
                                 index=i, has_mask=masks[min(i, len(masks) - 1)] is not None)
                  for i, s in enumerate(_shape_leaves(out_shapes))]
        node.outputs = _pack_shapes(out_shapes, leaves)
        self._nodes.append(node)
        return node.outputs

    def _symbolic_mask(self, inputs, kwargs):
        """Whether the outputs will carry a mask, found by running ``compute_mask`` on
        stand-in arrays of the inputs' shapes: the same branches as at run time."""
        has = [t.has_mask for t in flatten(inputs)]
        given = kwargs.get("mask")
        if not any(has) and given is None and type(self).compute_mask is Layer.compute_mask:
            return None
        stand_ins = pack_like(inputs, [np.ones([d or 1 for d in t.shape], t.dtype)
                                       for t in flatten(inputs)])
        mask = (np.ones([d or 1 for d in given.shape[:2]], bool) if given is not None else
                pack_like(inputs, [np.ones([d or 1 for d in t.shape[:2]], bool) if h else None
                                   for t, h in zip(flatten(inputs), has)]))
        if any(has) and not (self.supports_masking or self.call_takes_mask):
            warnings.warn(
                f"Layer '{self.name}' (of type {type(self).__name__}) was passed an input with a "
                "mask attached to it. However, this layer does not support masking and will "
                "therefore destroy the mask information. Downstream layers will not see the mask.",
                UserWarning, stacklevel=caller_level())
        return self.compute_mask(stand_ins, mask)

    def _to_arrays(self, inputs):
        if isinstance(inputs, (list, tuple)):
            return [self._to_arrays(x) for x in inputs]
        return as_float_array(inputs, self, "input")

    # --- to override -----------------------------------------------------
    def check(self, shapes, **kwargs):
        pass

    def build(self, shapes):
        pass

    def compute_output_shape(self, shapes, **kwargs):
        raise NotImplementedError

    def call(self, inputs, **kwargs):
        raise NotImplementedError

    # --- learning: the backward pass sits beside the forward --------------
    def forward(self, inputs, **kwargs):
        """As ``layer(inputs)`` on arrays, and also what ``backward`` needs: (outputs, cache)."""
        return self.call_for_backward(self._prepare(inputs, kwargs), **kwargs)

    def call_for_backward(self, inputs, **kwargs):
        """``call``, keeping its inputs and outputs for ``backward`` (override to keep more)."""
        outputs = self.call(inputs, **kwargs)
        return outputs, (inputs, outputs)

    def backward(self, cache, d_outputs):
        """dL/d(outputs) -> ``Grads(inputs, weights, initial_state, h)``: dL/d(inputs) in the
        structure of the inputs, dL/d(weight) for each of ``self.weights``, and, for recurrent
        layers, dL/d(initial_state) and dL/dh_t."""
        raise TypeError(
            f"Layer '{self.name}' ({type(self).__name__}) has no backward pass, so gradients "
            f"cannot flow through it. Give {type(self).__name__} a method "
            "backward(cache, d_outputs) (see rl.layers.Dense for a small example)."
        )

    # --- weights ---------------------------------------------------------
    @property
    def weights(self):
        """The weight arrays, in Keras's ``get_weights()`` order."""
        return [getattr(self, n) for n in self.weight_names] if self.built else []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        """Load arrays in ``get_weights()`` order (e.g. a Keras layer's ``get_weights()``)."""
        set_weights_checked(self, self, weights)

    def count_params(self):
        return int(sum(w.size for w in self.weights))

    # --- the symbolic tensors of the first call, as in Keras --------------
    @property
    def output(self):
        if not self._nodes:
            raise ValueError(f"Layer '{self.name}' has not been called on a symbolic input yet.")
        return self._nodes[0].outputs

    @property
    def input(self):
        if not self._nodes:
            raise ValueError(f"Layer '{self.name}' has not been called on a symbolic input yet.")
        return self._nodes[0].args[0]

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}, built={self.built}>"


def set_weights_checked(owner, holder, weights):
    """Check count and shapes, then assign ``holder.<name>`` for each weight name."""
    if not owner.built:
        raise ValueError(
            f"Layer '{owner.name}' has no weights yet: call it once (or on an rl.Input) "
            "so it learns the number of features, then set_weights."
        )
    current = owner.weights
    expected = ", ".join(f"{n} {fmt_shape(w.shape)}" for n, w in zip(owner.weight_names, current))
    if not isinstance(weights, (list, tuple)) or len(weights) != len(current):
        got = len(weights) if isinstance(weights, (list, tuple)) else type(weights).__name__
        raise ValueError(
            f"Layer '{owner.name}' expects {len(current)} weight arrays [{expected}], "
            f"received {got}."
        )
    new = []
    for n, w, v in zip(owner.weight_names, current, weights):
        v = np.asarray(v)
        if v.shape != w.shape:
            raise ValueError(
                f"Layer '{owner.name}': weight '{n}' has shape {fmt_shape(w.shape)}, "
                f"received {fmt_shape(v.shape)}. The expected order is [{expected}]."
            )
        new.append(v.astype(w.dtype, copy=True))
    for n, v in zip(owner.weight_names, new):
        setattr(holder, n, v)


def as_float_array(x, layer, what):
    """An array of the layer's float dtype, or a TypeError that says what came instead."""
    if isinstance(x, SymbolicTensor):
        return x
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(
            f"Layer '{layer.name}' could not turn its {what} into an array ({exc}). "
            "Pass a NumPy array of numbers; pad sequences to one length first."
        ) from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"Layer '{layer.name}' expects numbers as its {what}, received dtype "
            f"{arr.dtype} with shape {fmt_shape(arr.shape)}. Convert it first, e.g. "
            "np.asarray(x, dtype='float32'); text must be turned into numbers (one-hot or an "
            "embedding) before an RNN can read it."
        )
    return arr.astype(layer.dtype, copy=False)


def _shapes_of(inputs):
    if isinstance(inputs, (list, tuple)):
        return [_shapes_of(x) for x in inputs]
    return tuple(inputs.shape)


def _is_shape(s):
    return isinstance(s, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in s)


def _shape_leaves(shapes):
    if _is_shape(shapes):
        return [shapes]
    return [leaf for s in shapes for leaf in _shape_leaves(s)]


def _pack_shapes(shapes, leaves):
    if _is_shape(shapes):
        return leaves.pop(0)
    return type(shapes)(_pack_shapes(s, leaves) for s in shapes)   # a tuple stays a tuple


class InputLayer(Layer):
    """The layer behind ``rl.Input``: it holds the shape and passes data through."""

    def __init__(self, shape, batch_size=None, name=None, dtype=None):
        super().__init__(name)
        self.batch_shape = (batch_size,) + tuple(shape)
        self.dtype = dtype or backend.floatx()
        self.built = True

    def compute_output_shape(self, shapes, **kwargs):
        return self.batch_shape

    def __repr__(self):
        return f"<InputLayer name={self.name!r}, batch_shape={self.batch_shape}>"


def Input(shape, batch_size=None, name=None, dtype=None):
    """A symbolic input of shape ``(batch_size, *shape)``; the batch is ``None`` (any) by default.

    ``shape`` leaves out the batch: ``Input(shape=(2, 1))`` is 2 timesteps of 1 feature
    and has ``.shape == (None, 2, 1)``.  ``dtype="int32"`` for token ids (``Embedding``).
    """
    if isinstance(shape, (int, np.integer)) or not hasattr(shape, "__iter__"):
        raise ValueError(
            f"Input(shape={shape!r}): shape must be a tuple that leaves out the batch, "
            f"e.g. shape=({shape},) - mind the comma - or shape=({shape}, 1) for an RNN."
        )
    shape = tuple(shape)
    for d in shape:
        if d is not None and (not isinstance(d, (int, np.integer)) or d < 0):
            raise ValueError(f"Input(shape={shape}): every size must be a whole number >= 0 or None.")
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size <= 0):
        raise ValueError(f"Input(batch_size={batch_size!r}): use a positive whole number or None.")
    layer = InputLayer(shape, batch_size=batch_size, name=name, dtype=dtype)
    node = Node(layer, (), {}, None)
    node.outputs = SymbolicTensor(layer.batch_shape, layer.dtype, name=layer.name, node=node)
    layer._nodes.append(node)
    return node.outputs

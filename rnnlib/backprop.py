"""Backpropagation through a whole model, and ``rl.gradients``: the gradients themselves.

The forward pass runs the model's layer calls (its nodes) in order, each with
``layer.forward``, keeping every layer's cache on a tape.  The backward pass walks
the tape in reverse: each node receives dL/d(its outputs), calls ``layer.backward``
and passes dL/d(its inputs) on to the nodes that made them.  A tensor read by two
layers receives the sum of both gradients; a layer called twice (shared weights)
receives the sum of its weights' gradients over both calls.

    g = rl.gradients(model, x, y, loss="mse")
    g.loss           # the loss, a float
    g.weights        # dL/dw for every w of model.get_weights(), in that order
    g.inputs         # dL/dx, shaped like x
    g.h["lstm"]      # dL/dh_t for every timestep t, (batch, timesteps, units), in the
                     # order the layer read them; a Bidirectional's two directions are
                     # g.h["forward_<name>"] and g.h["backward_<name>"]

Nothing changes the weights: this is the training step without its update.
"""
import numpy as np

from .engine import InputLayer, Layer, SymbolicTensor, flatten, pack_like


class Gradients:
    """The result of ``rl.gradients`` (and of ``model.backward``); see the module docstring."""

    def __init__(self, weights, inputs, initial_state=None, h=None, loss=None):
        self.weights, self.inputs = weights, inputs
        self.initial_state, self.h, self.loss = initial_state, h or {}, loss

    def __repr__(self):
        shapes = ", ".join(str(w.shape) for w in self.weights)
        return (f"<Gradients loss={self.loss}, weights=[{shapes}], "
                f"h={ {k: v.shape for k, v in self.h.items()} }>")


class Tape:
    """What the forward pass kept: every tensor's value and mask, and every node's cache.
    ``output_mask`` is the mask of the model's (first) output, for the loss (as Keras)."""

    def __init__(self, values, masks, caches, output_mask):
        self.values, self.masks, self.caches, self.output_mask = values, masks, caches, output_mask


def forward(model, x, training=False, keep=True):
    """Run ``model`` on arrays like ``model(x)``; returns (outputs, tape).

    Each layer call gets the mask of its input where it reads one (an RNN's ``mask=``), and
    its output's mask is ``layer.compute_mask``, as Keras 3 propagates masks.  ``training``
    switches Dropout on (``fit``); ``keep=False`` runs without keeping caches (``model(x)``).
    """
    values, masks, caches = model._input_values(x), {}, []
    for node in model._nodes:
        args, kwargs = node.arguments(values)
        layer, inputs = node.layer, args[0]
        in_mask = pack_like(node.args[0], [masks.get(id(t)) for t in flatten(node.args[0])])
        first_mask = next((m for m in flatten(in_mask) if m is not None), None)
        if layer.call_takes_mask and kwargs.get("mask") is None and first_mask is not None:
            kwargs["mask"] = first_mask
        if layer.uses_training:
            kwargs["training"] = training
        if keep:
            out, cache = layer.forward(*args, **kwargs)
            caches.append(cache)
        else:
            out = layer(*args, **kwargs)
        read_mask = in_mask if kwargs.get("mask") is None else kwargs["mask"]
        out_mask = (layer.compute_mask(inputs, read_mask) if first_mask is not None
                    or kwargs.get("mask") is not None or node.outputs_have_mask else None)
        out_masks = flatten(out_mask)
        for i, (sym, val) in enumerate(zip(flatten(node.outputs), flatten(out))):
            values[id(sym)] = val
            masks[id(sym)] = out_masks[min(i, len(out_masks) - 1)]
    leaves = flatten(model.outputs)
    outputs = pack_like(model.outputs, [values[id(t)] for t in leaves])
    return outputs, Tape(values, masks, caches, masks.get(id(leaves[0])))


def backward(model, tape, d_outputs, inputs=True):
    """dL/d(model outputs) (structured like the outputs) -> ``Gradients``.

    ``inputs=False`` (training) skips dL/dx where a recurrent layer reads a model input
    directly: that product is a sixth of an RNN's backward, and nothing uses it then."""
    model_inputs = {id(t) for t in model.inputs}
    grads = {}                                      # id(symbolic tensor) -> dL/d(tensor)

    def receive(tensors, ds):
        for t, d in zip(flatten(tensors), flatten(ds)):
            if isinstance(t, SymbolicTensor) and d is not None:
                grads[id(t)] = grads[id(t)] + d if id(t) in grads else d

    receive(model.outputs, d_outputs)
    d_weights = {id(layer): None for layer in model.operations}
    h = {}
    for node, cache in reversed(list(zip(model._nodes, tape.caches))):
        outs = flatten(node.outputs)
        if not any(id(t) in grads for t in outs):
            continue                                # no gradient reaches this call
        d_out = [grads.get(id(t), np.zeros_like(tape.values[id(t)])) for t in outs]
        d_out = pack_like(node.outputs, d_out)
        if not inputs and getattr(node.layer, "can_skip_inputs", False) and all(
                id(t) in model_inputs for t in flatten(node.args[0])):
            g = node.layer.backward(cache, d_out, need_inputs=False)
        else:
            g = node.layer.backward(cache, d_out)
        receive(node.args[0], g.inputs)
        if g.initial_state is not None:
            receive(node.kwargs.get("initial_state"), g.initial_state)
        old = d_weights[id(node.layer)]
        d_weights[id(node.layer)] = g.weights if old is None else [a + b for a, b in zip(old, g.weights)]
        for name, d_h in (g.h or {}).items():
            h[name if name not in h else f"{name}[{sum(k.startswith(name) for k in h)}]"] = d_h
    weights = []
    for layer in model.layers:
        dw = d_weights[id(layer)]
        weights += dw if dw is not None else [np.zeros_like(w) for w in layer.weights]
    d_x = [grads.get(id(t), np.zeros_like(tape.values[id(t)])) if inputs else None
           for t in model.inputs]
    return Gradients(weights, d_x[0] if model._single_input else d_x, h=h)


def gradients(model, x, y, loss="mse", initial_state=None, mask=None):
    """dL/d(everything) for one batch, without training: see the module docstring.

    ``model`` is an rl.Model/Sequential or a single layer (then ``initial_state`` and
    ``mask`` may be given, and ``.initial_state`` holds dL/d(initial_state)).  ``y`` is the
    target of the (first) output; ``loss`` a loss name or object, as in ``compile``.
    """
    from . import losses
    loss_fn = losses.get(loss)
    if isinstance(model, Layer) and not isinstance(model, InputLayer):
        kwargs = {k: v for k, v in (("initial_state", initial_state), ("mask", mask)) if v is not None}
        out, cache = model.forward(x, **kwargs)
        first = out[0] if isinstance(out, tuple) else out
        out_mask = flatten(model.compute_mask(x, mask))[0] if mask is not None else None
        value, d_first = loss_fn.value_and_grad(y, first, mask=out_mask)   # as Keras's loss
        d_out = ((d_first, *[np.zeros_like(o) for o in out[1:]]) if isinstance(out, tuple)
                 else d_first)
        g = model.backward(cache, d_out)
        return Gradients(g.weights, g.inputs, g.initial_state, g.h, loss=float(value))
    if initial_state is not None or mask is not None:
        raise ValueError("rl.gradients(model, ...) takes no initial_state or mask: a model gets "
                         "its states and masks from its own inputs. Pass a single layer instead.")
    out, tape = model.forward(x)
    first = out[0] if isinstance(out, (list, tuple)) else out
    value, d_first = loss_fn.value_and_grad(y, first, mask=tape.output_mask)
    d_out = pack_like(out, [d_first] + [np.zeros_like(o) for o in flatten(out)[1:]])
    g = model.backward(tape, d_out)
    g.loss = float(value)
    return g

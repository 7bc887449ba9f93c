"""Gradient checks: central differences in float64, the way to trust a backward pass.

    rl.set_floatx("float64")                  # before building: float32 is too coarse
    layer = rl.layers.LSTM(3)
    errors = rl.gradient_check(layer, x, y)   # {'kernel': 3e-10, ..., 'inputs': 2e-10}

Each analytic gradient from ``rl.gradients`` is compared with
(L(w + eps) - L(w - eps)) / (2 eps), one element of w at a time; the relative error
should be far below 1e-6.  ``numerical_gradient`` is the same idea for any function.
"""
import numpy as np

from . import backprop
from .backprop import gradients
from .engine import Layer, flatten


def numerical_gradient(f, x, eps=1e-6):
    """dF/dx for a function ``f()`` of the array ``x`` (read by f), by central differences.

    Every element of ``x`` is nudged by +eps and -eps in place, then restored.
    """
    grad = np.zeros(x.shape, dtype="float64")
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f()
        x[i] = old - eps
        down = f()
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def relative_error(analytic, numeric):
    """||a - n|| / (||a|| + ||n||): the scale-free distance between two whole gradients
    (0 when equal, 1 when unrelated; entries near zero cannot blow it up)."""
    a, n = np.asarray(analytic, "float64"), np.asarray(numeric, "float64")
    if a.shape != n.shape:
        raise ValueError(f"The gradients have different shapes: {a.shape} and {n.shape}.")
    scale = np.linalg.norm(a) + np.linalg.norm(n)
    return float(np.linalg.norm(a - n) / scale) if scale > 0 else 0.0


def gradient_check(model, x, y, loss="mse", eps=1e-6, initial_state=None, mask=None):
    """{weight name or 'inputs' or 'initial_state[k]': relative error} for a model or a layer."""
    from . import losses
    kwargs = {k: v for k, v in (("initial_state", initial_state), ("mask", mask)) if v is not None}
    saved = _states(model)
    model(x, **kwargs)                            # builds the weights on first use
    _restore(model, saved)
    arrays = model.weights + [np.asarray(a) for a in flatten([x, initial_state or []])]
    if any(a.dtype != np.float64 for a in arrays):
        raise ValueError(
            "gradient_check needs float64 weights: float32 rounding (about 1e-7) swamps the "
            "differences it measures. Call rl.set_floatx('float64') before building the model, "
            "and pass float64 inputs.")
    loss_fn = losses.get(loss)

    def value():
        _restore(model, saved)                    # stateful layers: every run starts alike
        if hasattr(model, "_nodes") and not isinstance(model, Layer):    # a model: its own mask
            out, tape = backprop.forward(model, x, keep=False)
            return float(loss_fn(y, flatten(out)[0], mask=tape.output_mask))
        out = model(x, **kwargs)
        out_mask = flatten(model.compute_mask(x, mask))[0] if mask is not None else None
        return float(loss_fn(y, flatten(out)[0], mask=out_mask))

    _restore(model, saved)
    g = gradients(model, x, y, loss, initial_state=initial_state, mask=mask)
    names = _weight_names(model)
    errors = {name: relative_error(d, numerical_gradient(value, w, eps))
              for name, w, d in zip(names, model.weights, g.weights)}
    xs = x if isinstance(x, (list, tuple)) else [x]
    d_xs = g.inputs if isinstance(g.inputs, (list, tuple)) else [g.inputs]
    for k, (xk, dk) in enumerate(zip(xs, d_xs)):
        errors["inputs" if len(xs) == 1 else f"inputs[{k}]"] = relative_error(
            dk, numerical_gradient(value, xk, eps))
    for k, (s, ds) in enumerate(zip(initial_state or [], g.initial_state or [])):
        errors[f"initial_state[{k}]"] = relative_error(ds, numerical_gradient(value, s, eps))
    _restore(model, saved)
    return errors


def _weight_names(model):
    layers = getattr(model, "layers", [model])
    return [f"{layer.name}/{n}" if len(layers) > 1 else n
            for layer in layers for n in layer.weight_names[:len(layer.weights)]]


def _rnns(model):
    for layer in getattr(model, "layers", [model]):
        yield from (p for p in (layer, getattr(layer, "forward_layer", None),
                                getattr(layer, "backward_layer", None)) if hasattr(p, "states"))


def _states(model):
    return [(r, None if r.states is None else [s.copy() for s in r.states]) for r in _rnns(model)]


def _restore(model, saved):
    for r, states in saved:
        r.states = None if states is None else [s.copy() for s in states]

"""Keras twins for the oracle tests: build alike, copy weights, and ask Keras (on torch) for numbers.

Used by test_keras_gradients.py, test_keras_training.py and the widget tests; each imports Keras with
``pytest.importorskip`` first, so this module is only imported where Keras is installed.
Keras runs on the torch backend (tests/conftest.py), so a Keras layer called on a torch
tensor returns torch tensors, and its weights' ``.value`` are torch parameters:
``torch.autograd.grad`` then gives Keras's own gradients.
"""
import json
import os
import subprocess
import sys

import keras
import numpy as np
import torch
from numpy.testing import assert_allclose

ATOL = RTOL = 1e-5          # the contract for gradients: float32, within 1e-5 (relative above 1)


def as_list(structure):
    """A tensor, or a list/tuple of them, as a list."""
    return list(structure) if isinstance(structure, (list, tuple)) else [structure]


def to_numpy(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def leaf(a):
    """A float32 torch tensor that collects a gradient."""
    return torch.tensor(np.asarray(a, "float32"), requires_grad=True)


def mse_loss(targets, keras_loss=None):
    """Keras's own loss ("mse" unless ``keras_loss`` is given) of each output that has a target
    (masked where the output carries Keras's mask, as compile's loss is), summed."""
    keras_loss = keras_loss or keras.losses.MeanSquaredError()

    def loss(outputs):
        return sum(keras_loss(torch.as_tensor(y), o) for o, y in zip(as_list(outputs), as_list(targets)))
    return loss


def dot_loss(upstream):
    """sum(output * upstream) over every output: its gradient with respect to each output is ``upstream``."""
    def loss(outputs):
        return sum((o * torch.as_tensor(u)).sum() for o, u in zip(as_list(outputs), as_list(upstream)))
    return loss


def random_like(rng, arrays):
    """Seeded normal arrays of the shapes of ``arrays`` (a list/tuple keeps its structure)."""
    if isinstance(arrays, (list, tuple)):
        return type(arrays)(random_like(rng, a) for a in arrays)
    return rng.normal(size=np.shape(arrays)).astype("float32")


def keras_gradients(k, x, loss, initial_state=None, mask=None):
    """Keras's loss and dL/dweights (``get_weights()`` order), dL/dx, dL/d(initial_state).

    ``k`` is a Keras layer or model, ``x`` an array or a list of arrays, ``loss`` a function
    of Keras's outputs (``mse_loss(y)``, ``dot_loss(upstream)``); torch autograd does the rest.
    """
    xs = [torch.as_tensor(a) if np.asarray(a).dtype.kind in "iu" else leaf(a)  # ids get no gradient
          for a in as_list(x)]
    states = None if initial_state is None else [leaf(s) for s in initial_state]
    kwargs = {}
    if states is not None:
        kwargs["initial_state"] = states
    if mask is not None:
        kwargs["mask"] = torch.as_tensor(np.asarray(mask, bool))
    out = k(xs if isinstance(x, (list, tuple)) else xs[0], **kwargs)
    value = loss(out)
    weights = [w.value for w in k.weights]
    wrt = weights + [t for t in xs if t.requires_grad] + (states or [])
    grads = iter(torch.autograd.grad(value, wrt, allow_unused=True))
    grads = [None if not v.requires_grad else next(grads) for v in weights + xs + (states or [])]
    grads = [np.zeros(tuple(v.shape), "float32") if g is None and v.requires_grad else
             None if g is None else to_numpy(g) for g, v in zip(grads, weights + xs + (states or []))]
    n, m = len(weights), len(xs)
    return dict(loss=float(value.detach()), outputs=[to_numpy(o) for o in as_list(out)],
                weights=grads[:n],
                inputs=grads[n:n + m] if isinstance(x, (list, tuple)) else grads[n],
                initial_state=None if states is None else grads[n + m:])


def assert_gradients_match(keras_grads, rl_grads, weight_names=None):
    """Every gradient rnnlib returns equals Keras's, within the contract's tolerance.

    ``rl_grads`` has ``.weights``, ``.inputs``, ``.initial_state`` and ``.loss`` (None: not compared).
    """
    if getattr(rl_grads, "loss", None) is not None:
        assert_allclose(rl_grads.loss, keras_grads["loss"], rtol=RTOL, atol=ATOL, err_msg="loss")
    kw, rw = keras_grads["weights"], list(rl_grads.weights)
    assert len(rw) == len(kw), f"Keras has {len(kw)} weight gradients, rnnlib {len(rw)}"
    names = weight_names or [f"weight {i}" for i in range(len(kw))]
    for name, a, b in zip(names, kw, rw):
        assert np.shape(b) == a.shape, f"dL/d{name}: Keras {a.shape}, rnnlib {np.shape(b)}"
        assert_allclose(b, a, rtol=RTOL, atol=ATOL, err_msg=f"dL/d{name}")
    kx, rx = as_list(keras_grads["inputs"]), as_list(rl_grads.inputs)
    assert len(rx) == len(kx), f"Keras has {len(kx)} input gradients, rnnlib {len(rx)}"
    for i, (a, b) in enumerate(zip(kx, rx)):
        if a is None:                      # integer ids (an Embedding's input): no gradient
            continue
        assert np.shape(b) == a.shape, f"dL/dx[{i}]: Keras {a.shape}, rnnlib {np.shape(b)}"
        assert_allclose(b, a, rtol=RTOL, atol=ATOL, err_msg=f"dL/dx[{i}]")
    ks, rs = keras_grads["initial_state"], rl_grads.initial_state
    if ks is None:
        assert not rs, f"no initial_state was given, yet rnnlib returned dL/d(initial_state) {rs!r}"
        return
    assert rs is not None and len(rs) == len(ks), \
        f"Keras has {len(ks)} initial-state gradients, rnnlib {None if rs is None else len(rs)}"
    for i, (a, b) in enumerate(zip(ks, rs)):
        assert_allclose(b, a, rtol=RTOL, atol=ATOL, err_msg=f"dL/d(initial_state[{i}])")


class ProbeCell(keras.layers.Layer):
    """Wraps a built Keras cell and adds a probe ``p_t`` to its new ``h`` (output and state alike).

    Its input is ``[x_t, p_t]`` concatenated on the features axis; with ``p = 0`` it computes
    what the cell computes, and dL/dp_t is the total dL/dh_t (through the output and through
    every later step), which is what rnnlib's ``Gradients.h`` reports.
    """

    def __init__(self, cell, features):
        super().__init__()
        self.cell, self.features = cell, features
        self.state_size, self.output_size = cell.state_size, cell.output_size

    def build(self, input_shape):
        self.built = True

    def call(self, inputs, states, training=None):
        x_t, p_t = inputs[:, :self.features], inputs[:, self.features:]
        _, new_states = self.cell(x_t, states)
        new_states = as_list(new_states)
        h = new_states[0] + p_t
        return h, [h] + new_states[1:]


def _probed(k, x, probe, initial_state, go_backwards):
    """Run Keras layer ``k``'s cell (same weights) wrapped in a ``ProbeCell`` over ``[x, probe]``."""
    twin = keras.layers.RNN(ProbeCell(k.cell, x.shape[-1]), return_sequences=k.return_sequences,
                            return_state=k.return_state, go_backwards=go_backwards)
    kwargs = {} if initial_state is None else {"initial_state": list(initial_state)}
    return twin(torch.cat([x, probe], dim=-1), **kwargs)


def _merge(k, y, y_rev):
    """Keras's Bidirectional.call after its two layers ran (keras/src/layers/rnn/bidirectional.py)."""
    states = ()
    if k.return_state:
        states, y, y_rev = tuple(y[1:]) + tuple(y_rev[1:]), y[0], y_rev[0]
    if k.return_sequences:
        y_rev = torch.flip(y_rev, dims=[1])
    if k.merge_mode is None:
        return (y, y_rev) + states
    output = {"concat": lambda: torch.cat([y, y_rev], dim=-1), "sum": lambda: y + y_rev,
              "ave": lambda: (y + y_rev) / 2, "mul": lambda: y * y_rev}[k.merge_mode]()
    return (output,) + states if k.return_state else output


def keras_h_gradients(k, x, loss, initial_state=None):
    """Keras's total dL/dh_t, (batch, timesteps, units), t in the order the layer read its input:
    ``{"": dL/dh}`` for a recurrent layer, ``{"/forward": ..., "/backward": ...}`` for a Bidirectional.

    ``k`` is a built Keras layer (no mask); it is re-run with a ``ProbeCell`` around its own
    cell(s), so the weights are the same objects, and its outputs must not change.
    """
    xt = torch.as_tensor(np.asarray(x, "float32"))
    states = None if initial_state is None else [torch.as_tensor(s) for s in initial_state]
    if isinstance(k, keras.layers.Bidirectional):
        layers = {"/forward": (k.forward_layer, False), "/backward": (k.backward_layer, True)}
        half = None if states is None else len(states) // 2
        parts = {"/forward": None if states is None else states[:half],
                 "/backward": None if states is None else states[half:]}
    else:
        layers, parts = {"": (k, k.go_backwards)}, {"": states}
    probes = {key: leaf(np.zeros(tuple(xt.shape[:2]) + (layer.cell.output_size,)))
              for key, (layer, _) in layers.items()}
    runs = {key: _probed(layer, xt, probes[key], parts[key], back) for key, (layer, back) in layers.items()}
    out = _merge(k, runs["/forward"], runs["/backward"]) if "/forward" in runs else runs[""]
    kwargs = {} if states is None else {"initial_state": states}
    for a, b in zip(as_list(out), as_list(k(xt, **kwargs))):
        assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-6, atol=1e-6, err_msg="the probe changed Keras's outputs")
    d_probes = torch.autograd.grad(loss(out), list(probes.values()), allow_unused=True)
    d_probes = [torch.zeros_like(p) if d is None else d for d, p in zip(d_probes, probes.values())]
    return {key: to_numpy(d)[:, ::-1] if layers[key][1] else to_numpy(d)   # reading order
            for key, d in zip(probes, d_probes)}


# --- building the twins -------------------------------------------------------------

def copy_weights(k, r, rng=None, scale=0.1):
    """Give Keras's weights (nudged by seeded noise, so that every bias matters) to both twins."""
    weights = k.get_weights()
    if rng is not None:
        weights = [w + scale * rng.normal(size=w.shape).astype("float32") for w in weights]
        k.set_weights(weights)
    r.set_weights(weights)
    return weights


RECURRENT = {                # test id -> (layer class in both libraries, extra arguments)
    "simple_rnn": ("SimpleRNN", {}),
    "gru": ("GRU", {}),
    "gru_reset_before": ("GRU", {"reset_after": False}),
    "lstm": ("LSTM", {}),
}
N_STATES = {"simple_rnn": 1, "gru": 1, "gru_reset_before": 1, "lstm": 2}


def recurrent(lib, kind, units, **flags):
    """``lib.layers.GRU(units, reset_after=False, **flags)`` and the like, for lib = keras or rnnlib."""
    cls, extra = RECURRENT[kind]
    return getattr(lib.layers, cls)(units, **extra, **flags)


def twin_models(make, rl, seed):
    """``make(lib)`` builds a model with lib = keras or rnnlib; both get the same weights
    (Keras's initial ones nudged by seeded noise, so that every bias matters)."""
    k, r = make(keras), make(rl)
    rng = np.random.default_rng(seed)
    copy_weights(k, r, rng)
    return k, r


def twin_layers(make, rl, input_shape, seed):
    """``make(lib)`` builds a layer; both are built for ``input_shape`` (a list for merge layers)
    and get the same weights, as ``twin_models``."""
    k, r = make(keras), make(rl)
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    zeros = [np.zeros(s, "float32") for s in shapes]
    for layer in (k, r):
        layer(zeros if isinstance(input_shape, list) else zeros[0])
    if getattr(r, "stateful", False) or getattr(getattr(r, "forward_layer", None), "stateful", False):
        k.reset_states()
        r.reset_states()
    copy_weights(k, r, np.random.default_rng(seed))
    return k, r


def weight_names(r):
    """'layer.kernel'-style names of an rnnlib layer's or model's weights, in get_weights() order."""
    layers = getattr(r, "layers", None) or [r]
    return [f"{layer.name}.{n}" for layer in layers for n in getattr(layer, "weight_names", ())
            if layer.weights]


def sample_inputs(model, rng, samples, vocab=8):
    """Seeded inputs for each of ``model.inputs`` (a list only for several): ids in 1..vocab-1
    for an integer input, normal floats otherwise; 0 (padding) in the last two steps of every
    third sample and the first step of every fourth, so that a mask has something to do."""
    xs = []
    for t in model.inputs:
        shape = (samples,) + tuple(t.shape[1:])
        integer = np.dtype(t.dtype).kind in "iu"
        a = rng.integers(1, vocab, size=shape).astype("int32") if integer else \
            rng.normal(size=shape).astype("float32")
        if a.ndim >= 2 and a.shape[1] > 2:
            a[::3, -2:] = 0
            a[1::4, 0] = 0
        xs.append(a)
    return xs if len(xs) > 1 else xs[0]


def keras_script_says(script):
    """Run ``script`` in a fresh Python with Keras on torch (nothing of this process's state
    reaches it) and return the JSON object its last printed line holds."""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=dict(os.environ, KERAS_BACKEND="torch"), timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])

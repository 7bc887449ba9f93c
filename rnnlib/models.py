"""Model (functional) and Sequential: run a graph of layers, count and print it."""
import numpy as np

from . import backprop
from .engine import (InputLayer, Layer, SymbolicTensor, fmt_shape, flatten,
                     is_symbolic, unique_name)
from .training import Trainer


class Model(Trainer):
    """``rl.Model(inputs, outputs)``: the layers between symbolic inputs and outputs.

    ``model(x)`` / ``model.predict(x)`` run it on arrays; ``model.summary()`` prints the
    table Keras prints in a terminal (Keras wraps it to 76 columns where it finds none, as
    in a notebook); ``model.layers`` starts with the input layers, as in Keras.
    """

    def __init__(self, inputs, outputs, name=None):
        self.inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self._single_input = not isinstance(inputs, (list, tuple))
        self.outputs = outputs
        for t in self.inputs:
            if not (isinstance(t, SymbolicTensor) and isinstance(t.node.layer, InputLayer)):
                raise TypeError(f"Model inputs must come from rl.Input(...), received {t!r}.")
        for t in flatten(outputs):
            if not isinstance(t, SymbolicTensor):
                raise TypeError(f"Model outputs must be symbolic tensors from layer calls, received {t!r}.")
        self._nodes = self._sort_nodes()
        self.name = name or unique_name("functional")

    def _sort_nodes(self):
        order, seen = [], set()
        known = {id(t) for t in self.inputs}

        def visit(tensor):
            node = tensor.node
            if id(node) in seen:
                return
            if isinstance(node.layer, InputLayer):
                if id(tensor) not in known:
                    raise ValueError(
                        f"Graph disconnected: the outputs need input '{node.layer.name}' "
                        f"{fmt_shape(tensor.shape)}, which is not in the model's inputs. "
                        "Pass it in rl.Model(inputs=[...], ...)."
                    )
                return
            seen.add(id(node))
            for t in node.input_tensors:
                visit(t)
            order.append(node)

        for t in flatten(self.outputs):
            visit(t)
        return order

    @property
    def operations(self):
        """Every step of the graph in order, the ``rl.ops`` ones (``Flip``) included, as in Keras."""
        steps = [t.node.layer for t in self.inputs]
        for node in self._nodes:
            if node.layer not in steps:
                steps.append(node.layer)
        return steps

    @property
    def layers(self):
        """The layers, input layers first; the steps ``rl.ops`` added are left out, as in Keras."""
        return [step for step in self.operations if not getattr(step, "is_operation", False)]

    @property
    def input_shape(self):
        if not self.inputs:
            raise ValueError(f"Model '{self.name}' has no input yet: start a Sequential with "
                             "rl.Input(shape=...), or call it once on data.")
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if self._single_input else shapes

    @property
    def output_shape(self):
        self.input_shape                  # the same explanation when there is no input yet
        shapes = [t.shape for t in flatten(self.outputs)]
        return shapes if isinstance(self.outputs, (list, tuple)) else shapes[0]   # a list, as Keras

    # --- running ---------------------------------------------------------------
    def __call__(self, x):
        if is_symbolic(x):
            raise TypeError("Call a model on NumPy arrays; to reuse it in a bigger model, "
                            "call its layers on the new symbolic tensors.")
        return backprop.forward(self, x, keep=False)[0]

    def _input_values(self, x):
        """{id(input tensor): checked array} for the arrays given as the model's inputs."""
        xs = [x] if self._single_input else list(x)
        if len(xs) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} inputs, received {len(xs)}.")
        return {id(t): self._check_input(t, arr) for t, arr in zip(self.inputs, xs)}

    # --- learning --------------------------------------------------------------
    def forward(self, x, training=False):
        """As ``model(x)``, also keeping what ``backward`` needs: (outputs, tape).
        ``training=True`` (as ``fit`` calls it) switches Dropout on."""
        return backprop.forward(self, x, training=training)

    def backward(self, tape, d_outputs, inputs=True):
        """dL/d(outputs) -> ``Gradients`` (.weights in get_weights() order, .inputs, .h).
        ``inputs=False`` (as ``fit`` calls it) may skip dL/dx, which training never uses."""
        return backprop.backward(self, tape, d_outputs, inputs=inputs)

    def _check_input(self, tensor, arr):
        layer = tensor.node.layer
        arr = np.asarray(arr) if not isinstance(arr, np.ndarray) else arr
        want = tensor.shape
        ok = arr.ndim == len(want) and all(w is None or w == a for w, a in zip(want, arr.shape))
        if not ok:
            hint = ""
            if arr.ndim == len(want) - 1:
                hint = f" Did you forget an axis? x.reshape({', '.join(['-1'] + [str(d) for d in want[1:]])}) might be meant."
            raise ValueError(
                f"Input '{layer.name}' of model '{self.name}' expects shape {fmt_shape(want)} "
                f"(None = any batch size), received an array of shape {fmt_shape(arr.shape)}.{hint}"
            )
        return arr

    # --- weights and states --------------------------------------------------
    def count_params(self):
        return int(sum(layer.count_params() for layer in self.layers))

    @property
    def weights(self):
        """The weight arrays themselves (not copies), in ``get_weights()`` order."""
        return [w for layer in self.layers for w in layer.weights]

    def get_weights(self):
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        total = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != total:
            raise ValueError(f"Model '{self.name}' has {total} weight arrays, received {len(weights)}.")
        for layer in self.layers:
            n = len(layer.weights)
            if n:
                layer.set_weights(weights[:n])
                weights = weights[n:]

    @property
    def reset_states(self):
        """Keras 3 models have no ``reset_states()``; say how to reset layer by layer."""
        raise AttributeError(
            f"'{type(self).__name__}' object has no attribute 'reset_states': Keras 3 models have "
            "none. Reset each stateful layer instead:\n"
            "    for layer in model.layers:\n"
            "        if getattr(layer, 'stateful', False):\n"
            "            layer.reset_states()")

    # --- summary -------------------------------------------------------------
    def summary_rows(self):
        """One dict per layer: name, type, output shape (as Keras prints it), params."""
        rows = []
        for layer in self.operations:         # Keras's table lists the ops' steps too
            nodes = layer._nodes
            outputs = nodes[0].outputs if nodes else None
            shapes = None if outputs is None else [t.shape for t in flatten(outputs)]
            shape = "?" if shapes is None else fmt_shape(shapes[0] if len(shapes) == 1 else shapes)
            connected = []
            for node in nodes[:1]:
                for t in node.input_tensors:
                    connected.append(f"{t.node.layer.name}[0][{t.index}]")
            rows.append(dict(name=layer.name, type=type(layer).__name__, output_shape=shape,
                             params=layer.count_params(), connected_to=connected or ["-"]))
        return rows

    def _sequential_like(self):
        return len(self.inputs) == 1 and all(len(n.input_tensors) <= 1 for n in self._nodes)

    def summary(self, print_fn=print):
        """Print Keras's table (its terminal width): Layer (type), Output Shape, Param #, totals."""
        print_fn(summary_table(self.name, self.summary_rows(), self.operations,
                               connected=not self._sequential_like()))

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}, layers={len(self.layers)}, params={self.count_params()}>"


class Sequential(Model):
    """A plain stack: each layer reads the output of the one before.

    ``rl.Sequential([rl.Input(shape=(2, 1)), rl.layers.SimpleRNN(10)])``.  With an
    Input first, every layer is checked as it is added; without, the model is built
    on its first call.  ``model.layers`` leaves out the input layer, as in Keras.
    """

    def __init__(self, layers=None, name=None):
        self.name = name or unique_name("sequential")
        self._layers, self.inputs, self.outputs = [], [], None
        self._single_input, self._nodes = True, []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, SymbolicTensor):
            if self.inputs or self._layers:
                raise ValueError("An rl.Input can only be the first element of a Sequential model.")
            self.inputs, self.outputs = [layer], layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential takes layers (and an rl.Input first), received {layer!r}.")
        if not self.inputs and not self._layers and layer._input_shape_arg is not None:
            from .engine import Input                 # Keras 3: input_shape= makes the Input
            self.add(Input(shape=layer._input_shape_arg))
        if self.inputs:
            previous = self._layers[-1] if self._layers else None
            if isinstance(self.outputs, (list, tuple)):       # as Keras: fails at the next layer
                raise ValueError(
                    f'Layer "{layer.name}" expects 1 input(s), but it received {len(self.outputs)} '
                    f"input tensors: {fmt_shape([t.shape for t in self.outputs])}. The layer before "
                    f"it, '{previous.name}', returns its states too (return_state=True), and a "
                    "Sequential model passes everything on. Use return_state=False here, or build "
                    "the model with rl.Model(inputs, outputs) and pick the tensors you need."
                )
            self.outputs = layer(self.outputs)
            self._nodes = self._sort_nodes()
        self._layers.append(layer)

    @property
    def operations(self):
        return list(self._layers)

    @property
    def layers(self):
        return [layer for layer in self._layers if not getattr(layer, "is_operation", False)]

    def __call__(self, x):
        if not self.inputs:               # build on first call, as Keras does
            x = np.asarray(x)
            stateful = any(getattr(layer, "stateful", False) for layer in self._layers)
            from .engine import Input
            layers, self._layers = self._layers, []
            self.add(Input(shape=x.shape[1:], batch_size=x.shape[0] if stateful else None))
            for layer in layers:
                self.add(layer)
        return super().__call__(x)

    def summary(self, print_fn=print):
        print_fn(summary_table(self.name, self.summary_rows(), self.layers, connected=False))


def summary_table(name, rows, layers, connected=False):
    """Keras's summary as text: a box-drawn table, then total/trainable/non-trainable."""
    head = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected else [])
    body = [[f"{r['name']} ({r['type']})", r["output_shape"], f"{r['params']:,}"]
            + ([", ".join(r["connected_to"])] if connected else []) for r in rows]
    widths = [max(len(c) for c in col) + 2 for col in zip(head, *body)]
    widths[0] = max(widths[0], 33)
    widths[1] = max(widths[1], 24)
    widths[2] = max(widths[2], 15)

    def line(cells, sep):
        out = []
        for k, (c, w) in enumerate(zip(cells, widths)):
            out.append((" " + c).rjust(w - 1) + " " if k == 2 else (" " + c).ljust(w))
        return sep + sep.join(out) + sep

    def rule(left, mid, right, fill):
        return left + mid.join(fill * w for w in widths) + right

    lines = [f'Model: "{name}"', rule("┏", "┳", "┓", "━"), line(head, "┃"), rule("┡", "╇", "┩", "━")]
    for k, cells in enumerate(body):
        if k:
            lines.append(rule("├", "┼", "┤", "─"))
        lines.append(line(cells, "│"))
    lines.append(rule("└", "┴", "┘", "─"))
    total = sum(r["params"] for r in rows)
    nbytes = sum(w.nbytes for layer in layers for w in layer.weights)
    lines += [f" Total params: {total:,} ({readable_size(nbytes)})",
              f" Trainable params: {total:,} ({readable_size(nbytes)})",
              f" Non-trainable params: 0 ({readable_size(0)})"]
    return "\n".join(lines)


def readable_size(n):
    """Bytes as Keras prints them: 480.00 B, 1.29 KB, ..."""
    for unit in ("B", "KB", "MB", "GB"):
        if n / 1024 < 1:
            return f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} TB"

"""Training with Keras 3's calls: compile, fit, evaluate, predict, train_on_batch, test_on_batch.

``rl.Model`` inherits ``Trainer``.  One training step (each batch of ``fit``, and
``train_on_batch``) is four lines::

    y_pred, tape = model.forward(x)                        # as model(x), keeping what backward needs
    loss, d_y_pred = model.loss.value_and_grad(y, y_pred)  # the mean loss and dL/dy_pred
    grads = model.backward(tape, d_y_pred)                 # dL/dweight, in model.weights order
    model.optimizer.apply(grads.weights, model.weights)    # the weights change in place

``fit`` cuts ``x`` and ``y`` into batches of ``batch_size`` (the last one may be smaller),
in a new random order every epoch when ``shuffle``; the epoch's ``loss`` is the mean of the
batch losses weighted by batch size, as Keras computes it.  Stateful layers carry their
states from batch to batch (no gradient crosses a batch boundary).

A loss or gradient that is NaN or infinite stops training with a RuntimeWarning naming
the epoch and batch, and that step is not applied: the weights are those of the last good
step, and ``fit`` returns the history so far (whose last loss shows the NaN), as Keras's
``TerminateOnNaN`` callback does.  Targets that do not fit the model's output, data of
different lengths, and calls before ``compile`` raise a ValueError before any computing.
"""
import math
import warnings

import numpy as np

from . import backprop, losses, metrics as metrics_module, optimizers
from .callbacks import CallbackList
from .engine import InputLayer, flatten, fmt_shape, pack_like


class Trainer:
    """The training half of ``rl.Model``, with Keras 3's method names and defaults."""

    compiled = False
    stop_training = False

    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """Choose the optimizer, the loss and the metrics: names or objects, as Keras."""
        self.optimizer = optimizers.get(optimizer)
        self.loss = None if loss is None else losses.get(loss)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise TypeError(f"Expected `metrics` argument to be a list, received metrics={metrics!r}. "
                            f"Use metrics=[{metrics!r}].")
        for m in metrics or []:
            metrics_module.check(m)
        self._metric_ids = list(metrics or [])
        self._loss_tracker = metrics_module.Mean("loss")
        self._compile_metrics = None               # chosen from the targets' shapes, as Keras
        self.compiled = True

    @property
    def metrics(self):
        """The running means behind the logs: the loss first, then the compiled metrics."""
        return [self._loss_tracker] + (self._compile_metrics or []) if self.compiled else []

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    # --- the steps ----------------------------------------------------------
    def train_on_batch(self, x, y):
        """One step on one batch; returns the loss, or ``[loss, *metrics]``."""
        xs, y = self._standardize(x, y, "train_on_batch")
        self.reset_metrics()
        self.stop_training = False
        return self._flatten(self._train_step(xs, y))

    def test_on_batch(self, x, y):
        """The loss (and metrics) on one batch, without changing the weights."""
        xs, y = self._standardize(x, y, "test_on_batch")
        self.reset_metrics()
        return self._flatten(self._test_step(xs, y))

    def _train_step(self, xs, y, where="train_on_batch"):
        """The four lines of the module's docstring, with a guard against NaN."""
        with np.errstate(over="ignore", invalid="ignore"):      # reported below, in words
            y_pred, tape = self.forward(self._as_model_input(xs), training=True)
            loss, d_y_pred = self.loss.value_and_grad(y, y_pred, mask=tape.output_mask)
            grads = self.backward(tape, d_y_pred, inputs=False).weights
            problem = non_finite(loss, grads) or self._apply_or_undo(grads)
        if problem:
            self._stop_on_nan(problem, where)
        return self._update_metrics(loss, y, y_pred, len(xs[0]), tape.output_mask)

    def _apply_or_undo(self, grads):
        """Apply the optimizer's step; undo it (returning why) if it made a weight infinite."""
        weights = self.weights
        before = [w.copy() for w in weights]
        self.optimizer.apply(grads, weights)
        if all(np.all(np.isfinite(w)) for w in weights):
            return None
        for w, b in zip(weights, before):
            w[...] = b
        return "the update made a weight infinite"

    def _test_step(self, xs, y):
        y_pred, tape = backprop.forward(self, self._as_model_input(xs), keep=False)
        mask = tape.output_mask
        return self._update_metrics(self.loss(y, y_pred, mask=mask), y, y_pred, len(xs[0]), mask)

    def _update_metrics(self, loss, y, y_pred, batch_size, mask=None):
        self._loss_tracker.update_state(loss, sample_weight=batch_size)
        for m in self._compile_metrics:
            m.update_state(y, y_pred, mask=mask)
        return self._logs()

    def _logs(self):
        """{name: running mean}, the names sorted as Keras 3 logs them (accuracy before loss)."""
        return dict(sorted((m.name, m.result()) for m in self.metrics))

    def _flatten(self, logs):
        """The loss, or [loss, *metrics] in compile order, as Keras's evaluate returns."""
        values = [logs[m.name] for m in self.metrics]
        return values[0] if len(values) == 1 else values

    def _stop_on_nan(self, problem, where):
        message = (f"{where}: {problem}, so training stopped; this step was not applied and the "
                   "weights are those of the last good step. A loss that grows until it overflows "
                   "usually means the learning rate is too large: try a smaller one, e.g. "
                   "optimizer=rl.optimizers.Adam(learning_rate=1e-4), or clip the gradients, e.g. "
                   "Adam(clipnorm=1.0). Check the data for huge values too.")
        with warnings.catch_warnings():
            warnings.simplefilter("always")                 # shown every time, not once
            warnings.warn(message, RuntimeWarning, stacklevel=4)
        self.stop_training = True

    # --- the loops ----------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0):
        """Train for ``epochs`` passes over the data; returns a ``History``.

        ``x``: ``(samples, timesteps, features)`` (a list of arrays for several inputs);
        ``y``: targets shaped like the output, ``(samples, units)``.  ``validation_split=0.2``
        holds out the last 20% of the samples (before shuffling) and reports ``val_`` logs.
        The shuffled order comes from NumPy's global generator (``rl.utils.set_random_seed``).
        """
        batch_size = check_batch_size(batch_size)
        xs, y = self._standardize(x, y, "fit", batch_size)
        if validation_split and validation_data is None:
            n = len(y)
            split_at = int(math.floor(n * (1.0 - validation_split)))
            if split_at == 0 or split_at == n:
                raise ValueError(
                    f"Training data contains {n} samples, which is not sufficient to split it into "
                    f"a validation and training set as specified by validation_split={validation_split}. "
                    "Either provide more data, or a different value (between 0 and 1, e.g. 0.2).")
            val = ([a[split_at:] for a in xs], y[split_at:])
            xs, y = [a[:split_at] for a in xs], y[:split_at]
        elif validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a tuple (x_val, y_val) (rnnlib has no "
                                 f"sample weights), received {type(validation_data).__name__}.")
            val = self._standardize(*validation_data, "fit (validation_data)", batch_size)
        else:
            val = None
        n, steps = len(y), math.ceil(len(y) / batch_size)
        callbacks = CallbackList(callbacks, model=self, add_history=True, add_progbar=verbose != 0,
                                 verbose=verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        train_logs = {}
        callbacks.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            order = np.random.permutation(n) if shuffle else np.arange(n)
            for step in range(steps):
                rows = order[step * batch_size:(step + 1) * batch_size]
                callbacks.on_train_batch_begin(step)
                logs = self._train_step([a[rows] for a in xs], y[rows],
                                        where=f"Epoch {epoch + 1}/{epochs}, batch {step + 1}/{steps}")
                callbacks.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            epoch_logs = self._logs()
            if val is not None:
                val_logs = self._test_loop(*val, batch_size, callbacks)    # as evaluate(), silent
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callbacks.on_epoch_end(epoch, epoch_logs)
            train_logs = epoch_logs
            if self.stop_training:
                break
        callbacks.on_train_end(train_logs)
        return callbacks.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", callbacks=None, return_dict=False):
        """The loss (and metrics) over all of ``x``, in batches: the loss, or ``[loss, *metrics]``."""
        batch_size = check_batch_size(batch_size)
        xs, y = self._standardize(x, y, "evaluate", batch_size)
        callbacks = CallbackList(callbacks, model=self, add_progbar=verbose != 0, verbose=verbose,
                                 epochs=1, steps=math.ceil(len(y) / batch_size))
        logs = self._test_loop(xs, y, batch_size, callbacks)
        return logs if return_dict else self._flatten(logs)

    def _test_loop(self, xs, y, batch_size, callbacks):
        callbacks.on_test_begin()
        self.reset_metrics()
        for step in range(math.ceil(len(y) / batch_size)):
            rows = slice(step * batch_size, (step + 1) * batch_size)
            callbacks.on_test_batch_begin(step)
            logs = self._test_step([a[rows] for a in xs], y[rows])
            callbacks.on_test_batch_end(step, logs)
        logs = self._logs()
        callbacks.on_test_end(logs)
        return logs

    def predict(self, x, batch_size=None, verbose="auto", callbacks=None):
        """``model(x)`` batch by batch, the outputs joined along the batch axis."""
        batch_size = check_batch_size(batch_size)
        xs = self._inputs_list(x)
        n = check_lengths(xs, None)
        steps = math.ceil(n / batch_size)
        callbacks = CallbackList(callbacks, model=self, add_progbar=verbose != 0,
                                 verbose=verbose, epochs=1, steps=steps)
        callbacks.on_predict_begin()
        outputs = []
        for step in range(steps):
            rows = slice(step * batch_size, (step + 1) * batch_size)
            callbacks.on_predict_batch_begin(step)
            outputs.append(self(self._as_model_input([a[rows] for a in xs])))
            callbacks.on_predict_batch_end(step, {"outputs": outputs[-1]})
        callbacks.on_predict_end()
        leaves = zip(*[flatten(o) for o in outputs])
        return pack_like(outputs[0], [np.concatenate(parts, axis=0) for parts in leaves])

    # --- checking the data, before any computing ------------------------------
    def _standardize(self, x, y, where, batch_size=None):
        """(list of input arrays, target array), or a ValueError that explains the mismatch."""
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before using the model ({where}). For "
                             "example: model.compile(optimizer='adam', loss='mse').")
        if self.loss is None:
            raise ValueError(f"No loss to compute ({where}). Provide a `loss` argument in "
                             "`compile()`, e.g. model.compile(optimizer='adam', loss='mse').")
        if y is None:
            raise ValueError(f"{where} needs targets: call it as {where}(x, y).")
        xs = self._inputs_list(x)
        y = np.asarray(y)
        check_lengths(xs, y)
        for name, a in [("x", a) for a in xs] + [("y", y)]:
            if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
                bad = np.argwhere(~np.isfinite(a))[0]
                raise ValueError(f"{name} holds NaN or infinite values (the first at index "
                                 f"{tuple(int(i) for i in bad)}); the loss would be NaN. Fill or "
                                 "drop them first, e.g. with np.nan_to_num or a mask.")
        if not self.inputs:                         # a Sequential without an Input builds now
            self(self._as_model_input([a[:1] for a in xs]))
        outputs = flatten(self.outputs)
        if len(outputs) != 1:
            raise ValueError(f"Model '{self.name}' has {len(outputs)} outputs; rnnlib's {where} "
                             "trains a model with one output. Build one model per target.")
        self._check_inputs(xs, batch_size)
        self._check_targets(y, outputs[0])
        if self._compile_metrics is None:
            self._compile_metrics = [metrics_module.get(m, y.shape, outputs[0].shape)
                                     for m in self._metric_ids]
        return xs, y

    def _inputs_list(self, x):
        if x is None:
            raise ValueError("No input data: pass x, an array of shape (samples, timesteps, features).")
        if getattr(self, "_single_input", True):
            return [np.asarray(x)]
        if not isinstance(x, (list, tuple)):
            raise ValueError(f"Model '{self.name}' has {len(self.inputs)} inputs: pass x as a list "
                             f"of {len(self.inputs)} arrays, in the order of rl.Model(inputs=[...]).")
        return [np.asarray(a) for a in x]

    def _as_model_input(self, xs):
        return xs[0] if getattr(self, "_single_input", True) else xs

    def _check_inputs(self, xs, batch_size):
        if len(xs) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} inputs, received "
                             f"{len(xs)}. Pass them as a list, x=[x1, x2, ...].")
        for t, a in zip(self.inputs, xs):
            fixed = t.shape[0]
            self._check_input(t, a[:fixed] if fixed else a)    # the model's own shape message
            if fixed and (batch_size not in (None, fixed) or len(a) % fixed):
                raise ValueError(
                    f"Input '{t.node.layer.name}' has a fixed batch size of {fixed} "
                    f"(rl.Input(batch_size={fixed}), for stateful layers), so every batch must hold "
                    f"{fixed} samples: pass batch_size={fixed} and a number of samples divisible "
                    f"by {fixed} (received {len(a)} samples, batch_size={batch_size}).")

    def _check_targets(self, y, output):
        """The loss's check, with the layer to change when time axes disagree."""
        pred_shape = (None,) + tuple(output.shape[1:])     # any number of samples, in batches
        try:
            self.loss.check(y, pred_shape)
        except ValueError as error:
            layer = sequence_layer(output)
            if layer is None or len(pred_shape) == y.ndim:
                raise
            if len(pred_shape) == 3 and y.ndim < 3 and layer.return_sequences:
                sparse = isinstance(self.loss, losses.SparseCategoricalCrossentropy)
                per_step = (len(y),) + pred_shape[1:2 if sparse else None]    # labels: no class axis
                raise ValueError(
                    f"The model's output has shape {fmt_shape(pred_shape)}, one vector per timestep, "
                    f"because layer '{layer.name}' has return_sequences=True; but the targets y have "
                    f"shape {fmt_shape(y.shape)}, one per sample. Either set return_sequences=False "
                    f"on '{layer.name}' (it then returns only its last output, and the model "
                    f"{fmt_shape((None,) + pred_shape[2:])}), or give one target per timestep, "
                    f"y of shape {fmt_shape(per_step)}.") from error
            if len(pred_shape) == 2 and y.ndim == 3 and not layer.return_sequences:
                raise ValueError(
                    f"The targets y have shape {fmt_shape(y.shape)}, one per timestep, but the model's "
                    f"output has shape {fmt_shape(pred_shape)}, one per sample, because layer "
                    f"'{layer.name}' returns only its last output. Set return_sequences=True on "
                    f"'{layer.name}', or give one target per sample.") from error
            raise


def non_finite(loss, grads):
    """What is NaN or infinite in a step, in words, or None."""
    if not np.isfinite(loss):
        return f"the loss is {loss}"
    for i, g in enumerate(grads):
        if not np.all(np.isfinite(g)):
            return f"the gradient of weight {i} is NaN or infinite (the loss is {loss:.4g})"
    return None


def sequence_layer(tensor):
    """The last layer before ``tensor`` that decides whether time steps survive (an RNN)."""
    while tensor is not None and not isinstance(tensor.node.layer, InputLayer):
        layer = tensor.node.layer
        if hasattr(layer, "return_sequences"):
            return layer
        tensor = tensor.node.input_tensors[0] if tensor.node.input_tensors else None
    return None


def check_batch_size(batch_size):
    if batch_size is None:
        return 32                                   # Keras's default
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive whole number, received {batch_size!r}.")
    return int(batch_size)


def check_lengths(xs, y):
    """The number of samples, the same in every input and the targets (Keras's 'cardinality')."""
    sizes = [len(a) if a.ndim else 0 for a in xs]
    if y is not None:
        sizes.append(len(y) if y.ndim else 0)
    if len(set(sizes)) > 1:
        xs_sizes = ", ".join(str(s) for s in sizes[:len(xs)])
        raise ValueError(
            f"Data cardinality is ambiguous: x has {xs_sizes} samples but y has {sizes[-1]}. "
            "Make sure all arrays contain the same number of samples: one target per sample, "
            "both along the first axis.")
    if not sizes or sizes[0] == 0:
        raise ValueError("Received no samples: x must have at least one row along its first axis.")
    return sizes[0]

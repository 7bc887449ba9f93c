"""Callbacks, as Keras 3 calls them during ``fit``, ``evaluate`` and ``predict``.

``fit`` calls, in this order::

    on_train_begin
      on_epoch_begin(epoch)
        on_train_batch_begin(batch)  ...  on_train_batch_end(batch, logs)   # once per batch
        on_test_begin ... on_test_end(logs)                                 # with validation data
      on_epoch_end(epoch, logs)          # logs: {"loss": ..., "accuracy": ..., "val_loss": ...}
    on_train_end(logs)

Any object with some of these methods works (the missing ones are skipped); setting
``model.stop_training = True`` ends ``fit`` after the current batch.  ``History`` and the
progress bar (``ProgbarLogger``) are added by ``fit`` itself, as in Keras.
"""
import sys
import time
import warnings

import numpy as np

HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
         "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
         "on_predict_batch_begin", "on_predict_batch_end"]


class Callback:
    """Base class: every hook does nothing; ``self.model`` and ``self.params`` are set by fit."""

    def __init__(self):
        self.model, self.params = None, {}

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_batch_begin(self, batch, logs=None):
        """Kept from Keras 2: ``on_train_batch_begin`` calls it."""

    def on_batch_end(self, batch, logs=None):
        """Kept from Keras 2: ``on_train_batch_end`` calls it."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def __repr__(self):
        return f"<{type(self).__name__}>"


for _hook in HOOKS:                      # the hooks without a body: on_epoch_end(epoch, logs), ...
    if not hasattr(Callback, _hook):
        setattr(Callback, _hook, lambda self, *args, **kwargs: None)


class CallbackList:
    """Calls a hook on every callback that has it; adds History and the progress bar."""

    def __init__(self, callbacks=None, model=None, add_history=False, add_progbar=False, **params):
        if callbacks is not None and not isinstance(callbacks, (list, tuple)):
            raise TypeError(f"callbacks must be a list, received {callbacks!r}: "
                            "use callbacks=[...] even for one callback.")
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if isinstance(cb, type):
                raise TypeError(f"callbacks=[{cb.__name__}] holds the class; pass an object: "
                                f"{cb.__name__}(...) with parentheses.")
            if not any(callable(getattr(cb, hook, None)) for hook in HOOKS):
                raise TypeError(f"{cb!r} is not a callback: it has none of the methods "
                                f"{HOOKS[:4]}... Subclass rl.callbacks.Callback.")
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        for cb in self.callbacks:
            if hasattr(cb, "set_model"):
                cb.set_model(model)
            if hasattr(cb, "set_params"):
                cb.set_params(params)

    def __getattr__(self, hook):
        if hook not in HOOKS:
            raise AttributeError(hook)

        def call(*args, **kwargs):
            for cb in self.callbacks:
                method = getattr(cb, hook, None)
                if method is not None:
                    method(*args, **kwargs)
        return call


class History(Callback):
    """``fit`` returns it: ``history.history["loss"]`` has one value per epoch, as every
    other key of the epoch logs; ``history.epoch`` the epoch numbers (from 0)."""

    def __init__(self):
        super().__init__()
        self.history, self.epoch = {}, []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        self.model.history = self

    def __repr__(self):
        return f"<History epochs={len(self.epoch)}, keys={list(self.history)}>"


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs, as Keras 3.

    Improvement means better than the best so far by more than ``min_delta``; ``mode="auto"``
    minimises losses and errors and maximises accuracies.  With ``restore_best_weights`` the
    model gets the weights of its best epoch back at the end (when it stopped or not).
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"EarlyStopping mode '{mode}' is unknown, fallback to auto mode.", stacklevel=2)
            mode = "auto"
        self.monitor, self.mode, self.baseline = monitor, mode, baseline
        self.min_delta, self.patience, self.verbose = abs(min_delta), patience, verbose
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        self.better = None

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best, self.best_weights = None, None

    def _direction(self):
        if self.mode != "auto":
            return self.mode
        name = self.monitor.removeprefix("val_")
        if name == "loss":
            return "min"
        for m in getattr(self.model, "metrics", []):
            if m.name == name:
                return "max" if m.direction == "up" else "min"
        raise ValueError(f"EarlyStopping callback received monitor={self.monitor}, but cannot tell "
                         "whether it should be maximized or minimized. Pass mode='max' (e.g. for "
                         "an accuracy) or mode='min' (for a loss or an error).")

    def improved(self, value, reference):
        if reference is None:
            return True
        if self.better == "min":                  # better by more than min_delta
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_epoch_end(self, epoch, logs=None):
        if self.better is None:
            self.better = self._direction()
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs or {})}", stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self.improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self.improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def __repr__(self):
        return f"<EarlyStopping monitor={self.monitor!r}, patience={self.patience}>"


class ProgbarLogger(Callback):
    """Keras's progress bar during fit (silent during fit's validation), evaluate and predict."""

    def set_params(self, params):
        self.params = params
        self.verbose = 1 if params.get("verbose", 1) == "auto" else params.get("verbose", 1)
        self.epochs, self.target = params.get("epochs", 1), params.get("steps")
        self.in_fit, self.bar = False, None

    def on_train_begin(self, logs=None):
        self.in_fit = True

    def on_epoch_begin(self, epoch, logs=None):
        self.bar = Progbar(self.target, verbose=self.verbose)
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(batch + 1, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        self.bar.update(self.target, logs or {}, finalize=True)

    def on_test_begin(self, logs=None):
        if not self.in_fit:
            self.bar = Progbar(self.target, verbose=self.verbose)

    def on_test_batch_end(self, batch, logs=None):
        if not self.in_fit:
            self.bar.update(batch + 1, logs or {})

    def on_test_end(self, logs=None):
        if not self.in_fit:
            self.bar.update(self.target, logs or {}, finalize=True)

    def on_predict_begin(self, logs=None):
        self.bar = Progbar(self.target, verbose=self.verbose)

    def on_predict_batch_end(self, batch, logs=None):
        self.bar.update(batch + 1, {})

    def on_predict_end(self, logs=None):
        self.bar.update(self.target, {}, finalize=True)


class Progbar:
    """Keras's bar: ``32/32 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.1234``, with Keras's
    colours (ANSI codes), redrawn in place with backspaces and a carriage return."""

    def __init__(self, target, width=20, verbose=1, interval=0.05):
        self.target, self.width, self.verbose, self.interval = target, width, verbose, interval
        self.dynamic = (getattr(sys.stdout, "isatty", lambda: False)() or "ipykernel" in sys.modules
                        or "posix" in sys.modules)     # Keras's test: true on Linux and in Jupyter
        self.start, self.last_update = time.time(), 0
        self.after_first_step, self.prev_width = None, 0

    def update(self, current, logs, finalize=False):
        now = time.time()
        per_step = self.step_duration(current, now)
        metrics = "".join(f" - {k}: {format_value(v, self.verbose)}" for k, v in logs.items())
        if self.verbose == 2 and finalize:
            count = f"{current:{len(str(self.target))}d}/{self.target}"
            sys.stdout.write(f"{count} - {now - self.start:.0f}s -{format_time(per_step)}{metrics}\n")
        elif self.verbose == 1 and (finalize or now - self.last_update >= self.interval):
            done = int(self.width * current / self.target)
            count = f"{current:{len(str(self.target))}d}/{self.target}"
            bar = f"\x1b[1m{count}\x1b[0m " + (f"\33[32m{'━' * done}\x1b[0m" if done else "") \
                + f"\33[37m{'━' * (self.width - done)}\x1b[0m"
            if finalize:
                clock = f"{now - self.start:.0f}s"      # time taken
            else:
                clock = eta(per_step * (self.target - current))
            info = f" \x1b[1m{clock}\x1b[0m{format_time(per_step)}{metrics}"
            width = len(count) + 1 + self.width + len(info) - 8       # printed width, no ANSI
            message = ("\b" * self.prev_width + "\r") if self.dynamic else "\n"
            message += bar + info + " " * max(self.prev_width - width, 0) + ("\n" if finalize else "")
            sys.stdout.write(message)
            self.prev_width = width
        sys.stdout.flush()
        self.last_update = now

    def step_duration(self, current, now):
        """Seconds per step, leaving out the (slow, first-call) first step when possible."""
        if not current:
            return 0.0
        if self.after_first_step is not None and current > 1:
            per_step = (now - self.after_first_step) / (current - 1)
        else:
            per_step = (now - self.start) / current
        if current == 1:
            self.after_first_step = now
        return per_step


def format_value(v, verbose):
    v = float(np.mean(v))
    big = abs(v) > 1e-3 if verbose == 1 else v > 1e-3        # Keras's verbose=2 line has no abs
    return f"{v:.4f}" if big else f"{v:.4e}"


def format_time(seconds):
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/step"
    return f" {seconds * 1e6:.0f}us/step"


def eta(seconds):
    s = int(seconds)
    if seconds > 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    if seconds > 60:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s}s"

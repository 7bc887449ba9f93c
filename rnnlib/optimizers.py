"""Optimizers with Keras 3's update formulas: SGD, Adam, RMSprop.

    opt = rl.optimizers.Adam(learning_rate=1e-3)
    opt.apply(grads, weights)        # lists aligned with model.weights; updates in place

Each step first clips the gradients when asked (one of, as Keras):
    clipnorm=c         each weight's gradient g becomes g * c / max(||g||, c)
    global_clipnorm=c  every g becomes g * c / max(||all gradients||, c)
    clipvalue=c        each element is clipped to [-c, c]
then updates every weight w with its gradient g (lr = learning_rate, t = step count from 1).
The slot arrays (momentum m, velocity v) start at zero and belong to the i-th weight.
"""
import numpy as np


class Optimizer:
    """Base class: clipping, slot arrays, the step count; a subclass writes ``update_step``."""

    def __init__(self, learning_rate, clipnorm=None, clipvalue=None, global_clipnorm=None):
        given = {k: v for k, v in dict(clipnorm=clipnorm, clipvalue=clipvalue,
                                       global_clipnorm=global_clipnorm).items() if v is not None}
        if len(given) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                + ", ".join(f"{k}={v}" for k, v in given.items()) + ". Pick one: clipnorm caps each "
                "weight's gradient norm, global_clipnorm the norm of all gradients together, "
                "clipvalue every single element."
            )
        self.learning_rate = float(learning_rate)
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.iterations = 0                  # steps taken, as Keras's optimizer.iterations
        self.slots = None                    # {slot name: [array per weight]}

    def apply(self, grads, weights):
        """One step: clip ``grads``, then update each array in ``weights`` in place."""
        grads, weights = list(grads), list(weights)
        if len(grads) != len(weights):
            raise ValueError(f"{type(self).__name__}.apply: {len(grads)} gradients for "
                             f"{len(weights)} weights; pass them in model.weights order.")
        for i, (g, w) in enumerate(zip(grads, weights)):
            if np.shape(g) != w.shape:
                raise ValueError(f"{type(self).__name__}.apply: gradient {i} has shape "
                                 f"{np.shape(g)}, its weight {w.shape}.")
        grads = self.clip([np.asarray(g, dtype=w.dtype) for g, w in zip(grads, weights)])
        if self.slots is None:               # built on the first step, as Keras
            self.slots = {name: [np.zeros_like(w) for w in weights] for name in self.slot_names}
            self.shapes = [w.shape for w in weights]
        elif [w.shape for w in weights] != self.shapes:
            raise ValueError(f"This {type(self).__name__} was built for weights of shapes "
                             f"{self.shapes}, received {[w.shape for w in weights]}. Each model "
                             "needs its own optimizer: compile it with a new one.")
        for i, (g, w) in enumerate(zip(grads, weights)):
            self.update_step(g, w, {name: arrays[i] for name, arrays in self.slots.items()})
        self.iterations += 1

    def apply_gradients(self, grads_and_vars):
        """Keras's other spelling of ``apply``: ``opt.apply_gradients(zip(grads, weights))``."""
        grads, weights = zip(*grads_and_vars)
        self.apply(grads, weights)

    def clip(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            return [g * self.clipnorm / max(np.sqrt(np.sum(g * g)), self.clipnorm) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            norm = np.sqrt(sum(np.sum(g * g) for g in grads))
            with np.errstate(divide="ignore"):         # scale is NaN when the norm is inf/NaN
                scale = self.global_clipnorm * min(1 / norm, 1 / self.global_clipnorm) + (norm - norm)
            return [g * g.dtype.type(scale) for g in grads]
        if self.clipvalue and self.clipvalue > 0:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    slot_names = ()

    def update_step(self, g, w, slots):
        raise NotImplementedError

    def __repr__(self):
        clip = "".join(f", {k}={getattr(self, k)}" for k in ("clipnorm", "clipvalue", "global_clipnorm")
                       if getattr(self, k) is not None)
        return f"<{type(self).__name__} learning_rate={self.learning_rate:g}{clip}>"


class SGD(Optimizer):
    """w -= lr * g; with momentum: m = momentum * m - lr * g, then w += m
    (nesterov: w += momentum * m - lr * g, with the new m)."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **clipping):
        super().__init__(learning_rate, **clipping)
        if not 0 <= momentum <= 1:
            raise ValueError(f"SGD(momentum={momentum}) must be between 0 and 1, e.g. 0.9.")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.slot_names = ("momentum",) if self.momentum else ()

    def update_step(self, g, w, slots):
        lr = self.learning_rate
        if not self.momentum:
            w -= g * lr
            return
        m = slots["momentum"]
        m[...] = m * self.momentum - g * lr
        if self.nesterov:
            w += m * self.momentum - g * lr
        else:
            w += m


class Adam(Optimizer):
    """m = beta_1 * m + (1 - beta_1) * g;  v = beta_2 * v + (1 - beta_2) * g**2;
    w -= m * alpha / (sqrt(v) + epsilon),  alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)."""

    slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **clipping):
        super().__init__(learning_rate, **clipping)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def update_step(self, g, w, slots):
        t = self.iterations + 1
        alpha = self.learning_rate * np.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        m, v = slots["momentum"], slots["velocity"]
        m[...] = self.beta_1 * m + (1 - self.beta_1) * g
        v[...] = self.beta_2 * v + (1 - self.beta_2) * (g * g)
        w -= m * float(alpha) / (np.sqrt(v) + self.epsilon)


class RMSprop(Optimizer):
    """v = rho * v + (1 - rho) * g**2;  step = lr * g / sqrt(v + epsilon)  (epsilon inside the root, as Keras);
    w -= step, or with momentum: m = momentum * m + step, w -= m."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, **clipping):
        super().__init__(learning_rate, **clipping)
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.slot_names = ("velocity", "momentum") if self.momentum > 0 else ("velocity",)

    def update_step(self, g, w, slots):
        v = slots["velocity"]
        v[...] = self.rho * v + (1 - self.rho) * (g * g)
        step = self.learning_rate * g / np.sqrt(v + self.epsilon)
        if self.momentum > 0:
            m = slots["momentum"]
            m[...] = self.momentum * m + step
            w -= m
        else:
            w -= step


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}


def get(identifier):
    """``"sgd"``, ``"adam"``, ``"rmsprop"`` (any case, Keras's defaults) or an Optimizer object."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        raise TypeError(f"optimizer={identifier.__name__} is the class; pass an object: "
                        f"optimizer=rl.optimizers.{identifier.__name__}() (parentheses), "
                        "or the name, optimizer='" + identifier.__name__.lower() + "'.")
    if isinstance(identifier, str) and identifier.lower() in OPTIMIZERS:
        return OPTIMIZERS[identifier.lower()]()
    raise ValueError(f"Unknown optimizer {identifier!r}. rnnlib knows {sorted(OPTIMIZERS)} "
                     "(Keras's names), or an object such as rl.optimizers.Adam(learning_rate=1e-3).")

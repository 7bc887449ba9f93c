"""rnnlib: the course's NumPy RNN library.  Its behaviour is Keras 3's.

    import rnnlib as rl
    x = rl.Input(shape=(2, 1))              # 2 timesteps of 1 feature; shape (None, 2, 1)
    y = rl.layers.SimpleRNN(10)(x)          # (None, 10)
    rl.Model(x, y).summary()                # 120 parameters

Only NumPy is needed; ``rnnlib.viz`` and ``rnnlib.widgets`` bring in matplotlib and
ipywidgets when they are used.
"""
from . import callbacks, initializers, layers, losses, metrics, ops, optimizers, utils
from .backend import floatx, set_floatx
from .backprop import Gradients, gradients
from .gradcheck import gradient_check, numerical_gradient
from .engine import Input, SymbolicTensor, clear_session
from .models import Model, Sequential

__all__ = ["layers", "initializers", "losses", "metrics", "optimizers", "callbacks", "ops", "utils", "gradients", "Gradients",
           "gradient_check", "numerical_gradient", "Input", "Model", "Sequential", "SymbolicTensor",
           "floatx", "set_floatx", "clear_session"]
__version__ = "0.1.0"


def __getattr__(name):
    """``rl.viz`` and ``rl.widgets`` are imported on first use (they need matplotlib/ipywidgets)."""
    if name in ("viz", "widgets"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'rnnlib' has no attribute {name!r}")

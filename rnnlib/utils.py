"""Utilities with Keras 3's names: ``rl.utils.set_random_seed``."""
import random

import numpy as np

from . import backend


def set_random_seed(seed):
    """Seed every generator rnnlib draws from (and Python's and NumPy's global ones), as
    ``keras.utils.set_random_seed``: the weights built after it are the same on every run."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"set_random_seed expects a whole number, received {seed!r}.")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    backend.reset_global_rng(int(seed))

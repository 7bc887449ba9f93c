"""Embedding (token ids -> vectors) and Masking: where masks come from.

    ids (batch, timesteps) whole numbers in [0, input_dim)
    Embedding: y[b, t] = embeddings[ids[b, t]]        (batch, timesteps, output_dim)
    mask_zero=True: id 0 is padding, mask = ids != 0  (batch, timesteps)
    Masking(mask_value=0.0): a timestep whose features all equal mask_value is padding;
    its features are set to 0 and mask = any(x != mask_value, axis=-1).

The mask then travels with the tensor through the model (see ``Layer.compute_mask``):
an RNN skips the masked steps, a loss leaves them out, as in Keras 3.  That happens inside
a model (rl.Model / rl.Sequential).  Called eagerly on arrays, a layer cannot hang a mask on
a NumPy array (Keras on torch attaches it to the tensor): pass it yourself,
``lstm(emb(ids), mask=emb.compute_mask(ids))``.
"""
import numpy as np

from .. import initializers
from ..engine import Grads, Layer, SymbolicTensor, fmt_shape
from .rnn import check_units


class Embedding(Layer):
    """A lookup table: weight ``embeddings`` (input_dim, output_dim), one row per token id."""

    weight_names = ("embeddings",)

    def __init__(self, input_dim, output_dim, mask_zero=False, embeddings_initializer="uniform",
                 name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.input_dim = check_units(input_dim, "Embedding(input_dim)")
        self.output_dim = check_units(output_dim, "Embedding(output_dim)")
        self.mask_zero = bool(mask_zero)
        self.embeddings_initializer = (initializers.RandomUniform() if embeddings_initializer == "uniform"
                                       else initializers.get(embeddings_initializer))

    def _to_arrays(self, inputs):
        """Token ids stay whole numbers: refuse what cannot be one, before any lookup."""
        if isinstance(inputs, SymbolicTensor):
            return inputs
        ids = np.asarray(inputs)
        where = f"Layer '{self.name}' (Embedding(input_dim={self.input_dim}))"
        if ids.dtype.kind not in "biuf":
            raise TypeError(f"{where} expects token ids (whole numbers), received dtype {ids.dtype} "
                            f"with shape {fmt_shape(ids.shape)}. Turn text into ids first.")
        if ids.dtype.kind == "f" and not np.all(np.isfinite(ids) & (ids == np.round(ids))):
            raise TypeError(f"{where} expects token ids, whole numbers, but received fractions, "
                            f"e.g. {ids[ids != np.round(ids)].ravel()[:1]} in an array of shape "
                            f"{fmt_shape(ids.shape)}. Did real-valued features reach the Embedding? "
                            "Those go straight into an RNN (batch, timesteps, features).")
        bad = (ids < 0) | (ids >= self.input_dim)
        if np.any(bad):
            first = ids[bad].ravel()[0]
            fix = ("Ids count from 0 (0 is the padding id with mask_zero=True); shift them, or "
                   "give unknown tokens a reserved id." if first < 0 else
                   f"Make input_dim at least {int(ids.max()) + 1}, or map unknown tokens to a "
                   "reserved id.")
            raise ValueError(
                f"{where} received token id {first:g} in an array of shape "
                f"{fmt_shape(ids.shape)}; ids must lie in [0, {self.input_dim - 1}] (input_dim is "
                f"the size of the vocabulary). {fix}")
        return ids.astype(np.int64)

    def check(self, shape):
        if isinstance(shape, list):
            raise ValueError(f"Layer '{self.name}' takes one tensor of token ids, received {len(shape)}.")
        if len(shape) < 1:
            raise ValueError(f"Layer '{self.name}' needs (batch, timesteps) token ids, received "
                             f"a scalar of shape {fmt_shape(shape)}.")

    def build(self, shape):
        self.embeddings = self.embeddings_initializer((self.input_dim, self.output_dim), self.dtype)

    def compute_output_shape(self, shape):
        return tuple(shape) + (self.output_dim,)

    def compute_mask(self, inputs, mask=None):
        return None if not self.mask_zero else np.asarray(inputs) != 0   # (batch, timesteps)

    def call(self, ids):
        return self.embeddings[ids]                        # (batch, timesteps, output_dim)

    def backward(self, cache, d_y):
        """Each row of ``embeddings`` gets the sum of d_y over every place its id was read."""
        ids, _ = cache
        d_table = np.zeros_like(self.embeddings)
        np.add.at(d_table, ids.ravel(), d_y.reshape(-1, self.output_dim))
        return Grads(None, [d_table])

    def __repr__(self):
        return (f"<Embedding name={self.name!r}, input_dim={self.input_dim}, "
                f"output_dim={self.output_dim}, mask_zero={self.mask_zero}>")


class Masking(Layer):
    """Marks timesteps whose features all equal ``mask_value`` as padding (and zeroes them)."""

    def __init__(self, mask_value=0.0, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.mask_value = mask_value

    def check(self, shape):
        if isinstance(shape, list) or len(shape) < 2:
            raise ValueError(f"Layer '{self.name}' (Masking) needs (batch, timesteps, features), "
                             f"received {fmt_shape(shape)}.")

    def compute_output_shape(self, shape):
        return shape

    def compute_mask(self, inputs, mask=None):
        return np.any(np.asarray(inputs) != self.mask_value, axis=-1)

    def call(self, x):
        keep = np.any(x != self.mask_value, axis=-1, keepdims=True)
        return np.where(keep, x, 0).astype(x.dtype)

    def backward(self, cache, d_y):
        x, _ = cache
        return Grads(np.where(np.any(x != self.mask_value, axis=-1, keepdims=True), d_y, 0.0), [])

    def __repr__(self):
        return f"<Masking name={self.name!r}, mask_value={self.mask_value!r}>"

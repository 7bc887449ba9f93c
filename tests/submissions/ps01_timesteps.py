"""Sample submissions for ps01_timesteps: one wrong idea per variant (see submissions/__init__)."""

ASSIGNMENT = "ps01_timesteps"
AUTOGRADED_POINTS = 10

_REFERENCE_SHAPES = {
    "simple_rnn": (None, 10),
    "return_sequences": (None, 2, 10),
    "return_state": [(None, 4), (None, 4)],
    "lstm_state": [(None, 5, 4), (None, 4), (None, 4)],
    "chain": (None, 5),
    "gru_on_vectors": (None, 6),
    "reshape": (None, 32, 512),
    "gru_1": (None, 16),
    "gru_1b": (None, 32, 16),
    "add": (None, 32, 16),
    "gru_2": (None, 32, 16),
    "concatenate": (None, 32, 32),
}


def _shapes(**changes):
    """The predicted_shapes cell with some answers changed."""
    shapes = dict(_REFERENCE_SHAPES, **changes)
    return "predicted_shapes = " + repr(shapes)


VARIANTS = {
    # cuts each row the Fortran way: values of one timestep spread across the vector
    "column_major": dict(cells={"to_timesteps": '''
def to_timesteps(vectors, timesteps):
    batch, n = vectors.shape
    if n % timesteps:
        raise ValueError(f"{n} values do not split into {timesteps} timesteps")
    return vectors.reshape(batch, timesteps, n // timesteps, order="F")
'''}, score=8, feedback=["Misconception: column-major reshape"]),
    # lets NumPy's reshape fail: a ValueError, but its message does not name n
    "numpy_error": dict(cells={"to_timesteps": '''
def to_timesteps(vectors, timesteps):
    return vectors.reshape(vectors.shape[0], timesteps, vectors.shape[1] // timesteps)
'''}, score=9, feedback=["does not mention"]),
    "swapped_input_shapes": dict(cells={"input_shapes": '''
def input_shapes(n):
    return (1, n), (n, 1)
'''}, score=8, feedback=["Misconception: timesteps and features swapped"]),
    # every shape written without the batch axis
    "no_batch_axis": dict(cells={"predicted_shapes": _shapes(**{
        k: (v[1:] if isinstance(v, tuple) else [s[1:] for s in v])
        for k, v in _REFERENCE_SHAPES.items()})},
        score=5, feedback=["the batch axis None comes first"]),
    # the classic: an RNN without return_sequences still returning a sequence
    "gru_1_sequence": dict(cells={"predicted_shapes": _shapes(gru_1=(None, 32, 16))},
                           score=8, feedback=["returns only its last output"]),
    # expects add to keep the vector's shape (it broadcasts over time instead)
    "add_no_broadcast": dict(cells={"predicted_shapes": _shapes(add=(None, 16))},
                             score=8, feedback=["adds the same vector at"]),
    "return_state_one_tensor": dict(cells={"predicted_shapes": _shapes(return_state=(None, 4))},
                                    score=7, feedback=["returns a list [output, *states]"]),
}

"""Sample submissions for ps01_timesteps: one wrong idea per variant (see submissions/__init__)."""

ASSIGNMENT = "ps01_timesteps"
AUTOGRADED_POINTS = 10

_REFERENCE_SHAPES = {
    "dense": (None, 10),
    "two_timesteps": (None, 10),
    "one_timestep": (None, 10),
    "long_sequence": (None, 10),
    "sensors": (None, 6),
    "one_sensor": (None, 12, 1),
    "four_sensors": (None, 3, 4),
    "one_moment": (None, 1, 12),
    "daily_weather": (None, 7, 3),
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
    # every shape written without the batch axis: Part C's two test cells fail (3 + 2)
    "no_batch_axis": dict(cells={"predicted_shapes": _shapes(**{
        k: v[1:] for k, v in _REFERENCE_SHAPES.items()})},
        score=5, feedback=["the batch axis None comes first"]),
    # an RNN's output given one vector per timestep (hidden check of test_shapes_models)
    "sequence_per_step": dict(cells={"predicted_shapes": _shapes(long_sequence=(None, 200, 10))},
                              score=7, feedback=["whatever the number of timesteps"]),
    "timesteps_features_swapped_data": dict(
        cells={"predicted_shapes": _shapes(four_sensors=(None, 4, 3))},
        score=8, feedback=["Misconception: timesteps and features swapped"]),
}

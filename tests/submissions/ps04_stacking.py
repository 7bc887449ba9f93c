"""Sample submissions for ps04_stacking: one wrong idea per variant (see submissions/__init__)."""

ASSIGNMENT = "ps04_stacking"
AUTOGRADED_POINTS = 10

_STACK = '''
def stack_forward(x, layers_weights, return_sequences_flags):
    sequence = x
    for (kernel, recurrent_kernel, bias), return_sequences in zip(layers_weights,
                                                                  return_sequences_flags):
        h = np.zeros((sequence.shape[0], recurrent_kernel.shape[0]))
        outputs = []
        for t in range(sequence.shape[1]):
            h = simple_rnn_step(sequence[:, t], h, kernel, recurrent_kernel, bias)
            outputs.append(h)
        sequence = np.stack(outputs, axis=1) if return_sequences else LAST
    return sequence
'''

_SHAPES = '''
def stack_output_shapes(input_shape, layers):
    shape, shapes = (None,) + tuple(input_shape), []
    for layer in layers:
        if isinstance(layer, rl.layers.Dense):
            shape = shape[:-1] + (layer.units,)
        elif len(shape) != 3:
            shapes.append("error")
            break
        elif RETURN_SEQUENCES:
            shape = (None, shape[1], layer.units)
        else:
            shape = (None, layer.units)
        shapes.append(SHAPE)
    return shapes
'''

VARIANTS = {
    # without return_sequences, keeps the output after the FIRST step
    "first_output": dict(cells={"stack_forward": _STACK.replace("LAST", "outputs[0]")},
                         score=6, feedback=["Misconception: first instead of last output"]),
    # loops over axis 0 as if x were (timesteps, batch, features)
    "time_major": dict(cells={"stack_forward": '''
def stack_forward(x, layers_weights, return_sequences_flags):
    sequence = x                                   # read as (timesteps, batch, features)
    for (kernel, recurrent_kernel, bias), return_sequences in zip(layers_weights,
                                                                  return_sequences_flags):
        h = np.zeros((sequence.shape[1], recurrent_kernel.shape[0]))
        outputs = []
        for t in range(sequence.shape[0]):
            h = simple_rnn_step(sequence[t], h, kernel, recurrent_kernel, bias)
            outputs.append(h)
        sequence = np.stack(outputs, axis=0) if return_sequences else h
    return sequence
'''}, score=6, feedback=["Misconception: time-major layout"]),
    "calls_rnnlib": dict(cells={"stack_forward": '''
def stack_forward(x, layers_weights, return_sequences_flags):
    y = x
    for weights, flag in zip(layers_weights, return_sequences_flags):
        layer = rl.layers.SimpleRNN(weights[1].shape[0], return_sequences=flag)
        layer(y)
        layer.set_weights(list(weights))
        y = layer(y)
    return y
'''}, score=6, feedback=["Misconception: calls rnnlib instead of implementing"]),
    "shapes_without_batch": dict(cells={"stack_output_shapes": _SHAPES.replace(
        "RETURN_SEQUENCES", "layer.return_sequences").replace("SHAPE)", "shape[1:])")},
        score=7, feedback=["Misconception: batch axis left out"]),
    "shapes_ignore_return_sequences": dict(cells={"stack_output_shapes": _SHAPES.replace(
        "RETURN_SEQUENCES", "True").replace("SHAPE)", "shape)")},
        score=7, feedback=["Misconception: return_sequences ignored"]),
    # builds the broken encoder as it is: add broadcasts gru_1's (None, 16) over time
    "encoder_not_fixed": dict(cells={"build_fixed_encoder": '''
def build_fixed_encoder():
    feature_map = rl.Input(shape=(32, 32, 16))
    x = rl.layers.Reshape((32, 512))(feature_map)
    gru_1 = rl.layers.GRU(16)(x)
    gru_1b = rl.layers.GRU(16, return_sequences=True, go_backwards=True)(x)
    merged = rl.layers.add([gru_1, gru_1b])
    gru_2 = rl.layers.GRU(16, return_sequences=True)(merged)
    gru_2b = rl.layers.GRU(16, return_sequences=True, go_backwards=True)(merged)
    both = rl.layers.concatenate([gru_2, gru_2b])
    expanded = rl.layers.Reshape((32, 32, 1))(both)
    output = rl.layers.concatenate([feature_map, expanded], axis=3)
    return rl.Model(feature_map, output)
'''}, score=8, feedback=["Misconception: add broadcasts a vector across timesteps"]),
    # issue 11: was accepted (right output shape and parameter count): gru_2 and gru_2b
    # joined along time, (None, 64, 16), which Reshape((32, 32, 1)) happens to take
    "concatenate_on_time": dict(cells={"build_fixed_encoder": '''
def build_fixed_encoder():
    feature_map = rl.Input(shape=(32, 32, 16))
    x = rl.layers.Reshape((32, 512))(feature_map)
    gru_1 = rl.layers.GRU(16, return_sequences=True)(x)
    gru_1b = rl.layers.GRU(16, return_sequences=True, go_backwards=True)(x)
    merged = rl.layers.add([gru_1, gru_1b])
    gru_2 = rl.layers.GRU(16, return_sequences=True)(merged)
    gru_2b = rl.layers.GRU(16, return_sequences=True, go_backwards=True)(merged)
    both = rl.layers.concatenate([gru_2, gru_2b], axis=1)
    expanded = rl.layers.Reshape((32, 32, 1))(both)
    output = rl.layers.concatenate([feature_map, expanded], axis=3)
    return rl.Model(feature_map, output)
'''}, score=8, feedback=["(Concatenate) outputs (None, 64, 16); no Concatenate of the repaired encoder"]),
    # "fixes" the twin instead: then add gets two vectors and gru_2 has no sequence to read
    "fix_on_wrong_layer": dict(cells={"encoder_fix": '''
encoder_fix = {"layer": "gru_1b", "flag": "return_sequences", "value": False}
'''}, score=9, feedback=["rnnlib cannot build the encoder any more"]),
}

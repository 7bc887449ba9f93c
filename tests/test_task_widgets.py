"""Lesson 11's tasks explorer and picture, headless (tests/test_lessons.py runs the lesson itself).

Expected shapes come from models built here with rnnlib's (or Keras's) own layers, and what
the text claims about masks is checked by running the explorer's model on changed inputs,
never by repeating the explorer's arithmetic.
"""
import base64
import html
import re

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from numpy.testing import assert_allclose

import rnnlib as rl
import rnnlib.task_widgets as tw
from rnnlib import viz

CASES = [("many-to-one", "RepeatVector"), ("many-to-many", "RepeatVector"),
         ("one-to-many", "RepeatVector"), ("encoder-decoder", "RepeatVector"),
         ("encoder-decoder", "initial_state")]
CASE_IDS = ["many-to-one", "many-to-many", "one-to-many", "encoder-decoder-repeat", "encoder-decoder-states"]


def listed_shapes(text):
    """{row name: shape text} from the explorer's lines 'name  (None, 6, 4)  what it is'."""
    return dict(re.findall(r"^(\w+) +(\([^)]*\)) ", text, re.M))


def expected_shapes(layers, case, timesteps, units, steps_out, decoder):
    """The same model built here with plain layers (``layers`` is rl.layers or keras.layers)."""
    Input = rl.Input if layers is rl.layers else __import__("keras").Input
    shapes = {}
    if case == "one-to-many":
        x = Input(shape=(1,))
        v = layers.Dense(units, activation="tanh")(x)
        r = layers.RepeatVector(steps_out)(v)
        seq = layers.LSTM(units, return_sequences=True)(r)
        shapes.update(x=x.shape, dense_in=v.shape, repeat_vector=r.shape, lstm=seq.shape)
    else:
        ids = Input(shape=(timesteps,), dtype="int32")
        e = layers.Embedding(10, 4, mask_zero=True)(ids)
        shapes.update(ids=ids.shape, embedding=e.shape)
        if case != "encoder-decoder":
            seq = layers.LSTM(units, return_sequences=case == "many-to-many")(e)
            shapes["lstm"] = seq.shape
        else:
            last, h, c = layers.LSTM(units, return_state=True)(e)
            shapes["encoder"] = last.shape
            if decoder == "RepeatVector":
                r = layers.RepeatVector(steps_out)(last)
                seq = layers.LSTM(units, return_sequences=True)(r)
                shapes["repeat_vector"] = r.shape
            else:
                shifted = Input(shape=(steps_out,), dtype="int32")
                read = layers.Embedding(10, 4)(shifted)
                seq = layers.LSTM(units, return_sequences=True)(read, initial_state=[h, c])
                shapes.update(decoder_ids=shifted.shape, decoder_embedding=read.shape)
            shapes["decoder"] = seq.shape
    out = layers.Dense(1 if case == "many-to-one" else 10)(seq)
    shapes["dense"] = out.shape
    return {name: str(tuple(shape)) for name, shape in shapes.items()}


def grey_boxes(e):
    """How many boxes of the picture are drawn grey (padding, and cells that keep their state)."""
    collection = next(c for c in e.ax.collections if len(c.get_paths()) > 1)
    grey = np.array(to_rgba(viz.OFF))
    return int(np.all(np.isclose(collection.get_facecolors(), grey), axis=1).sum())


def explorer_outputs(e, ids, decoder_ids=None):
    """The explorer's own model, and its LSTM's states, on the given ids."""
    _, h, c = e.task.states
    model = rl.Model(e.task.model.inputs if decoder_ids is not None else e.task.model.inputs[0],
                     [e.task.model.outputs, h, c])
    return model(ids if decoder_ids is None else [ids, decoder_ids])


@pytest.mark.parametrize("case, decoder", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("timesteps, units, steps_out", [(6, 8, 4), (3, 1, 7), (10, 32, 1)],
                         ids=["defaults", "small", "large"])
def test_every_tensor_is_listed_with_the_shape_rnnlib_builds(case, decoder, timesteps, units, steps_out):
    e = tw.tasks_explorer(case=case, decoder=decoder, padding=0)
    e.timesteps.value, e.units.value, e.steps_out.value = timesteps, units, steps_out
    expected = expected_shapes(rl.layers, case, timesteps, units, steps_out, decoder)
    assert listed_shapes(e.text) == expected
    assert f"states: h (None, {units}), c (None, {units})" in e.text
    assert e.shapes["h"] == f"(None, {units})"


@pytest.mark.parametrize("case", ["many-to-one", "many-to-many", "encoder-decoder"])
@pytest.mark.parametrize("padding", [1, 3])
def test_masked_steps_change_nothing_and_are_drawn_grey(case, padding):
    e = tw.tasks_explorer(case=case, timesteps=6, padding=padding)
    ids = tw.sample_ids(6, padding)
    assert_allclose(e.mask, ids != 0)
    assert_allclose(e.mask, rl.layers.Embedding(10, 4, mask_zero=True).compute_mask(ids))
    assert f"mask {(ids[0] != 0).astype(int).tolist()}" in e.text
    _, padded_h, padded_c = explorer_outputs(e, ids)
    lstm = next(layer for layer in e.task.model.layers if layer.name == e.task.states[0])
    _, h, c = lstm(e.task.embedding(ids[:, :6 - padding]))    # the real steps alone, no padding
    assert_allclose(padded_h, h, atol=1e-6)                    # the last h is the last real step's
    assert_allclose(padded_c, c, atol=1e-6)
    kept = padding * (2 if case != "many-to-many" else 3)          # inputs, cells (and tags)
    assert grey_boxes(e) == kept
    assert "keeps h" in e.text or "keeps its state" in e.text


@pytest.mark.parametrize("case", ["many-to-one", "many-to-many"])
def test_without_mask_zero_the_padding_is_read_as_data(case):
    e = tw.tasks_explorer(case=case, timesteps=6, padding=2)
    e.mask_zero.value = False
    assert e.mask is None and "no mask, so the 0s are read as tokens" in e.text
    ids = tw.sample_ids(6, 2)
    other = ids.copy()
    other[0, 4:] = 7
    _, h, _ = explorer_outputs(e, ids)
    _, h_other, _ = explorer_outputs(e, other)
    assert np.abs(h - h_other).max() > 1e-4          # the padded steps were read
    assert grey_boxes(e) == 2                         # the padded inputs only: no cell keeps its state
    assert "mask (None, 6)" not in [t.get_text() for t in e.ax.texts]


def test_time_distributed_dense_gives_the_same_numbers_as_the_dense():
    e = tw.tasks_explorer(case="many-to-many", timesteps=5, padding=1)
    ids = tw.sample_ids(5, 1)
    plain = e.task.model(ids)
    e.time_distributed.value = True
    assert [type(layer).__name__ for layer in e.task.model.layers][-1] == "TimeDistributed"
    assert_allclose(e.task.model(ids), plain, atol=1e-6)
    assert listed_shapes(e.text)["time_distributed"] == "(None, 5, 10)"
    assert "the same numbers as the Dense alone" in e.text


def test_the_decoder_starts_from_the_encoders_states_or_repeats_its_last_h():
    e = tw.tasks_explorer(case="encoder-decoder", timesteps=5, padding=0, steps_out=3,
                          decoder="initial_state")
    assert len(e.task.model.inputs) == 2
    assert "-> the decoder's initial_state" in e.text
    assert "[h, c]" in [t.get_text() for t in e.ax.texts]
    decoder = next(layer for layer in e.task.model.layers if layer.name == "decoder")
    shifted = np.array([[9, 1, 2]])
    a, b = tw.sample_ids(5, 0), tw.sample_ids(5, 0)[:, ::-1].copy()
    out_a = e.task.model([a, shifted])
    out_b = e.task.model([b, shifted])
    assert np.abs(out_a - out_b).max() > 1e-4      # the decoder's output depends on the encoder's states
    _, h, c = explorer_outputs(e, a, shifted)
    embedded = next(layer for layer in e.task.model.layers if layer.name == "decoder_embedding")(shifted)
    sequence, *_ = decoder(embedded, initial_state=[h, c])
    dense = e.task.model.layers[-1]
    assert_allclose(dense(sequence), out_a, atol=1e-6)
    e.decoder.value = "RepeatVector"
    assert len(e.task.model.inputs) == 1
    assert "repeat_vector" in listed_shapes(e.text) and "[h, c]" not in [t.get_text() for t in e.ax.texts]


@pytest.mark.parametrize("case, enabled", [
    ("many-to-one", {"timesteps", "padding", "mask_zero", "units"}),
    ("many-to-many", {"timesteps", "padding", "mask_zero", "units", "time_distributed"}),
    ("one-to-many", {"steps_out", "units"}),
    ("encoder-decoder", {"timesteps", "padding", "mask_zero", "units", "steps_out", "decoder"}),
])
def test_only_the_controls_of_the_case_are_enabled(case, enabled):
    e = tw.tasks_explorer(case="one-to-many" if case != "one-to-many" else "many-to-one")
    e.case.value = case
    names = ["timesteps", "padding", "mask_zero", "units", "time_distributed", "steps_out", "decoder"]
    assert {name for name in names if not getattr(e, name).disabled} == enabled


def test_fewer_timesteps_keep_one_real_step():
    e = tw.tasks_explorer(case="many-to-many", timesteps=6, padding=5)
    e.timesteps.value = 3
    assert e.padding.value == 2 and e.padding.max == 2
    assert "a sample: ids [3, 0, 0]" in e.text
    assert grey_boxes(e) == 3 * 2


def test_every_control_draws_a_new_picture():
    e = tw.tasks_explorer(case="many-to-one")
    seen = {e.png}
    for control, value in [(e.padding, 1), (e.timesteps, 9), (e.units, 3), (e.mask_zero, False),
                           (e.case, "many-to-many"), (e.time_distributed, True),
                           (e.case, "encoder-decoder"), (e.decoder, "initial_state"),
                           (e.steps_out, 6), (e.case, "one-to-many")]:
        control.value = value
        assert e.png not in seen, f"{control.description}={value!r} did not redraw"
        seen.add(e.png)


def test_the_fallback_is_the_picture_and_the_text():
    e = tw.tasks_explorer(case="encoder-decoder", decoder="initial_state", units=5)
    bundle = e._repr_mimebundle_()
    picture = base64.b64encode(e.png).decode("ascii")
    assert bundle["text/html"] == f"<img src='data:image/png;base64,{picture}'/><pre>{html.escape(e.text)}</pre>"
    assert bundle["text/plain"] == f"{e!r}\n{e.text}"
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert repr(e).startswith("<TasksExplorer case=encoder-decoder, decoder=initial_state, ")
    assert "units=5" in repr(e)


def test_task_shapes_draws_the_four_cases_with_their_shapes():
    picture = tw.task_shapes()
    assert picture.png().startswith(b"\x89PNG")
    axes = picture.figure.axes
    assert len(axes) == 4
    titles = [t.get_text() for t in picture.figure.texts]
    assert titles == [tw.TITLES[case] for case in tw.CASES]
    labels = [[t.get_text() for t in ax.texts] for ax in axes]
    assert "ids (None, 5)" in labels[0] and "dense (None, 1)" in labels[0]
    assert "dense (None, 5, 10)" in labels[1] and "mask (None, 5)" in labels[1]
    assert "x (None, 1)" in labels[2] and "mask (None, 5)" not in labels[2]
    assert "[h, c]" in labels[3] and "decoder_ids (None, 3)" in labels[3]


def test_unknown_case_is_an_error_that_lists_the_cases():
    with pytest.raises(ValueError, match="many-to-one, many-to-many, one-to-many, encoder-decoder"):
        tw.task_model("seq2seq")


def learners_model(run_first):
    """A learner's model built after set_random_seed(3) and ``run_first()``: names and weights."""
    rl.clear_session()
    rl.utils.set_random_seed(3)
    run_first()
    ids = rl.Input(shape=(4,), dtype="int32")
    model = rl.Model(ids, rl.layers.Dense(2)(rl.layers.LSTM(3)(rl.layers.Embedding(5, 3)(ids))))
    return [layer.name for layer in model.layers] + [model.name], model.get_weights()


def use_the_explorer_and_the_picture():
    e = tw.tasks_explorer(case="encoder-decoder", decoder="initial_state")
    e.case.value = "one-to-many"
    tw.task_shapes()


def test_the_learners_automatic_names_and_random_state_are_left_alone():
    names, weights = learners_model(lambda: None)
    names_after, weights_after = learners_model(use_the_explorer_and_the_picture)
    assert names_after == names == ["input_layer", "embedding", "lstm", "dense", "functional"]
    assert len(weights_after) == len(weights) == 6
    for after, before in zip(weights_after, weights):
        assert_allclose(after, before, atol=0)


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("case, decoder", CASES, ids=CASE_IDS)
def test_the_shapes_listed_are_the_shapes_keras_builds(case, decoder):
    keras = pytest.importorskip("keras")
    e = tw.tasks_explorer(case=case, decoder=decoder, timesteps=7, units=5, steps_out=3, padding=2)
    assert listed_shapes(e.text) == expected_shapes(keras.layers, case, 7, 5, 3, decoder)

"""Lesson 10's live loss picture and training explorer, headless.

The callback is driven by a real ``fit`` (rnnlib's, and Keras's in a subprocess) and its
picture checked against the ``History`` that fit returns; the explorer's curves against
the recorded runs, and the recorded runs against a fresh training run.
"""

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from numpy.testing import assert_allclose

import rnnlib as rl
import rnnlib.train_widgets as tw

PNG = b"\x89PNG\r\n\x1a\n"


def small_fit(epochs=3, metrics=None, **fit_options):
    """A tiny regression (or, with metrics, classification) fit with a LiveLossPlot."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(40, 4, 2)).astype("float32")             # (batch, timesteps, features)
    rl.utils.set_random_seed(0)
    if metrics:
        y = (x[:, 0, 0] > 0.5).astype("int64")
        head, loss = rl.layers.Dense(2, activation="softmax"), "sparse_categorical_crossentropy"
    else:
        y = x.sum(axis=(1, 2))[:, None]
        head, loss = rl.layers.Dense(1), "mse"
    model = rl.Sequential([rl.Input(shape=(4, 2)), rl.layers.SimpleRNN(3), head])
    model.compile(optimizer="adam", loss=loss, metrics=metrics)
    plot = tw.live_loss_plot()
    history = model.fit(x, y, epochs=epochs, batch_size=8, verbose=0, callbacks=[plot], **fit_options)
    return plot, history


@pytest.fixture
def shown(monkeypatch):
    """Record what the callback asks IPython to show, as a notebook would receive it."""
    calls = []

    def display(picture, handle=None):
        calls.append((picture.text, handle, picture.png()))
        return handle or "handle-1"
    monkeypatch.setattr(tw, "_display", display)
    return calls


def test_live_plot_redraws_once_per_epoch_in_place(shown):
    plot, history = small_fit(epochs=4, validation_split=0.25)
    assert plot.redraws == 4
    assert [handle for _, handle, _ in shown] == [None, "handle-1", "handle-1", "handle-1"], \
        "shown once, then replaced in place"
    assert all(png.startswith(PNG) for _, _, png in shown)
    assert [text.split(":")[0] for text, _, _ in shown] == [f"epoch {k}/4" for k in (1, 2, 3, 4)]


def test_live_plot_draws_what_history_holds(shown):
    plot, history = small_fit(epochs=3, validation_split=0.25)
    assert list(plot.axes) == ["loss"]
    for key in ("loss", "val_loss"):
        epochs, values = plot.lines[key].get_data()
        assert list(epochs) == [1, 2, 3]
        assert_allclose(values, history.history[key], rtol=1e-6)
    assert plot.lines["val_loss"].get_linestyle() == "--", "validation dashed"
    assert plot.axes["loss"].get_xlim() == (0.5, 3.5), "the x axis spans the epochs asked for"
    low, high = plot.axes["loss"].get_ylim()
    drawn = history.history["loss"] + history.history["val_loss"]
    assert low < min(drawn) and high > max(drawn)


def test_live_plot_gives_each_metric_a_panel(shown):
    plot, history = small_fit(epochs=2, metrics=["accuracy"], validation_split=0.25)
    assert list(plot.axes) == ["loss", "accuracy"], "the loss first"
    assert set(plot.lines) == {"loss", "val_loss", "accuracy", "val_accuracy"}
    assert_allclose(plot.lines["val_accuracy"].get_data()[1], history.history["val_accuracy"])


def test_live_plot_without_validation_draws_training_only(shown):
    plot, _ = small_fit(epochs=2)
    assert set(plot.lines) == {"loss"}


def test_live_plot_starts_again_on_a_second_fit(shown):
    plot, _ = small_fit(epochs=2)
    assert plot.redraws == 2
    plot.on_train_begin()
    assert plot.logs == {} and plot.epochs_seen == [] and plot.handle is None, \
        "a second fit draws a new picture, not onto the old one"


def test_outside_ipython_it_shows_nothing_but_keeps_the_figure(capsys):
    plot, history = small_fit(epochs=2, validation_split=0.25)
    assert plot.handle is None, "no IPython shell: nothing displayed"
    assert capsys.readouterr().out == "", "and nothing printed (verbose=0 stays silent)"
    assert plot._repr_png_().startswith(PNG)
    assert repr(plot).startswith("<LiveLossPlot epoch 2/2: loss ")


def test_live_plot_in_a_notebook_run_by_nbclient(tmp_path):
    """One picture in the cell's output (display_id updates replace it), the last epoch's."""
    code = ("import numpy as np\nimport rnnlib as rl\nfrom rnnlib.train_widgets import live_loss_plot\n"
            "x = np.random.default_rng(0).uniform(size=(32, 3, 1)).astype('float32')\n"
            "m = rl.Sequential([rl.Input(shape=(3, 1)), rl.layers.SimpleRNN(2), rl.layers.Dense(1)])\n"
            "m.compile(optimizer='adam', loss='mse')\n"
            "h = m.fit(x, x[:, 0], epochs=3, verbose=0, validation_split=0.25, "
            "callbacks=[live_loss_plot()])")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    pictures = [o for o in outputs if o.output_type == "display_data"]
    assert len(pictures) == 1, [o.output_type for o in outputs]
    assert "image/png" in pictures[0].data
    assert pictures[0].data["text/plain"].startswith("<Picture: epoch 3/3: loss ")


def test_panels_group_each_metric_with_its_validation():
    assert tw.panels(["accuracy", "loss", "val_accuracy", "val_loss"]) == ["loss", "accuracy"]
    assert tw.panels(["loss", "mae"]) == ["loss", "mae"]


# --- the explorer -------------------------------------------------------------------------

def test_recorded_runs_cover_every_setting():
    for cell in tw.CELL_NAMES:
        for n in tw.SAMPLES:
            run = tw.recorded(cell, n)
            assert all(len(run[key]) == tw.EPOCHS for key in tw.KEYS), (cell, n)
            assert np.all((run["accuracy"] >= 0) & (run["accuracy"] <= 1))


@pytest.mark.parametrize("cell, samples", [("SimpleRNN", 50), ("GRU", 100), ("LSTM", 200)],
                         ids=lambda v: str(v))
def test_recorded_runs_are_what_rnnlib_trains(cell, samples):
    """The first epochs again, from the same seed: the recording is rnnlib's, 4 digits kept."""
    epochs = 6
    again = tw.record(cell, samples, epochs=epochs)
    for key in tw.KEYS:
        assert_allclose(again[key], tw.recorded(cell, samples)[key][:epochs], rtol=2e-3, atol=1e-4,
                        err_msg=f"{cell} {samples} {key}")


def test_moving_the_stop_moves_the_curves_and_the_text():
    e = tw.training_explorer(cell="GRU", samples=100, epochs=60)
    run = tw.recorded("GRU", 100)
    e.epochs.value = 12
    epochs, drawn = e.lines["val_loss"].get_data()
    assert list(epochs) == list(range(1, 13))
    assert_allclose(drawn, run["val_loss"][:12])
    assert list(e.later["val_loss"].get_data()[0]) == list(range(12, 61)), "the rest, faint"
    assert list(e.stops["loss"].get_xdata()) == [12, 12]
    assert f"after epoch 12: loss {run['loss'][11]:.3f}, val_loss {run['val_loss'][11]:.3f}" in e.text


def test_cell_and_training_size_choose_the_run():
    e = tw.training_explorer()
    before = e.lines["loss"].get_data()[1].copy()
    e.samples.value = 1400
    assert_allclose(e.lines["loss"].get_data()[1], tw.recorded("SimpleRNN", 1400)["loss"])
    e.cell.value = "LSTM"
    assert_allclose(e.lines["accuracy"].get_data()[1], tw.recorded("LSTM", 1400)["accuracy"])
    assert "LSTM(32) -> Dense(10, softmax) on 1400 digits" in e.text
    assert not np.allclose(before, e.lines["loss"].get_data()[1])


def test_best_epoch_is_the_lowest_validation_loss():
    e = tw.training_explorer(cell="LSTM", samples=100)
    run = tw.recorded("LSTM", 100)
    best = int(np.argmin(run["val_loss"])) + 1
    assert e.best == best and list(e.bests["loss"].get_xdata()) == [best, best]
    assert f"lowest val_loss {run['val_loss'][best - 1]:.3f} at epoch {best}" in e.text


def test_text_names_overfitting_after_the_best_epoch_only():
    e = tw.training_explorer(cell="LSTM", samples=100)
    e.epochs.value = e.best + 10
    assert "overfitting" in e.text
    e.epochs.value = max(1, e.best - 5)
    assert "overfitting" not in e.text and "still falling" in e.text


@pytest.mark.parametrize("cell", tw.CELL_NAMES)
def test_what_the_lesson_says_of_the_recorded_runs(cell):
    """Few digits: the training loss goes to ~0 while val_loss ends well above its lowest;
    all 1,400: the gap is smaller and the validation accuracy far higher."""
    few, many = tw.recorded(cell, 50), tw.recorded(cell, 1400)
    assert few["loss"][-1] < 0.05 and few["accuracy"][-1] == 1.0
    assert few["val_loss"][-1] > 1.2 * few["val_loss"].min()
    assert many["val_loss"][-1] - many["loss"][-1] < 0.5 * (few["val_loss"][-1] - few["loss"][-1])
    assert many["val_accuracy"][-1] > few["val_accuracy"][-1] + 0.25


def test_fallback_shows_a_picture_and_the_text():
    e = tw.training_explorer()
    bundle = e._repr_mimebundle_()
    assert bundle["text/html"].startswith("<img src='data:image/png;base64,")
    assert "lowest val_loss" in bundle["text/plain"]


# --- the callback in Keras 3 ---------------------------------------------------------------

KERAS_CHECK = """
import json, numpy as np, keras
import rnnlib.train_widgets as tw
shown = []
tw._display = lambda picture, handle=None: shown.append(picture.text) or "h"
x = np.random.default_rng(0).uniform(size=(40, 4, 2)).astype("float32")
model = keras.Sequential([keras.Input(shape=(4, 2)), keras.layers.GRU(3), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
plot = tw.live_loss_plot()
history = model.fit(x, x.sum(axis=(1, 2))[:, None], epochs=3, batch_size=8, verbose=0,
                    validation_split=0.25, callbacks=[plot])
print(json.dumps({"redraws": plot.redraws, "shown": shown, "history": history.history,
                  "drawn": {k: list(map(float, plot.lines[k].get_data()[1])) for k in plot.lines}}))
"""


@pytest.mark.keras
@pytest.mark.slow
def test_live_plot_is_a_keras_callback_too():
    pytest.importorskip("keras", reason="Keras 3 is the reference: install the 'reference' extra")
    pytest.importorskip("torch", reason="Keras runs on the torch backend here")
    from keras_twins import keras_script_says
    said = keras_script_says(KERAS_CHECK)
    assert said["redraws"] == 3 and [s.split(":")[0] for s in said["shown"]] == \
        ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    for key in ("loss", "val_loss"):
        assert_allclose(said["drawn"][key], said["history"][key], rtol=1e-6)


def test_patience_five_stops_the_default_run_before_its_lowest_point():
    """Lesson 10: on 100 digits EarlyStopping(patience=5) stops (after epoch 19) before the
    lowest val_loss of the full run (epoch 26): rnnlib's own EarlyStopping, fed the recording."""
    val_loss = tw.recorded("SimpleRNN", 100)["val_loss"]

    class Model:
        stop_training = False
    stop = rl.callbacks.EarlyStopping(monitor="val_loss", patience=5)
    stop.set_model(Model())
    stop.on_train_begin()
    for epoch, value in enumerate(val_loss):
        stop.on_epoch_end(epoch, {"val_loss": value})
        if stop.model.stop_training:
            break
    assert epoch + 1 == 19 and tw.best_epoch(val_loss) == 26

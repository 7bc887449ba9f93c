"""The lessons in course/: committed clean, shaped like a lesson, and run top to bottom.

Each lesson runs in a fresh python3 kernel on a copy in a temporary folder (the copy's
folder is the working directory).  Run times are printed and written to
``artifacts/lesson_run_times.txt``; nothing is asserted on them, but a cell that hangs
fails through nbclient's timeout.  The lines the prose relies on must be printed, by
rnnlib and (its code run with Keras 3 standing in for ``rl``) by Keras, except the
departures each lesson says in words.
"""
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
CELL_TIMEOUT = 120          # seconds for one cell: generous on a busy 2-core machine

# lesson -> (its explorer, the assignment it points to)
LESSONS = {
    "01_vectors_to_timesteps.ipynb": ("timesteps_explorer", "ps01_timesteps"),
    "02_the_recurrent_cell.ipynb": ("parameter_explorer", "ps02_cell"),
    "03_unrolling_through_time.ipynb": ("unroll_explorer", "ps03_unrolling"),
    "04_stacking_layers.ipynb": ("stack_explorer", "ps04_stacking"),
    "05_state.ipynb": ("state_explorer", "ps05_state"),
    "06_directions_and_padding.ipynb": ("directions_explorer", "ps06_directions"),
    "07_reading_a_real_model.ipynb": ("encoder_explorer", "ps04_stacking"),
    "08_inside_the_gates.ipynb": ("gates_explorer", "ps05_state"),
    "09_backpropagation_through_time.ipynb": ("bptt_explorer", "ps07_bptt"),   # and clipping_explorer
    "10_training.ipynb": ("training_explorer", "ps08_training"),   # and live_loss_plot (a callback)
    "11_shapes_of_real_tasks.ipynb": ("tasks_explorer", "ps08_training"),   # and task_shapes (a picture)
    "12_the_same_network_in_pytorch.ipynb": ("layout_explorer", "ps09_pytorch_layout"),
}
RUN_TIMES = {}


def read(name):
    return nbformat.read(COURSE / name, as_version=4)


def sources(nb, kind):
    return [cell.source for cell in nb.cells if cell.cell_type == kind]


def test_course_holds_exactly_the_lessons():
    assert sorted(p.name for p in COURSE.glob("*.ipynb")) == sorted(LESSONS)


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_is_committed_clean(name):
    nb = read(name)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"outputs left in: {cell.source[:60]!r}"
            assert cell.execution_count is None, f"execution count left in: {cell.source[:60]!r}"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_has_its_sections(name):
    explorer, assignment = LESSONS[name]
    nb = read(name)
    markdown, code = sources(nb, "markdown"), sources(nb, "code")
    assert markdown[0].startswith(f"# Lesson {int(name[:2])} "), "a title first"
    assert "**The question.**" in markdown[0], "a motivating question"
    assert f"rl.widgets.{explorer}()" in code, "the explorer, in one line of its own"
    headings = [line for text in markdown for line in text.splitlines() if line.startswith("## ")]
    assert "## Summary" in headings and "## Your turn" in headings
    assert headings.index("## Your turn") == len(headings) - 1, "the pointer comes last"
    assert (ROOT / "autograded_tests" / f"{assignment}.py").exists(), "it points to a real assignment"


@pytest.mark.parametrize("name", LESSONS)
def test_your_turn_links_the_student_version_and_the_next_lesson(name):
    """Links as the workspace lays them out (workspace/course/ beside workspace/assignments/)."""
    _, assignment = LESSONS[name]
    markdown = sources(read(name), "markdown")
    links = re.findall(r"\]\(([^)]+)\)", markdown[-1])
    assert links[0] == f"../assignments/{assignment}/{assignment}.ipynb"
    assert (ROOT / "source" / assignment / f"{assignment}.ipynb").exists(), "its source is released"
    lessons = sorted(LESSONS)
    if name != lessons[-1]:
        assert links[1] == lessons[lessons.index(name) + 1]
    else:                   # the newest lesson points to the next one (being written) or back to 1
        assert links[1] == lessons[0] or re.fullmatch(f"{int(name[:2]) + 1:02d}_\\w+\\.ipynb", links[1])
    assert not any("source/" in text for text in markdown), "learners are never sent to the solutions"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_pastes_no_library_code(name):
    code = "\n".join(sources(read(name), "code"))
    assert not re.search(r"^\s*(class|def) ", code, re.M), "lessons import rnnlib, they do not redefine it"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_sets_weights_the_keras_way(name):
    """In Keras 3 a layer's seed= seeds only its dropout: equal weights come from copying them
    or from set_random_seed before each build, never from seed= (rnnlib's departure)."""
    code = "\n".join(sources(read(name), "code"))
    assert not re.search(r"\bseed=", code)


# The course's names, one per idea, in every lesson; these synonyms would blur them.
SYNONYMS = ["seq_len", "n_steps", "num_steps", "time_steps", "input_dim", "n_features",
            "hidden_size", "hidden_dim", "num_units", "n_units", "batch_size =", "net ="]


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_uses_the_course_names(name):
    code = "\n".join(sources(read(name), "code"))
    assert [word for word in SYNONYMS if word in code] == []
    assert code.startswith("import numpy as np\nimport rnnlib as rl"), "the same first cell"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_runs_top_to_bottom(name, tmp_path):
    copy = tmp_path / name
    shutil.copy(COURSE / name, copy)
    nb = nbformat.read(copy, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()                       # raises CellExecutionError on any error
    RUN_TIMES[name] = time.perf_counter() - start
    _record_times()

    explorer, _ = LESSONS[name]
    widget_cell = next(c for c in nb.cells if c.source == f"rl.widgets.{explorer}()")
    data = widget_cell.outputs[-1]["data"]
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/html"].startswith("<img src='data:image/png;base64,")
    if name.startswith("03"):
        assert "Output shape: (None, 10)\n" in data["text/plain"]
        assert "Total params: 120 (" in data["text/plain"]
    if name.startswith("07"):
        stderr = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
                         if o.get("name") == "stderr")
        assert "UserWarning" in stderr and "(None, 16) and (None, 32, 16)" in stderr
    stdout = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
                     if o.get("name") == "stdout")
    missing = [line for line in PRINTED.get(name[:2], []) if line not in stdout]
    assert missing == [], "the prose relies on these lines; the cells printed something else"


@pytest.mark.parametrize("name", [n for n in LESSONS if n[:2] in ("01", "02", "03", "04", "07")])
def test_lesson_run_twice_in_one_kernel_prints_the_same_names(name, tmp_path):
    """Re-running a lesson must not turn `simple_rnn` into `simple_rnn_8` where the prose
    names layers: those lessons reset the names (rl.clear_session(), as Keras's)."""
    nb = read(name)
    code = [cell for cell in nb.cells if cell.cell_type == "code"
            and not cell.source.startswith(("rl.widgets.", "rl.viz."))]
    nb.cells = [nbformat.v4.new_code_cell(cell.source) for cell in code + code]
    NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    second = "".join(o.get("text", "") for c in nb.cells[len(code):] for o in c.outputs
                     if o.get("name") == "stdout")
    assert [line for line in PRINTED[name[:2]] if line not in second] == []


# What the prose beside each cell says it prints (a fresh kernel; names reset where shown).
PRINTED = {
    "01": ["-> y (1, 10) ndarray", "dense (Dense)"],
    "02": ["same as by hand: True", "equals two steps by hand: True", "120 120",
           "simple_rnn (SimpleRNN)"],
    "03": ["= the last h: True", "every step equals the loop: True", "simple_rnn (SimpleRNN)"],
    "04": ["create 'simple_rnn' with return_sequences=True", "Total params: 330 (", " 210 │"],
    "05": ["output is h: True", "takes 2 initial states", "is h at every step: True",
           "chunks equal one long run: True", "after reset, like a fresh layer: True"],
    "06": ["backward(x) == forward(x reversed): True",
           "backward half is the backward layer flipped back: True",
           "None    [(1, 5, 2), (1, 5, 2)]",
           "last output, padded, no mask == unpadded: False",
           "last output, padded, masked  == unpadded: True",
           "last == unpadded run: False",
           "masked : first two outputs (the padding) [[0.0, 0.0], [0.0, 0.0]], last == unpadded run: True",
           "forward half at the real steps == the plain masked layer: True",
           "the padded steps 3 and 4: [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]"],
    "07": ["gru1 (GRU)", "25,440", "+ gru_1b (None, 32, 16) -> (None, 32, 16)",
           "concatenate_1 (Concatenate)"],
    "08": ["b_f [1. 1. 1.] | b_i [0. 0. 0.] b_c [0. 0. 0.] b_o [0. 0. 0.]",
           "h at every step == the layer's output sequence: True",
           "the last c == the c the layer returned: True",
           "before the event, f     takes the values [0.731]",
           "before the event, c_hat takes the values [0.]",
           "the larger b_f, the more of c is kept: True",
           "reset_after=True: bias (2, 9), 54 parameters = 3*3*(1 + 3 + 2) = 54; by hand == layer: True",
           "reset_after=False: bias (9,), 45 parameters = 3*3*(1 + 3 + 1) = 45; by hand == layer: True"],
    "09": ["h_1, h_2, h_3 = [0.537  0.6525 0.1214]", "same as by hand: True",
           "dL/du by finite differences -0.139277, by the chain rule -0.139277",
           "GRU and LSTM fall off faster than SimpleRNN: True",
           "LSTM after 0 epochs: ||dL/dh_1|| / ||dL/dh_50|| = 7.5e-06",
           "clipnorm=1.0: kernel [0.8 0.6], bias [-0.6  0.8], norms 1.00 and 1.00",
           "global_clipnorm=1.0: kernel [0.72 0.54], bias [-0.27  0.36], norms 0.89 and 0.45"],
    "10": ["x (1000, 10, 2) y (1000, 1) | x_test (200, 10, 2)",
           "always answering 1.0 scores mse 0.172",
           "['loss', 'val_loss'] each with 5 values: one per epoch",
           "SimpleRNN(32), 10 timesteps, 5 epochs: val_loss 0.0486",
           "     LSTM(32), 10 timesteps, 5 epochs: val_loss 0.1122",
           "every cell below the baseline 0.167: True",
           "x (1797, 8, 8) y (1797,) | the first labels: [0 1 2 3 4 5 6 7 8 9 0 1]",
           "['accuracy', 'loss', 'val_accuracy', 'val_loss']",
           "lowest val_loss 1.216 at epoch 15, val_accuracy 0.615",
           "after epoch 60: loss 0.0056, accuracy 1.000, val_loss 1.502, val_accuracy 0.620",
           "val_loss rose after its lowest point: True",
           "stopped after 20 of 60 epochs; the weights kept score val_loss 1.216, val_accuracy 0.615",
           "evaluate gives the best epoch's val_loss back: True"],
    "11": ["ids (2, 5) -> vectors (2, 5, 3)",
           "mask [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]",
           "vectors[1, 0] is row 9 of the table: True",
           "padded steps repeat the last real output: True",
           "last output == the unpadded sentence's: True",
           "the model masks without mask=: True",
           "ids (None, 8) -> embedding (None, 8, 4) -> lstm (None, 8) -> dense (None, 1)",
           "after 5 epochs: held-out accuracy 1.00 (always 'no 5' would score 0.54)",
           "lstm (None, 8, 8) -> dense (None, 8, 2)",
           "TimeDistributed(Dense) == Dense: True",
           "== the Dense on each step alone: True",
           "after 5 epochs: held-out accuracy 0.95 over the real tokens (always 0 would score 0.57)",
           "the loss leaves the padded steps out: True",
           "x (None, 1) -> dense (None, 8) -> repeat_vector (None, 5, 8) -> lstm (None, 5, 16) -> dense (None, 5, 10)",
           "after 5 epochs: accuracy 0.99",
           "counting on from 0 and from 2: [[0, 1, 2, 3, 4], [2, 3, 4, 5, 6]]",
           "RepeatVector, 5 epochs: held-out digits right 0.62, whole sentences 0.07",
           "target [4 1 6 5] -> the decoder reads [9 4 1 6]",
           "encoder states (None, 16) (None, 16) -> decoder (None, 4, 16)",
           "accuracy in the last epoch, reading the true previous digits: 0.97",
           "states + teacher forcing, 5 epochs: held-out digits right 0.92, whole sentences 0.86"],
    "12": ["reshape: the same shape: True | the same data: False",
           "PyTorch: 130 parameters = 10*1 + 10*10 + 10 + 10",
           "Keras:   120 parameters, weights [(1, 10), (10, 10), (10,)]",
           "h_n[0] is the last step of output: True",
           "Keras's sequence == PyTorch's output, axes swapped: True",
           "Keras's state == h_n[0]: True",
           "parameters: 900",
           "output (5, 3, 20) | h_n (4, 3, 10)",
           "h_n[2], layer 1 forward, is output's last step, first half: True",
           "h_n[3], layer 1 backward, is output's FIRST step, second half: True",
           "PyTorch LSTM: 520 parameters | Keras LSTM(10): 480 parameters, bias (40,)",
           "b_hn moved into b_in, the same GRU: False",
           "PyTorch GRU: 390 parameters",
           "Keras GRU(10, reset_after=True): 390 parameters, bias (2, 30)",
           "Keras GRU(10, reset_after=False): 360 parameters, bias (30,)"],
}


def _record_times():
    lines = [f"{name:<36}{seconds:6.1f} s" for name, seconds in sorted(RUN_TIMES.items())]
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "lesson_run_times.txt").write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))


# --- the same code under Keras 3 -------------------------------------------------------------

# Runs a lesson's code cells in one namespace with `rl` standing for Keras 3 (torch backend):
# rl.layers, rl.Input, rl.Model, rl.optimizers, ... are Keras's own (rnnlib's gradient calls,
# beyond Keras, are missing: an AttributeError); an eager layer call hands back NumPy (as
# rnnlib's does; Keras's torch tensors have no .round(3) or [:, ::-1]); rl.viz and rl.widgets
# draw nothing (a do-nothing Callback where fit needs one).  Prints each cell's output, and
# "!! <error type>" for a cell that raised.
KERAS_RUNNER = """
import contextlib, io, sys, types
import keras, nbformat, torch
from keras.src.layers.layer import Layer

torch.set_grad_enabled(False)
torch.set_num_threads(1)                   # tiny models: torch's thread pool only fights for 2 cores
depth, call = [0], Layer.__call__

def inside_keras(method):                  # the model's own calls keep tensors (autograd, masks)
    def run(self, *args, **kwargs):
        depth[0] += 1
        try:
            with torch.enable_grad():
                return method(self, *args, **kwargs)
        finally:
            depth[0] -= 1
    return run

for name in ("fit", "train_on_batch", "evaluate", "test_on_batch", "predict"):
    setattr(keras.Model, name, inside_keras(getattr(keras.Model, name)))

def numpy(t):
    if isinstance(t, (list, tuple)):
        return type(t)(numpy(v) for v in t)
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else t

def outermost_call_returns_numpy(self, *args, **kwargs):
    depth[0] += 1
    try:
        out = call(self, *args, **kwargs)
    finally:
        depth[0] -= 1
    return numpy(out) if depth[0] == 0 else out

Layer.__call__ = outermost_call_returns_numpy

class Nothing:
    def __getattr__(self, name):
        return lambda *args, **kwargs: keras.callbacks.Callback()   # nothing, also as a callback in fit

rl = types.ModuleType("rnnlib")
rl.layers, rl.Input, rl.Model, rl.Sequential = keras.layers, keras.Input, keras.Model, keras.Sequential
rl.utils, rl.initializers, rl.ops = keras.utils, keras.initializers, keras.ops
rl.optimizers, rl.losses, rl.metrics, rl.callbacks = (keras.optimizers, keras.losses,
                                                     keras.metrics, keras.callbacks)
rl.set_floatx, rl.floatx = keras.config.set_floatx, keras.config.floatx
rl.clear_session, rl.viz, rl.widgets = keras.utils.clear_session, Nothing(), Nothing()
sys.modules["rnnlib"] = rl
namespace = {}
for cell in nbformat.read(sys.argv[1], as_version=4).cells:
    if cell.cell_type == "code":
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(cell.source, cell.id, "exec"), namespace)
        except Exception as error:
            out.write(f"!! {type(error).__name__}\\n")
        print(out.getvalue())
"""

# Printed lines that are rnnlib's alone, and the errors Keras raises instead (each one said
# in the lesson's prose, where the learner meets it).
RNNLIB_ONLY = {                  # (lesson 1's "ndarray": the runner hands Keras's tensors back as NumPy)
    "04": ["create 'simple_rnn' with return_sequences=True"],   # Keras's message stops earlier
    "05": ["takes 2 initial states"],                     # Keras: an IndexError
    "07": ["concatenate_1 (Concatenate)"],                # Keras wraps its table at 76 columns
    "09": ["same as by hand: True",                       # rl.gradients, rl.numerical_gradient ...
           "dL/du by finite differences -0.139277, by the chain rule -0.139277",
           "GRU and LSTM fall off faster than SimpleRNN: True",
           "LSTM after 0 epochs: ||dL/dh_1|| / ||dL/dh_50|| = 7.5e-06",
           "global_clipnorm=1.0: kernel [0.72 0.54], bias [-0.27  0.36], norms 0.89 and 0.45"],
    "10": [     # Keras's seeded weights are other numbers; the lesson gives its figures beside
        "SimpleRNN(32), 10 timesteps, 5 epochs: val_loss 0.0486",
        "     LSTM(32), 10 timesteps, 5 epochs: val_loss 0.1122",
        "lowest val_loss 1.216 at epoch 15, val_accuracy 0.615",
        "after epoch 60: loss 0.0056, accuracy 1.000, val_loss 1.502, val_accuracy 0.620",
        "stopped after 20 of 60 epochs; the weights kept score val_loss 1.216, val_accuracy 0.615"],
    "11": [     # trained from other random weights, Keras gets 0.93; 0.61 / 0.10; 0.96 / 0.94
        "after 5 epochs: held-out accuracy 0.95 over the real tokens (always 0 would score 0.57)",
        "RepeatVector, 5 epochs: held-out digits right 0.62, whole sentences 0.07",
        "states + teacher forcing, 5 epochs: held-out digits right 0.92, whole sentences 0.86"],
}
KERAS_RAISES = {
    "05": ["!! IndexError"],
    # lesson 9: rl.gradients and rl.numerical_gradient are rnnlib's, beyond Keras (4 cells);
    # Keras on torch's global_clipnorm refuses NumPy gradients (the lesson says so)
    "09": ["!! AttributeError"] * 4 + ["!! TypeError"],
}


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_lesson_prints_the_same_under_keras(name):
    pytest.importorskip("keras", reason="Keras 3 is the reference: install the 'reference' extra")
    pytest.importorskip("torch", reason="Keras runs on the torch backend here")
    env = dict(os.environ, KERAS_BACKEND="torch")
    run = subprocess.run([sys.executable, "-c", KERAS_RUNNER, str(COURSE / name)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    key = name[:2]
    expected = [line for line in PRINTED.get(key, []) if line not in RNNLIB_ONLY.get(key, [])]
    assert [line for line in expected if line not in run.stdout] == []
    assert [line for line in RNNLIB_ONLY.get(key, []) if line in run.stdout] == [], \
        "a departure the prose qualifies is gone: update the lesson"
    assert re.findall(r"^!! \w+", run.stdout, re.M) == KERAS_RAISES.get(key, [])

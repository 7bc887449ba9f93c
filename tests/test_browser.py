"""Lesson 3 in a real browser: JupyterLab in Debian's Chromium, sliders moved by hand.

A student opens the lesson, runs every cell, and moves the "timesteps" and "units"
sliders of ``rnnlib.widgets.unroll_explorer()`` with the keyboard and with the mouse.
After every move the explorer must show the output shape Keras would print and
``Total params: N`` with N = units * (features + units + 1) for the value the page shows.

Lesson 8's gates explorer: "event at timestep" moved with the keyboard moves the spike and
the step where the gates react; the cell switched to GRU with the mouse shows z|r|h.
Lesson 10: the live loss picture sits in its cell, and the training explorer's numbers follow
"stop after epoch" (keyboard) and the cell (mouse).

A learner, in JupyterLab on a workspace built as `make course` builds it, opens lesson 2,
follows its "Your turn" link to the student version of ps02, writes a wrong step (a known
misconception), runs the notebook and reads the misconception in the test cell's output,
fixes it and solves the rest, saves, and the self-check gives full marks.

Run alone with ``pytest tests/test_browser.py -m browser -s``; the screenshots go to
``artifacts/`` (``lesson03_browser.png``, ``learner_misconception.png``,
``learner_solved.png``; the self-check's output in ``learner_selfcheck.txt``).
"""
import contextlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from autograded_tests import workspace
from browser_helpers import (CHROMIUM_ARGS, LabServer, Slider, current_notebook, error_outputs,
                             find_chromium, input_prompts, kernel_idle, open_notebook,
                             run_all_cells, screenshot_on_failure, set_cell_source)
import nbgrader_harness as h
from submissions import ps02_cell as ps02_samples

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
LESSON = "03_unrolling_through_time.ipynb"
ARTIFACTS = ROOT / "artifacts"
TIMEOUT = 60_000        # ms; generous for 2 busy cores, only ever spent when something is wrong

CHROMIUM = find_chromium()

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium not found (/usr/bin/chromium "
                                 "or `chromium` on PATH): apt-get install chromium")]
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="the playwright package is not installed")
expect = sync_api.expect


@contextlib.contextmanager
def lab_in_temporary_home(prefix, log_name, prepare):
    """JupyterLab on what ``prepare(home)`` makes in a temporary home: it returns
    (root_dir, LabServer keyword arguments).  Stopped by its PID; its log goes to
    artifacts/``log_name``."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        root, kwargs = prepare(home)
        server = LabServer(root, home, **kwargs)
        try:
            yield server
        finally:
            server.stop()
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(server.log_path, ARTIFACTS / log_name)
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def lab():
    """JupyterLab on a copy of course/, isolated in a temporary home."""
    assert (COURSE / LESSON).exists(), f"course/{LESSON} is missing"

    def prepare(home):
        shutil.copytree(COURSE, home / "course")
        return home / "course", {}
    with lab_in_temporary_home("unrolled-lab-", "lesson03_jupyter_lab.log", prepare) as server:
        yield server


@contextlib.contextmanager
def chromium_page(profile):
    """A page of a fresh headless Chromium (its own empty profile)."""
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 1100})
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(TIMEOUT)
            expect.set_options(timeout=TIMEOUT)
            yield page
        finally:
            context.close()


@pytest.fixture
def page(lab):
    with chromium_page(lab.home / "chromium-profile") as page:
        yield page


def expected(timesteps, units, features, return_sequences, return_state):
    """Output shape and parameter count Keras prints for Input(shape=(timesteps, features))
    -> SimpleRNN(units, return_sequences, return_state)."""
    output = f"(None, {timesteps}, {units})" if return_sequences else f"(None, {units})"
    shape = f"[{output}, (None, {units})]" if return_state else output   # [output, h]
    return shape, units * (features + units + 1)


class UnrollExplorer:
    """The lesson's explorer as the page shows it: three sliders, two toggles, a text."""

    def __init__(self, page):
        cells = page.locator(".jp-CodeCell")
        for name in ("timesteps", "units", "features"):
            cells = cells.filter(has=Slider(page, name).root)
        self.cell = cells.filter(has=page.get_by_role("checkbox", name="return_sequences")).first
        self.timesteps, self.units, self.features = (
            Slider(self.cell, name) for name in ("timesteps", "units", "features"))
        self.return_sequences = self.cell.get_by_role("checkbox", name="return_sequences")
        self.return_state = self.cell.get_by_role("checkbox", name="return_state")
        self.text = self.cell.locator(".widget-html", has_text="Output shape:")
        self.picture = self.cell.locator(".widget-image")

    def check(self):
        """The text must follow the values the page shows (it may lag: the kernel computes it)."""
        shape, params = expected(self.timesteps.value, self.units.value, self.features.value,
                                 self.return_sequences.is_checked(),
                                 self.return_state.is_checked())
        expect(self.text).to_contain_text(re.compile(rf"Output shape: {re.escape(shape)}\s"))
        expect(self.text).to_contain_text(re.compile(rf"Total params: {params:,} \("))
        return shape, params

    def press(self, slider, key, value):
        """Keyboard: focus the handle, press ``key``; the readout must show ``value``."""
        slider.press(key)
        expect(slider.readout).to_have_text(str(value))
        return self.check()


def test_lesson03_sliders_drive_shape_and_params(lab, page):
    with screenshot_on_failure(page, ARTIFACTS / "lesson03_browser_failed.png"):
        check_lesson03(lab, page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "lesson03_browser.png"))


def check_lesson03(lab, page):
    open_notebook(page, lab, LESSON, timeout=TIMEOUT)
    run_all_cells(page)
    explorer = UnrollExplorer(page)
    try:
        explorer.text.wait_for()
    except sync_api.TimeoutError:
        pytest.fail("the explorer did not render; error outputs:\n"
                    + "\n".join(error_outputs(page)) + "\nserver log:\n" + lab.log_tail())
    # A live widget view (sliders drawn by the ipywidgets extension), not a text or HTML repr.
    expect(explorer.cell.locator(".jp-OutputArea-output > .jupyter-widgets")).to_have_count(1)
    expect(explorer.cell).not_to_contain_text("Loading widget")
    expect(explorer.cell).not_to_contain_text("Error displaying widget")
    expect(explorer.picture).to_be_visible()
    assert explorer.picture.evaluate("img => img.naturalWidth") > 0, "the picture is empty"

    # Run All ran every cell: each prompt gets its number, none stays queued or skipped.
    prompts = input_prompts(page)
    expect(prompts).to_have_text([re.compile(r"^\s*\[\d+\]:\s*$")] * prompts.count())

    # The defaults: Input(shape=(5, 1)) -> SimpleRNN(10): (None, 10), 120 params.
    assert (explorer.timesteps.value, explorer.units.value, explorer.features.value) == (5, 10, 1)
    assert explorer.check() == ("(None, 10)", 120)
    assert explorer.units.bounds == (1, 64) and explorer.timesteps.bounds == (1, 50)

    # Keyboard on "units": one step at a time, then the ends of the range.
    assert explorer.press(explorer.units, "ArrowRight", 11) == ("(None, 11)", 143)
    explorer.units.press("ArrowLeft")
    assert explorer.press(explorer.units, "ArrowLeft", 9) == ("(None, 9)", 99)
    assert explorer.press(explorer.units, "End", 64) == ("(None, 64)", 4224)
    assert explorer.press(explorer.units, "Home", 1) == ("(None, 1)", 3)

    # Mouse on "units": click the track, then drag the handle.
    explorer.units.click_at(32)
    assert explorer.units.value == 32
    assert explorer.check() == ("(None, 32)", 32 * 34)
    explorer.units.drag_to(16)
    assert explorer.units.value == 16
    assert explorer.check() == ("(None, 16)", 16 * 18)

    # return_sequences (mouse): the output keeps the time axis, so timesteps shows in it.
    explorer.return_sequences.click()
    expect(explorer.return_sequences).to_be_checked()
    assert explorer.check() == ("(None, 5, 16)", 288)

    # Keyboard on "timesteps": the shape follows, the parameter count does not move.
    assert explorer.press(explorer.timesteps, "ArrowRight", 6) == ("(None, 6, 16)", 288)
    assert explorer.press(explorer.timesteps, "End", 50) == ("(None, 50, 16)", 288)
    assert explorer.press(explorer.timesteps, "ArrowLeft", 49) == ("(None, 49, 16)", 288)

    # Mouse on "timesteps", then on "units" once more.
    explorer.timesteps.drag_to(20)
    assert explorer.timesteps.value == 20
    assert explorer.check() == ("(None, 20, 16)", 288)
    explorer.timesteps.click_at(35)
    assert explorer.timesteps.value == 35
    assert explorer.check() == ("(None, 35, 16)", 288)
    explorer.units.drag_to(40)
    assert explorer.units.value == 40
    assert explorer.check() == ("(None, 35, 40)", 40 * 42)
    # Keyboard on "features": the input weights grow, units * (features + units + 1).
    assert explorer.press(explorer.features, "ArrowRight", 2) == ("(None, 35, 40)", 40 * 43)

    # return_state (keyboard: Space on the focused checkbox): [output, h], same weights.
    explorer.return_state.press("Space")
    expect(explorer.return_state).to_be_checked()
    assert explorer.check() == ("[(None, 35, 40), (None, 40)]", 40 * 43)
    assert explorer.press(explorer.units, "ArrowLeft", 39) == (
        "[(None, 35, 39), (None, 39)]", 39 * 42)

    # For the screenshot: the kernel has drawn the last picture too.
    expect(kernel_idle(page)).to_be_visible()
    explorer.cell.scroll_into_view_if_needed()


# --- lesson 8: the gates explorer, moved by hand ----------------------------------------------

@contextlib.contextmanager
def lesson_lab(number):
    """A JupyterLab of its own on a copy of course/ (a shared one restores lesson 3's tab
    beside the lesson under test)."""
    def prepare(home):
        shutil.copytree(COURSE, home / "course")
        return home / "course", {}
    with lab_in_temporary_home(f"unrolled-lab{number}-", f"lesson{number}_jupyter_lab.log",
                               prepare) as server:
        yield server


def rendered_explorer(page, lab, slider, says):
    """The code cell of the notebook in front whose explorer has the slider ``slider``, and its
    text widget (which contains ``says``), once it has rendered; fails with the notebook's
    errors and the server log if it never does."""
    cell = current_notebook(page).locator(".jp-CodeCell").filter(
        has=Slider(page, slider).root).first                 # `has` takes a relative locator
    text = cell.locator(".widget-html", has_text=says)
    try:
        text.wait_for()
    except sync_api.TimeoutError:
        pytest.fail("the explorer did not render; error outputs:\n"
                    + "\n".join(error_outputs(page)) + "\nserver log:\n" + lab.log_tail())
    return cell, text


@pytest.fixture(scope="module")
def lesson08_lab():
    with lesson_lab("08") as server:
        yield server


def test_lesson08_event_slider_and_cell_switch(lesson08_lab):
    """Move "event at timestep" with the keyboard: the spike and the gates' reaction move with
    it (the explorer's text says where); switch the cell to GRU with the mouse."""
    lab = lesson08_lab
    with chromium_page(lab.home / "chromium-profile") as page, \
            screenshot_on_failure(page, ARTIFACTS / "lesson08_browser_failed.png"):
        open_notebook(page, lab, "08_inside_the_gates.ipynb", timeout=TIMEOUT)
        run_all_cells(page)
        cell, text = rendered_explorer(page, lab, "event at timestep", "zeros and one spike")
        event = Slider(cell, "event at timestep")
        expect(text).to_contain_text("x[0, 5, 0] = 3")
        expect(text).to_contain_text("at the event (t=5)")
        for value in (6, 7):
            event.press("ArrowRight")
            expect(event.readout).to_have_text(str(value))
        expect(text).to_contain_text("x[0, 7, 0] = 3")
        expect(text).to_contain_text("at the event (t=7)")
        cell.get_by_role("button", name="GRU").click()
        expect(text).to_contain_text("GRU(3, reset_after=True)")
        expect(text).to_contain_text("z|r|h")
        expect(Slider(cell, "update bias b_z").readout).to_have_text(re.compile(r"^\s*0(\.0+)?\s*$"))
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "lesson08_browser.png"))


# --- lesson 10: the training explorer and the live loss picture ------------------------------

@pytest.fixture(scope="module")
def lesson10_lab():
    with lesson_lab("10") as server:
        yield server


def test_lesson10_stop_epoch_and_cell_switch(lesson10_lab):
    """The live loss picture is in its cell; move "stop after epoch" with the keyboard and the
    explorer's numbers follow; switch the cell to GRU with the mouse and they are the GRU's."""
    lab = lesson10_lab
    with chromium_page(lab.home / "chromium-profile") as page, \
            screenshot_on_failure(page, ARTIFACTS / "lesson10_browser_failed.png"):
        open_notebook(page, lab, "10_training.ipynb", timeout=TIMEOUT)
        run_all_cells(page)
        live = current_notebook(page).locator(".jp-CodeCell", has_text="live_loss_plot()").first
        cell, text = rendered_explorer(page, lab, "stop after epoch", "validated on the last")
        # one picture per fit (SimpleRNN, GRU, LSTM), each redrawn in place over its 5 epochs
        expect(live.locator(".jp-OutputArea-output img")).to_have_count(3)
        stop = Slider(cell, "stop after epoch")
        expect(text).to_contain_text("SimpleRNN(32) -> Dense(10, softmax) on 100 digits")
        expect(text).to_contain_text("after epoch 60:")
        for value in (59, 58):
            stop.press("ArrowLeft")
            expect(stop.readout).to_have_text(str(value))
        expect(text).to_contain_text("after epoch 58:")
        cell.get_by_role("button", name="GRU").click()
        expect(text).to_contain_text("GRU(32) -> Dense(10, softmax)")
        expect(text).to_contain_text("after epoch 58:")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "lesson10_browser.png"))


# --- the learner's road: lesson 2 -> ps02 -> a misconception -> full marks ------------------

ROAD_LESSON = "course/02_the_recurrent_cell.ipynb"
ROAD = "ps02_cell"
ROAD_NOTEBOOK = f"assignments/{ROAD}/{ROAD}.ipynb"
WRONG = "transposed_kernel"              # tests/submissions/ps02_cell.py: a known misconception


@pytest.fixture(scope="module")
def learner_lab():
    """JupyterLab as `make course` starts it: on a workspace built from a copy of the
    repository, with the workspace's own Jupyter config."""
    def prepare(home):
        prepare.repo = workspace.copy_course(ROOT, home / "repo")
        ws = workspace.build(home / "workspace", prepare.repo, log=lambda line: None).root
        return ws, {"config_dir": ws / ".jupyter"}
    with lab_in_temporary_home("unrolled-learner-", "learner_jupyter_lab.log", prepare) as server:
        server.repo = prepare.repo
        yield server


@pytest.fixture
def learner_page(learner_lab):
    with chromium_page(learner_lab.home / "chromium-profile") as page:
        yield page


INSTRUCTOR_TOOLS = ("Formgrader", "Course List", "Create Assignment")


def nbgrader_menu(page):
    """The Nbgrader menu of the menu bar, opened with the mouse."""
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    return page.locator("#jp-mainmenu-nbgrader")


def test_instructors_lab_keeps_the_instructor_tools(lab, page):
    """Plain `jupyter lab` (no workspace config): the Nbgrader menu has every tool."""
    page.goto(f"{lab.url}/lab")
    menu = nbgrader_menu(page)
    for tool in ("Assignment List", *INSTRUCTOR_TOOLS):
        expect(menu).to_contain_text(tool, ignore_case=True)
    page.keyboard.press("Escape")


def code_cell(panel, text):
    """The code cell of ``panel`` whose text holds ``text``."""
    return panel.locator(".jp-CodeCell").filter(has_text=text).first


def test_learner_road_from_lesson_to_full_marks(learner_lab, learner_page):
    page = learner_page
    with screenshot_on_failure(page, ARTIFACTS / "learner_road_failed.png"):
        walk_the_road(learner_lab, page)


def walk_the_road(lab, page):
    source = nbformat.read(str(lab.repo / "source" / ROAD / f"{ROAD}.ipynb"), 4)
    release = nbformat.read(str(lab.root_dir / ROAD_NOTEBOOK), 4)
    answers = h.reference_cells(source)
    stubs = {nb_id: h.release_code(release, nb_id) for nb_id in answers}
    step = "simple_rnn_step"

    # Lesson 2; the Nbgrader menu holds the student's tools only.
    open_notebook(page, lab, ROAD_LESSON, timeout=TIMEOUT)
    menu = nbgrader_menu(page)
    expect(menu).to_contain_text("Assignment List")
    for instructor_tool in INSTRUCTOR_TOOLS:
        expect(menu).not_to_contain_text(instructor_tool, ignore_case=True)
    page.keyboard.press("Escape")

    # "Your turn": the link opens the student version of ps02 in the workspace.
    link = current_notebook(page).locator(f".jp-RenderedMarkdown a[href*='{ROAD_NOTEBOOK}']")
    expect(link).to_have_count(1)
    link.scroll_into_view_if_needed()
    link.click()
    expect(page.locator(".lm-TabBar-tab.lm-mod-current", has_text=f"{ROAD}.ipynb")).to_be_visible()
    panel = current_notebook(page)
    expect(panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_be_visible()
    expect(panel).not_to_contain_text("### BEGIN SOLUTION")

    # A wrong step: the test cell names the misconception.
    wrong = ps02_samples.VARIANTS[WRONG]
    solution = code_cell(panel, f"def {step}")
    set_cell_source(solution, wrong["cells"][step])
    expect(solution.locator(".cm-content")).to_contain_text("recurrent_kernel.T")
    run_all_cells(page)
    test_cell = code_cell(panel, f"check_{step}({step})")
    for phrase in wrong["feedback"]:
        expect(test_cell.locator(".jp-OutputArea")).to_contain_text(phrase)
    test_cell.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "learner_misconception.png"))

    # The fix, and the other parts solved; every test cell passes.
    for grade_id, code in answers.items():
        first_line = stubs[grade_id].splitlines()[0]
        set_cell_source(code_cell(panel, first_line), code)
    run_all_cells(page)
    prompts = panel.locator(".jp-CodeCell .jp-InputPrompt")
    expect(prompts).to_have_text([re.compile(r"^\s*\[\d+\]:\s*$")] * prompts.count())
    expect(panel.locator(".jp-OutputArea-output[data-mime-type="
                         "'application/vnd.jupyter.stderr']")).to_have_count(0)
    expect(test_cell.locator(".jp-OutputArea")).not_to_contain_text("Misconception")

    # Saved, then graded by the self-check (as `make check ps02` runs it): full marks.
    page.keyboard.press("Control+s")
    expect(page.locator(".jp-StatusBar-TextItem", has_text="Saving completed")).to_be_visible()
    saved = (lab.root_dir / ROAD_NOTEBOOK).read_text()
    assert "raise NotImplementedError" not in saved and "recurrent_kernel.T" not in saved
    page.screenshot(path=str(ARTIFACTS / "learner_solved.png"))
    check = subprocess.run(
        [str(Path(sys.executable).with_name("unrolled-check")), ROAD, "--workspace",
         str(lab.root_dir), "--repo", str(lab.repo)],
        capture_output=True, text=True, timeout=900)
    (ARTIFACTS / "learner_selfcheck.txt").write_text(check.stdout + check.stderr)
    assert check.returncode == 0, check.stderr
    points = ps02_samples.AUTOGRADED_POINTS
    assert f"Total: {points} / {points} autograded points - full marks." in check.stdout, check.stdout

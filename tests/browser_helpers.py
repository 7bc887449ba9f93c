"""Helpers for the real-browser tests: a throwaway JupyterLab server and Chromium.

The server runs the venv's ``jupyter lab`` on a copy of the course, with every Jupyter
and IPython directory isolated in a temporary folder.  The venv's own
``share/jupyter`` stays on Jupyter's search path (it always is: ``sys.prefix`` is part of
``jupyter_path()``), so the ipywidgets lab extension and the python3 kernel are found.
"""
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

JUPYTER = Path(sys.executable).with_name("jupyter")

# Debian's Chromium, never a browser downloaded by `playwright install`.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

# JupyterLab settings for a quiet page: no news or update toasts over the notebook.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}


def find_chromium():
    """Path of Debian's Chromium, or None."""
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def free_port():
    """A port that was free a moment ago (Jupyter tries the next ones if it is taken)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``jupyter lab`` on ``root_dir``, with no token or password, until ``stop()``.

    ``config_dir`` (default: an empty folder in ``home``) is the JUPYTER_CONFIG_DIR, e.g.
    a copy of a learner's ``workspace/.jupyter``."""

    def __init__(self, root_dir, home, timeout=90, config_dir=None):
        self.root_dir, self.home = Path(root_dir), Path(home)
        self.env = self._isolated_env(config_dir)
        self.log_path = self.home / "jupyter-lab.log"
        self._write_lab_settings()
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(JUPYTER), "lab", "--no-browser", "--allow-root",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={free_port()}",
             "--IdentityProvider.token=", "--ServerApp.password=",
             f"--ServerApp.root_dir={self.root_dir}"],
            cwd=self.root_dir, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self.url = self._wait_until_up(timeout)
        except BaseException:
            self.stop()
            raise

    def _isolated_env(self, config_dir):
        env = dict(os.environ)
        for var, sub in [("JUPYTER_CONFIG_DIR", config_dir or "config"), ("JUPYTER_DATA_DIR", "data"),
                         ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")]:
            env[var] = str(self.home / sub)          # an absolute config_dir stays as it is
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        for var in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_PREFER_ENV_PATH",
                    "JUPYTER_TOKEN", "JUPYTER_PORT"):
            env.pop(var, None)
        env["PATH"] = f"{JUPYTER.parent}{os.pathsep}{env.get('PATH', '')}"
        return env

    def _write_lab_settings(self):
        settings = Path(self.env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings"
        for name, value in LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))

    def _wait_until_up(self, timeout):
        """Read the port from the server's info file, then poll /api/status."""
        info = Path(self.env["JUPYTER_RUNTIME_DIR"]) / f"jpserver-{self.proc.pid}.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n"
                                   + self.log_tail())
            if info.exists():
                try:
                    port = json.loads(info.read_text())["port"]
                    url = f"http://127.0.0.1:{port}"
                    with urllib.request.urlopen(f"{url}/api/status", timeout=5) as r:
                        if r.status == 200:
                            return url
                except (ValueError, KeyError, OSError, urllib.error.URLError):
                    pass  # info file half written, or server not listening yet
            time.sleep(0.2)
        raise TimeoutError(f"jupyter lab did not answer in {timeout} s:\n" + self.log_tail())

    def get(self, path):
        """GET ``path`` (e.g. '/lab'): (HTTP status, body text); no redirects followed."""
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None
        try:
            with urllib.request.build_opener(NoRedirect).open(f"{self.url}{path}", timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def page_config(self, path="/lab"):
        """The JupyterLab page's configuration (the JSON in ``#jupyter-config-data``)."""
        status, body = self.get(path)
        m = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                      body, re.S)
        assert status == 200 and m, f"GET {path}: {status}\n{body[:500]}"
        return json.loads(m.group(1))

    def api(self, path):
        """GET a Jupyter Server REST endpoint, e.g. 'kernels'; the decoded JSON."""
        with urllib.request.urlopen(f"{self.url}/api/{path}", timeout=10) as r:
            return json.loads(r.read())

    def kernels(self):
        """The running kernels, [] while the server cannot list them (a kernel half
        started can make /api/kernels answer 500)."""
        try:
            return self.api("kernels")
        except urllib.error.HTTPError:
            return []

    def wait_for_kernel(self, page, timeout):
        """Until a kernel is running, idle, and the page is connected to it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            kernels = self.kernels()
            if any(k["execution_state"] == "idle" and k["connections"] > 0 for k in kernels):
                return kernels
            page.wait_for_timeout(200)
        raise TimeoutError(f"no connected idle kernel after {timeout} s: {self.kernels()}\n"
                           + self.log_tail())

    def log_tail(self, lines=40):
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, timeout=20):
        """SIGTERM (the server shuts its kernels down), then SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self._log.close()

    def __repr__(self):
        return f"LabServer(root_dir={str(self.root_dir)!r}, pid={self.proc.pid})"


# --- the page ----------------------------------------------------------------------------

@contextlib.contextmanager
def screenshot_on_failure(page, path):
    """Save what the page showed when the block failed, then let the failure through."""
    try:
        yield
    except BaseException:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))
        raise


def open_notebook(page, lab, name, timeout=60_000):
    """Open ``name`` in JupyterLab and wait until its kernel is up, connected and idle."""
    page.goto(f"{lab.url}/lab/tree/{name}")
    page.locator(".jp-NotebookPanel .jp-Notebook").wait_for(timeout=timeout)
    lab.wait_for_kernel(page, timeout / 1000)
    kernel_idle(page).wait_for(timeout=timeout)


def kernel_idle(page):
    """The notebook toolbar's kernel indicator while the kernel is idle."""
    return page.locator(".jp-NotebookPanel-toolbar "
                        ".jp-Notebook-ExecutionIndicator[data-status='idle']")


def current_notebook(page):
    """The notebook panel in front (others stay in the DOM, hidden, when several are open)."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")


def set_cell_source(cell, code):
    """Replace a code cell's text as a student would: click in it, select all, type.

    The text is inserted in one input event, so CodeMirror neither closes brackets nor
    re-indents lines as it would for key-by-key typing."""
    editor = cell.locator(".cm-content")
    editor.click()
    editor.press("Control+a")
    cell.page.keyboard.insert_text(code)


def run_all_cells(page):
    """Run > Run All Cells, with the mouse, as a student would."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def input_prompts(page):
    """The prompt of every code cell: '[3]:' once run, '[*]:' while queued, '[ ]:' never run."""
    return page.locator(".jp-CodeCell .jp-InputPrompt")


def error_outputs(page):
    """Text of every traceback or stderr output on the page."""
    return page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                        ).all_inner_texts()


class Slider:
    """An ipywidgets IntSlider on the page, found by its description label.

    ipywidgets 8 draws it with noUiSlider: a track (``.noUi-base``), a focusable handle
    (``role=slider``) that takes arrow keys, Home, End, PageUp and PageDown, and a
    readout showing the value.
    """

    def __init__(self, scope, description):
        self.description = description
        page = getattr(scope, "page", scope)          # scope: the page, or a part of it
        exact = re.compile(rf"^\s*{re.escape(description)}\s*$")
        label = page.locator("label.widget-label", has_text=exact)
        self.root = scope.locator(".widget-slider").filter(has=label)
        self.handle = self.root.get_by_role("slider")
        self.track = self.root.locator(".noUi-base")
        self.readout = self.root.locator(".widget-readout")

    @property
    def value(self):
        """The value the page shows in the readout."""
        return int(self.readout.inner_text())

    @property
    def bounds(self):
        return (round(float(self.handle.get_attribute("aria-valuemin"))),
                round(float(self.handle.get_attribute("aria-valuemax"))))

    def press(self, key):
        """Focus the handle and press a key, e.g. 'ArrowRight', 'End'."""
        self.handle.focus()
        self.handle.press(key)

    def x_of(self, value):
        """Page x of ``value`` on the track."""
        low, high = self.bounds
        box = self.track.bounding_box()
        return box["x"] + box["width"] * (value - low) / (high - low)

    def drag_to(self, value):
        """Drag the handle with the mouse to where ``value`` sits on the track."""
        self.handle.scroll_into_view_if_needed()
        box = self.handle.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        mouse = self.handle.page.mouse
        mouse.move(x, y)
        mouse.down()
        mouse.move(self.x_of(value), y, steps=8)
        mouse.up()

    def click_at(self, value):
        """Click the track with the mouse where ``value`` sits (the handle jumps there)."""
        self.track.scroll_into_view_if_needed()
        box = self.track.bounding_box()
        self.handle.page.mouse.click(self.x_of(value), box["y"] + box["height"] / 2)

    def __repr__(self):
        return f"Slider({self.description!r})"

"""A whole class on a real JupyterHub (jupyterhub/): release, fetch, submit, collect, grade,
feedback, with real system users in Debian's Chromium.

The test makes a class of one instructor and two students as system users (each server
runs as its user, so the file permissions between them are real), starts the hub from
jupyterhub/jupyterhub_config.py on 127.0.0.1, and walks docs/instructors.md's "Every week":

1. the instructor releases ps02_cell (nbgrader's commands, run as the instructor in the
   course folder, as in a terminal of their JupyterLab) and sees it in the Formgrader;
2. Ana logs in on the hub's login page, fetches ps02_cell from the Assignments tab, writes
   the reference answer in the notebook, saves and submits;
3. Ben fetches and submits the untouched notebook; the instructor sets the due date; Ben
   writes a known misconception (tests/submissions/ps02_cell.py) and submits again, late;
4. the instructor collects (Ben's newest submission), autogrades, generates and releases
   feedback and exports the grades;
5. each student fetches feedback from the Assignments tab and reads their score; Ben's
   names the misconception.

Isolation is checked as the students themselves (runuser): no reading another's home, the
instructor's course, or the exchange's inbound and feedback folders.  The hub (which stops
every server it spawned) is stopped by its PID, the servers' PIDs are checked gone, the
users and their homes removed.  ``-s`` prints the wall time from release to feedback.

Needs root (useradd, servers run as other users), Chromium, configurable-http-proxy (npm)
and JupyterHub; the first run builds the class's environment (/opt/unrolled-hub-venv) when
the course's venv cannot be run by other users (a Python in /root).  Screenshots and the hub's log go
to artifacts/hub_*.
"""
import contextlib
import csv
import datetime
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
import yaml

import nbgrader_harness as h
from browser_helpers import screenshot_on_failure
from submissions import ps02_cell as samples

ROOT = Path(__file__).resolve().parents[1]
HUB_DIR = ROOT / "jupyterhub"
sys.path.insert(0, str(HUB_DIR))
import classroom  # noqa: E402

ARTIFACTS = ROOT / "artifacts"
ASSIGNMENT = samples.ASSIGNMENT
MISCONCEPTION = "no_recurrent_part"


# --- the course's configuration: the exchange is never nbgrader's default -----------------

def course_config(**env):
    """The course's nbgrader_config.py as nbgrader loads it, with ``env`` set."""
    from traitlets.config.loader import PyFileConfigLoader
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def nbgrader_default_exchange():
    from nbgrader.exchange.default.exchange import Exchange
    return Exchange.root.default_value


def test_course_config_sets_the_exchange_root_explicitly():
    os.environ.pop("UNROLLED_EXCHANGE", None)
    assert course_config().Exchange.root == classroom.DEFAULT_EXCHANGE
    assert classroom.DEFAULT_EXCHANGE != nbgrader_default_exchange()
    assert course_config(UNROLLED_EXCHANGE="/x/exchange").Exchange.root == "/x/exchange"


def test_hub_config_shares_the_course_id_and_exchange_with_the_course():
    """Students' servers read jupyterhub/jupyter/nbgrader_config.py; the instructor's
    commands read the course's: both must name the same course and exchange."""
    from traitlets.config.loader import PyFileConfigLoader
    shared = PyFileConfigLoader("nbgrader_config.py", path=str(classroom.SHARED_CONFIG)).load_config()
    course = course_config()
    assert shared.CourseDirectory.course_id == course.CourseDirectory.course_id == classroom.COURSE_ID
    assert shared.Exchange.root == course.Exchange.root


@pytest.mark.slow
def test_release_writes_only_to_the_configured_exchange(tmp_path, monkeypatch):
    """`nbgrader release_assignment` from the course folder, as an instructor types it."""
    from autograded_tests import workspace
    default = Path(nbgrader_default_exchange())
    before = sorted(p for p in default.rglob("*")) if default.exists() else None
    exchange = classroom.make_exchange(tmp_path / "exchange")
    monkeypatch.setenv("UNROLLED_EXCHANGE", str(exchange))
    with workspace.temporary_course(assignment=ASSIGNMENT) as course:
        run = h.run_nbgrader(course, "release_assignment", ASSIGNMENT)
    assert run.returncode == 0, run.log
    released = exchange / classroom.COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert released.is_file(), run.log
    after = sorted(p for p in default.rglob("*")) if default.exists() else None
    assert after == before, f"nbgrader wrote to its default exchange {default}"


# --- Zero to JupyterHub: the image and the Helm values, as far as they can be checked here ----

K8S = HUB_DIR / "kubernetes"
DOCKER_INSTRUCTIONS = {"FROM", "ARG", "ENV", "USER", "WORKDIR", "COPY", "RUN", "LABEL", "EXPOSE",
                       "CMD", "ENTRYPOINT", "SHELL", "VOLUME", "HEALTHCHECK", "ONBUILD", "ADD",
                       "STOPSIGNAL"}


def dockerfile_instructions(path):
    """[(instruction, arguments)] with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", Path(path).read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [tuple((line.split(None, 1) + [""])[:2]) for line in lines
            if line and not line.startswith("#")]


def test_singleuser_image_installs_the_course():
    steps = dockerfile_instructions(K8S / "Dockerfile")
    unknown = [s for s in steps if s[0] not in DOCKER_INSTRUCTIONS]
    assert not unknown, f"not Dockerfile instructions: {unknown}"
    assert steps[0][0] in ("FROM", "ARG") and any(s[0] == "FROM" for s in steps)
    # The build context is the repository: every COPY source exists in it.
    for instruction, args in steps:
        if instruction == "COPY" and not args.startswith("--from"):
            *sources, _ = [a for a in args.split() if not a.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    runs = " ".join(args for instruction, args in steps if instruction == "RUN")
    (project,) = [args.split()[-1] for instruction, args in steps
                  if instruction == "COPY" and "pyproject.toml" in args.split()]
    assert re.search(rf"pip install .*{re.escape(project.rstrip('/'))}\[course\]", runs), runs
    # Students get nbgrader's student tools only, as in `make course` and on the hub.
    from autograded_tests import workspace
    for plugin in workspace.INSTRUCTOR_PLUGINS:
        assert f"labextension disable --level=sys_prefix {plugin}" in runs
    for extension in workspace.INSTRUCTOR_SERVER_EXTENSIONS:
        assert f"server extension disable --sys-prefix {extension}" in runs
    assert steps[-1] != ("USER", "root"), "the image must not run as root"


def test_helm_values_mount_the_exchange_and_configure_nbgrader():
    values = yaml.safe_load((K8S / "values.yaml").read_text())
    singleuser = values["singleuser"]
    volumes = {v["name"]: v for v in singleuser["storage"]["extraVolumes"]}
    mounts = {m["name"]: m for m in singleuser["storage"]["extraVolumeMounts"]}
    assert set(volumes) == set(mounts)
    exchange = [m for m in mounts.values() if m["mountPath"] == classroom.DEFAULT_EXCHANGE]
    assert exchange, f"no volume mounted at {classroom.DEFAULT_EXCHANGE}: {mounts}"
    assert "persistentVolumeClaim" in volumes[exchange[0]["name"]]
    config = singleuser["extraFiles"]["nbgrader_config"]
    assert config["mountPath"] == "/etc/jupyter/nbgrader_config.py"
    assert f'c.CourseDirectory.course_id = "{classroom.COURSE_ID}"' in config["stringData"]
    assert f'c.Exchange.root = "{classroom.DEFAULT_EXCHANGE}"' in config["stringData"]
    claim = yaml.safe_load((K8S / "exchange-pvc.yaml").read_text())
    assert claim["kind"] == "PersistentVolumeClaim"
    assert claim["metadata"]["name"] == volumes[exchange[0]["name"]]["persistentVolumeClaim"]["claimName"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


# --- the class on a real hub ---------------------------------------------------------------

def _skip_reason():
    if os.geteuid() != 0:
        return "needs root: it creates system users and runs their servers as them"
    for tool in ("useradd", "userdel", "runuser", "chpasswd"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    if shutil.which("configurable-http-proxy") is None:
        return "configurable-http-proxy not found: npm install -g configurable-http-proxy"
    if not Path("/usr/bin/chromium").exists() and shutil.which("chromium") is None:
        return "Chromium not found: apt-get install chromium"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


class Class:
    """One instructor, two students and their hub, in a temporary folder; ``close()``
    stops everything by PID and removes the users."""

    def __init__(self):
        tag = secrets.token_hex(2)
        self.instructor = f"ut{tag}-teach"
        self.students = [f"ut{tag}-ana", f"ut{tag}-ben"]
        self.passwords = {u: secrets.token_urlsafe(10) for u in [self.instructor, *self.students]}
        self.tmp = Path(tempfile.mkdtemp(prefix="unrolled-hub-"))
        self.tmp.chmod(0o755)
        self.exchange, self.state = self.tmp / "exchange", self.tmp / "state"
        self.groups_before = {g: _group_exists(g) for g in (classroom.STUDENTS, classroom.INSTRUCTORS)}
        self.hub = None
        self.venv_bin = classroom.class_venv(log=lambda line: print(line, flush=True))
        classroom.setup(self.instructor, self.students, self.exchange, self.state, self.passwords)
        self.course = Path(os.path.expanduser(f"~{self.instructor}")) / classroom.COURSE_ID
        self.port = classroom.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.tmp / "jupyterhub.log"
        self._log = open(self.log_path, "wb")
        self.hub = subprocess.Popen(
            classroom.hub_command(self.venv_bin), cwd=self.tmp, stdout=self._log,
            stderr=subprocess.STDOUT,
            env=classroom.hub_environment(self.venv_bin, self.port, self.state, self.exchange))
        self._wait_until_up(120)

    def _wait_until_up(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.hub.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self.hub.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api/", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"the hub did not answer in {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines=60):
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def env(self, user):
        """What a user's terminal on the hub has: their home, the class's environment."""
        return {"HOME": os.path.expanduser(f"~{user}"), "USER": user, "LANG": "C.UTF-8",
                "PATH": f"{self.venv_bin}:/usr/local/bin:/usr/bin:/bin", "KERAS_BACKEND": "torch",
                "UNROLLED_EXCHANGE": str(self.exchange),
                "JUPYTER_CONFIG_PATH": str(self.state / "config" / "shared")}   # the hub's copy

    def as_user(self, user, *cmd, cwd=None, timeout=600):
        return subprocess.run([shutil.which("runuser"), "-u", user, "--", *cmd], cwd=cwd or "/", env=self.env(user),
                              capture_output=True, text=True, timeout=timeout)

    def nbgrader(self, *args):
        """``nbgrader *args`` as the instructor in the course folder; the log, checked."""
        proc = self.as_user(self.instructor, str(self.venv_bin / "nbgrader"), *args, cwd=self.course)
        assert proc.returncode == 0, f"nbgrader {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
        return proc.stdout + proc.stderr

    def server_pids(self):
        """The PID of every server the hub spawned (LocalProcessSpawner keeps it in its state)."""
        con = sqlite3.connect(self.state / "private" / "jupyterhub.sqlite")
        try:
            rows = con.execute("SELECT state FROM spawners WHERE state IS NOT NULL").fetchall()
        finally:
            con.close()
        return {int(m) for (state,) in rows for m in re.findall(r'"pid":\s*(\d+)', state or "")}

    def user_pids(self):
        """Every process running as one of the class's users."""
        uids = {_uid(u) for u in self.passwords}
        pids = set()
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    if proc.stat().st_uid in uids:
                        pids.add(int(proc.name))
                except FileNotFoundError:
                    pass
        return pids

    def wait_for_user_processes(self, timeout):
        """The class's users' processes still running after ``timeout`` s (kernels exit
        on their own once their server is gone)."""
        deadline = time.monotonic() + timeout
        while (pids := self.user_pids()) and time.monotonic() < deadline:
            time.sleep(0.5)
        return pids

    def stop_hub(self, timeout=60):
        """SIGTERM to the hub's PID: it stops every server it spawned, and its proxy."""
        if self.hub is None or self.hub.poll() is not None:
            return
        self.hub.send_signal(signal.SIGTERM)
        try:
            self.hub.wait(timeout)
        except subprocess.TimeoutExpired:
            self.hub.kill()
            self.hub.wait(timeout)

    def close(self):
        try:
            self.stop_hub()
            for pid in self.wait_for_user_processes(10):   # our own users' only, by PID
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        finally:
            if self.hub:
                self._log.close()
                ARTIFACTS.mkdir(exist_ok=True)
                shutil.copy(self.log_path, ARTIFACTS / "hub_jupyterhub.log")
            time.sleep(0.5)
            classroom.remove(list(self.passwords))
            for group, existed in self.groups_before.items():
                if not existed:
                    subprocess.run(["groupdel", group], capture_output=True)
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __repr__(self):
        return f"Class({self.instructor!r}, {self.students!r}, hub={self.url})"


def _uid(user):
    import pwd
    return pwd.getpwnam(user).pw_uid


def _group_exists(group):
    import grp
    try:
        grp.getgrnam(group)
        return True
    except KeyError:
        return False


# --- in the browser --------------------------------------------------------------------------

def log_in(page, klass, user):
    """The hub's login page, filled in as a person would; until their JupyterLab is up."""
    page.goto(f"{klass.url}/hub/login")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(klass.passwords[user])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(rf".*/user/{re.escape(user)}/lab.*"), timeout=150_000)
    page.locator(".jp-LabShell").wait_for(timeout=90_000)


def assignments_tab(page):
    """Nbgrader > Assignment List, with the mouse: the student's Assignments panel."""
    from test_browser import nbgrader_menu
    menu = page.locator("#jp-mainmenu-nbgrader")
    if not menu.is_visible():
        menu = nbgrader_menu(page)
    menu.get_by_role("menuitem", name="Assignment List").click()
    panel = page.locator("#nbgrader-assignment-list")
    panel.wait_for()
    return panel


TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")    # a submission in the list
ITEM = ".list_item:not(.nested_list_item)"      # an assignment's row, not its notebooks'


def row(section, name):
    return section.locator(ITEM).filter(has_text=name)


def write_notebook_cells(page, klass, user, cells):
    """Open the fetched notebook, type ``cells`` ({grade_id: code}) into the solution cells,
    save with Ctrl+S."""
    from browser_helpers import current_notebook, kernel_idle, set_cell_source
    from test_browser import code_cell
    release = nbformat.read(str(klass.course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), 4)
    page.goto(f"{klass.url}/user/{user}/lab/tree/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
    kernel_idle(page).wait_for(timeout=90_000)
    panel = current_notebook(page)
    for grade_id, code in cells.items():
        stub = h.release_code(release, grade_id).splitlines()[0]
        set_cell_source(code_cell(panel, stub), code)
    page.keyboard.press("Control+s")
    page.locator(".jp-StatusBar-TextItem", has_text="Saving completed").wait_for()


def answers(variant=None):
    source = nbformat.read(str(ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), 4)
    cells = h.reference_cells(source)
    if variant:
        cells.update(samples.VARIANTS[variant]["cells"])
    return cells


def validate(page):
    """The notebook toolbar's Validate: nbgrader runs the visible tests as the student;
    the dialog's text."""
    from playwright.sync_api import expect
    from browser_helpers import current_notebook
    current_notebook(page).locator(".validate-button").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Validation Results", timeout=120_000)
    expect(dialog.get_by_role("button", name="Ok")).to_be_visible(timeout=120_000)
    text = dialog.inner_text()
    dialog.get_by_role("button", name="Ok").click()
    return text
    expect(dialog).to_have_count(0)


def submit(page, expected_count):
    """Submit from the Assignments tab; until it lists ``expected_count`` submissions."""
    from playwright.sync_api import expect
    panel = assignments_tab(page)
    row(panel.locator("#fetched_assignments_list"), ASSIGNMENT).get_by_role(
        "button", name="Submit").click()
    submitted = panel.locator("#submitted_assignments_list")
    deadline = time.monotonic() + 60
    while len(TIMESTAMP.findall(submitted.inner_text())) != expected_count:
        assert time.monotonic() < deadline, f"not {expected_count} submissions: {submitted.inner_text()}"
        page.wait_for_timeout(250)


def student_fetches_and_submits(page, klass, user, cells):
    """Log in, Fetch, write ``cells`` (none: submit the release as fetched), Submit."""
    from playwright.sync_api import expect
    from test_browser import INSTRUCTOR_TOOLS, nbgrader_menu
    log_in(page, klass, user)
    menu = nbgrader_menu(page)
    expect(menu).to_contain_text("Assignment List")
    for tool in INSTRUCTOR_TOOLS:
        expect(menu).not_to_contain_text(tool, ignore_case=True)
    panel = assignments_tab(page)
    assert page.request.get(f"{klass.url}/user/{user}/formgrader").status == 404
    row(panel.locator("#released_assignments_list"), ASSIGNMENT).get_by_role(
        "button", name="Fetch").click()
    expect(row(panel.locator("#fetched_assignments_list"), ASSIGNMENT)).to_be_visible()
    if cells:
        write_notebook_cells(page, klass, user, cells)
        # Every test passes; Validate only asks for the written answers (graded by hand).
        report = validate(page)
        written = [c for c in nbformat.read(str(klass.course / "release" / ASSIGNMENT /
                                                f"{ASSIGNMENT}.ipynb"), 4).cells
                   if c.cell_type == "markdown" and h.nbgrader_meta(c).get("solution")]
        assert report.count("You did not provide a response.") == len(written) > 0, report
        assert report.count("The following cell failed") == len(written), report
    submit(page, 1)


def student_reads_feedback(page, klass, user):
    """Fetch Feedback on the Assignments tab; the feedback page as the student's server
    serves it to them; its text."""
    from playwright.sync_api import expect
    page.goto(f"{klass.url}/user/{user}/lab")
    panel = assignments_tab(page)
    expect(panel.locator("#submitted_assignments_list")).to_contain_text("feedback available to fetch")
    panel.locator("#submitted_assignments_list").get_by_role("button", name="Fetch Feedback").click()
    expect(panel.locator("#submitted_assignments_list")).to_contain_text("view feedback")
    home = Path(os.path.expanduser(f"~{user}"))
    (html,) = (home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html")
    page.goto(f"{klass.url}/user/{user}/files/{html.relative_to(home)}")
    return page.locator("body").inner_text()


# --- the test --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def klass():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    pytest.importorskip("playwright.sync_api")
    the_class = Class()
    try:
        yield the_class
    finally:
        the_class.close()
        for user in the_class.passwords:
            assert subprocess.run(["id", user], capture_output=True).returncode != 0


@pytest.mark.slow
@pytest.mark.browser
def test_a_class_on_jupyterhub(klass):
    from test_browser import chromium_page
    ana, ben = klass.students
    shots = ARTIFACTS / "hub_failed.png"
    profiles = klass.tmp / "chromium"

    # 1. Release; the instructor's Formgrader (their own server) lists it.
    start = time.perf_counter()
    klass.nbgrader("generate_assignment", ASSIGNMENT, "--create", "--force")
    klass.nbgrader("release_assignment", ASSIGNMENT)
    outbound = klass.exchange / classroom.COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert outbound.is_file()
    with chromium_page(profiles / klass.instructor) as page, screenshot_on_failure(page, shots):
        log_in(page, klass, klass.instructor)
        from playwright.sync_api import expect
        from test_browser import nbgrader_menu
        nbgrader_menu(page).get_by_role("menuitem", name="Formgrader").click()
        expect(page.frame_locator("#formgrader-iframe iframe").locator("body")).to_contain_text(ASSIGNMENT)
        listed = page.request.get(f"{klass.url}/user/{klass.instructor}/formgrader/api/assignments")
        assert listed.status == 200, listed.text()
        assert {a["name"]: a["status"] for a in listed.json()}.get(ASSIGNMENT) == "released"

    # 2. Ana: the reference answer.
    with chromium_page(profiles / ana) as page, screenshot_on_failure(page, shots):
        student_fetches_and_submits(page, klass, ana, answers())
    saved = (Path(os.path.expanduser(f"~{ana}")) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert "raise NotImplementedError" not in saved

    # 3. Ben: submits the untouched notebook, then (after the due date) a misconception.
    with chromium_page(profiles / ben) as page, screenshot_on_failure(page, shots):
        student_fetches_and_submits(page, klass, ben, None)
        due = datetime.datetime.now(datetime.timezone.utc)
        klass.nbgrader("db", "assignment", "add", ASSIGNMENT,
                       f"--duedate={due:%Y-%m-%d %H:%M:%S} UTC")
        time.sleep(1.5)                      # nbgrader's timestamps: strictly after the due date
        write_notebook_cells(page, klass, ben, answers(MISCONCEPTION))
        submit(page, 2)

    # Isolation, as Ben: no one else's work, no instructor's course, no listing the exchange.
    inbound = klass.exchange / classroom.COURSE_ID / "inbound"
    ana_home = Path(os.path.expanduser(f"~{ana}"))
    for path in (ana_home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                 klass.course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                 klass.course / "gradebook.db"):
        denied = klass.as_user(ben, "cat", str(path))
        assert denied.returncode != 0 and "Permission denied" in denied.stderr, path
    listing = klass.as_user(ben, "ls", str(inbound))
    assert listing.returncode != 0 and "Permission denied" in listing.stderr
    ana_subs = sorted(p.name for p in inbound.iterdir() if p.name.startswith(f"{ana}+"))
    assert len(ana_subs) == 1
    # The name ends in a random part (nbgrader's add_random_string): not to be guessed.
    guess = ana_subs[0].rsplit("+", 1)[0]
    assert klass.as_user(ben, "ls", str(inbound / guess)).returncode != 0
    ben_subs = sorted(p.name for p in inbound.iterdir() if p.name.startswith(f"{ben}+"))
    assert len(ben_subs) == 2, ben_subs

    # 4. Collect (the newest of Ben's two), autograde, feedback, export.
    klass.nbgrader("collect", ASSIGNMENT)
    newest = max(name.split("+")[2] for name in ben_subs)
    assert (klass.course / "submitted" / ben / ASSIGNMENT / "timestamp.txt").read_text().strip() == newest
    klass.nbgrader("autograde", ASSIGNMENT)
    klass.nbgrader("generate_feedback", ASSIGNMENT)
    klass.nbgrader("release_feedback", ASSIGNMENT)
    listing = klass.as_user(ben, "ls", str(klass.exchange / classroom.COURSE_ID / "feedback"))
    assert listing.returncode != 0 and "Permission denied" in listing.stderr
    klass.nbgrader("export", "--to", "grades.csv")
    with open(klass.course / "grades.csv", newline="") as fh:
        grades = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == ASSIGNMENT}
    expected = {ana: samples.AUTOGRADED_POINTS, ben: samples.VARIANTS[MISCONCEPTION]["score"]}
    assert set(grades) == set(expected), grades
    for student, points in expected.items():
        assert float(grades[student]["raw_score"]) == points, grades[student]
    # Late: nbgrader flags Ben's newest (after the due date), not Ana's; no penalty by default.
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{klass.course / 'gradebook.db'}") as gb:
        assert gb.find_submission(ASSIGNMENT, ana).total_seconds_late == 0
        assert gb.find_submission(ASSIGNMENT, ben).total_seconds_late > 0
    assert float(grades[ben]["late_submission_penalty"]) == 0.0

    # 5. Each student fetches their feedback and reads it.
    for student, points in expected.items():
        with chromium_page(profiles / student) as page, screenshot_on_failure(page, shots):
            text = student_reads_feedback(page, klass, student)
            page.screenshot(path=str(ARTIFACTS / f"hub_feedback_{student.split('-')[1]}.png"))
        assert re.search(rf"{ASSIGNMENT} \(Score: {points:.1f} / \d+\.\d+\)", text), text[:500]
        named = [p for p in samples.VARIANTS[MISCONCEPTION]["feedback"] if p in text]
        if student == ben:
            assert named == samples.VARIANTS[MISCONCEPTION]["feedback"], text
        else:
            assert "Misconception" not in text
    seconds = time.perf_counter() - start
    print(f"\nA class of two on JupyterHub, from release to both feedbacks read: {seconds:.0f} s")

    # The hub stops every server it spawned.
    pids = klass.server_pids()
    assert len(pids) == 3, pids               # the instructor and the two students
    klass.stop_hub()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.5)
    assert not [p for p in pids if Path(f"/proc/{p}").exists()]
    left = klass.wait_for_user_processes(30)    # their kernels, nbgrader's, anything
    assert not left, f"processes of the class's users still running: {left}"

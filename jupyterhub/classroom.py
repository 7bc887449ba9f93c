"""A class on this machine's JupyterHub: its users, its folders, and the hub itself.

    sudo python jupyterhub/classroom.py start --instructor teacher --students ana,ben
    sudo python jupyterhub/classroom.py remove --instructor teacher --students ana,ben

(`sudo make hub` runs ``start`` with the course's environment.)  ``start`` makes, when
missing:

- the Unix groups ``unrolled-instructors`` and ``unrolled-students`` (JupyterHub lets their
  members log in; the group decides who gets the Formgrader);
- one system user per name, in its group, with a private home (mode 700); a new user gets
  a random password, printed once (change it with ``passwd``);
- nbgrader's exchange, writable by everyone with the sticky bit (mode 1777), as nbgrader's
  "Managing assignment files" page asks;
- the course in the instructor's home (``~/unrolled``: nbgrader_config.py, source/ and the
  lessons), and ``~/.jupyter/nbgrader_config.py`` pointing nbgrader at it;

then runs JupyterHub with jupyterhub_config.py on http://127.0.0.1:8000.  ``remove``
deletes those users with their homes and mail spools (not the exchange).
"""
import argparse
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
from autograded_tests import workspace  # noqa: E402 (the student's config, the course copy)

COURSE_ID = "unrolled"
STUDENTS, INSTRUCTORS = "unrolled-students", "unrolled-instructors"
DEFAULT_STATE = "/srv/jupyterhub"
DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"
SHARED_CONFIG = HERE / "jupyter"          # nbgrader_config.py for everyone: course id, exchange


def free_port():
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


def user_exists(name):
    return subprocess.run(["id", "-u", name], capture_output=True).returncode == 0


def add_user(name, group, password=None):
    """A system user in ``group`` with a home only they can read; returns the password set
    (None when the user existed: their password is left alone)."""
    run("groupadd", "-f", group)
    if user_exists(name):
        run("usermod", "-a", "-G", group, name)
        return None
    run("useradd", "--create-home", "--shell", "/bin/bash", "--gid", group, name)
    password = password or secrets.token_urlsafe(12)
    run("chpasswd", input=f"{name}:{password}\n")
    home = Path(os.path.expanduser(f"~{name}"))
    home.chmod(0o700)
    return password


def make_exchange(root):
    """nbgrader's exchange: one folder every user can write, none can delete others' files in."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o1777)
    return root


def install_course(instructor, repo=REPO):
    """The course in the instructor's home, owned by them; an existing ~/unrolled is kept."""
    home = Path(os.path.expanduser(f"~{instructor}"))
    course = home / COURSE_ID
    if not course.exists():
        workspace.copy_course(repo, course)
    config = home / ".jupyter" / "nbgrader_config.py"
    if not config.exists():
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("c = get_config()  # noqa: F821\n"
                          f"c.CourseDirectory.root = {str(course)!r}\n")
    run("chown", "-R", f"{instructor}:{INSTRUCTORS}", str(course), str(config.parent))
    return course


# JupyterHub (4.1+) forbids framing a user's pages ("frame-ancestors 'none'"), which
# blanks the Formgrader: JupyterLab shows it in a frame of the same server.  The
# instructor's server allows frames from itself only.
INSTRUCTOR_SERVER_CONFIG = {"ServerApp": {"tornado_settings": {"headers": {
    "Content-Security-Policy": "frame-ancestors 'self'"}}}}


def write_role_configs(state):
    """Jupyter's extra config folders (JUPYTER_CONFIG_PATH) for each role, made in
    ``state/config``: a student's hides nbgrader's instructor tools as `make course` does;
    an instructor's lets the Formgrader show in JupyterLab."""
    state, config = Path(state), Path(state) / "config"
    student = workspace.write_jupyter_config(config / "student")
    shared = config / "shared"             # a copy: the checkout may be private to its owner
    shutil.copytree(SHARED_CONFIG, shared, dirs_exist_ok=True)
    instructor = config / "instructor"
    instructor.mkdir(parents=True, exist_ok=True)
    (instructor / "jupyter_server_config.json").write_text(
        json.dumps(INSTRUCTOR_SERVER_CONFIG, indent=2) + "\n")
    for folder in (state, config, student.parent, instructor, *config.rglob("*")):
        if folder.is_dir():
            folder.chmod(0o711 if folder == state else 0o755)   # readable by every server
    return {"student": os.pathsep.join([str(student), str(shared)]),
            "instructor": os.pathsep.join([str(instructor), str(shared)])}


def setup(instructor, students, exchange=DEFAULT_EXCHANGE, state=DEFAULT_STATE, passwords=None):
    """The class's users, exchange and course (see the module's docstring); returns
    {user: password} for the users it created."""
    passwords = passwords or {}
    created = {}
    for name, group in [(instructor, INSTRUCTORS)] + [(s, STUDENTS) for s in students]:
        password = add_user(name, group, passwords.get(name))
        if password:
            created[name] = password
    make_exchange(exchange)
    install_course(instructor)
    Path(state).mkdir(parents=True, exist_ok=True)
    Path(state).chmod(0o711)
    (Path(state) / "private").mkdir(mode=0o700, exist_ok=True)
    return created


def remove(names):
    """Delete the users ``names`` and their homes (userdel -r; stop their servers first);
    missing users are skipped."""
    for name in names:
        if user_exists(name):
            run("userdel", "--remove", name)


# --- the class's Python environment -------------------------------------------------------
# Every user's server runs the course's environment, so every user must be able to run it.
# A venv made from a Python in root's home (pyenv's /root/.pyenv) cannot be: then the class
# gets its own, from the system's Python, outside the checkout (which may be private, as a
# `mktemp -d` clone is) and with the course copied in, not linked (pip install, not -e).
CLASS_VENV = Path(os.environ.get("UNROLLED_CLASS_VENV", "/opt/unrolled-hub-venv"))
HUB_REQUIREMENTS = ("jupyterhub>=5.2",)     # pyproject.toml's `hub` extra


def course_fingerprint():
    """What the class's environment was built from: pyproject.toml, the hub's requirements and
    every file of the packages it copies, so a changed rnnlib is installed again."""
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes())
    digest.update("\n".join(HUB_REQUIREMENTS).encode())
    for package in ("rnnlib", "autograded_tests"):
        for path in sorted((REPO / package).rglob("*.py")):
            digest.update(str(path.relative_to(REPO)).encode() + path.read_bytes())
    return digest.hexdigest()


def runs_for_everyone(python):
    """Whether an unprivileged user (nobody) can run ``python``."""
    probe = subprocess.run(["runuser", "-u", "nobody", "--", str(python), "-c", "import nbgrader"],
                           capture_output=True)
    return probe.returncode == 0


def class_venv(log=print):
    """The bin folder of a Python environment with the course, JupyterHub and nbgrader that
    every user can run: this one, or else CLASS_VENV, built on first use (a few minutes)."""
    here = Path(sys.executable).parent
    if runs_for_everyone(sys.executable) and (here / "jupyterhub").exists():
        return here
    stamp = CLASS_VENV / ".installed"
    wanted = course_fingerprint()
    if not stamp.exists() or stamp.read_text() != wanted:
        system_python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
        if system_python is None:
            raise RuntimeError("no system python3 that every user can run (apt-get install python3-venv)")
        log(f"Building the class's environment {CLASS_VENV} from {system_python} ...")
        run(system_python, "-m", "venv", str(CLASS_VENV))
        pip = [str(CLASS_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        run(*pip, "--upgrade", "pip")
        run(*pip, "--force-reinstall", "--no-deps", str(REPO), cwd=REPO)   # a changed course
        run(*pip, f"{REPO}[course]", *HUB_REQUIREMENTS, cwd=REPO)
        stamp.write_text(wanted)
    python = CLASS_VENV / "bin" / "python"
    if not runs_for_everyone(python):
        raise RuntimeError(f"{python} cannot be run by other users: is {CLASS_VENV} readable by everyone?")
    return python.parent


def hub_command(venv_bin):
    """JupyterHub from the class's environment with this folder's config."""
    return [str(Path(venv_bin) / "jupyterhub"), "-f", str(HERE / "jupyterhub_config.py")]


def hub_environment(venv_bin, port=8000, state=DEFAULT_STATE, exchange=DEFAULT_EXCHANGE):
    env = dict(os.environ, UNROLLED_HUB_PORT=str(port), UNROLLED_HUB_STATE=str(state),
               UNROLLED_EXCHANGE=str(exchange), PATH=f"{venv_bin}{os.pathsep}{os.environ['PATH']}")
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_CONFIG_PATH", "JUPYTER_PATH", "JUPYTER_DATA_DIR",
                "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(var, None)
    return env


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "setup", "remove"])
    parser.add_argument("--instructor", default="instructor")
    parser.add_argument("--students", default="student1,student2", help="comma-separated")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--state", default=DEFAULT_STATE)
    parser.add_argument("--exchange", default=DEFAULT_EXCHANGE)
    args = parser.parse_args(argv)
    students = [s for s in args.students.split(",") if s]
    if os.geteuid() != 0:
        sys.exit("classroom.py must run as root: it creates users and runs their servers as them")
    if args.action == "remove":
        remove([args.instructor, *students])
        return
    for name, password in setup(args.instructor, students, args.exchange, args.state).items():
        print(f"created user {name} with password {password}")
    if shutil.which("configurable-http-proxy") is None:
        sys.exit("configurable-http-proxy is missing: npm install -g configurable-http-proxy")
    if args.action == "start":
        venv_bin = class_venv()
        print(f"JupyterHub on http://127.0.0.1:{args.port} (Ctrl+C stops it and every server)")
        os.execve(hub_command(venv_bin)[0], hub_command(venv_bin),
                  hub_environment(venv_bin, args.port, args.state, args.exchange))


if __name__ == "__main__":
    main()

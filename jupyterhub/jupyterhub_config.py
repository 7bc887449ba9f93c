"""JupyterHub for one class on one machine: `make hub` (or `python jupyterhub/classroom.py start`).

Who is who is the machine's Unix groups (see classroom.py): members of ``unrolled-students``
and ``unrolled-instructors`` log in with their own system password (PAM), and each one's
JupyterLab runs as that user, in their home directory, so the file permissions between
them are real.  Students get nbgrader's student tools (Assignments, Validate); instructors
also get the Formgrader.  Everyone shares nbgrader's exchange folder.

Everything a machine may want to change comes from the environment (classroom.py sets it):

    UNROLLED_HUB_PORT   the public port on 127.0.0.1 (8000)
    UNROLLED_HUB_STATE  the hub's database, cookie secret and generated configs (/srv/jupyterhub)
    UNROLLED_EXCHANGE   nbgrader's exchange (/srv/nbgrader/exchange); nbgrader_config.py reads it too
"""
import grp
import os
import pwd
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import classroom  # noqa: E402 (the names and folders shared with the start script and the test)

PORT = int(os.environ.get("UNROLLED_HUB_PORT", "8000"))
STATE = Path(os.environ.get("UNROLLED_HUB_STATE", classroom.DEFAULT_STATE))
EXCHANGE = os.environ.get("UNROLLED_EXCHANGE", classroom.DEFAULT_EXCHANGE)

# --- the hub and its proxy, on this machine only ----------------------------------------
c.JupyterHub.bind_url = f"http://127.0.0.1:{PORT}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{classroom.free_port()}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{classroom.free_port()}"
PRIVATE = STATE / "private"                 # mode 700: the hub's secrets and database
c.ConfigurableHTTPProxy.pid_file = str(PRIVATE / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{PRIVATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(PRIVATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(PRIVATE / "jupyterhub.pid")
# Stopping the hub stops every server it spawned, and the proxy.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# --- who may log in: the class's Unix groups, with their system passwords ----------------
# A university's login replaces these lines, e.g. LDAP (`pip install jupyterhub-ldapauthenticator`,
# c.JupyterHub.authenticator_class = "ldapauthenticator.LDAPAuthenticator") or its single
# sign-on (`pip install oauthenticator`, "generic-oauth"); see docs/instructors.md.  The
# servers still run as local users, so each login name needs a Unix account of that name.
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {classroom.STUDENTS, classroom.INSTRUCTORS}
c.PAMAuthenticator.admin_groups = {classroom.INSTRUCTORS}
c.PAMAuthenticator.open_sessions = False   # no login session (utmp, systemd) per server

# --- each user's server: the course's environment, run as that user ---------------------
VENV_BIN = Path(sys.executable).parent      # the hub runs from the course's environment
c.Spawner.cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.http_timeout = 120               # a busy machine starts JupyterLab slowly
c.Spawner.start_timeout = 120

ROLE_CONFIG = classroom.write_role_configs(STATE)   # {"student": dir, "instructor": dir}


def is_instructor(name):
    try:
        group = grp.getgrnam(classroom.INSTRUCTORS)
        return name in group.gr_mem or pwd.getpwnam(name).pw_gid == group.gr_gid
    except KeyError:
        return False


def role_config_path(spawner):
    """Jupyter's extra config folders for this user: the instructor's or the student's."""
    return str(ROLE_CONFIG["instructor" if is_instructor(spawner.user.name) else "student"])


c.Spawner.environment = {
    "PATH": f"{VENV_BIN}{os.pathsep}/usr/local/bin:/usr/bin:/bin",   # nbgrader runs alembic
    "KERAS_BACKEND": "torch",
    "UNROLLED_EXCHANGE": EXCHANGE,
    "JUPYTER_CONFIG_PATH": role_config_path,
}

"""nbgrader's configuration for everyone on the class's JupyterHub (on JUPYTER_CONFIG_PATH of
every server that jupyterhub_config.py spawns): the course, and the exchange they share.
The course's own nbgrader_config.py sets the same two things for the instructor's commands."""
import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.CourseDirectory.course_id = "unrolled"
c.Exchange.root = os.environ.get("UNROLLED_EXCHANGE", "/srv/nbgrader/exchange")

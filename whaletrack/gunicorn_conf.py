"""gunicorn's configuration in the production layout (the Procfile's ``web``:
``gunicorn --config python:whaletrack.gunicorn_conf whaletrack.wsgi:application``), read from the settings
(environment, then ``.env``): sync workers on SERVE_GUNICORN_BIND behind nginx, each keeping its database
connection between requests."""

import os

from django.conf import settings

from whaletrack.serve import WEB_APPLICATION_NAME

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whaletrack.settings")

# A sync worker serves one request at a time on one thread: its database connection is kept between requests
# (SERVE_GUNICORN_CONN_MAX_AGE_S) and checked before each one, instead of a new connection per request. Set here, in
# the master, before any connection is made: the workers fork with it.
# The connections are named, so pg_stat_activity tells them from the other processes'.
_database = settings.DATABASES["default"]
_database.update(CONN_MAX_AGE=settings.SERVE_GUNICORN_CONN_MAX_AGE_S, CONN_HEALTH_CHECKS=True)
if _database["ENGINE"] == "django.db.backends.postgresql":
    _database.setdefault("OPTIONS", {}).setdefault("application_name", WEB_APPLICATION_NAME)

bind = [settings.SERVE_GUNICORN_BIND]
workers = settings.SERVE_GUNICORN_WORKERS
worker_class = "sync"
timeout = settings.SERVE_GUNICORN_TIMEOUT_S
# On SIGTERM the workers finish their requests within this, before honcho's SIGKILL 5 s after its SIGTERM.
graceful_timeout = 4
# No control socket (gunicorn 25.1+ makes one in $HOME/.gunicorn by default, one path for every gunicorn of the
# user, so a second one on the machine would take it over): the process manager starts and stops gunicorn.
control_socket_disable = True
# Access lines go to stdout, which honcho prefixes with the process name.
accesslog = "-"
errorlog = "-"

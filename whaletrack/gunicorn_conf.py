"""gunicorn's configuration in the production layout (the Procfile's ``web``:
``gunicorn --config python:whaletrack.gunicorn_conf whaletrack.wsgi:application``), read from the settings
(environment, then ``.env``): sync workers on SERVE_GUNICORN_BIND behind nginx."""

import os

from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whaletrack.settings")

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

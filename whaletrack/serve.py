"""The production layout's processes, configured from settings (README "Production layout").

``make serve`` runs the ``Procfile`` with honcho: nginx in front (``manage.py serve_nginx``), gunicorn for HTTP
(``whaletrack/gunicorn_conf.py``), daphne for ``/ws/`` (``manage.py serve_ws``), the Celery worker and beat, and
the mempool monitor, all on PostgreSQL and Redis. This module turns the ``SERVE_*`` settings into what those
processes need: the nginx config (rendered from ``whaletrack/nginx.conf.template``) and command lines.
"""

import os
import pwd
import shutil
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NGINX_TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
NGINX_TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")

# The name gunicorn's database connections carry (whaletrack/gunicorn_conf.py), seen in pg_stat_activity.
WEB_APPLICATION_NAME = "whaletrack-web"


class NginxTemplate(string.Template):
    """``@name`` placeholders: nginx's own ``$variables`` pass through untouched."""

    delimiter = "@"


@dataclass(frozen=True)
class Address:
    """A TCP address ``host:port`` as the settings write it (an IPv6 host in brackets: ``[::1]:8081``)."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> "Address":
        """Parse ``host:port``. Raises: ImproperlyConfigured when there is no port or it is not a number."""
        host, sep, port = text.strip().rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ImproperlyConfigured(f"expected host:port, not {text!r}")
        return cls(host=host.removeprefix("[").removesuffix("]"), port=int(port))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def nginx_config_render(*, prefix: Path, listen: Address, http_upstreams: Sequence[str],
                        ws_upstreams: Sequence[str], http_timeout_s: int, user: str | None) -> str:
    """The front door's nginx.conf: listen on ``listen``; ``/ws/`` to ``ws_upstreams`` (daphne, with the
    Upgrade headers), everything else to ``http_upstreams`` (gunicorn), both with X-Forwarded-For/Proto;
    pid, logs and temporary files under ``prefix``. ``user``: the account nginx's workers run as, given only
    when nginx starts as root (the workers would otherwise switch to ``nobody``, who cannot write under
    ``prefix``). Raises: ImproperlyConfigured for an upstream that is not ``host:port`` or an empty list."""
    if not http_upstreams or not ws_upstreams:
        raise ImproperlyConfigured("SERVE_HTTP_UPSTREAMS and SERVE_WS_UPSTREAMS need at least one host:port each")

    def servers(addresses: Sequence[str]) -> str:
        return "\n".join(f"        server {Address.parse(a)};" for a in addresses)

    return NginxTemplate(NGINX_TEMPLATE.read_text()).substitute(
        user_line=f"user {user};" if user else "", prefix=str(prefix), listen=str(listen),
        http_servers=servers(http_upstreams), ws_servers=servers(ws_upstreams), http_timeout_s=f"{http_timeout_s}s",
    )


def nginx_binary(name: str) -> str:
    """The nginx executable for ``name`` (SERVE_NGINX): a path as it is, else found on PATH or in /usr/sbin
    (Debian installs it there, outside a normal user's PATH). Raises: ImproperlyConfigured when absent."""
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
    if found is None:
        raise ImproperlyConfigured(f"nginx not found ({name!r}): apt-get install -y nginx-light, or set SERVE_NGINX")
    return found


def nginx_prepare() -> list[str]:
    """Write SERVE_DIR/nginx/nginx.conf from the settings (overwriting the last one), make its log and temp
    folders, and return the command line that runs nginx in the foreground on it (``daemon off``: honcho's
    SIGTERM reaches the master, which stops its workers). Raises: ImproperlyConfigured (see above)."""
    prefix = settings.SERVE_DIR / "nginx"
    for folder in [prefix / "logs", *(prefix / "temp" / name for name in NGINX_TEMP_DIRS)]:
        folder.mkdir(parents=True, exist_ok=True)
    user = pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() == 0 else None
    config = prefix / "nginx.conf"
    config.write_text(nginx_config_render(
        prefix=prefix, listen=Address(settings.SERVE_HOST, settings.SERVE_PORT),
        http_upstreams=settings.SERVE_HTTP_UPSTREAMS, ws_upstreams=settings.SERVE_WS_UPSTREAMS,
        http_timeout_s=settings.SERVE_GUNICORN_TIMEOUT_S + 5, user=user))
    return [nginx_binary(settings.SERVE_NGINX), "-p", str(prefix), "-e", "stderr", "-c", str(config),
            "-g", "daemon off;"]


def daphne_arguments() -> list[str]:
    """daphne's arguments for this machine's WebSocket server: SERVE_DAPHNE_BIND, the project's ASGI app."""
    bind = Address.parse(settings.SERVE_DAPHNE_BIND)
    return ["-b", bind.host, "-p", str(bind.port), "whaletrack.asgi:application"]

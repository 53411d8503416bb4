"""``make serve``: the production layout on one machine, started as ``make serve`` starts it (``serve_prepare``,
then honcho on the repo's Procfile) on free ports, against the pytest PostgreSQL database and the test Redis.

Through nginx, the one front door: a REST read, the admin's login page and a sign-in, a static file, /health,
and a WebSocket on /ws/events/ that receives an event the stack's own Celery worker publishes (sent through
the Redis broker). Beat dispatches from its database rows to that worker; the monitor runs. The client
address the app records is the one nginx saw (DJANGO_NUM_PROXIES=1 behind it), whatever X-Forwarded-For the
client forged. SIGTERM to honcho then stops every process: each pid of the tree is checked gone.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import django.contrib.admin
import pytest
import requests
from axes.models import AccessAttempt
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django_celery_beat.models import PeriodicTask
from requests.adapters import HTTPAdapter

from alerts.tokens import api_token_create
from tests.processes import BASE_DIR, FeedClient, until
from tests.requirements import require
from tests.whales.factories import WhaleEventFactory
from tests.whaletrack.serving import (
    PROCFILE,
    free_port,
    honcho,
    http_ready,
    nginx_available,
    port_open,
    procfile_commands,
    running,
    serve_prepare,
    stack_environment,
)
from whales.models import WhaleEvent
from whaletrack.celery import app
from whaletrack.serve import WEB_APPLICATION_NAME, Address, nginx_binary, nginx_config_render

BEAT_ROW = "alerts: flush cooldown digests"  # every 10 s, harmless on an empty database: the one row left on
CLIENT_ADDRESS = "127.0.0.2"  # the test's own loopback address, as nginx sees it (Linux routes 127/8 to lo)
STATIC_FILE = "admin/img/icon-yes.svg"


class FromAddress(HTTPAdapter):
    """A requests adapter whose connections leave from ``address`` (the client nginx sees)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


def csrf_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def test_the_procfile_is_the_documented_layout():
    commands = procfile_commands()
    assert list(commands) == ["front", "web", "ws", "worker", "beat", "monitor"]
    assert commands["web"].endswith("gunicorn --config python:whaletrack.gunicorn_conf whaletrack.wsgi:application")
    assert commands["ws"].endswith("python manage.py serve_ws")
    assert commands["beat"].startswith("exec celery -A whaletrack beat")
    assert commands["monitor"] == "exec python manage.py monitor_mempool"


def test_the_rendered_config_routes_to_several_machines_and_nginx_accepts_it(tmp_path):
    require(nginx_available(), "needs Debian's nginx (make services installs it)")
    prefix, port = tmp_path / "nginx", free_port()
    for folder in ("logs", "temp"):
        (prefix / folder).mkdir(parents=True)
    config = nginx_config_render(
        prefix=prefix, listen=Address("127.0.0.1", port), http_upstreams=["10.0.0.1:8081", " 10.0.0.2:8081"],
        ws_upstreams=["[fd00::3]:8082"], http_timeout_s=35, user=None)
    upstreams = dict(re.findall(r"upstream (\w+) \{\n((?:\s+server [^;]+;\n)+)", config))
    assert {name: re.findall(r"server ([^;]+);", servers) for name, servers in upstreams.items()} == {
        "whaletrack_http": ["10.0.0.1:8081", "10.0.0.2:8081"], "whaletrack_ws": ["[fd00::3]:8082"]}
    assert re.findall(r"listen ([^;]+);", config) == [f"127.0.0.1:{port}"]
    (prefix / "nginx.conf").write_text(config)
    result = subprocess.run(  # noqa: S603  (Debian's nginx, checking our rendered file)
        [nginx_binary("nginx"), "-t", "-p", str(prefix), "-e", "stderr", "-c", str(prefix / "nginx.conf")],
        capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


@pytest.mark.parametrize("text", ["127.0.0.1", "127.0.0.1:", ":8081", "host:http"])
def test_an_address_without_a_port_is_refused(text):
    with pytest.raises(ImproperlyConfigured, match="expected host:port"):
        Address.parse(text)


def test_serve_prepare_refuses_sqlite_and_no_redis(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", DJANGO_STATIC_ROOT=str(tmp_path / "static"))
    result = subprocess.run(
        [sys.executable, "manage.py", "serve_prepare"], cwd=BASE_DIR, env=env, capture_output=True, text=True,
        timeout=120, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "CommandError: make serve needs: DATABASE_URL must name PostgreSQL (it is sqlite); REDIS_URL must be set "
        "(the broker, channel layer and cache the processes share)")
    assert [path.name for path in tmp_path.iterdir()] == []  # neither migrated nor collected


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_make_serve_routes_rest_admin_static_health_and_websockets_through_nginx_and_stops_cleanly(
        tmp_path, django_user_model):
    redis_url = os.environ.get("REDIS_URL")
    require(bool(redis_url) and connection.vendor == "postgresql",
            "needs REDIS_URL and a PostgreSQL DATABASE_URL (the processes share both)")
    require(nginx_available(), "needs Debian's nginx (make services installs it)")
    front, gunicorn, daphne = free_port(), free_port(), free_port()
    PeriodicTask.objects.exclude(name=BEAT_ROW).update(enabled=False)
    assert PeriodicTask.objects.get(name=BEAT_ROW).total_run_count == 0
    staff = django_user_model.objects.create_user(username="ops", password="pw-ops-serve-1", is_staff=True,
                                                  is_superuser=True)
    key = api_token_create(user_id=staff.pk, name="test")[1]
    env = stack_environment(
        tmp_path, redis_url, SERVE_HOST="127.0.0.1", SERVE_PORT=str(front),
        SERVE_GUNICORN_BIND=f"127.0.0.1:{gunicorn}", SERVE_DAPHNE_BIND=f"127.0.0.1:{daphne}",
        ALERTS_PUBLISH_SWEEP_AFTER_S="0", ALERTS_PUBLIC_FEED="false",
        BITCOIN_WS_URL=f"ws://127.0.0.1:{free_port()}/",  # nothing there: the monitor keeps retrying
    )
    serve_prepare(env, tmp_path / "serve_prepare.log")
    url = f"http://127.0.0.1:{front}"
    with honcho(PROCFILE, env, tmp_path / "honcho.log", wait_ports=[front, gunicorn, daphne]) as stack:
        http_ready(f"{url}/health")
        client = session_from(CLIENT_ADDRESS)

        # /health: every dependency of the gunicorn process answers
        health = client.get(f"{url}/health", timeout=10)
        assert health.status_code == 200
        assert health.json()["checks"] == {"database": "ok", "channel_layer": "ok", "broker": "ok"}

        # A static file, served by WhiteNoise in gunicorn from what serve_prepare collected
        static = client.get(f"{url}/static/{STATIC_FILE}", timeout=10)
        assert static.status_code == 200
        assert static.content == (Path(django.contrib.admin.__file__).parent / "static" / STATIC_FILE).read_bytes()

        # A REST read: the event (and its whale) stored now, unpublished
        stored = WhaleEventFactory(published_at=None)
        whales = client.get(f"{url}/api/v1/whales?limit=50", timeout=10)
        assert whales.status_code == 200
        assert [(w["chain"], w["address"]) for w in whales.json()["items"]] == [
            (stored.whale.chain, stored.whale.address)]
        # ... and the worker that served it keeps its database connection for the next request (idle now)
        with connection.cursor() as cursor:
            cursor.execute("SELECT state FROM pg_stat_activity WHERE datname = current_database() "
                           "AND application_name = %s", [WEB_APPLICATION_NAME])
            assert "idle" in {state for (state,) in cursor.fetchall()}

        # The admin: its login page, a failed sign-in (counted for the address nginx saw, not the forged one),
        # then a real one, whose session cookie opens the admin
        login = client.get(f"{url}/admin/login/", timeout=10)
        assert login.status_code == 200 and 'name="username"' in login.text
        failed = client.post(f"{url}/admin/login/", timeout=10, allow_redirects=False,
                             headers={"X-Forwarded-For": "203.0.113.7"},
                             data={"csrfmiddlewaretoken": csrf_token(login.text), "username": "ops",
                                   "password": "wrong-password-1"})
        assert failed.status_code == 200
        assert list(AccessAttempt.objects.values_list("ip_address", "failures_since_start")) == [(CLIENT_ADDRESS, 1)]
        login = client.get(f"{url}/admin/login/", timeout=10)
        signed_in = client.post(f"{url}/admin/login/?next=/admin/", timeout=10, allow_redirects=False,
                                data={"csrfmiddlewaretoken": csrf_token(login.text), "username": "ops",
                                      "password": "pw-ops-serve-1", "next": "/admin/"})
        assert (signed_in.status_code, signed_in.headers["Location"]) == (302, "/admin/")
        admin_index = client.get(f"{url}/admin/", timeout=10, allow_redirects=False)
        assert admin_index.status_code == 200 and "Site administration" in admin_index.text

        # A WebSocket through nginx to daphne; the stack's worker publishes the event (the sweep task, sent
        # through the Redis broker), daphne pushes it over channels-redis
        feed = FeedClient(f"ws://127.0.0.1:{front}/ws/events/?token={key}")
        try:
            app.send_task("alerts.publish_pending")
            until(lambda: WhaleEvent.objects.filter(pk=stored.id, published_at__isnull=False).exists(), timeout=60)
            until(lambda: feed.frames, timeout=15)
            time.sleep(2)  # as long again for a repeat
        finally:
            feed.close()
        assert [(frame["type"], frame["event"]["id"], frame["event"]["tx_hash"]) for frame in feed.frames] == [
            ("event", stored.id, stored.tx_hash)]

        # Beat dispatches its row to the worker, which runs it
        until(lambda: PeriodicTask.objects.get(name=BEAT_ROW).total_run_count >= 1, timeout=30)
        until(lambda: re.search(r"Task alerts\.flush_digests\[[0-9a-f-]+\] succeeded", stack.text()), timeout=30)
        assert "Monitoring ws://127.0.0.1:" in stack.text()

        names = set(re.findall(r"^\S+ (\S+) +\|", stack.text(), re.M))  # honcho's "HH:MM:SS name | line"
        assert {"front.1", "web.1", "ws.1", "worker.1", "beat.1", "monitor.1"} <= names
        stack.look()
        assert len(stack.pids) >= 10  # honcho, six processes, gunicorn's 2 workers, nginx's and Celery's children
        returncode = stack.stop()

    log = stack.text()
    assert returncode == 143, log[-3000:]  # honcho: stopped by SIGTERM (128 + 15)
    assert sorted(pid for pid in stack.pids if running(pid)) == []
    assert [port for port in (front, gunicorn, daphne) if port_open(port)] == []
    assert "SIGKILL" not in log  # every process stopped on SIGTERM, within honcho's 5 s
    for name in ("front.1", "web.1", "ws.1", "worker.1", "beat.1", "monitor.1"):
        assert re.search(rf"system +\| {re.escape(name)} stopped \(rc=0\)", log), name


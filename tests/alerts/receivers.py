"""Real receivers on loopback for the alert-destination tests: an HTTP server that records what each service's
Apprise plugin posts, and an SMTP server (aiosmtpd). No Django import beyond what the fixtures need.

Apprise's Discord, Slack and Telegram plugins post to an API host fixed in the plugin class (``notify_url`` /
``webhook_url``), which no URL option overrides; ``service_apis`` points those class attributes at the loopback
receiver, so the real plugins build and send their real requests here. ntfy, the JSON target and e-mail take
their host from the URL and need nothing of the kind.
"""

import json
import threading
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from apprise.plugins.discord import NotifyDiscord
from apprise.plugins.slack import NotifySlack
from apprise.plugins.telegram import NotifyTelegram

from tests.http_servers import LoopbackServer, QuietHandler
from tests.ports import free_port


@dataclass
class Received:
    """One request: path, headers, raw body and the body parsed as JSON (None when it is not JSON)."""

    path: str
    headers: dict[str, str]
    body: bytes
    json: object = field(default=None)


class ServiceReceiver(LoopbackServer):
    """Records every POST and answers the scripted statuses in turn (the last repeats). The reply body is what the
    service's API answers on success: Slack's incoming webhook "ok", Telegram's {"ok": true, ...}, else {}."""

    def __init__(self, statuses: list[int] | None = None, location: str = "") -> None:
        self.statuses = list(statuses or [200])
        self.location = location  # sent as Location with a 3xx status
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                with receiver.lock:
                    receiver.requests.append(Received(self.path, dict(self.headers), body, parsed))
                    status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                reply = (b"ok" if self.path.startswith("/services/")
                         else b'{"ok": true, "result": {"message_id": 1}}' if self.path.startswith("/bot")
                         else b"{}")
                self.send_response(status)
                if receiver.location and 300 <= status < 400:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Type", "text/plain" if reply == b"ok" else "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        super().__init__(Handler)
        self.host = f"127.0.0.1:{self.port}"


@pytest.fixture
def receiver():
    server = ServiceReceiver()
    yield server
    server.close()


@pytest.fixture
def service_apis(monkeypatch, receiver):
    """Point Apprise's fixed Discord, Slack and Telegram API hosts at ``receiver`` (see the module docstring)."""
    monkeypatch.setattr(NotifyDiscord, "notify_url", f"{receiver.url}/api/webhooks")
    monkeypatch.setattr(NotifySlack, "webhook_url", f"{receiver.url}/services")
    monkeypatch.setattr(NotifyTelegram, "notify_url", f"{receiver.url}/bot")
    return receiver


class SmtpReceiver:
    """An SMTP server (aiosmtpd) on a free loopback port, keeping every message: (mail from, recipients, text)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                receiver.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.content.decode("utf-8", "replace")))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def url(self, to: str = "alice@example.com") -> str:
        """An Apprise mailto URL that sends through this server, without TLS or login."""
        return (f"mailto://whales@example.com?smtp=127.0.0.1&port={self.port}&mode=insecure&to={to}"
                "&from=whales@example.com")

    def close(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp():
    server = SmtpReceiver()
    yield server
    server.close()

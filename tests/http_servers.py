"""Real HTTP servers on loopback inside the test process (``http.server`` on a thread), for the clients under
test to talk to: a request handler base that keeps pytest's output clean, and the server around it. No Django
import (like ``tests/ports.py``)."""

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from types import TracebackType
from typing import Any, Self


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that does not log each request to stderr (subclass it and add ``do_GET``/``do_POST``)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LoopbackServer:
    """``handler`` served by a ThreadingHTTPServer on 127.0.0.1 at a free port, on a daemon thread, from
    construction until ``close()`` (or the end of a ``with`` block). ``port``; ``url`` is
    ``http://127.0.0.1:<port>`` (no trailing slash); ``name`` names the serving thread (default: Python's).
    Each request runs on its own daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, name: str | None = None) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port: int = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = Thread(target=self.server.serve_forever, daemon=True, name=name)
        self.thread.start()

    def close(self) -> None:
        """Stop serving and close the listening socket (requests still running finish on their threads)."""
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

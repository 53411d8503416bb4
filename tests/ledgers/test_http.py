"""ledgers.http.retrying_session against a real loopback server that fails before it answers."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ledgers.http import retrying_session


class FlakyHandler(BaseHTTPRequestHandler):
    """Answers 503 to the first ``failures`` requests, then 200; counts every request."""

    failures = 0
    hits: list[str] = []

    def _answer(self) -> None:
        type(self).hits.append(self.command)
        failing = len(type(self).hits) <= type(self).failures
        self.send_response(503 if failing else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    FlakyHandler.hits = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FlakyHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_a_503_is_retried_until_the_answer(server):
    FlakyHandler.failures = 2
    session = retrying_session(retries=3, backoff_s=0.001)
    assert session.get(server, timeout=5).status_code == 200
    assert FlakyHandler.hits == ["GET", "GET", "GET"]


def test_the_last_failure_is_handed_back_when_retries_run_out(server):
    FlakyHandler.failures = 10
    response = retrying_session(retries=2, backoff_s=0.001).get(server, timeout=5)
    assert response.status_code == 503
    assert len(FlakyHandler.hits) == 3  # the request and two retries


def test_post_is_retried_only_when_every_method_is_allowed(server):
    FlakyHandler.failures = 1
    assert retrying_session(retries=2, backoff_s=0.001).post(server, timeout=5).status_code == 200
    assert FlakyHandler.hits == ["POST", "POST"]
    FlakyHandler.hits = []
    FlakyHandler.failures = 1
    get_only = retrying_session(retries=2, backoff_s=0.001, methods=frozenset({"GET"}))
    assert get_only.post(server, timeout=5).status_code == 503
    assert FlakyHandler.hits == ["POST"]

"""ledgers.http.retrying_session against a real loopback server that fails before it answers."""

import threading
import time

import pytest

from ledgers.http import retrying_session
from tests.http_servers import LoopbackServer, QuietHandler


class FlakyHandler(QuietHandler):
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


@pytest.fixture
def server():
    FlakyHandler.hits = []
    with LoopbackServer(FlakyHandler) as httpd:
        yield f"{httpd.url}/"


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


class RateLimitedHandler(QuietHandler):
    """Answers the first request 429 with ``Retry-After: 21600`` (6 hours), then 200."""

    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(429 if type(self).hits == 1 else 200)
        if type(self).hits == 1:
            self.send_header("Retry-After", "21600")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


@pytest.mark.parametrize("explicit_max_s", [None, 30])
def test_a_huge_retry_after_is_waited_for_at_most_the_setting(settings, explicit_max_s):
    """Issue 14 item 7: urllib3 honours Retry-After up to 6 hours; every session caps it at
    HTTP_RETRY_AFTER_MAX_S (an explicit larger per-client cap does not raise it)."""
    settings.HTTP_RETRY_AFTER_MAX_S = 0.3
    RateLimitedHandler.hits = 0
    httpd = LoopbackServer(RateLimitedHandler)
    answers: list[int] = []
    session = retrying_session(retries=2, backoff_s=0.001, retry_after_max_s=explicit_max_s)
    caller = threading.Thread(target=lambda: answers.append(
        session.get(f"{httpd.url}/", timeout=5).status_code), daemon=True)
    started = time.monotonic()
    caller.start()
    caller.join(timeout=10)  # without the cap the retry sleeps 6 hours (or 30 s)
    elapsed = time.monotonic() - started
    httpd.close()
    assert answers == [200]
    assert RateLimitedHandler.hits == 2
    assert 0.3 <= elapsed < 5

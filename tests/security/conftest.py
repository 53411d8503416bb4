"""The attack suite's shared fixtures, and the counts the fuzzing test prints at the end of the session."""

from collections import Counter

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

FUZZ_COUNTS: Counter = Counter()
FUZZ_OPERATIONS_5XX: set[str] = set()


@pytest.fixture
def requests_keep_the_test_connection():
    """WSGI requests keep the test's database connection, as with Django's test client (closing it at the end
    of a request would break the test transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def pytest_terminal_summary(terminalreporter):
    if FUZZ_COUNTS["requests"]:
        terminalreporter.write_line(
            f"API fuzzing: {FUZZ_COUNTS['requests']} requests, {FUZZ_COUNTS['5xx']} answered 5xx "
            f"{sorted(FUZZ_OPERATIONS_5XX)}")

"""API fuzzing: schemathesis over the whole OpenAPI schema (``/api/schema/``), in process through the WSGI
app on the test PostgreSQL database, as anonymous and as two signed-in users (tokens).

Each operation gets ``EXAMPLES`` generated cases per identity, derandomized (fixed seed: the same requests on
every run). Checks: no 5xx, status codes and bodies as documented, content types as documented. The requests
made and the 5xx seen are counted and printed in the terminal summary (``tests/security/conftest.py``).
"""

import pytest
from hypothesis import HealthCheck, settings

from alerts.tokens import api_token_create
from tests.security.conftest import FUZZ_COUNTS, FUZZ_OPERATIONS_5XX
from tests.security.schema import CHECKS, api_schema
from tests.trading.factories import AccountFactory, StrategyFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("requests_keep_the_test_connection")]

EXAMPLES = 10
IDENTITIES = ["anonymous", "alice", "bob"]

schema = api_schema()  # at collection: one test per operation


@pytest.fixture
def identities(django_user_model) -> dict[str, dict[str, str]]:
    """Headers per identity; alice and bob each own an account with a strategy, so owner-scoped ids exist."""
    headers = {"anonymous": {}}
    for name in ("alice", "bob"):
        user = django_user_model.objects.create_user(username=name, password=f"pw-{name}-fuzz-1")
        StrategyFactory(account=AccountFactory(owner=user))
        headers[name] = {"Authorization": f"Token {api_token_create(user_id=user.pk, name='test')[1]}"}
    return headers


@pytest.fixture(autouse=True)
def no_throttles(monkeypatch):
    """Every throttle scope unlimited: the fuzzer must reach the views, not the 429 of its own volume."""
    from collections import defaultdict

    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", defaultdict(lambda: None))


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_operation_answers_as_documented_without_a_server_error(case, identities):
    key = f"{case.operation.method.upper()} {case.operation.path}"
    for identity in IDENTITIES:  # the same case as each identity
        FUZZ_COUNTS["requests"] += 1
        response = case.call(headers=identities[identity])
        if response.status_code >= 500:
            FUZZ_COUNTS["5xx"] += 1
            FUZZ_OPERATIONS_5XX.add(key)
        case.validate_response(response, checks=CHECKS)

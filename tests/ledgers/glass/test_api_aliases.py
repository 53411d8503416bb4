"""The glass ledger's read endpoints under ``/api/v1/glass/`` and their pre-grouping paths, kept as aliases:
the same answers (and errors), marked deprecated in headers and in the OpenAPI schema."""

import calendar
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.api import assert_error
from tests.ledgers.glass.bitcoin.test_api import whales  # noqa: F401  (fixture: three mempool whales)
from whales.models import SmartMoneyFlow

pytestmark = pytest.mark.django_db

# (alias, canonical)
PAIRS = [
    ("/api/v1/smart-money/flows", "/api/v1/glass/smart-money-flows"),
    ("/api/v1/bitcoin/mempool/scorecard", "/api/v1/glass/bitcoin/mempool/scorecard"),
    ("/api/v1/bitcoin/mempool/transactions", "/api/v1/glass/bitcoin/mempool/transactions"),
]
QUERIES = {
    "/api/v1/glass/smart-money-flows": "token=ETH&days=7",
    "/api/v1/glass/bitcoin/mempool/scorecard": "days=7",
    "/api/v1/glass/bitcoin/mempool/transactions": "status=replaced&limit=5",
}
BAD_QUERIES = {
    "/api/v1/glass/smart-money-flows": "token=ETH&days=0",
    "/api/v1/glass/bitcoin/mempool/scorecard": "days=0",
    "/api/v1/glass/bitcoin/mempool/transactions": "limit=0",
}
# RFC 9745: Deprecation is "@" and the epoch seconds of the day the endpoints were grouped (2026-12-03 UTC).
DEPRECATION = f"@{calendar.timegm((2026, 12, 3, 0, 0, 0))}"


@pytest.fixture
def flows():
    cache.clear()
    now = timezone.now()
    for ago, net in ((timedelta(days=3), "1250.5"), (timedelta(hours=1), "-40")):
        SmartMoneyFlow.objects.create(token="ETH", window="24h", net_flow_usd=Decimal(net), min_score=60,
                                      collected_at=now - ago)
    yield
    cache.clear()


@pytest.mark.parametrize(("alias", "canonical"), PAIRS)
def test_the_alias_answers_as_the_glass_path_and_names_its_successor(api_client, flows, whales, alias,  # noqa: F811
                                                                     canonical):
    query = QUERIES[canonical]
    new = api_client.get(f"{canonical}?{query}")
    old = api_client.get(f"{alias}?{query}")
    assert new.status_code == old.status_code == 200
    old_body, new_body = old.json(), new.json()
    if "since" in new_body:  # the scorecard's window start is "now - days" at each request: later on the alias
        assert old_body.pop("since") >= new_body.pop("since")
    assert old_body == new_body
    assert old_body.get("points") or old_body.get("total")  # the fixtures put rows behind every endpoint
    assert (old["Deprecation"], old["Link"]) == (DEPRECATION, f'<{canonical}?{query}>; rel="successor-version"')
    assert "Deprecation" not in new and "Link" not in new


def test_the_glass_flows_are_the_stored_collections_of_the_token(api_client, flows):
    body = api_client.get("/api/v1/glass/smart-money-flows?token=ETH&days=7").json()
    assert [point["net_flow_usd"] for point in body["points"]] == ["1250.50000000", "-40.00000000"]
    assert (body["token"], body["days"], body["latest"]["net_flow_usd"]) == ("ETH", 7, "-40.00000000")


@pytest.mark.parametrize(("alias", "canonical"), PAIRS)
def test_a_bad_parameter_is_the_same_400_on_both_paths(api_client, alias, canonical):
    query = BAD_QUERIES[canonical]
    new = assert_error(api_client.get(f"{canonical}?{query}"), 400, "invalid_parameter")
    assert assert_error(api_client.get(f"{alias}?{query}"), 400, "invalid_parameter") == new


def test_the_schema_documents_the_glass_paths_and_deprecates_the_aliases(api_client):
    paths = api_client.get("/api/schema/?format=json").json()["paths"]
    for alias, canonical in PAIRS:
        assert paths[alias]["get"]["deprecated"] is True
        assert "deprecated" not in paths[canonical]["get"]
    operation_ids = [op["operationId"] for item in paths.values() for op in item.values() if "operationId" in op]
    assert len(operation_ids) == len(set(operation_ids))

"""Issue 17 §6: a list endpoint answers a parameter it does not read with 400 naming it, and nothing else.

Before, ``GET whales?minRoi=50&sortBy=roi`` answered the unfiltered list (the names are ``min_roi``/``sort_by``)."""

import pytest

from tests.api import assert_error

API = "/api/v1"
# (path, a query it reads): each must still answer 200 with the query alone.
PUBLIC_LISTS = [
    ("whales", "min_roi=50&sort_by=roi"),
    ("whales/top", "chain=ethereum"),
    ("events/recent", "limit=5"),
    ("catalyst/events", ""),
    ("smart-money/wallets", "min_score=10"),
    ("glass/smart-money-flows", "token=ETH"),
    ("smart-money/flows", "token=ETH"),
    ("glass/bitcoin/mempool/transactions", ""),
    ("human/reddit/posts", ""),
    ("human/cryptopanic/posts", ""),
    ("collectors/health", ""),
    ("dashboard/summary", ""),
]
OWNER_LISTS = [("alerts/rules", "limit=5"), ("alerts", ""), ("trading/accounts", "")]


def _check(client, path: str, query: str) -> None:
    good = client.get(f"{API}/{path}?{query}")
    assert good.status_code == 200, (path, good.content)
    sep = "&" if query else ""
    detail = assert_error(client.get(f"{API}/{path}?{query}{sep}minRoi=50&sortBy=roi"), 400, "invalid_parameter")
    assert detail.startswith("Unknown parameter(s): minRoi, sortBy. Known: "), detail
    assert "format" not in detail.split("Known: ", 1)[1].rstrip(".").split(", ")
    # DRF's renderer override stays accepted everywhere.
    assert client.get(f"{API}/{path}?{query}{sep}format=json").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "query"), PUBLIC_LISTS)
def test_public_lists_refuse_unknown_parameters(api_client, path, query):
    _check(api_client, path, query)


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "query"), OWNER_LISTS)
def test_owner_lists_refuse_unknown_parameters(api_client, user, path, query):
    api_client.force_login(user)
    _check(api_client, path, query)


@pytest.mark.django_db
def test_whale_list_names_its_known_parameters(api_client):
    detail = assert_error(api_client.get(f"{API}/whales?minRoi=1"), 400, "invalid_parameter")
    assert detail == ("Unknown parameter(s): minRoi. Known: activity_window, chain, entity, is_tracked, label, "
                      "limit, min_roi, offset, order, search, sort_by, type, watchlist.")


@pytest.mark.django_db
def test_a_flood_of_unknown_names_is_cut_short(api_client):
    query = "&".join(f"p{n:03d}{'x' * 60}=1" for n in range(25))
    detail = assert_error(api_client.get(f"{API}/whales?{query}"), 400, "invalid_parameter")
    shown = detail.split("Unknown parameter(s): ", 1)[1].split(" and ", 1)[0].split(", ")
    assert shown == [f"p{n:03d}{'x' * 36}" for n in range(10)]
    assert " and 15 more. Known: " in detail

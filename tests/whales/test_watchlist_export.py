"""The watchlist export (issue 17 §5): a list's wallets streamed as CSV and JSON, each joined to its stored whale,
read back and compared with the rows made here; scoped like the list."""

import csv
import io
import json

import pytest
from django.http import StreamingHttpResponse

from tests.whales.factories import WhaleFactory
from whales.models.watchlists import Watchlist, WatchlistEntry

pytestmark = pytest.mark.django_db
BTC = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def body(response) -> str:
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def test_a_watchlist_exports_its_wallets_with_their_whales(api_client, user):
    whale = WhaleFactory(name="=HYPERLINK(\"x\")", is_tracked=False)  # a formula-looking name is defused in CSV
    watchlist = Watchlist.objects.create(owner=user, name="desk")
    first = WatchlistEntry.objects.create(watchlist=watchlist, chain=whale.chain, address=whale.address)
    second = WatchlistEntry.objects.create(watchlist=watchlist, chain="bitcoin", address=BTC)
    api_client.force_login(user)

    rows = list(csv.DictReader(io.StringIO(body(api_client.get(f"/api/v1/exports/watchlists/{watchlist.pk}.csv")))))
    assert rows == [
        {"chain": whale.chain, "address": whale.address, "added_at": iso(first.added_at), "whale_id": str(whale.pk),
         "whale_name": "'" + whale.name, "is_tracked": "false"},
        {"chain": "bitcoin", "address": BTC, "added_at": iso(second.added_at), "whale_id": "", "whale_name": "",
         "is_tracked": ""},
    ]
    items = json.loads(body(api_client.get(f"/api/v1/exports/watchlists/{watchlist.pk}.json")))
    assert items == [
        {"chain": whale.chain, "address": whale.address, "added_at": iso(first.added_at), "whale_id": whale.pk,
         "whale_name": whale.name, "is_tracked": False},
        {"chain": "bitcoin", "address": BTC, "added_at": iso(second.added_at), "whale_id": None, "whale_name": None,
         "is_tracked": None},
    ]


def test_a_private_watchlist_export_is_its_owners_alone(api_client, user, django_user_model):
    watchlist = Watchlist.objects.create(owner=user, name="desk")
    assert api_client.get(f"/api/v1/exports/watchlists/{watchlist.pk}.csv").status_code == 401
    api_client.force_login(django_user_model.objects.create_user(username="other", password="pw-other-123"))
    assert api_client.get(f"/api/v1/exports/watchlists/{watchlist.pk}.csv").status_code == 404
    watchlist.is_shared = True
    watchlist.save()
    assert api_client.get(f"/api/v1/exports/watchlists/{watchlist.pk}.csv").status_code == 200
    refused = api_client.get(f"/api/v1/exports/watchlists/{watchlist.pk}.csv?sortBy=x")
    assert refused.status_code == 400 and refused.json()["detail"].startswith("Unknown parameter(s): sortBy.")


def test_the_whale_export_filters_by_a_watchlist(api_client, user):
    on_list, _ = WhaleFactory(), WhaleFactory()
    watchlist = Watchlist.objects.create(owner=user, name="desk")
    WatchlistEntry.objects.create(watchlist=watchlist, chain=on_list.chain, address=on_list.address)
    api_client.force_login(user)
    answer = api_client.get(f"/api/v1/exports/whales.csv?watchlist={watchlist.pk}")
    rows = list(csv.DictReader(io.StringIO(body(answer))))
    assert [row["address"] for row in rows] == [on_list.address]

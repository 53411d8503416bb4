"""Watchlists (issue 17 §4): lists of wallets by (chain, address); owner-scoped, staff may publish; a filter of
the whale list, the events API, the live feed and alert rules."""

from decimal import Decimal

import pytest

from alerts.selectors import rules_matching
from alerts.services import alert_rule_create
from tests.api import assert_error
from tests.whales.factories import WhaleEventFactory, WhaleFactory
from whales.models import WhaleEvent
from whales.models.watchlists import Watchlist, WatchlistEntry

pytestmark = pytest.mark.django_db
API = "/api/v1/watchlists"
BTC = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def make_list(client, name: str = "funds") -> int:
    response = client.post(API, {"name": name}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def paste(client, list_id: int, text: str, chain: str | None = None) -> dict:
    response = client.post(f"{API}/{list_id}/entries", {"addresses": text, "chain": chain}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_paste_adds_normalized_wallets_once_and_reports_every_line(api_client, user):
    api_client.force_login(user)
    list_id = make_list(api_client)
    evm = "0x" + "AB" * 20
    result = paste(api_client, list_id, f"ethereum:{evm}\n\n{BTC}\nhyperliquid:{evm.lower()}\nnot-an-address\n{evm}")
    assert result["added"] == [{"chain": "ethereum", "address": evm.lower()}, {"chain": "bitcoin", "address": BTC},
                               {"chain": "hyperliquid", "address": evm.lower()}]
    assert result["already"] == []
    # a bare 0x address is valid on two chains: the line is refused with why, the others are added
    assert [i["line"] for i in result["invalid"]] == ["not-an-address", evm]
    assert result["invalid"][1]["reason"] == "valid on ethereum, hyperliquid, arbitrum: write it as chain:address"
    again = paste(api_client, list_id, evm, chain="ethereum")
    assert (again["added"], again["already"]) == ([], [{"chain": "ethereum", "address": evm.lower()}])
    assert WatchlistEntry.objects.filter(watchlist_id=list_id).count() == 3


def test_lists_are_owner_scoped_and_staff_may_publish(api_client, user, staff_user):
    api_client.force_login(user)
    private = make_list(api_client, "mine")
    assert_error(api_client.patch(f"{API}/{private}", {"is_shared": True}, format="json"), 400, "invalid_parameter")
    api_client.force_login(staff_user)
    assert_error(api_client.get(f"{API}/{private}"), 404, "not_found")
    published = make_list(api_client, "desk picks")
    assert api_client.patch(f"{API}/{published}", {"is_shared": True}, format="json").json()["is_shared"] is True
    api_client.force_login(user)
    listed = {item["name"]: item["mine"] for item in api_client.get(API).json()["items"]}
    assert listed == {"desk picks": False, "mine": True}
    assert api_client.get(f"{API}/{published}").status_code == 200
    # read, not write: another user's published list is not theirs to change
    assert_error(api_client.post(f"{API}/{published}/entries", {"addresses": BTC}, format="json"), 404, "not_found")
    assert_error(api_client.delete(f"{API}/{published}"), 404, "not_found")
    api_client.logout()
    assert api_client.get(API).status_code == 401


def test_the_whale_list_and_events_filter_by_a_watchlist(api_client, user, django_user_model):
    on_list, other = WhaleFactory(), WhaleFactory()
    untracked = WhaleFactory(chain="bitcoin", address=BTC, is_tracked=False)
    mine = WhaleEventFactory(whale=on_list, value_usd=Decimal("5"))
    WhaleEventFactory(whale=other)
    api_client.force_login(user)
    list_id = make_list(api_client)
    paste(api_client, list_id, f"ethereum:{on_list.address}\nbitcoin:{BTC}")
    whales = api_client.get(f"/api/v1/whales?watchlist={list_id}").json()
    assert sorted(item["id"] for item in whales["items"]) == sorted([on_list.id, untracked.id])
    events = api_client.get(f"/api/v1/events/recent?watchlist={list_id}").json()
    assert [item["id"] for item in events["items"]] == [mine.id]
    # another user may not filter by a private list, even with the answer cached for its owner
    stranger = django_user_model.objects.create_user(username="stranger", password="pw-stranger-1")
    api_client.force_login(stranger)
    detail = assert_error(api_client.get(f"/api/v1/whales?watchlist={list_id}"), 400, "invalid_parameter")
    assert detail == f"watchlist: no watchlist {list_id} of yours or published."
    api_client.logout()
    assert api_client.get(f"/api/v1/events/recent?watchlist={list_id}").status_code == 400


def test_a_rule_with_a_watchlist_takes_only_its_wallets_moves(user):
    on_list, other = WhaleFactory(), WhaleFactory()
    watchlist = Watchlist.objects.create(owner=user, name="funds")
    WatchlistEntry.objects.create(watchlist=watchlist, chain=on_list.chain, address=on_list.address)
    rule = alert_rule_create(owner_id=user.pk, name="big moves by my list", min_value_usd=Decimal("1000000"),
                             watchlist=watchlist)
    big_on, big_off = (WhaleEventFactory(whale=w, value_usd=Decimal("2000000")) for w in (on_list, other))
    small_on = WhaleEventFactory(whale=on_list, value_usd=Decimal("999999.99"))

    def matched(event) -> bool:
        return rule in rules_matching(WhaleEvent.objects.select_related("whale").get(pk=event.pk))

    assert (matched(big_on), matched(big_off), matched(small_on)) == (True, False, False)


def test_a_rule_cannot_use_another_users_private_list_and_a_used_list_cannot_be_deleted(api_client, user,
                                                                                         django_user_model):
    stranger = django_user_model.objects.create_user(username="stranger", password="pw-stranger-1")
    theirs = Watchlist.objects.create(owner=stranger, name="theirs")
    api_client.force_login(user)
    refused = api_client.post("/api/v1/alerts/rules", {"name": "r", "watchlist": theirs.pk}, format="json")
    detail = assert_error(refused, 400, "invalid_parameter")
    assert detail == f"watchlist: no watchlist {theirs.pk} of yours or published."
    mine = make_list(api_client)
    made = api_client.post("/api/v1/alerts/rules", {"name": "r", "watchlist": mine}, format="json")
    assert made.status_code == 201 and made.json()["watchlist"] == mine
    detail = assert_error(api_client.delete(f"{API}/{mine}"), 409, "conflict")
    assert detail == "Watchlist 'funds' is used by 1 alert rule(s); change or delete them first."


def test_bounds_hold(api_client, user, settings):
    settings.WATCHLIST_PASTE_MAX_LINES = 2
    settings.WATCHLIST_MAX_ENTRIES = 3
    api_client.force_login(user)
    list_id = make_list(api_client)
    lines = "\n".join(f"ethereum:0x{n:040x}" for n in range(1, 4))
    too_many = api_client.post(f"{API}/{list_id}/entries", {"addresses": lines}, format="json")
    assert assert_error(too_many, 400, "invalid_parameter") == "addresses: at most 2 lines at a time."
    paste(api_client, list_id, "ethereum:0x" + "1" * 40 + "\nethereum:0x" + "2" * 40)
    over = api_client.post(f"{API}/{list_id}/entries", {"addresses": "ethereum:0x" + "3" * 40 + "\nethereum:0x"
                                                        + "4" * 40}, format="json")
    assert assert_error(over, 400, "invalid_parameter") == (
        "addresses: a watchlist holds at most 3 wallets (it has 2, this adds 2).")
    assert WatchlistEntry.objects.filter(watchlist_id=list_id).count() == 2


def test_the_pages_make_fill_and_use_a_list(client, user):
    whale = WhaleFactory()
    client.force_login(user)
    assert client.post("/watchlists/", {"action": "create", "name": "desk"}).status_code == 302
    watchlist = Watchlist.objects.get(owner=user)
    # "+ watch" on a whale row goes back to where it was pressed
    added = client.post("/watchlists/add/", {"watchlist": watchlist.pk, "chain": whale.chain,
                                             "address": whale.address, "next": "/whales/?chain=ethereum"})
    assert (added.status_code, added["Location"]) == (302, "/whales/?chain=ethereum")
    offsite = client.post("/watchlists/add/", {"watchlist": watchlist.pk, "chain": whale.chain,
                                               "address": whale.address, "next": "https://evil.example/"})
    assert offsite["Location"] == "/watchlists/"
    assert list(WatchlistEntry.objects.values_list("chain", "address")) == [(whale.chain, whale.address)]
    page = client.get("/watchlists/").content.decode()
    assert f'href="/wallets/{whale.chain}/{whale.address}/">{whale.address}</a>' in page
    listing = client.get(f"/whales/?watchlist={watchlist.pk}").content.decode()
    assert f'data-whale-id="{whale.id}"' in listing and 'class="inline watchlist-add"' in listing
    assert client.post("/watchlists/", {"action": "remove", "watchlist": watchlist.pk, "chain": whale.chain,
                                        "address": whale.address}).status_code == 302
    assert not WatchlistEntry.objects.exists()

"""Django admin for whales and the big read-only tables."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.whales.factories import (
    EntityFactory,
    LabelFactory,
    TradeFactory,
    WhaleFactory,
    WhaleLabelFactory,
)
from whales import admin as whales_admin
from whales.models import Trade, Whale, WhaleLabel, WhaleType

pytestmark = pytest.mark.django_db

BINANCE_14_MIXED = "0x28C6c06298d514Db089934071355E5743bf21d60"
BINANCE_14 = BINANCE_14_MIXED.lower()
CHANGELIST = "admin:whales_whale_changelist"


def _whales(n: int) -> None:
    entity = EntityFactory(slug="binance", name="Binance")
    label = LabelFactory(slug="exchange")
    whales = Whale.objects.bulk_create(
        [Whale(chain="ethereum", address=f"0x{i:040x}", name=f"W{i}", entity=entity) for i in range(n)])
    WhaleLabel.objects.bulk_create([WhaleLabel(whale=w, label=label, source="test") for w in whales])


def _changelist_queries(admin_client, n: int) -> int:
    Whale.objects.all().delete()
    _whales(n)
    with CaptureQueriesContext(connection) as ctx:
        response = admin_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_whale_changelist_query_count_does_not_grow_with_whales(admin_client, django_assert_max_num_queries):
    small = _changelist_queries(admin_client, 50)
    large = _changelist_queries(admin_client, 500)
    assert small == large
    with django_assert_max_num_queries(12):
        admin_client.get(reverse(CHANGELIST))


def test_search_by_mixed_case_address_finds_the_whale(admin_client):
    whale = WhaleFactory(address=BINANCE_14, name="Binance 14")
    WhaleFactory(name="Binance 15")

    response = admin_client.get(reverse(CHANGELIST), {"q": BINANCE_14_MIXED})

    assert [w.pk for w in response.context["cl"].result_list] == [whale.pk]


def test_search_by_entity_name(admin_client):
    whale = WhaleFactory(entity=EntityFactory(slug="jump-trading", name="Jump Trading"), name="")
    WhaleFactory(name="Other")

    response = admin_client.get(reverse(CHANGELIST), {"q": "jump"})

    assert [w.pk for w in response.context["cl"].result_list] == [whale.pk]


@pytest.mark.parametrize("params, expected", [
    ({"chain__exact": "bitcoin"}, {"btc"}),
    ({"entity": "binance"}, {"binance"}),
    ({"entity": "Bin"}, {"binance"}),
    ({"label": "fund"}, {"fund"}),
    ({"is_tracked__exact": "0"}, {"untracked"}),
    ({"type__exact": "trader"}, {"fund"}),
])
def test_changelist_filters(admin_client, params, expected):
    WhaleFactory(name="btc", chain="bitcoin", address="bc1qr4dl5wa7kl8yu792dceg9z5knl2gkn220lk7a9")
    WhaleFactory(name="binance", entity=EntityFactory(slug="binance", name="Binance"))
    WhaleLabelFactory(whale=WhaleFactory(name="fund", type=WhaleType.TRADER), label=LabelFactory(slug="fund"))
    WhaleFactory(name="untracked", is_tracked=False)

    response = admin_client.get(reverse(CHANGELIST), params)

    assert {w.name for w in response.context["cl"].result_list} == expected


@pytest.mark.parametrize("action, field_values", [
    ("untrack", {"is_tracked": False, "type": WhaleType.UNCLASSIFIED, "type_is_manual": False}),
    ("set_type_holder", {"is_tracked": True, "type": WhaleType.HOLDER, "type_is_manual": True}),
    ("set_type_trader", {"is_tracked": True, "type": WhaleType.TRADER, "type_is_manual": True}),
    ("set_type_holder_trader", {"is_tracked": True, "type": WhaleType.HOLDER_TRADER, "type_is_manual": True}),
])
def test_actions_change_only_the_selected_whales(admin_client, action, field_values):
    chosen, other = WhaleFactory(), WhaleFactory()

    admin_client.post(reverse(CHANGELIST), {"action": action, "_selected_action": [chosen.pk]})

    chosen.refresh_from_db()
    other.refresh_from_db()
    assert {k: getattr(chosen, k) for k in field_values} == field_values
    assert (other.is_tracked, other.type, other.type_is_manual) == (True, WhaleType.UNCLASSIFIED, False)


def test_track_action(admin_client):
    whale = WhaleFactory(is_tracked=False)
    admin_client.post(reverse(CHANGELIST), {"action": "track", "_selected_action": [whale.pk]})
    whale.refresh_from_db()
    assert whale.is_tracked is True


def _add_form(**overrides) -> dict:
    data = {
        "chain": "ethereum", "address": BINANCE_14_MIXED, "name": "Binance 14", "entity": "",
        "type": "unclassified", "is_tracked": "on", "notes": "",
        "whale_labels-TOTAL_FORMS": "0", "whale_labels-INITIAL_FORMS": "0",
        "whale_labels-MIN_NUM_FORMS": "0", "whale_labels-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_add_form_stores_a_mixed_case_evm_address_lowercase(admin_client):
    response = admin_client.post(reverse("admin:whales_whale_add"), _add_form())

    assert response.status_code == 302
    assert list(Whale.objects.values_list("chain", "address", "type_is_manual")) == [("ethereum", BINANCE_14, False)]


@pytest.mark.parametrize("chain, address", [
    ("ethereum", "0x28c6c06298d514db089934071355e5743bf21d6"),  # 39 hex digits
    ("ethereum", "bc1qr4dl5wa7kl8yu792dceg9z5knl2gkn220lk7a9"),  # a Bitcoin address on Ethereum
    ("bitcoin", BINANCE_14),
])
def test_add_form_rejects_a_bad_address_and_saves_nothing(admin_client, chain, address):
    WhaleFactory()
    response = admin_client.post(reverse("admin:whales_whale_add"), _add_form(chain=chain, address=address))

    assert response.status_code == 200
    assert "address" in response.context["adminform"].form.errors
    assert Whale.objects.count() == 1


def test_setting_type_in_the_form_marks_it_manual(admin_client):
    whale = WhaleFactory(address=BINANCE_14)
    data = _add_form(address=BINANCE_14, type="holder")
    admin_client.post(reverse("admin:whales_whale_change", args=[whale.pk]), data)
    whale.refresh_from_db()
    assert (whale.type, whale.type_is_manual) == (WhaleType.HOLDER, True)


def test_label_inline_shows_provenance_and_stamps_the_analyst(admin_client, admin_user):
    whale = WhaleFactory(address=BINANCE_14)
    imported = WhaleLabelFactory(whale=whale, label=LabelFactory(slug="exchange"), source="etherscan-labelcloud",
                                 evidence_url="https://etherscan.io/accounts/label/binance", confidence="medium")
    fund = LabelFactory(slug="fund")
    url = reverse("admin:whales_whale_change", args=[whale.pk])

    page = admin_client.get(url).content.decode()
    assert "etherscan-labelcloud" in page and "https://etherscan.io/accounts/label/binance" in page

    data = _add_form(address=BINANCE_14, **{
        "whale_labels-TOTAL_FORMS": "2", "whale_labels-INITIAL_FORMS": "1",
        "whale_labels-0-id": str(imported.pk), "whale_labels-0-whale": str(whale.pk),
        "whale_labels-0-label": str(imported.label_id), "whale_labels-0-source": "etherscan-labelcloud",
        "whale_labels-0-evidence_url": "https://etherscan.io/accounts/label/binance",
        "whale_labels-0-confidence": "medium",
        "whale_labels-1-whale": str(whale.pk), "whale_labels-1-label": str(fund.pk),
        "whale_labels-1-source": "analyst", "whale_labels-1-evidence_url": "https://example.org/13f",
        "whale_labels-1-confidence": "high",
    })
    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert sorted(WhaleLabel.objects.values_list("label__slug", "source", "evidence_url", "confidence",
                                                 "added_by")) == [
        ("exchange", "etherscan-labelcloud", "https://etherscan.io/accounts/label/binance", "medium", None),
        ("fund", "analyst", "https://example.org/13f", "high", admin_user.pk),
    ]


def _trade_counts(queries: list[dict]) -> list[str]:
    return [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "whales_trade" in q["sql"]]


def test_trade_changelist_never_counts_the_whole_table(admin_client):
    TradeFactory.create_batch(3)

    with CaptureQueriesContext(connection) as ctx:
        response = admin_client.get(reverse("admin:whales_trade_changelist"))

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 3
    counts = _trade_counts(ctx.captured_queries)
    assert len(counts) == 1 and "LIMIT 10001" in counts[0]  # bounded, not a COUNT(*) over the table


def test_trade_changelist_uses_the_planner_estimate_on_a_big_table(admin_client, monkeypatch):
    TradeFactory.create_batch(12)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE whales_trade")
    monkeypatch.setattr(whales_admin, "COUNT_CAP", 10)  # "big" = at least 10 rows here

    with CaptureQueriesContext(connection) as ctx:
        response = admin_client.get(reverse("admin:whales_trade_changelist"))

    assert response.context["cl"].result_count == 12  # reltuples after ANALYZE
    assert _trade_counts(ctx.captured_queries) == []
    assert Trade.objects.count() == 12


@pytest.mark.parametrize("name", ["whaleevent", "eventthreshold", "entity", "label", "knownaddress"])
def test_other_changelists_load(admin_client, name):
    assert admin_client.get(reverse(f"admin:whales_{name}_changelist")).status_code == 200


def test_trade_admin_is_read_only(admin_client):
    trade = TradeFactory()
    assert admin_client.get(reverse("admin:whales_trade_add")).status_code == 403
    admin_client.post(reverse("admin:whales_trade_change", args=[trade.pk]), {"base_asset": "BTC"})
    trade.refresh_from_db()
    assert trade.base_asset == "ETH"

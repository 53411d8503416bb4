"""Admin pages of the market ledger render for staff, with the configured filters and search."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from ledgers.exchange.market.models import Asset, PriceHistory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="root", password="pw-root-1")
    client.force_login(user)
    return client


def test_asset_changelist_searches_by_contract(admin_client):
    response = admin_client.get(reverse("admin:market_asset_changelist"),
                                {"q": "0xA0B86991C6218B36C1D19D4A2E9EB0CE3606EB48".lower(), "chain": "ethereum"})
    assert response.status_code == 200
    assert [a.symbol for a in response.context["cl"].result_list] == ["USDC"]


def test_pricehistory_changelist_lists_prices_without_a_full_count(admin_client):
    eth = Asset.objects.get(symbol="ETH")
    PriceHistory.objects.create(asset=eth, timestamp=datetime(2024, 3, 14, tzinfo=UTC),
                                price_usd=Decimal("4007.9121260756656"))
    response = admin_client.get(reverse("admin:market_pricehistory_changelist"), {"asset__id__exact": eth.id})
    assert response.status_code == 200
    cl = response.context["cl"]
    assert [(p.asset.symbol, p.price_usd) for p in cl.result_list] == [("ETH", Decimal("4007.9121260756656"))]
    assert cl.show_full_result_count is False


def test_asset_admin_stores_a_pasted_checksummed_address_lowercase(admin_client):
    response = admin_client.post(reverse("admin:market_asset_add"), {
        "symbol": "UNI2", "name": "Test", "chain": "ethereum",
        "contract_address": "0x1F9840a85d5aF5bf1D1762F925BDADdC4201F985", "decimals": "18",
        "coingecko_id": "", "price_reference": ""})
    assert response.status_code == 302
    assert Asset.objects.get(symbol="UNI2").contract_address == "0x1f9840a85d5af5bf1d1762f925bdaddc4201f985"

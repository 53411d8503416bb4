"""The seeded asset list (migration 0002) and its idempotency."""

import importlib
import re

import pytest
from django.apps import apps

from ledgers.exchange.market.models import Asset

pytestmark = pytest.mark.django_db

seed = importlib.import_module("ledgers.exchange.market.migrations.0002_seed_assets")


def by_contract(contract: str) -> Asset:
    return Asset.objects.get(chain="ethereum", contract_address=contract)


@pytest.mark.parametrize(("contract", "symbol", "decimals", "is_stablecoin", "reference"), [
    ("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", "WETH", 18, False, "ETH"),
    ("0x2260fac5e5542a773aa44fbcfedf7c193bc2c599", "WBTC", 8, False, "BTC"),
    ("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "USDC", 6, True, None),
    ("0xdac17f958d2ee523a2206206994597c13d831ec7", "USDT", 6, True, None),
    ("0x6b175474e89094c44da98b954eedeac495271d0f", "DAI", 18, True, None),
    ("0x514910771af9ca656af840dff83e8264ecf986ca", "LINK", 18, False, None),
    ("0x6982508145454ce325ddbe47a25d4ec3d2311933", "PEPE", 18, False, None),
    ("0xa0b73e1ff0b80914ab6fe0444e65848c4c34450b", "CRO", 8, False, None),
])
def test_seeded_tokens_have_their_mainnet_contract_and_decimals(contract, symbol, decimals, is_stablecoin, reference):
    asset = by_contract(contract)
    assert (asset.symbol, asset.decimals, asset.is_stablecoin) == (symbol, decimals, is_stablecoin)
    assert (asset.price_reference.symbol if asset.price_reference else None) == reference


def test_native_coins_have_no_contract_and_price_from_their_csv_ids():
    natives = {a.symbol: a for a in Asset.objects.filter(contract_address="")}
    assert {s: (a.chain, a.decimals, a.coingecko_id) for s, a in natives.items()} == {
        "ETH": ("ethereum", 18, "ethereum"), "BTC": ("bitcoin", 8, "bitcoin")}


def test_every_seeded_contract_is_a_lowercase_evm_address_and_symbols_are_unique():
    tokens = Asset.objects.exclude(contract_address="")
    assert tokens.count() == len(seed.ERC20) == 20
    assert all(re.fullmatch(r"0x[0-9a-f]{40}", a.contract_address) for a in tokens)
    symbols = list(Asset.objects.values_list("symbol", flat=True))
    assert len(symbols) == len(set(symbols))


def test_seeding_again_adds_nothing_and_keeps_admin_edits():
    Asset.objects.filter(symbol="PEPE").update(name="Pepe (edited)", coingecko_id="")
    before = Asset.objects.count()

    seed.seed_assets(apps, None)

    assert Asset.objects.count() == before
    pepe = Asset.objects.get(symbol="PEPE")
    assert (pepe.name, pepe.coingecko_id) == ("Pepe (edited)", "")

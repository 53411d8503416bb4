"""price_at and PriceBook: the pricing rules of ledgers/exchange/market/selectors.py, on real ETH/BTC days."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledgers.exchange.market.models import Asset, PriceHistory
from ledgers.exchange.market.selectors import PriceBook, _info, asset_map, price_at
from tests.ledgers.exchange.market.factories import BTC_LONG_CSV, ETH_CSV, AssetFactory, csv_prices

pytestmark = pytest.mark.django_db

MAR_13 = datetime(2024, 3, 13, tzinfo=UTC)
MAR_14 = datetime(2024, 3, 14, tzinfo=UTC)
MAR_15 = datetime(2024, 3, 15, tzinfo=UTC)
WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
WBTC = "0x2260fac5e5542a773aa44fbcfedf7c193bc2c599"
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"


def asset(contract: str, chain: str = "ethereum") -> Asset:
    return Asset.objects.get(chain=chain, contract_address=contract)


@pytest.fixture
def march_2024(settings):
    """ETH and BTC daily prices 2024-03-01..2024-03-15 from the real CSVs (the days around the trin blocks)."""
    settings.PRICE_MAX_AGE_HOURS = 48
    rows = []
    for chain, path in (("ethereum", ETH_CSV), ("bitcoin", BTC_LONG_CSV)):
        native = asset("", chain)
        rows += [PriceHistory(asset=native, timestamp=day, price_usd=price)
                 for day, price in csv_prices(path).items() if datetime(2024, 3, 1, tzinfo=UTC) <= day <= MAR_15]
    PriceHistory.objects.bulk_create(rows)
    return {"eth": csv_prices(ETH_CSV), "btc": csv_prices(BTC_LONG_CSV)}


def test_price_at_an_exact_snapshot_is_that_days_price(march_2024):
    assert price_at(asset=asset(""), when=MAR_14) == Decimal("4007.9121260756656") == march_2024["eth"][MAR_14]
    assert price_at(asset=asset("", "bitcoin"), when=MAR_14) == Decimal("73097.76702694128")


def test_price_at_takes_the_latest_snapshot_at_or_before_the_instant(march_2024):
    block_time = datetime(2024, 3, 14, 13, 5, 11, tzinfo=UTC)  # ~ trin block 19,433,902
    assert price_at(asset=asset(""), when=block_time) == march_2024["eth"][MAR_14]
    assert price_at(asset=asset(""), when=MAR_14 - timedelta(microseconds=1)) == march_2024["eth"][MAR_13]


@pytest.mark.parametrize(("age", "priced"), [
    (timedelta(hours=48), True),
    (timedelta(hours=48, seconds=1), False),
    (timedelta(days=30), False),
])
def test_price_at_refuses_a_price_older_than_price_max_age_hours(march_2024, age, priced):
    when = MAR_15 + age
    assert price_at(asset=asset(""), when=when) == (march_2024["eth"][MAR_15] if priced else None)


def test_price_max_age_hours_is_read_from_settings(march_2024, settings):
    settings.PRICE_MAX_AGE_HOURS = 12
    assert price_at(asset=asset(""), when=MAR_15 + timedelta(hours=12)) == march_2024["eth"][MAR_15]
    assert price_at(asset=asset(""), when=MAR_15 + timedelta(hours=13)) is None


def test_price_at_before_the_first_snapshot_is_none(march_2024):
    assert price_at(asset=asset(""), when=datetime(2024, 2, 29, 23, 59, tzinfo=UTC)) is None


def test_stablecoins_are_worth_exactly_one_usd_without_any_price_row():
    assert PriceHistory.objects.count() == 0
    assert price_at(asset=asset(USDC), when=MAR_14) == Decimal(1)


@pytest.mark.parametrize(("wrapped", "native_chain", "series"), [(WETH, "ethereum", "eth"), (WBTC, "bitcoin", "btc")])
def test_wrapped_tokens_take_their_reference_assets_price(march_2024, wrapped, native_chain, series):
    assert price_at(asset=asset(wrapped), when=MAR_14) == march_2024[series][MAR_14]
    assert price_at(asset=asset(wrapped), when=MAR_14) == price_at(asset=asset("", native_chain), when=MAR_14)


def test_a_token_without_prices_stays_unpriced(march_2024):
    pepe = asset("0x6982508145454ce325ddbe47a25d4ec3d2311933")
    assert price_at(asset=pepe, when=MAR_14) is None


WHENS = [
    MAR_14,
    datetime(2024, 3, 14, 13, 5, 11, tzinfo=UTC),
    MAR_14 - timedelta(microseconds=1),
    MAR_15 + timedelta(hours=48),
    MAR_15 + timedelta(hours=48, seconds=1),
    datetime(2024, 3, 1, tzinfo=UTC),
    datetime(2024, 2, 29, tzinfo=UTC),
]


@pytest.mark.parametrize("contract", ["", WETH, WBTC, USDC, "0x6982508145454ce325ddbe47a25d4ec3d2311933"])
def test_pricebook_usd_equals_price_at_for_the_same_inputs(march_2024, contract):
    infos = [_info(a) for a in Asset.objects.all()]
    book = PriceBook.load(assets=infos, start=min(WHENS), end=max(WHENS))
    info = asset_map(chain="ethereum")[contract]

    got = [book.usd(info, when) for when in WHENS]

    assert got == [price_at(asset=info, when=when) for when in WHENS]
    assert got == [price_at(asset=asset(contract), when=when) for when in WHENS]


def test_pricebook_prices_btc_like_price_at(march_2024):
    btc = asset_map(chain="bitcoin")[""]
    book = PriceBook.load(assets=iter([btc]), start=min(WHENS), end=max(WHENS))  # any iterable, even one-shot
    assert [book.usd(btc, w) for w in WHENS] == [price_at(asset=btc, when=w) for w in WHENS]
    assert book.usd(btc, MAR_14) == Decimal("73097.76702694128")


def test_pricebook_loads_in_one_query(march_2024, django_assert_num_queries):
    infos = list(asset_map(chain="ethereum").values())
    with django_assert_num_queries(1):
        book = PriceBook.load(assets=infos, start=MAR_13, end=MAR_15)
    weth = next(i for i in infos if i.contract_address == WETH)
    with django_assert_num_queries(0):
        assert book.usd(weth, MAR_14) == march_2024["eth"][MAR_14]
    assert weth.priced_by_id == asset("").id


def test_asset_map_keys_the_native_coin_under_the_empty_address():
    info = asset_map(chain="ethereum")[""]
    assert (info.symbol, info.decimals, info.is_stablecoin) == ("ETH", 18, False)
    assert info.priced_by_id == info.id


def test_price_at_of_a_factory_asset_uses_its_own_rows():
    token = AssetFactory(symbol="TEST")
    PriceHistory.objects.create(asset=token, timestamp=MAR_14, price_usd=Decimal("0.000001234567890123"))
    assert price_at(asset=token, when=MAR_15) == Decimal("0.000001234567890123")


def test_a_token_priced_through_a_stablecoin_is_worth_one_usd(django_assert_num_queries):
    wrapped_usdc = AssetFactory(symbol="aUSDC", decimals=6, price_reference=asset(USDC))
    info = asset_map(chain="ethereum")[wrapped_usdc.contract_address]

    assert info.is_stablecoin is True
    assert price_at(asset=wrapped_usdc, when=MAR_14) == Decimal(1)
    with django_assert_num_queries(0):
        assert PriceBook({}).usd(info, MAR_14) == Decimal(1)


def test_asset_map_reads_all_references_in_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        infos = asset_map(chain="ethereum")
    assert infos[WETH].priced_by_id == asset("").id

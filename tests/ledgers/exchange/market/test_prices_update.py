"""prices_update against the ledgers.replay node (market_chart derived from the recorded daily CSVs)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledgers.exchange.market.client import CoinGeckoClient, PriceSourceError, PriceSourceUnavailable
from ledgers.exchange.market.models import Asset, PriceHistory
from ledgers.exchange.market.services import prices_store, prices_update
from tests.ledgers.exchange.market.factories import BTC_LONG_CSV, ETH_CSV, AssetFactory, csv_prices

pytestmark = pytest.mark.django_db


def last_days(path, days: int) -> dict[datetime, Decimal]:
    """The CSV rows the replay node serves for days=N: from (last day - N days) to the last day."""
    rows = csv_prices(path)
    last = max(rows)
    return {day: price for day, price in rows.items() if day >= last - timedelta(days=days)}


def stored(chain: str) -> dict[datetime, Decimal]:
    native = Asset.objects.get(chain=chain, contract_address="")
    return dict(PriceHistory.objects.filter(asset=native).values_list("timestamp", "price_usd"))


@pytest.fixture
def client(replay):
    replay.stats.reset()
    client = CoinGeckoClient(replay.coingecko_url, timeout_s=5, retries=2, backoff_factor_s=0.01)
    yield client
    client.close()


def test_prices_update_stores_the_last_days_of_every_priced_coin_once(client, replay):
    # The replay node serves bitcoin from the series that ends latest (the 2010-2026 file).
    eth, btc = last_days(ETH_CSV, 5), last_days(BTC_LONG_CSV, 5)
    assert (len(eth), len(btc)) == (6, 6)

    first = prices_update(client=client, days=5)
    second = prices_update(client=client, days=5)

    assert (first, second) == (len(eth) + len(btc), 0)
    assert stored("ethereum") == eth
    assert stored("bitcoin") == btc
    assert stored("ethereum")[datetime(2025, 6, 5, tzinfo=UTC)] == Decimal("2610.343189828259")
    assert set(PriceHistory.objects.values_list("source", flat=True)) == {"coingecko-api"}


def test_prices_update_asks_only_for_coins_that_need_a_price(client, replay):
    prices_update(client=client, days=2)

    paths = replay.stats.snapshot()["paths"]
    coins = {p.split("/")[-2] for p in paths}
    expected = set(Asset.objects.exclude(coingecko_id="").filter(is_stablecoin=False, price_reference=None)
                   .values_list("coingecko_id", flat=True))
    assert coins == expected
    assert {"ethereum", "bitcoin", "pepe", "chainlink"} <= coins
    assert not {"usd-coin", "tether", "dai", "weth", "wrapped-bitcoin"} & coins  # stablecoins, wrapped
    assert set(paths.values()) == {1}  # one request per coin


def test_coins_the_source_does_not_know_are_skipped_and_the_others_stored(client):
    # Only ethereum and bitcoin have a recorded series: the other seeded tokens answer 404.
    assert prices_update(client=client, days=1) == 4
    assert PriceHistory.objects.exclude(asset__contract_address="").count() == 0


def test_prices_update_raises_when_every_coin_fails_terminally(client, replay):
    replay.faults.add("/coingecko/api/v3/coins/", status=401)

    with pytest.raises(PriceSourceError, match="HTTP 401"):
        prices_update(client=client, days=2)
    assert PriceHistory.objects.count() == 0


def test_an_unavailable_source_propagates_for_the_task_to_retry(client, replay):
    replay.faults.add("/coingecko/api/v3/coins/bitcoin/", status=502)

    with pytest.raises(PriceSourceUnavailable):
        prices_update(client=client, days=2)
    # Coins stored before the failure stay (ethereum is seeded first); a retry adds only what is missing.
    assert stored("ethereum") == last_days(ETH_CSV, 2)
    replay.faults.clear()
    assert prices_update(client=client, days=2) == 3


def test_prices_store_rounds_to_the_stored_precision_and_skips_unusable_points():
    token = AssetFactory()
    t0 = datetime(2024, 3, 14, tzinfo=UTC)
    points = [
        (t0, Decimal("0.0000012345678901234567")),  # PEPE-like: 22 decimals -> 18, half-even
        (t0 + timedelta(hours=1), Decimal("-1")),
        (t0 + timedelta(hours=2), Decimal("NaN")),
        (t0, Decimal("9")),  # a repeated instant keeps its first price
    ]

    assert prices_store(asset=token, points=points, source="test") == 1
    assert PriceHistory.objects.get(asset=token).price_usd == Decimal("0.000001234567890123")

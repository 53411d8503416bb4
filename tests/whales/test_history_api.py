"""``GET /api/v1/wallets/{chain}/{address}/roi-history`` and ``.../portfolio-history`` (chart data
from WalletMetricsDaily), on PostgreSQL through real URLs."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.whales.factories import WhaleFactory
from whales.chains import Chain
from whales.models import WalletMetricsDaily

pytestmark = pytest.mark.django_db

API = "/api/v1"
EVM_MIXED = "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01"
EVM_LOWER = EVM_MIXED.lower()


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()  # anonymous throttle history lives in the cache
    yield
    cache.clear()


def midnight(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat().replace("+00:00", "Z")


def daily(whale, day: date, *, roi: str | None = None, value: str | None = None) -> WalletMetricsDaily:
    return WalletMetricsDaily.objects.create(
        whale=whale, date=day, roi_percent=None if roi is None else Decimal(roi),
        portfolio_value_usd=None if value is None else Decimal(value))


@pytest.fixture
def today() -> date:
    return timezone.now().date()


def test_roi_history_default_window_is_the_90_days_ending_today_oldest_first(api_client, today):
    whale = WhaleFactory(address=EVM_LOWER)
    daily(whale, today, roi="12.5")
    daily(whale, today - timedelta(days=1), roi="-3.25")
    daily(whale, today - timedelta(days=89), roi="0.0001")
    daily(whale, today - timedelta(days=90), roi="99")  # the 91st day: outside the default window
    daily(WhaleFactory(), today, roi="42")  # another wallet's row never appears

    response = api_client.get(f"{API}/wallets/ethereum/{EVM_MIXED}/roi-history")

    assert response.status_code == 200
    assert response.json() == {"points": [
        {"timestamp": midnight(today - timedelta(days=89)), "value": "0.0001"},
        {"timestamp": midnight(today - timedelta(days=1)), "value": "-3.2500"},
        {"timestamp": midnight(today), "value": "12.5000"},
    ]}


def test_portfolio_history_values_are_exact_usd_strings_and_unknown_days_are_null(api_client, today):
    whale = WhaleFactory(address=EVM_LOWER)
    daily(whale, today - timedelta(days=2), value="123456789012345678901234.12345678")
    daily(whale, today - timedelta(days=1), roi="5")  # value unknown that day
    daily(whale, today, value="0.00000001")

    body = api_client.get(f"{API}/wallets/ethereum/{EVM_LOWER}/portfolio-history?days=3").json()

    assert body == {"points": [
        {"timestamp": midnight(today - timedelta(days=2)), "value": "123456789012345678901234.12345678"},
        {"timestamp": midnight(today - timedelta(days=1)), "value": None},
        {"timestamp": midnight(today), "value": "0.00000001"},
    ]}


@pytest.mark.parametrize(("days", "expected_days"), [(1, [0]), (2, [1, 0]), (3650, [3649, 2, 1, 0])])
def test_days_bounds_the_window(api_client, today, days, expected_days):
    whale = WhaleFactory(address=EVM_LOWER)
    for back in (3650, 3649, 2, 1, 0):
        daily(whale, today - timedelta(days=back), roi=str(back))

    body = api_client.get(f"{API}/wallets/ethereum/{EVM_LOWER}/roi-history?days={days}").json()

    assert body["points"] == [
        {"timestamp": midnight(today - timedelta(days=back)), "value": f"{back}.0000"} for back in expected_days
    ]


def test_recorded_history_ends_at_the_newest_row_not_today(api_client):
    """Offline data (days long past) still charts its last N days instead of nothing."""
    whale = WhaleFactory(chain=Chain.HYPERLIQUID, address=EVM_LOWER)
    for day, value in ((date(2024, 3, 12), "100"), (date(2024, 3, 13), "200.5"), (date(2024, 3, 14), "300.25")):
        daily(whale, day, value=value)

    body = api_client.get(f"{API}/wallets/hyperliquid/{EVM_LOWER}/portfolio-history?days=2").json()

    assert body == {"points": [
        {"timestamp": "2024-03-13T00:00:00Z", "value": "200.50000000"},
        {"timestamp": "2024-03-14T00:00:00Z", "value": "300.25000000"},
    ]}


def test_a_future_row_is_left_out_and_the_window_ends_today(api_client, today):
    whale = WhaleFactory(address=EVM_LOWER)
    daily(whale, today + timedelta(days=1), roi="1")
    daily(whale, today, roi="2")
    daily(whale, today - timedelta(days=1), roi="3")

    body = api_client.get(f"{API}/wallets/ethereum/{EVM_LOWER}/roi-history?days=1").json()

    assert body == {"points": [{"timestamp": midnight(today), "value": "2.0000"}]}


@pytest.mark.parametrize("kind", ["roi-history", "portfolio-history"])
def test_a_wallet_without_daily_rows_has_no_points(api_client, kind):
    WhaleFactory(chain=Chain.BITCOIN, address="bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")
    response = api_client.get(f"{API}/wallets/bitcoin/bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq/{kind}")
    assert (response.status_code, response.json()) == (200, {"points": []})


@pytest.mark.parametrize("kind", ["roi-history", "portfolio-history"])
@pytest.mark.parametrize(("path", "status", "code"), [
    (f"wallets/solana/{EVM_LOWER}/{{kind}}", 404, "unknown_chain"),
    ("wallets/ethereum/0x0000000000000000000000000000000000000bad/{kind}", 404, "not_found"),
    (f"wallets/arbitrum/{EVM_LOWER}/{{kind}}", 404, "not_found"),
    ("wallets/ethereum/0x123/{kind}", 400, "invalid_address"),
    (f"wallets/ethereum/{EVM_LOWER}/{{kind}}?days=0", 400, "invalid_parameter"),
    (f"wallets/ethereum/{EVM_LOWER}/{{kind}}?days=3651", 400, "invalid_parameter"),
    (f"wallets/ethereum/{EVM_LOWER}/{{kind}}?days=ten", 400, "invalid_parameter"),
])
def test_history_errors(api_client, kind, path, status, code):
    whale = WhaleFactory(address=EVM_LOWER)
    daily(whale, timezone.now().date(), roi="1")
    response = api_client.get(f"{API}/" + path.format(kind=kind))
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == code

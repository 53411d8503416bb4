"""``GET /api/v1/wallets/{chain}/{address}``: the current smart-money score with its components, the classification
with its reason, the score history (``.../score-history``) and the perp risk fields of Hyperliquid holdings.

Scores and types come from the real scoring run and classification over rows the tests create; the expected
figures are worked out here from formula v1 (``whales/analytics/scoring.py`` docstring) and the classification
rules, and the perp figures from the recorded Hyperliquid answer the collector stored."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from ledgers.glass.hyperliquid.client import HyperliquidClient
from ledgers.glass.hyperliquid.services import whales_collect
from tests.api import assert_error
from tests.ledgers.glass.hyperliquid import recorded
from tests.whales.factories import TradeFactory, WalletMetricsFactory, WhaleFactory
from whales.analytics.classification import whales_classify
from whales.analytics.scoring import scoring_run
from whales.models import WalletMetrics, WalletMetricsDaily, Whale

pytestmark = pytest.mark.django_db

API = "/api/v1/wallets"
WEIGHTS = {"roi": Decimal("0.35"), "win_rate": Decimal("0.25"), "realized_pnl": Decimal("0.25"),
           "consistency": Decimal("0.15")}


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def expected_score(normalized: dict[str, Decimal]) -> Decimal:
    """Formula v1 with the default weights (they sum to 1)."""
    return (sum(WEIGHTS[name] * n for name, n in normalized.items()) * 100).quantize(Decimal("0.01"))


@pytest.fixture
def scored(settings):
    """A whale scored three times: 60 days ago (no ROI, no daily rows yet), 10 days ago (ROI 100 %, 3 of 4
    daily rows profitable) and yesterday (win rate up from 60 to 80 %); then classified now."""
    settings.WHALE_SCORE_WEIGHTS = {name: str(w) for name, w in WEIGHTS.items()}
    now = timezone.now()
    whale = WhaleFactory(name="Scored")
    metrics = WalletMetricsFactory(whale=whale, roi_percent=None, win_rate_percent=Decimal("60"),
                                   realized_pnl_usd=Decimal("0"), closed_round_trips=12, trades_30d=25,
                                   volume_30d_usd=Decimal("1000"), portfolio_value_usd=Decimal("2000"))
    scoring_run(now=now - timedelta(days=60))
    for offset, roi in ((14, "5"), (13, "-1"), (12, "2"), (11, "0.5")):
        WalletMetricsDaily.objects.create(whale=whale, date=(now - timedelta(days=offset)).date(),
                                          roi_percent=Decimal(roi))
    WalletMetrics.objects.filter(pk=metrics.pk).update(roi_percent=Decimal("100"))
    scoring_run(now=now - timedelta(days=10))
    WalletMetrics.objects.filter(pk=metrics.pk).update(win_rate_percent=Decimal("80"))
    scoring_run(now=now - timedelta(days=1))
    TradeFactory(whale=whale, direction="buy", block_time=now - timedelta(days=40))
    TradeFactory(whale=whale, direction="sell", block_time=now - timedelta(days=10, hours=1))
    whales_classify(now=now)
    return whale, now


def test_wallet_detail_has_the_current_score_with_its_components_and_the_classification(api_client, scored):
    whale, _ = scored
    body = api_client.get(f"{API}/ethereum/{whale.address}").json()

    # roi (100 + 100) / 400; win rate 80 / 100; realized P&L 0 USD -> 0.5; consistency 3 of 4 days with ROI > 0.
    normalized = {"roi": Decimal("0.5"), "win_rate": Decimal("0.8"), "realized_pnl": Decimal("0.5"),
                  "consistency": Decimal("0.75")}
    assert expected_score(normalized) == Decimal("61.25")
    score = body["score"]
    assert (score["score"], score["confidence"], score["formula_version"]) == ("61.25", "medium", "v1")
    assert [(row["name"], row["input"], Decimal(row["normalized"]), Decimal(row["weight"]), row["points"])
            for row in score["breakdown"]] == [
        ("roi", "100.0000", Decimal("0.5"), Decimal("0.35"), "17.50"),
        ("win_rate", "80.0000", Decimal("0.8"), Decimal("0.25"), "20.00"),
        ("realized_pnl", "0.00000000", Decimal("0.5"), Decimal("0.25"), "12.50"),
        ("consistency", "0.75", Decimal("0.75"), Decimal("0.15"), "11.25"),
    ]
    assert sum(Decimal(row["points"]) for row in score["breakdown"]) == Decimal(score["score"])
    assert score["components"]["sample"] == {"closed_round_trips": 12, "low_below": 10, "high_from": 30}
    assert score["components"]["consistency_days"] == {"profitable": 3, "observed": 4, "window_days": 30}
    assert body["classification"] == {
        "type": "trader",
        "reason": "trader: 25 trades/30d (trader >= 20), turnover 0.50x (trader >= 1.0), "
                  "10 days since last sale (holder >= 90)",
        "is_manual": False,
        "classified_at": scored[1].isoformat().replace("+00:00", "Z"),
    }
    assert body["wallet"]["type"] == "trader"


def test_wallet_detail_score_is_null_for_a_wallet_never_scored(api_client):
    whale = WhaleFactory(type_reason="")
    body = api_client.get(f"{API}/ethereum/{whale.address}").json()
    assert body["score"] is None
    assert body["classification"] == {"type": "unclassified", "reason": "", "is_manual": False,
                                      "classified_at": None}


def test_score_history_keeps_the_score_in_force_at_the_windows_start(api_client, scored):
    whale, now = scored
    first = expected_score({"roi": Decimal(0), "win_rate": Decimal("0.6"), "realized_pnl": Decimal("0.5"),
                            "consistency": Decimal(0)})
    second = expected_score({"roi": Decimal("0.5"), "win_rate": Decimal("0.6"), "realized_pnl": Decimal("0.5"),
                             "consistency": Decimal("0.75")})
    assert (first, second) == (Decimal("27.50"), Decimal("56.25"))

    def points(days: int) -> list[tuple[str, str, str]]:
        response = api_client.get(f"{API}/ethereum/{whale.address}/score-history?days={days}")
        assert response.status_code == 200, response.content
        return [(p["timestamp"], p["value"], p["confidence"]) for p in response.json()["points"]]

    def at(days_ago: int) -> str:
        return (now - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")

    everything = [(at(60), "27.50", "medium"), (at(10), "56.25", "medium"), (at(1), "61.25", "medium")]
    assert points(90) == everything
    assert points(30) == everything  # the 60-day-old score held until 10 days ago: the window starts with it
    assert points(5) == everything[1:]


@pytest.mark.parametrize(("path", "status", "code"), [
    ("ethereum/0x0000000000000000000000000000000000000bad/score-history", 404, "not_found"),
    ("solana/0x0000000000000000000000000000000000000bad/score-history", 404, "unknown_chain"),
    ("ethereum/0x1/score-history", 400, "invalid_address"),
])
def test_score_history_errors(api_client, path, status, code):
    assert_error(api_client.get(f"{API}/{path}"), status, code)


@pytest.mark.parametrize("days", ["0", "3651", "x"])
def test_score_history_bad_days_is_400(api_client, days):
    whale = WhaleFactory()
    assert_error(api_client.get(f"{API}/ethereum/{whale.address}/score-history?days={days}"), 400,
                 "invalid_parameter")


@pytest.fixture
def hl_client(replay):
    client = HyperliquidClient(replay.hyperliquid_url, timeout_s=5, retries=2, backoff_s=0.01)
    yield client
    client.close()


def test_hyperliquid_holdings_carry_the_perp_risk_fields(api_client, hl_client):
    Whale.objects.create(chain="hyperliquid", address=recorded.POSITIONS_USER)
    whales_collect(client=hl_client)
    raw = {p["position"]["coin"]: p["position"] for p in recorded.clearinghouse_state()["assetPositions"]}

    body = api_client.get(f"{API}/hyperliquid/{recorded.POSITIONS_USER}").json()
    perps = {h["asset"]: h for h in body["holdings"] if h["is_perp"]}
    assert set(perps) == set(raw) and len(perps) == 12
    with_liquidation = 0
    for coin, holding in perps.items():
        r, perp = raw[coin], perps[coin]["perp"]
        size, value = Decimal(r["szi"]), Decimal(r["positionValue"])
        assert perp["side"] == ("short" if size < 0 else "long")
        assert Decimal(holding["amount"]) == size
        assert Decimal(perp["entry_price_usd"]) == Decimal(r["entryPx"])
        assert Decimal(perp["unrealized_pnl_usd"]) == Decimal(r["unrealizedPnl"])
        assert Decimal(perp["return_on_equity"]) == Decimal(r["returnOnEquity"])
        assert Decimal(perp["return_on_equity_percent"]) == Decimal(r["returnOnEquity"]) * 100
        assert Decimal(perp["leverage"]) == Decimal(r["leverage"]["value"])
        assert perp["leverage_type"] == r["leverage"]["type"]
        assert Decimal(perp["margin_used_usd"]) == Decimal(r["marginUsed"])
        if r["liquidationPx"] is None:
            assert (perp["liquidation_price_usd"], perp["liquidation_distance_percent"]) == (None, None)
            continue
        with_liquidation += 1
        mark, liq = value / abs(size), Decimal(r["liquidationPx"])
        away = (liq - mark) if size < 0 else (mark - liq)  # how far the price may move against the position
        assert Decimal(perp["liquidation_price_usd"]) == liq
        assert Decimal(perp["liquidation_distance_percent"]) == (away / mark * 100).quantize(Decimal("0.0001"))
    assert with_liquidation > 0
    spot = [h for h in body["holdings"] if not h["is_perp"]]
    assert [(h["asset"], h["perp"]) for h in spot] == [("USDC", None)]


def test_schema_documents_the_score_history_flow_overview_and_the_new_fields(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    paths, components = schema["paths"], schema["components"]["schemas"]
    history = paths["/api/v1/wallets/{chain}/{address}/score-history"]["get"]
    assert {p["name"] for p in history["parameters"]} == {"chain", "address", "days"}
    assert set(history["responses"]) == {"200", "400", "404"}
    overview = paths["/api/v1/glass/smart-money-flows/latest"]["get"]
    assert {p["name"] for p in overview["parameters"]} == {"window", "limit"}
    assert set(components["WalletDetail"]["properties"]) >= {"score", "classification"}
    assert set(components["Holding"]["properties"]) >= {"is_perp", "perp"}
    assert set(components["PerpPosition"]["properties"]) == {
        "side", "entry_price_usd", "unrealized_pnl_usd", "return_on_equity", "return_on_equity_percent", "leverage",
        "leverage_type", "liquidation_price_usd", "liquidation_distance_percent", "margin_used_usd"}
    wallets = paths["/api/v1/smart-money/wallets"]["get"]
    assert {"label", "sort_by"} <= {p["name"] for p in wallets["parameters"]}

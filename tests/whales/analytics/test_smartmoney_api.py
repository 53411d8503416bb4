"""Smart-money API (/api/v1/smart-money/...): shapes, filters, errors, X-Cache, TTLs and invalidation."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

import whales.analytics.api.cache as sm
from tests.api import assert_error
from tests.requirements import require
from tests.whales.factories import EntityFactory, LabelFactory, WalletMetricsFactory, WhaleFactory, WhaleLabelFactory
from whales.chains import Chain
from whales.models import RunStatus, ScoreConfidence, ScoringRun, SmartMoneyFlow, WalletScore

pytestmark = pytest.mark.django_db

API = "/api/v1/smart-money"
FLOWS = "/api/v1/glass/smart-money-flows"  # the flows are read from the glass ledger's API
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def score(whale, value, confidence=ScoreConfidence.HIGH, **kwargs) -> WalletScore:
    return WalletScore.objects.create(whale=whale, score=Decimal(value), confidence=confidence, formula_version="v1",
                                      scored_at=T0, components=kwargs.pop("components", {"roi": {"w": "0.4"}}),
                                      **kwargs)


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
def three(db):
    """a: eth 90 high roi 10; b: btc 70 medium roi 50; c: eth 40 low, no metrics; d: old score only."""
    entity = EntityFactory(slug="fund-x", name="Fund X")
    a = WhaleFactory(name="A", entity=entity)
    b = WhaleFactory(name="B", chain=Chain.BITCOIN, address="bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")
    c = WhaleFactory(name="C")
    d = WhaleFactory(name="D")
    WhaleLabelFactory(whale=a, label=LabelFactory(slug="smart"))
    WhaleLabelFactory(whale=a, label=LabelFactory(slug="fund"), source="analyst")
    WalletMetricsFactory(whale=a, roi_percent=Decimal("10"), win_rate_percent=Decimal("55.5"),
                         realized_pnl_usd=Decimal("1000"), realized_pnl_method="fifo")
    WalletMetricsFactory(whale=b, roi_percent=Decimal("50"), realized_pnl_usd=Decimal("-5"),
                         realized_pnl_method="exchange_closed_pnl")
    score(a, "90.00")
    score(b, "70.00", ScoreConfidence.MEDIUM)
    score(c, "40.00", ScoreConfidence.LOW)
    score(d, "99.00", is_current=False)
    return a, b, c, d


def test_wallet_list_shape_and_values(api_client, three):
    a, b, c, _ = three
    response = api_client.get(f"{API}/wallets")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3
    assert ids(response) == [a.id, b.id, c.id]
    assert body["items"][0] == {
        "id": a.id, "chain": "ethereum", "address": a.address, "name": "A",
        "entity": {"slug": "fund-x", "name": "Fund X", "kind": "fund"}, "labels": ["fund", "smart"],
        "score": "90.00", "confidence": "high", "formula_version": "v1", "scored_at": "2026-11-20T12:00:00Z",
        "roi_percent": "10.0000", "win_rate_percent": "55.5000", "realized_pnl_usd": "1000.00000000",
        "realized_pnl_method": "fifo", "volume_30d_usd": "500000.00000000",
        "breakdown": [],  # components written by no formula v1 run: nothing to break down
        "top_tokens": [],
    }
    no_metrics = body["items"][2]
    assert (no_metrics["roi_percent"], no_metrics["realized_pnl_method"], no_metrics["entity"]) == (None, None, None)


@pytest.mark.parametrize(("query", "expected"), [
    ("chain=ethereum", ["A", "C"]),
    ("min_score=70", ["A", "B"]),
    ("min_score=70.01", ["A"]),
    ("confidence=low", ["C"]),
    ("sort_by=roi", ["B", "A", "C"]),          # no metrics: last
    ("sort_by=roi&order=asc", ["A", "B", "C"]),
    ("sort_by=realized_pnl", ["A", "B", "C"]),
    ("sort_by=score&order=asc", ["C", "B", "A"]),
    ("limit=1&offset=1", ["B"]),
    ("label=smart", ["A"]),
    ("label=fund&chain=bitcoin", []),
    ("label=nobody", []),
    ("sort_by=win_rate", ["A", "B", "C"]),     # B has no win rate: after A
    ("sort_by=volume_30d&order=asc", ["A", "B", "C"]),
])
def test_wallet_list_filters_sort_and_paging(api_client, three, query, expected):
    response = api_client.get(f"{API}/wallets?{query}")
    assert response.status_code == 200, response.content
    assert [item["name"] for item in response.json()["items"]] == expected


def test_wallet_list_total_counts_filtered_rows_not_the_page(api_client, three):
    assert api_client.get(f"{API}/wallets?chain=ethereum&limit=1").json()["total"] == 2


@pytest.mark.parametrize("query", [
    "chain=solanaa", "min_score=101", "min_score=abc", "confidence=huge", "sort_by=portfolio_value",
    "order=up", "limit=0", "limit=501", "offset=-1",
])
def test_wallet_list_bad_parameter_is_400(api_client, three, query):
    assert_error(api_client.get(f"{API}/wallets?{query}"), 400, "invalid_parameter")


def test_wallet_detail_has_components_and_normalizes_the_address(api_client, three):
    a = three[0]
    response = api_client.get(f"{API}/wallets/ethereum/{a.address.upper().replace('0X', '0x')}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["score"], body["components"], body["run_id"]) == (a.id, "90.00", {"roi": {"w": "0.4"}},
                                                                               None)


@pytest.mark.parametrize(("path", "status", "code"), [
    ("wallets/dogechain/0x1", 404, "unknown_chain"),
    ("wallets/ethereum/0xnothex", 400, "invalid_address"),
    (f"wallets/ethereum/0x{'9' * 40}", 404, "not_found"),
])
def test_wallet_detail_errors(api_client, three, path, status, code):
    assert_error(api_client.get(f"{API}/{path}"), status, code)


def test_wallet_detail_404_for_a_wallet_without_a_current_score(api_client, three):
    d = three[3]
    assert_error(api_client.get(f"{API}/wallets/ethereum/{d.address}"), 404, "not_found")
    assert_error(api_client.get(f"{API}/wallets/ethereum/{WhaleFactory().address}"), 404, "not_found")


def test_stats(api_client, three):
    ScoringRun.objects.create(started_at=T0 - timedelta(hours=1), formula_version="v0", status=RunStatus.OK)
    run = ScoringRun.objects.create(started_at=T0, finished_at=T0 + timedelta(seconds=3), formula_version="v1",
                                    status=RunStatus.OK, total=3, processed=3, updated=3, failed=0, duration_ms=3000)
    body = api_client.get(f"{API}/stats").json()
    assert body == {
        "scored_wallets": 3, "by_confidence": {"low": 1, "medium": 1, "high": 1}, "average_score": "66.67",
        "last_run": {"id": run.id, "started_at": "2026-11-20T12:00:00Z", "finished_at": "2026-11-20T12:00:03Z",
                     "status": "ok", "formula_version": "v1", "total": 3, "processed": 3, "updated": 3, "failed": 0,
                     "duration_ms": 3000},
        "formula_version": "v1",
    }


def test_stats_when_nothing_is_scored(api_client):
    assert api_client.get(f"{API}/stats").json() == {
        "scored_wallets": 0, "by_confidence": {"low": 0, "medium": 0, "high": 0}, "average_score": None,
        "last_run": None, "formula_version": None,
    }


def flow(asset="ETH", window="24h", *, ago: timedelta, net: str, **kwargs) -> SmartMoneyFlow:
    return SmartMoneyFlow.objects.create(token=asset, window=window, net_flow_usd=Decimal(net), min_score=60,
                                         collected_at=timezone.now() - ago, **kwargs)


def test_flows_points_in_days_oldest_first_and_latest_with_top_wallets(api_client):
    flow(ago=timedelta(days=8), net="1")                 # outside days=7
    old = flow(ago=timedelta(days=6), net="2", buying_wallets=1)
    new = flow(ago=timedelta(minutes=5), net="-3", selling_wallets=2, sold_usd=Decimal("3"),
               top_sellers=[{"whale_id": 1, "chain": "ethereum", "address": "0xa", "name": "A", "net_usd": "-3"}])
    flow(window="1h", ago=timedelta(minutes=5), net="9")
    flow(asset="BTC", ago=timedelta(minutes=5), net="9")
    body = api_client.get(f"{FLOWS}?token=ETH&window=24h&days=7").json()
    assert (body["token"], body["window"], body["days"]) == ("ETH", "24h", 7)
    assert body["points"] == [
        {"collected_at": old.collected_at.isoformat().replace("+00:00", "Z"), "net_flow_usd": "2.00000000",
         "buying_wallets": 1, "selling_wallets": 0},
        {"collected_at": new.collected_at.isoformat().replace("+00:00", "Z"), "net_flow_usd": "-3.00000000",
         "buying_wallets": 0, "selling_wallets": 2},
    ]
    latest = body["latest"]
    assert (latest["net_flow_usd"], latest["sold_usd"], latest["min_score"]) == ("-3.00000000", "3.00000000", "60.00")
    assert latest["top_buyers"] == []
    assert latest["top_sellers"] == [{"whale_id": 1, "chain": "ethereum", "address": "0xa", "name": "A",
                                      "net_usd": "-3.00000000"}]


def test_flows_of_a_token_without_collections(api_client):
    assert api_client.get(f"{FLOWS}?token=NOPE").json() == {
        "token": "NOPE", "window": "24h", "days": 7, "points": [], "latest": None}


@pytest.mark.parametrize("query", ["", "window=24h", "token=ETH&window=2h", "token=ETH&days=0",
                                   "token=ETH&days=91", "token=ETH&days=x", f"token={'X' * 101}"])
def test_flows_bad_parameter_is_400(api_client, query):
    assert_error(api_client.get(f"{FLOWS}?{query}"), 400, "invalid_parameter")


# --- caching ------------------------------------------------------------------------------------

ENDPOINTS = [f"{API}/wallets?chain=ethereum", f"{API}/wallets/ethereum/{{a}}", f"{API}/stats", f"{FLOWS}?token=ETH"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_miss_then_hit_with_the_same_body(api_client, three, endpoint):
    url = endpoint.format(a=three[0].address)
    first, second = api_client.get(url), api_client.get(url)
    assert (first["X-Cache"], second["X-Cache"]) == ("MISS", "HIT")
    assert first.json() == second.json()


def test_hit_serves_the_cached_body_until_invalidated(api_client, three):
    a = three[0]
    assert api_client.get(f"{API}/wallets").json()["total"] == 3
    WalletScore.objects.filter(whale=a).update(score=Decimal("10.00"))
    hit = api_client.get(f"{API}/wallets")
    assert (hit["X-Cache"], hit.json()["items"][0]["score"]) == ("HIT", "90.00")
    sm.smart_money_cache_invalidate()
    miss = api_client.get(f"{API}/wallets")
    assert miss["X-Cache"] == "MISS"
    assert [item["score"] for item in miss.json()["items"]] == ["70.00", "40.00", "10.00"]


def test_invalidation_drops_every_endpoint(api_client, three):
    urls = [e.format(a=three[0].address) for e in ENDPOINTS]
    for url in urls:
        api_client.get(url)
    sm.smart_money_cache_invalidate()
    assert [api_client.get(url)["X-Cache"] for url in urls] == ["MISS"] * 4


def test_cache_key_is_the_validated_query(api_client, three):
    api_client.get(f"{API}/wallets?chain=ethereum&min_score=50")
    same = api_client.get(f"{API}/wallets?min_score=50.0&chain=ethereum&sort_by=score")
    other = api_client.get(f"{API}/wallets?chain=ethereum&min_score=51")
    assert (same["X-Cache"], other["X-Cache"]) == ("HIT", "MISS")


def test_errors_are_not_cached(api_client, three):
    url = f"{API}/wallets/ethereum/0x{'9' * 40}"
    assert api_client.get(url).status_code == 404
    response = api_client.get(url)
    assert response.status_code == 404
    assert "X-Cache" not in response


def test_invalidation_survives_a_lost_generation_key():
    before = sm.cache_generation()
    cache.delete(sm.GENERATION_KEY)
    assert sm.smart_money_cache_invalidate() > before


@pytest.mark.parametrize(("endpoint", "ttl"), [
    (f"{API}/wallets", 300), (f"{API}/wallets/ethereum/{{a}}", 600), (f"{API}/stats", 300),
    (f"{FLOWS}?token=ETH", 300)])
def test_ttls(api_client, three, monkeypatch, endpoint, ttl):
    timeouts = []
    real_set = cache.set
    monkeypatch.setattr(cache, "set", lambda key, value, timeout=None, **kw: (
        timeouts.append((key, timeout)), real_set(key, value, timeout, **kw))[1])
    api_client.get(endpoint.format(a=three[0].address))
    ours = [t for key, t in timeouts if key.startswith(f"{sm.CACHE_PREFIX}:") and key != sm.GENERATION_KEY]
    assert ours == [ttl]  # (the throttle's own cache.set is not ours)


def test_ttls_on_redis_when_configured(api_client, three, settings):
    require("Redis" in settings.CACHES["default"]["BACKEND"], "locmem cache (no REDIS_URL)")
    api_client.get(f"{API}/wallets/ethereum/{three[0].address}")
    client = cache._cache.get_client()
    keys = [k for k in client.keys("*smartmoney:*:wallet?*")]
    assert len(keys) == 1
    assert 590 < client.ttl(keys[0]) <= 600
    assert client.ttl(cache.make_and_validate_key(sm.GENERATION_KEY)) == -1  # never expires


def test_ttls_follow_settings(api_client, three, settings):
    settings.SMART_MONEY_CACHE_LIST_TTL = 7
    assert sm.cache_ttl("list") == 7


def test_scoring_run_finishing_invalidates_the_cache(api_client, three):
    from whales.analytics import scoring

    sm.smart_money_cache_hook_register()  # done by WhalesConfig.ready; again: still one entry
    assert sm.smart_money_cache_invalidate in scoring.SCORING_FINISHED_HOOKS
    assert api_client.get(f"{API}/stats")["X-Cache"] == "MISS"
    assert api_client.get(f"{API}/stats")["X-Cache"] == "HIT"
    scoring.scoring_run()
    response = api_client.get(f"{API}/stats")
    assert response["X-Cache"] == "MISS"
    assert response.json()["last_run"]["id"] == ScoringRun.objects.latest("started_at").id


def test_flow_overview_is_the_newest_collection_with_every_window_per_token(api_client):
    """Trades of two smart-money whales (scores 80 and 70) and one below the threshold (30), collected by the real
    flows_collect; the expected nets, counts and top wallets are summed here from the trades."""
    from tests.whales.factories import TradeFactory
    from whales.analytics.flows import flows_collect

    now = timezone.now()
    a, b, c = WhaleFactory(name="A"), WhaleFactory(name="B"), WhaleFactory(name="C")
    for whale, value in ((a, "80"), (b, "70"), (c, "30")):
        score(whale, value)

    def trade(whale, direction, usd, ago, asset="ETH"):
        TradeFactory(whale=whale, direction=direction, value_usd=Decimal(usd), base_asset=asset,
                     block_time=now - ago)

    trade(a, "buy", "1000", timedelta(minutes=30))
    trade(a, "sell", "200", timedelta(hours=5))
    trade(a, "buy", "500", timedelta(days=3), asset="BTC")
    trade(b, "sell", "700", timedelta(hours=2))
    trade(b, "buy", "100", timedelta(days=20))
    trade(c, "buy", "9999", timedelta(minutes=10))  # score 30 < 60: not smart money
    flow(ago=timedelta(days=1), net="123")  # an older collection: not shown
    flows_collect(now=now)

    def wallet(whale, net):
        return {"whale_id": whale.id, "chain": "ethereum", "address": whale.address, "name": whale.name,
                "net_usd": f"{Decimal(net):.8f}"}

    def window(bought, sold, buyers, sellers):
        return {"net_flow_usd": f"{Decimal(bought) - Decimal(sold):.8f}", "bought_usd": f"{Decimal(bought):.8f}",
                "sold_usd": f"{Decimal(sold):.8f}", "buying_wallets": len(buyers), "selling_wallets": len(sellers),
                "top_buyers": buyers, "top_sellers": sellers}

    eth = {"token": "ETH", "windows": {
        "1h": window("1000", "0", [wallet(a, "1000")], []),
        "24h": window("1000", "900", [wallet(a, "800")], [wallet(b, "-700")]),
        "7d": window("1000", "900", [wallet(a, "800")], [wallet(b, "-700")]),
        "30d": window("1100", "900", [wallet(a, "800")], [wallet(b, "-600")]),
    }}
    btc = {"token": "BTC", "windows": {"1h": None, "24h": None, "7d": window("500", "0", [wallet(a, "500")], []),
                                       "30d": window("500", "0", [wallet(a, "500")], [])}}
    response = api_client.get("/api/v1/glass/smart-money-flows/latest")
    assert (response.status_code, response["X-Cache"]) == (200, "MISS")
    assert response.json() == {"collected_at": now.isoformat().replace("+00:00", "Z"), "min_score": "60.00",
                               "window": "24h", "total": 2, "tokens": [eth, btc]}  # no 24h flow: last
    assert [t["token"] for t in api_client.get(
        "/api/v1/glass/smart-money-flows/latest?window=7d").json()["tokens"]] == ["BTC", "ETH"]
    assert [t["token"] for t in api_client.get(
        "/api/v1/glass/smart-money-flows/latest?window=7d&limit=1").json()["tokens"]] == ["BTC"]
    assert api_client.get("/api/v1/glass/smart-money-flows/latest")["X-Cache"] == "HIT"


def test_flow_overview_without_any_collection(api_client):
    assert api_client.get("/api/v1/glass/smart-money-flows/latest").json() == {
        "collected_at": None, "min_score": None, "window": "24h", "total": 0, "tokens": []}


@pytest.mark.parametrize("query", ["window=2h", "limit=0", "limit=x"])
def test_flow_overview_bad_parameter_is_400(api_client, query):
    assert_error(api_client.get(f"/api/v1/glass/smart-money-flows/latest?{query}"), 400, "invalid_parameter")


def test_wallet_list_rows_name_their_most_traded_tokens_of_30_days(api_client, three):
    from tests.whales.factories import TradeFactory

    a, b = three[0], three[1]
    now = timezone.now()
    for whale, direction, usd, asset, days in (
            (a, "buy", "100", "ETH", 1), (a, "sell", "30", "ETH", 2), (a, "buy", "500", "PEPE", 3),
            (a, "short", "90", "BTC", 4), (a, "close_short", "10", "BTC", 5), (a, "buy", "80", "SOL", 6),
            (a, "buy", "9999", "OLD", 31),            # older than 30 days
            (a, "send", "7777", "ETH", 1),            # a transfer, not a trade
            (b, "long", "40", "BTC", 1)):
        TradeFactory(whale=whale, direction=direction, value_usd=Decimal(usd), base_asset=asset,
                     block_time=now - timedelta(days=days), chain=whale.chain)
    items = {item["name"]: item["top_tokens"] for item in api_client.get(f"{API}/wallets").json()["items"]}
    # A: PEPE 500; ETH 100 + 30 = 130 (net 70); BTC 90 + 10 = 100 (net -90 + 10 = -80); SOL 80 is 4th: cut.
    assert items == {
        "A": [{"token": "PEPE", "volume_usd": "500.00000000", "net_usd": "500.00000000"},
              {"token": "ETH", "volume_usd": "130.00000000", "net_usd": "70.00000000"},
              {"token": "BTC", "volume_usd": "100.00000000", "net_usd": "-80.00000000"}],
        "B": [{"token": "BTC", "volume_usd": "40.00000000", "net_usd": "40.00000000"}],
        "C": [],
    }


def test_wallet_list_writes_a_stored_zero_in_plain_notation(api_client):
    whale = WhaleFactory()
    WalletMetricsFactory(whale=whale, realized_pnl_usd=Decimal("0"), roi_percent=Decimal("0"),
                         volume_30d_usd=Decimal("0"))
    score(whale, "50")
    item = api_client.get(f"{API}/wallets").json()["items"][0]
    # str() of the NUMERIC zeros PostgreSQL returns is "0E-8" / "0E-4"
    assert (item["realized_pnl_usd"], item["roi_percent"], item["volume_30d_usd"]) == (
        "0.00000000", "0.0000", "0.00000000")

"""Benchmark: ``GET /api/v1/smart-money/wallets`` cached vs uncached, in-process.

What is measured
    The view (whales.analytics.api.views.SmartMoneyWalletListView, throttling off) called through DRF with
    a RequestFactory request, response rendered to JSON bytes: p50 / p99 / mean latency of
    ``--uncached`` requests each made after ``smart_money_cache_invalidate()`` (a real miss: count +
    page + label queries + serialization + cache write), and of ``--cached`` requests of the same URL
    (a hit: generation read + body read from the cache + rendering). The invalidation before each
    uncached request is outside the timed region. Queries: default page (sort by score, 50 rows) and
    a filtered/sorted one (chain=ethereum&sort_by=roi&min_score=50&limit=100).

Data (setup, untimed, every run starts clean)
    The bench database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/whaletrack_bench_smartmoney;
    its name must contain "bench") is dropped, recreated and migrated. ``--whales`` whales (half
    Ethereum, half Hyperliquid), each with WalletMetrics, one current WalletScore (score spread over
    0-100, confidence by score) and one of 20 labels on every 3rd whale. The cache is Redis
    (REDIS_URL, default redis://127.0.0.1:6379/4); nothing in it is cleared: invalidation is the
    generation bump. DEBUG is forced off.

Target
    Cached p50 < 5 ms in-process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import database_recreate, django_setup, figure, percentile  # noqa: E402  (after sys.path)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/whaletrack_bench_smartmoney"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/4"
TARGET_CACHED_P50_MS = 5.0
QUERIES = {"default": "", "filtered": "chain=ethereum&sort_by=roi&min_score=50&limit=100"}


def seed(whales: int) -> None:
    from django.utils import timezone

    from whales.models import Label, ScoreConfidence, WalletMetrics, WalletScore, Whale, WhaleLabel

    now = timezone.now()
    rows = Whale.objects.bulk_create(
        [Whale(chain="hyperliquid" if i % 2 else "ethereum", address=f"0x{i + 1:040x}", name=f"bench {i}")
         for i in range(whales)], batch_size=5000)
    labels = Label.objects.bulk_create([Label(slug=f"bench-{n}", name=f"Bench {n}") for n in range(20)])
    WhaleLabel.objects.bulk_create(
        [WhaleLabel(whale=w, label=labels[i % 20], source="bench") for i, w in enumerate(rows) if i % 3 == 0],
        batch_size=5000)
    WalletMetrics.objects.bulk_create(
        [WalletMetrics(whale=w, roi_percent=Decimal((i * 7919) % 400 - 100), win_rate_percent=Decimal(i % 100),
                       realized_pnl_usd=Decimal((i * 104729) % 2_000_000 - 500_000), realized_pnl_method="fifo")
         for i, w in enumerate(rows)], batch_size=5000)

    def confidence(score: Decimal) -> str:
        return ScoreConfidence.HIGH if score >= 70 else ScoreConfidence.MEDIUM if score >= 30 else ScoreConfidence.LOW

    scores = [Decimal((i * 7907) % 10001) / 100 for i in range(whales)]
    WalletScore.objects.bulk_create(
        [WalletScore(whale=w, score=s, confidence=confidence(s), formula_version="v1", scored_at=now,
                     components={"roi": {"value": "1", "weight": "0.4"}}) for w, s in zip(rows, scores, strict=True)],
        batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(query: str, *, n: int, cached: bool) -> list[float]:
    """Latencies in ms of ``n`` rendered responses; a miss before each one unless ``cached``."""
    from rest_framework.test import APIRequestFactory

    from whales.analytics.api.cache import smart_money_cache_invalidate
    from whales.analytics.api.views import SmartMoneyWalletListView

    view = SmartMoneyWalletListView.as_view(throttle_classes=[])
    factory = APIRequestFactory()
    path = f"/api/v1/smart-money/wallets?{query}"
    expected = "HIT" if cached else "MISS"
    if cached:
        view(factory.get(path, HTTP_ACCEPT="application/json")).render()  # warm the entry
    samples = []
    for _ in range(n):
        if not cached:
            smart_money_cache_invalidate()
        request = factory.get(path, HTTP_ACCEPT="application/json")
        started = time.perf_counter()
        response = view(request)
        response.render()
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200 or response["X-Cache"] != expected:
            raise SystemExit(f"unexpected {response.status_code} X-Cache={response.get('X-Cache')} for {path}")
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--whales", type=int, default=10_000)
    parser.add_argument("--uncached", type=int, default=200, help="uncached requests per query (default 200)")
    parser.add_argument("--cached", type=int, default=2000, help="cached requests per query (default 2000)")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    database_recreate(url)
    django_setup(url)
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"# WhaleTrack smart-money API bench: {args.whales} scored whales, "
          f"cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}", flush=True)
    t0 = time.perf_counter()
    seed(args.whales)
    figure("seed_seconds", time.perf_counter() - t0, "s")
    measure("", n=20, cached=False)  # warm connections, imports, plans
    cached_p50 = {}
    for name, query in QUERIES.items():
        for label, cached, n in (("uncached", False, args.uncached), ("cached", True, args.cached)):
            samples = measure(query, n=n, cached=cached)
            figure(f"{name}_{label}_p50_ms", percentile(samples, 50), "ms")
            figure(f"{name}_{label}_p99_ms", percentile(samples, 99), "ms")
            figure(f"{name}_{label}_mean_ms", statistics.fmean(samples), "ms")
            if cached:
                cached_p50[name] = percentile(samples, 50)
    worst = max(cached_p50.values())
    verdict = "PASS" if worst < TARGET_CACHED_P50_MS else "FAIL"
    print(f"target: cached p50 < {TARGET_CACHED_P50_MS:.0f} ms in-process: {verdict} (worst {worst:.2f} ms)",
          flush=True)
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())

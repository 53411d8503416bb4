"""Profile: where the time of each heavy API read goes (issue 15, "find where the time goes"), in-process.

What is measured, per endpoint and page (the dashboard ``/`` and the busiest wallet's page)
    ``--repeat`` GETs through Django's test client (the whole stack: middleware, DRF, rendering), signed in as
    a staff user so throttles and anonymous limits do not interfere, each after emptying the read caches
    (``whales.readcache`` scopes and the smart-money cache: every figure is the cost of computing the answer).
    After one warm-up request: the median wall time, the number of SQL statements per request and the median
    time spent in them (``CaptureQueriesContext``),
    and the rest
    (Python: view logic, serialization, rendering) as wall - SQL. Then ``EXPLAIN (ANALYZE, BUFFERS)`` of the
    request's slowest statement: its total time, and the plan's top node and the nodes that read rows
    (``Seq Scan``, ``Index Scan``, ...) with their row counts. Then ``--repeat`` more GETs with the caches as
    the previous request left them (``..._cached_wall_ms_p50``: a hit where the answer is cached). ``--cprofile``
    prints the top 15 functions by own time (tottime) of one more request per endpoint.

Data
    An existing database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/whaletrack_bench_api): this
    script reads, never seeds. Seed it first with ``bench/metrics.py`` (10,000 whales, 1,000,000 trades, metrics
    computed); classification and scoring run here first unless ``--no-analytics``. Redis (REDIS_URL, default
    redis://127.0.0.1:6379/14) is the cache; the smart-money cache is emptied by its generation before each
    request so every figure is a miss unless the endpoint caches on its own.

Output: one block per endpoint (``figure`` lines), then the plan lines. The API's targets are measured over
HTTP under load by ``bench/api.py``; here the pages' (issue 15: under 200 ms server-side at this size, each
page with every cache emptied first) are printed as ``target_..._wall`` lines.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import django_setup, figure  # noqa: E402  (after sys.path)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/whaletrack_bench_api"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
READ_CACHE_SCOPES = ("whales", "collectors")
# Issue 15: the pages that use these reads render in under 200 ms server-side at this size.
PAGE_TARGET_MS = {"dashboard_page": 200.0, "wallet_page": 200.0}
PLAN_SCAN_WORDS = ("Scan", "Sort", "Aggregate", "Join", "Loop", "Limit")


def endpoints() -> list[tuple[str, str]]:
    """(name, path) of the reads issue 15 measures; the wallet is the one with the most trades."""
    from django.db.models import Count

    from whales.models import Trade, Whale

    busiest = (Trade.objects.values("whale_id").annotate(n=Count("id")).order_by("-n")
               .values_list("whale_id", flat=True).first())
    whale = Whale.objects.get(id=busiest)
    return [
        ("whales_limit_50", "/api/v1/whales?limit=50"),
        ("whales_top", "/api/v1/whales/top"),
        ("events_recent_limit_50", "/api/v1/events/recent?limit=50"),
        ("wallet_trades", f"/api/v1/wallets/{whale.chain}/{whale.address}/trades"),
        ("dashboard_summary", "/api/v1/dashboard/summary"),
        ("smart_money_wallets", "/api/v1/smart-money/wallets"),
        ("dashboard_page", "/"),
        ("wallet_page", f"/wallets/{whale.chain}/{whale.address}/"),
    ]


def plan_summary(sql: str, params: object) -> tuple[float, list[str]]:
    """EXPLAIN (ANALYZE, BUFFERS) of one statement: (execution ms, the plan lines that read or order rows)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) {sql}", params)
        lines = [row[0] for row in cursor.fetchall()]
    execution = next((float(line.split(":")[1].split()[0]) for line in lines if line.startswith("Execution Time")),
                     0.0)
    kept = [line.rstrip() for line in lines if any(word in line for word in PLAN_SCAN_WORDS)]
    return execution, kept[:12]


def profile_endpoint(client: object, name: str, path: str, repeat: int, with_cprofile: bool) -> None:
    """Print the figures of ``path`` (see the module docstring)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from whales.analytics.api.cache import smart_money_cache_invalidate
    from whales.readcache import read_cache_invalidate

    walls, sqls, counts = [], [], []
    slowest: tuple[float, str, object] = (0.0, "", None)
    status = 0
    client.get(path)  # type: ignore[attr-defined]  # warm-up: first-request imports and connections
    for _ in range(repeat):
        smart_money_cache_invalidate()
        for scope in READ_CACHE_SCOPES:
            read_cache_invalidate(scope)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)  # type: ignore[attr-defined]
            walls.append((time.perf_counter() - started) * 1000)
        status = response.status_code
        times = [float(q["time"]) * 1000 for q in captured.captured_queries]
        sqls.append(sum(times))
        counts.append(len(times))
        for q, ms in zip(captured.captured_queries, times, strict=True):
            if ms > slowest[0]:
                slowest = (ms, q["sql"], None)
    wall, sql = statistics.median(walls), statistics.median(sqls)
    hits = []
    for _ in range(repeat):  # the same request with the caches as the previous one left them
        started = time.perf_counter()
        client.get(path)  # type: ignore[attr-defined]
        hits.append((time.perf_counter() - started) * 1000)
    print(f"# {name}: GET {path} -> {status}, {len(response.content)} bytes", flush=True)
    figure(f"{name}_wall_ms_p50", wall, "ms")
    figure(f"{name}_queries", max(counts), "statements")
    figure(f"{name}_sql_ms_p50", sql, "ms")
    figure(f"{name}_python_ms_p50", wall - sql, "ms")
    figure(f"{name}_cached_wall_ms_p50", statistics.median(hits), "ms")
    if name in PAGE_TARGET_MS:
        passed = wall < PAGE_TARGET_MS[name]
        print(f"target_{name}_wall: {'PASS' if passed else 'FAIL'} ({wall:.1f} ms < {PAGE_TARGET_MS[name]:.0f} ms, "
              "every cache emptied first)", flush=True)
    if slowest[1]:
        execution, lines = plan_summary(slowest[1], None)
        print(f"  slowest statement ({slowest[0]:.1f} ms in the request, {execution:.1f} ms under EXPLAIN ANALYZE):"
              f" {slowest[1][:300]}", flush=True)
        for line in lines:
            print(f"    {line}", flush=True)
    if with_cprofile:
        profiler = cProfile.Profile()
        profiler.enable()
        client.get(path)  # type: ignore[attr-defined]
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(15)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--no-analytics", action="store_true", help="skip classification and scoring")
    args = parser.parse_args(argv)
    if not 1 <= args.repeat <= 1000:
        parser.error("--repeat must be 1-1000")
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if "bench" not in url.rsplit("/", 1)[-1]:
        parser.error("DATABASE_URL's database name must contain 'bench'")
    os.environ["REDIS_URL"] = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    django_setup(url)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    if not args.no_analytics:
        from whales.analytics.classification import whales_classify
        from whales.analytics.scoring import scoring_run

        started = time.perf_counter()
        whales_classify()
        scoring_run()
        figure("setup_classify_and_score_s", time.perf_counter() - started, "s")
    user, _ = get_user_model().objects.get_or_create(username="bench-profile", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    for name, path in endpoints():
        profile_endpoint(client, name, path, args.repeat, args.cprofile)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: one full data-quality run (ledgers.quality.quality_run) against a count(*) floor.

What is measured
    ``quality_run()`` exactly as its beat row runs it: the collectors' health, every data probe, every accuracy
    check (events without their trade, negative spot balances, trade values, Hyperliquid closedPnl, price
    spikes, Reddit sentiment labels, SEC filings without their catalyst, catalysts in the future), then the
    report and the issues stored in one transaction. Wall time of the run, and of each check alone after it.

The floor, measured in the same run on the same tables
    ``SELECT count(*)`` of each table the checks read (trades, events, holdings, prices, posts, filings,
    catalysts, wallet metrics), summed; the ratio is the run's time / that floor.

Data (setup, untimed, every run starts clean)
    The bench database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/whaletrack_bench_quality; its
    name must contain "bench") is dropped, recreated and migrated. Trades: bench/metrics.py's seed (``--whales``
    whales, ``--trades`` trades from the recorded Hyperliquid fills, half of them Hyperliquid accounts), their
    metrics computed (``metrics_recompute_all``), and a large_transfer event for every 100th trade. Prices: the
    recorded CoinGecko CSVs (``import_prices``). Reddit posts (``--posts``): the recorded listings' posts
    (reddit-praw-cassettes) cycled with new ids, each with its VADER sentiment computed by the collector's own
    function. SEC filings (``--filings``): the recorded submissions' filings (sec-edgar-submissions-crypto) of the
    seeded issuers cycled with new accession numbers, each with its catalyst, as the collector writes them. Rows
    are loaded with COPY. DEBUG is forced off.

Target
    A full run < 10 s at 1M trades, 100k posts and 100k filings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import database_recreate, django_setup, figure  # noqa: E402  (after sys.path)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/whaletrack_bench_quality"
TARGET_SECONDS = 10.0


def seed_events(every: int) -> int:
    """A large_transfer event for every ``every``-th trade (its chain, transaction and whale)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO whales_whaleevent (chain, type, whale_id, block_time, block_number, tx_hash, log_index, "
            "summary, value_usd, details, observed_at, published_at) "
            "SELECT chain, 'large_transfer', whale_id, block_time, block_number, tx_hash, log_index, 'bench', "
            "value_usd, '{}', now(), now() FROM whales_trade WHERE id %% %s = 0", [every])
        return cursor.rowcount


def seed_posts(count: int) -> int:
    """``count`` posts cycled from the recorded listings (module docstring), COPY."""
    from django.conf import settings
    from django.db import connection

    from ledgers.human.reddit.activity import listing_posts, sentiment
    from ledgers.human.reddit.models import RedditPost

    folder = Path(settings.REPLAY_DATA_DIR) / "reddit-praw-cassettes"
    templates = []
    for path in sorted(folder.glob("r_*.json")):
        posts, _ = listing_posts(json.loads(path.read_text()))
        for post in posts:
            compound, label = sentiment(f"{post.title.strip()}\n{post.selftext}")
            templates.append((post, compound, label))
    columns = ("reddit_id", "subreddit", "title", "selftext", "author", "score", "num_comments", "upvote_ratio",
               "created_at", "permalink", "url", "coins", "sentiment_compound", "sentiment_label", "observed_at",
               "updated_at")
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        raw = cursor.connection.cursor()
        with raw.copy(f"COPY {RedditPost._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
            for i in range(count):
                post, compound, label = templates[i % len(templates)]
                copy.write_row((f"t3_b{i:x}", post.subreddit, post.title[:500], post.selftext, post.author[:50],
                                post.score, post.num_comments, post.upvote_ratio, post.created_at, post.permalink[:500],
                                post.url[:1000], "", compound, label, now, now))
        raw.execute(f"ANALYZE {RedditPost._meta.db_table}")
    return count


def seed_filings(count: int) -> int:
    """``count`` filings cycled from the recorded submissions of the seeded issuers, and their catalysts (COPY)."""
    from django.conf import settings
    from django.db import connection

    from ledgers.catalyst.sec.activity import submissions_parse
    from ledgers.catalyst.sec.models import SecFiling, SecIssuer
    from whales.models import CatalystEvent

    folder = Path(settings.REPLAY_DATA_DIR) / "sec-edgar-submissions-crypto" / "submissions"
    issuers = dict(SecIssuer.objects.values_list("cik", "pk"))
    templates = [f for path in sorted(folder.glob("CIK*.json"))
                 for f in submissions_parse(json.loads(path.read_text())).filings if f.cik in issuers]
    filing_columns = ("issuer_id", "accession_number", "form", "filed_on", "accepted_at", "report_period",
                      "primary_document", "primary_document_description", "items", "size_bytes", "document_url",
                      "source", "observed_at")
    catalyst_columns = ("source", "source_ref", "type", "title", "url", "occurred_at", "impact_score", "coins",
                        "details", "observed_at")
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        raw = cursor.connection.cursor()
        with raw.copy(f"COPY {SecFiling._meta.db_table} ({', '.join(filing_columns)}) FROM STDIN") as copy:
            for i in range(count):
                f = templates[i % len(templates)]
                copy.write_row((issuers[f.cik], f"9{i:09d}-26-{i % 1000000:06d}", f.form, f.filed_on, f.accepted_at,
                                f.report_period, f.primary_document, f.primary_document_description[:200], f.items,
                                f.size_bytes, "https://www.sec.gov/", "submissions", now))
        with raw.copy(f"COPY {CatalystEvent._meta.db_table} ({', '.join(catalyst_columns)}) FROM STDIN") as copy:
            for i in range(count):
                f = templates[i % len(templates)]
                copy.write_row(("sec", f"{f.cik}:9{i:09d}-26-{i % 1000000:06d}", "sec_filing", f.form, "",
                                f.accepted_at or now - timedelta(days=1), 50, "", "{}", now))
        raw.execute(f"ANALYZE {SecFiling._meta.db_table}")
        raw.execute(f"ANALYZE {CatalystEvent._meta.db_table}")
    return count


FLOOR_TABLES = ("whales_trade", "whales_whaleevent", "whales_holding", "market_pricehistory", "reddit_redditpost",
                "sec_secfiling", "whales_catalystevent", "whales_walletmetrics")


def floor() -> float:
    """Seconds to count(*) every table the checks read."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in FLOOR_TABLES:
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            cursor.fetchone()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--whales", type=int, default=10_000)
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--filings", type=int, default=100_000)
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    database_recreate(url)
    django_setup(url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from bench.metrics import seed
    from ledgers.quality import _CHECKS, quality_run
    from whales.analytics.metrics import metrics_recompute_all

    missing = [t for t in FLOOR_TABLES if t not in connection.introspection.table_names()]
    if missing:
        print(f"# bench error: tables not found: {missing}", flush=True)
        return 2
    now = datetime.now(UTC)
    print(f"# WhaleTrack quality bench: {args.whales} whales, {args.trades} trades, {args.posts} posts, "
          f"{args.filings} filings", flush=True)
    t0 = time.perf_counter()
    whales, trades = seed(args.whales, args.trades, now)
    print("# seeded trades; computing their metrics (setup)", flush=True)
    metrics_recompute_all(now=now)
    events = seed_events(100)
    call_command("import_prices", verbosity=0)
    posts = seed_posts(args.posts)
    filings = seed_filings(args.filings)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    figure("whales", whales)
    figure("trades", trades)
    figure("events", events)
    figure("posts", posts)
    figure("filings", filings)
    figure("seed_seconds", time.perf_counter() - t0, "s")
    cold = floor()
    figure("floor_count_cold_seconds", cold, "s")

    started = time.perf_counter()
    result = quality_run()
    seconds = time.perf_counter() - started
    warm = floor()
    figure("quality_run_seconds", seconds, "s")
    figure("quality_score", str(result.report.score))
    figure("quality_issues", len(result.report.issues))
    for name, check in sorted(result.report.checks.items()):
        figure(f"check_{name}", f"{check['failed']} of {check['checked']} failed")
    for name, check in sorted(_CHECKS.items()):
        t = time.perf_counter()
        check.run()
        figure(f"check_{name}_seconds", time.perf_counter() - t, "s")
    figure("floor_count_warm_seconds", warm, "s")
    figure("ratio_run_to_floor", seconds / warm, "x")
    ok = seconds < TARGET_SECONDS
    print(f"target_quality_run_seconds: {'PASS' if ok else 'FAIL'} ({seconds:.2f} < {TARGET_SECONDS:.0f})",
          flush=True)
    print(f"verdict: {'PASS' if ok else 'FAIL'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

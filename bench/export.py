"""Benchmark: streaming 1M trades to CSV through the export endpoint, against a PostgreSQL COPY floor.

What is measured (in a fresh child process, so the seed's memory does not count)
    real path: ``GET /api/v1/exports/trades.csv`` (every trade, no filter: the export's default order, block_time
        then id descending) through Django's test client, which runs the whole view (filters, row-cap check,
        ``whales.exports.export_stream`` over a server-side cursor) and hands back the StreamingHttpResponse; its
        chunks are read one by one and counted (bytes, rows), never kept. Figures: wall time, rows/s, MB/s, and
        the peak RSS of the process over the export (VmHWM reset just before it when the kernel allows it, else
        the lifetime ru_maxrss), the RSS before it (after one untimed warm-up request that loads the URL conf and
        views, as a serving process has) and the growth between them. The same for ``trades.json`` (reported, no
        target).
    floor: ``COPY (<the export's own SELECT: the same columns, join and ORDER BY>) TO STDOUT WITH CSV HEADER``
        through psycopg 3 (``cursor.copy``, blocks read and dropped): rows/s and MB/s. Run before and after the
        real path; the ratio is taken against the faster of the two (the harder target).

Data (setup, untimed, every run starts clean unless ``--reuse``)
    The bench database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/whaletrack_bench_export; its
    name must contain "bench") is dropped, recreated and migrated, then seeded with ``bench/metrics.py``'s seed
    (``--whales`` 10,000 whales, ``--trades`` 1,000,000 trades, loaded with COPY), then ANALYZE. DEBUG is off.
    EXPORT_MAX_ROWS is the default (1,000,000) unless the environment sets it: more trades than that need it
    raised (the export would answer 400 export_too_large).

Targets (issue 17)
    Peak RSS of the real path < 150 MB; the real path's rows/s >= 25 % of the floor's.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import database_recreate, django_setup, figure, hwm_mb, maxrss_mb, reset_hwm, rss_mb  # noqa: E402  (after sys.path)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/whaletrack_bench_export"
TARGET_PEAK_MB = 150.0
TARGET_RATIO = 0.25
MB = 1024 * 1024


def floor_copy() -> tuple[float, int, int]:
    """COPY of the export's own query to STDOUT as CSV; return (seconds, rows, bytes)."""
    import psycopg
    from django.db import connection

    from whales.api.exports import TRADE_EXPORT
    from whales.selectors import trade_list

    queryset = trade_list().values_list(*[column.lookup for column in TRADE_EXPORT.columns])
    sql, params = queryset.query.get_compiler(using="default").as_sql()
    connection.ensure_connection()
    raw = connection.connection
    statement = psycopg.ClientCursor(raw).mogrify(sql, params)
    rows = size = 0
    started = time.perf_counter()
    with raw.cursor() as cursor, cursor.copy(f"COPY ({statement}) TO STDOUT WITH CSV HEADER") as copy:
        for block in copy:
            size += len(block)
            rows += bytes(block).count(b"\n")
    return time.perf_counter() - started, rows - 1, size


def export_read(fmt: str) -> tuple[float, int, int, float, float]:
    """GET the trades export in ``fmt`` through the test client, reading its chunks one at a time; return
    (seconds, rows, bytes, RSS before in MB, peak RSS in MB)."""
    from django.http import StreamingHttpResponse
    from django.test import Client

    client = Client()
    # Warm-up, untimed: the first request imports the URL conf and the views (a serving process has done so);
    # no seeded trade is on Bitcoin, so it streams a header only.
    warm = client.get(f"/api/v1/exports/trades.{fmt}?chain=bitcoin")
    for _ in warm.streaming_content:
        pass
    warm.close()
    gc.collect()
    hwm_reset = reset_hwm()
    before = rss_mb()
    rows = size = 0
    separator = b"\r\n" if fmt == "csv" else b"\n"
    started = time.perf_counter()
    response = client.get(f"/api/v1/exports/trades.{fmt}")
    if response.status_code != 200:
        raise RuntimeError(f"trades.{fmt} -> {response.status_code}: {response.content[:500]!r}")
    assert isinstance(response, StreamingHttpResponse)
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += chunk.count(separator)
    response.close()
    seconds = time.perf_counter() - started
    peak = hwm_mb() if hwm_reset else maxrss_mb()
    rows -= 1  # CSV: the header row; JSON: the "]" line ends with the last newline
    return seconds, rows, size, before, peak


def measure() -> int:
    """The measurements (run in the child process). Returns the exit code (1 when a target fails)."""
    from django.conf import settings

    from whales.models import Trade

    trades = Trade.objects.count()
    figure("trades", trades)
    figure("export_max_rows", settings.EXPORT_MAX_ROWS)
    figure("export_chunk_rows", settings.EXPORT_CHUNK_ROWS)
    figure("rss_after_setup_mb", rss_mb(), "MB")
    floors = []
    seconds, rows, size = floor_copy()
    floors.append(rows / seconds)
    figure("floor_copy_1_seconds", seconds, "s")
    figure("floor_copy_1_rows_per_s", rows / seconds, "rows/s")
    figure("floor_copy_1_mb_per_s", size / MB / seconds, "MB/s")
    if rows != trades:
        raise RuntimeError(f"COPY wrote {rows} rows, the table holds {trades}")
    seconds, rows, size, before, peak = export_read("csv")
    real_rate = rows / seconds
    figure("export_csv_seconds", seconds, "s")
    figure("export_csv_rows", rows)
    figure("export_csv_rows_per_s", real_rate, "rows/s")
    figure("export_csv_mb_per_s", size / MB / seconds, "MB/s")
    figure("export_csv_rss_before_mb", before, "MB")
    figure("export_csv_peak_rss_mb", peak, "MB")
    figure("export_csv_rss_growth_mb", peak - before, "MB")
    if rows != trades:
        raise RuntimeError(f"the CSV export held {rows} rows, the table holds {trades}")
    seconds, rows, size = floor_copy()
    floors.append(rows / seconds)
    figure("floor_copy_2_seconds", seconds, "s")
    figure("floor_copy_2_rows_per_s", rows / seconds, "rows/s")
    json_seconds, json_rows, json_size, _, json_peak = export_read("json")
    figure("export_json_seconds", json_seconds, "s")
    figure("export_json_rows_per_s", json_rows / json_seconds, "rows/s")
    figure("export_json_mb_per_s", json_size / MB / json_seconds, "MB/s")
    figure("export_json_peak_rss_mb", json_peak, "MB")
    floor = max(floors)
    ratio = real_rate / floor
    figure("export_csv_ratio_to_floor", ratio, "x")
    ok_rss = peak < TARGET_PEAK_MB
    ok_ratio = ratio >= TARGET_RATIO
    print(f"target_peak_rss: {'PASS' if ok_rss else 'FAIL'} ({peak:.1f} MB < {TARGET_PEAK_MB:.0f} MB)", flush=True)
    print(f"target_ratio_to_floor: {'PASS' if ok_ratio else 'FAIL'} ({ratio:.3f} >= {TARGET_RATIO})", flush=True)
    print(f"verdict: {'PASS' if ok_rss and ok_ratio else 'FAIL'}", flush=True)
    return 0 if ok_rss and ok_ratio else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--whales", type=int, default=10_000)
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="measure the data an earlier run left (no drop/seed)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if args.measure:
        django_setup(url)
        return measure()
    print(f"# WhaleTrack export bench: {args.whales} whales, {args.trades} trades -> CSV via "
          "/api/v1/exports/trades.csv vs COPY ... TO STDOUT", flush=True)
    if not args.reuse:
        database_recreate(url)
    django_setup(url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    if not args.reuse:
        from bench.metrics import seed

        started = time.perf_counter()
        seed(args.whales, args.trades, datetime.now(UTC))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        figure("setup_seed_s", time.perf_counter() - started, "s")
    connection.close()
    child = subprocess.run([sys.executable, __file__, "--measure"], env={**os.environ, "DATABASE_URL": url},
                           check=False)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())

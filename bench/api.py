"""Benchmark: the REST API's heavy reads over HTTP under load (issue 15, section 3), on gunicorn and daphne.

What is measured, per server and endpoint
    ``wrk`` (Debian's, ``apt-get install -y wrk``) with 2 threads and 8 connections for ``--duration`` seconds
    (default 20) with ``--latency``, one endpoint at a time, over loopback: requests/s, p50 and p99 latency
    (from wrk's latency distribution) and the non-2xx count (which must be 0), then the ratio of the
    endpoint's requests/s to the floor's in the same run. The endpoints: ``/api/v1/whales?limit=50``,
    ``/api/v1/whales/top``, ``/api/v1/events/recent?limit=50``, ``/api/v1/wallets/<chain>/<address>/trades``
    (the whale with the most trades, as ``bench/api_profile.py`` picks it), ``/api/v1/dashboard/summary``
    and ``/api/v1/smart-money/wallets``, then the pages that show them: the dashboard ``/`` and the busiest
    wallet's page (their req/s and latency are shown; the p99 target is the API's). Every API read but the
    wallet page is cached by the app (``whales.readcache``, the smart-money cache): with no writes during the
    run, a miss only when an entry's TTL runs out. Before wrk, one ``requests.get`` per endpoint must answer 200,
    else the run stops with the answer.

Uncached time and page render time (in-process, before the servers start)
    Every endpoint above and both pages through Django's test client (the API with the bench token, the pages as a
    staff user), every read cache emptied before each of 10 requests: the median (``uncached_<name>_ms_p50``),
    what a request costs right after a write. The pages' medians are held against issue 15's 200 ms
    (``target_render_...`` lines).

The floor
    A small static file, ``/static/admin/img/icon-yes.svg``, served by WhiteNoise on the same server (static
    files collected into a temporary DJANGO_STATIC_ROOT first, as ``make serve`` does).

Servers (each started here, on a free loopback port, stopped at the end even on error)
    gunicorn as the Procfile's ``web`` runs it (``--config python:whaletrack.gunicorn_conf``: 2 sync workers,
    SERVE_GUNICORN_WORKERS=2), then daphne on ``whaletrack.asgi:application`` (``manage.py serve_ws``, the same
    daphne command line ``make run`` serves with); DEBUG off, no proxy in front (DJANGO_NUM_PROXIES=0), the
    bench database and REDIS_URL (cache, channel layer), access logs to files in a temporary folder.

Credential and throttles
    The requests carry ``Authorization: Token <key>``: a personal API token (``alerts.tokens``, knox's hashed
    token) of a staff user made in the bench database, as an API client would. The app throttles every API read
    (API_ANON_RATE / API_USER_RATE, 600 and 1200 a minute by default), which would cap the load far below
    the targets, so the servers get API_USER_RATE=1000000/second: the throttle still runs on every request
    (its Redis read and write are measured), it just never refuses. The per-second period keeps the
    throttle's history (one timestamp per request of the period, stored in Redis) as short as a real rate's.

Data (setup, untimed, every run starts clean)
    The bench database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/whaletrack_bench_api_load;
    its name must contain "bench") is dropped, recreated and migrated, then seeded with ``bench/metrics.py``'s
    seed (``--whales`` 10,000 whales, ``--trades`` 1,000,000 trades, holdings), plus what ingestion stores beside
    trades and the COPY seed bypasses (``activity_seed``: the events of the trades at or above their type's
    threshold, 10,000 at the default size, and each whale's first/last activity time), then the wallet metrics
    (``metrics_recompute_all``), classification and scoring run, then ``ANALYZE``. Redis: REDIS_URL (default
    redis://127.0.0.1:6379/13), flushed first.

``--reuse`` measures the database an earlier run left (no drop, seed or analytics) and ``--servers gunicorn``
skips daphne: for iterating on a change. Published figures come from a full run.

Targets (issue 15, gunicorn with 2 workers, at 8 connections)
    ``whales?limit=50``, ``wallets/.../trades``, ``events/recent``: >= 200 req/s each; ``dashboard/summary``
    and ``whales/top``: >= 500 req/s; every API endpoint's p99 < 100 ms; both pages render in < 200 ms. Moonshot
    (reported, not in the verdict): each API endpoint at >= 25 % of the floor's req/s.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import database_recreate, django_setup, figure  # noqa: E402  (after sys.path)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/whaletrack_bench_api_load"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
FLOOR_PATH = "/static/admin/img/icon-yes.svg"
WRK_THREADS = 2
WRK_CONNECTIONS = 8
GUNICORN_WORKERS = 2
USER_RATE = "1000000/second"
TARGET_RPS = {"whales_limit_50": 200.0, "wallet_trades": 200.0, "events_recent_limit_50": 200.0,
              "dashboard_summary": 500.0, "whales_top": 500.0}
TARGET_P99_MS = 100.0
MOONSHOT_RATIO = 0.25
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class WrkResult:
    """One wrk run. Units: requests_per_s; p50_ms / p99_ms from ``--latency``; non_2xx from its
    "Non-2xx or 3xx responses" line (0 when absent); socket_errors summed over connect/read/write/timeout."""

    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int


def latency_ms(text: str) -> float:
    """``"2.31ms"`` / ``"850.00us"`` / ``"1.02s"`` -> milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if match is None:
        raise ValueError(f"not a wrk latency: {text!r}")
    return float(match.group(1)) * UNIT_MS[match.group(2)]


def wrk_parse(output: str) -> WrkResult:
    """The figures of wrk's ``--latency`` output. Raises: ValueError when a line is missing."""
    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise ValueError(f"wrk output has no {pattern!r}:\n{output}")
        return match

    non_2xx = re.search(r"^\s*Non-2xx or 3xx responses:\s*(\d+)", output, re.MULTILINE)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return WrkResult(
        requests=int(find(r"^\s*(\d+) requests in ").group(1)),
        requests_per_s=float(find(r"^Requests/sec:\s*([\d.]+)").group(1)),
        p50_ms=latency_ms(find(r"^\s*50%\s+(\S+)").group(1)),
        p99_ms=latency_ms(find(r"^\s*99%\s+(\S+)").group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def wrk_run(url: str, *, headers: dict[str, str], duration_s: int) -> WrkResult:
    """``wrk -t2 -c8 -d<duration_s>s --latency`` on ``url`` with ``headers``. Raises: RuntimeError when wrk
    fails or any response was not 2xx."""
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{duration_s}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run([*command, url], capture_output=True, text=True, check=False,
                            timeout=duration_s + 60)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}) on {url}:\n{result.stdout}{result.stderr}")
    parsed = wrk_parse(result.stdout)
    if parsed.non_2xx:
        raise RuntimeError(f"{parsed.non_2xx} non-2xx answers from {url}:\n{result.stdout}")
    return parsed


def endpoints() -> list[tuple[str, str]]:
    """(name, path) of the floor, then the reads issue 15 measures (``bench/api_profile.py``'s list)."""
    from bench.api_profile import endpoints as api_endpoints

    return [("static_floor", FLOOR_PATH), *api_endpoints()]


def data_prepare(whale_count: int, trade_count: int) -> None:
    """Seed (bench/metrics.py), then metrics, classification and scoring, then ANALYZE (module docstring)."""
    from django.core.management import call_command
    from django.db import connection

    from bench.metrics import seed
    from whales.analytics.classification import whales_classify
    from whales.analytics.metrics import metrics_recompute_all
    from whales.analytics.scoring import scoring_run

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    now = datetime.now(UTC)
    started = time.perf_counter()
    whales, trades = seed(whale_count, trade_count, now)
    figure("whales", whales)
    figure("trades", trades)
    figure("setup_seed_s", time.perf_counter() - started, "s")
    figure("events", activity_seed())
    started = time.perf_counter()
    metrics_recompute_all(now=now)
    whales_classify()
    scoring_run()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    figure("setup_metrics_classify_score_s", time.perf_counter() - started, "s")


# The WhaleEvent type each seeded trade raises, as the collectors assign it (ledgers.glass.*.activity): a
# Hyperliquid deposit is an exchange flow, its fills perp trades; an Ethereum send/receive a large transfer,
# a buy/sell a large swap.
EVENT_TYPE_SQL = """CASE WHEN t.chain = 'hyperliquid' AND t.direction = 'deposit' THEN 'exchange_flow'
    WHEN t.chain = 'hyperliquid' THEN 'perp_trade'
    WHEN t.direction IN ('send', 'receive') THEN 'large_transfer' ELSE 'large_swap' END"""


def activity_seed() -> int:
    """What ``whales.services.trades_ingest`` adds beside the trades, which the COPY seed bypasses: every
    trade's WhaleEvent when its USD value reaches its type's threshold (``event_threshold_map()``, the
    settings' defaults here: of the seeded trades only the 100,000 USDC deposits and receives do), and each
    whale's ``first_seen_at`` / ``last_active_at`` (its oldest and newest trade). Returns the events stored."""
    from django.db import connection

    from whales.services import event_threshold_map

    thresholds = list(event_threshold_map().items())
    values = ", ".join(["(%s, %s::numeric)"] * len(thresholds))
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO whales_whaleevent (chain, type, whale_id, block_time, block_number, tx_hash, log_index,
                                           summary, value_usd, details, observed_at, published_at)
            SELECT t.chain, e.type, t.whale_id, t.block_time, t.block_number, t.tx_hash, t.log_index,
                   w.name || ' ' || t.direction || ' ' || trim_scale(t.amount_base) || ' ' || t.base_asset,
                   t.value_usd, '{{}}', t.block_time, t.block_time
            FROM whales_trade t JOIN whales_whale w ON w.id = t.whale_id
            CROSS JOIN LATERAL (SELECT {EVENT_TYPE_SQL} AS type) e
            JOIN (VALUES {values}) AS b (event_type, min_value_usd) ON b.event_type = e.type
            WHERE NOT t.is_internal AND t.value_usd >= b.min_value_usd""", [v for pair in thresholds for v in pair])
        events = cursor.rowcount
        cursor.execute("""
            UPDATE whales_whale w SET first_seen_at = s.first, last_active_at = s.last
            FROM (SELECT whale_id, min(block_time) AS first, max(block_time) AS last FROM whales_trade
                  GROUP BY whale_id) s
            WHERE w.id = s.whale_id""")
    return events


PAGE_NAMES = ("dashboard_page", "wallet_page")
PAGE_TARGET_MS = 200.0
PAGE_REPEAT = 10


def reads_uncached(paths: list[tuple[str, str]], token: str) -> dict[str, float]:
    """Server-side time (ms, median of PAGE_REPEAT) of every read in ``paths`` but the floor when no cache helps:
    in-process through Django's test client (the API with ``token``, the pages signed in as a staff user), every
    read cache emptied before each request, one warm-up request first. This is the cost of computing the answer,
    which a request pays after a write (the stored answer no longer matches) or when its entry's TTL ran out.
    Prints ``uncached_<name>_ms_p50``; returns the pages' (PAGE_NAMES) times for their 200 ms target.
    Raises: AssertionError for an answer that is not 200."""
    import statistics

    from django.contrib.auth import get_user_model
    from django.test import Client

    from whales.analytics.api.cache import smart_money_cache_invalidate
    from whales.readcache import read_cache_invalidate

    user, _ = get_user_model().objects.get_or_create(username="bench-pages", defaults={"is_staff": True})
    pages = Client(SERVER_NAME="127.0.0.1")
    pages.force_login(user)
    api = Client(SERVER_NAME="127.0.0.1", HTTP_AUTHORIZATION=f"Token {token}")
    times: dict[str, float] = {}
    for name, path in paths:
        if name == "static_floor":
            continue
        client = pages if name in PAGE_NAMES else api
        assert client.get(path).status_code == 200, path
        walls = []
        for _ in range(PAGE_REPEAT):
            smart_money_cache_invalidate()
            for scope in ("whales", "collectors"):
                read_cache_invalidate(scope)
            started = time.perf_counter()
            response = client.get(path)
            walls.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, path
        median = statistics.median(walls)
        figure(f"uncached_{name}_ms_p50", median, "ms")
        if name in PAGE_NAMES:
            times[name] = median
    return times


def api_token() -> str:
    """A personal API token (``alerts.tokens``) of a staff user ``bench-api``: a new one each run, the previous
    runs' revoked."""
    from django.contrib.auth import get_user_model

    from alerts.models import ApiToken
    from alerts.tokens import api_token_create

    user, _ = get_user_model().objects.get_or_create(username="bench-api", defaults={"is_staff": True})
    ApiToken.objects.filter(user=user).delete()
    return api_token_create(user_id=user.pk, name="bench")[1]


def server_start(kind: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    """Start ``kind`` (``gunicorn`` / ``daphne``) on a free loopback port; return it and its base URL once the
    port listens. Raises: RuntimeError / TimeoutError (with the log's tail) when it does not start."""
    from tests.ports import free_port
    from tests.processes import VENV_BIN, wait_for_port

    port = free_port()
    if kind == "gunicorn":
        env = {**env, "SERVE_GUNICORN_BIND": f"127.0.0.1:{port}", "SERVE_GUNICORN_WORKERS": str(GUNICORN_WORKERS)}
        command = [str(VENV_BIN / "gunicorn"), "--config", "python:whaletrack.gunicorn_conf",
                   "whaletrack.wsgi:application"]
    else:
        env = {**env, "SERVE_DAPHNE_BIND": f"127.0.0.1:{port}"}
        command = [sys.executable, "manage.py", "serve_ws"]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process, log=log, timeout=60)
    except BaseException:
        server_stop(process)
        raise
    return process, f"http://127.0.0.1:{port}"


def server_stop(process: subprocess.Popen) -> list[int]:
    """SIGTERM (SIGKILL after 10 s: ``tests.processes.stop``) to the server; return the pids of its tree
    (gunicorn's workers) still running afterwards (SIGKILLed, so none is left)."""
    import signal

    from tests.processes import stop
    from tests.whaletrack.serving import process_tree, running

    tree = process_tree(process.pid)
    stop(process)
    left = [pid for pid in tree - {process.pid} if running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def server_measure(kind: str, base: str, paths: list[tuple[str, str]], headers: dict[str, str],
                   duration_s: int) -> dict[str, WrkResult]:
    """Check every path answers 200, then wrk each in turn; print the figures; return name -> result.
    Raises: RuntimeError for an answer that is not 200."""
    import requests

    for name, path in paths:
        answer = requests.get(base + path, headers=headers, timeout=60)
        if answer.status_code != 200:
            raise RuntimeError(f"{kind} {name}: GET {path} -> {answer.status_code}: {answer.text[:500]}")
    results: dict[str, WrkResult] = {}
    for name, path in paths:
        result = wrk_run(base + path, headers=headers, duration_s=duration_s)
        results[name] = result
        floor = results["static_floor"].requests_per_s
        figure(f"{kind}_{name}_req_per_s", result.requests_per_s, "req/s")
        figure(f"{kind}_{name}_p50_ms", result.p50_ms, "ms")
        figure(f"{kind}_{name}_p99_ms", result.p99_ms, "ms")
        figure(f"{kind}_{name}_ratio_to_floor", result.requests_per_s / floor, "x")
        if result.socket_errors:
            figure(f"{kind}_{name}_socket_errors", result.socket_errors)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--whales", type=int, default=10_000)
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=20, help="seconds of wrk per endpoint (default 20)")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the bench database as an earlier run left it (no drop, seed or analytics; for "
                             "iterating on a change, not for published figures)")
    parser.add_argument("--servers", default="gunicorn,daphne",
                        help="comma-separated servers to measure, of gunicorn and daphne (default both)")
    args = parser.parse_args(argv)
    servers = [name.strip() for name in args.servers.split(",") if name.strip()]
    if not servers or set(servers) - {"gunicorn", "daphne"} or "gunicorn" not in servers:
        parser.error("--servers must list gunicorn (the targets are measured on it), optionally daphne")
    if not 1 <= args.duration <= 600:
        parser.error("--duration must be 1-600")
    if shutil.which("wrk") is None:
        parser.error("wrk not found: apt-get install -y wrk (make services)")
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    bench_started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="whaletrack-bench-api-"))
    os.environ.update({"REDIS_URL": redis_url, "DJANGO_STATIC_ROOT": str(workdir / "static")})
    if not args.reuse:
        database_recreate(url)
    django_setup(url)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    print(f"# WhaleTrack API load bench: {args.whales} whales, {args.trades} trades; wrk -t{WRK_THREADS} "
          f"-c{WRK_CONNECTIONS} -d{args.duration}s per endpoint; gunicorn ({GUNICORN_WORKERS} workers), daphne",
          flush=True)
    if args.reuse:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        print("# --reuse: the data of an earlier run, as it is", flush=True)
    else:
        data_prepare(args.whales, args.trades)
    paths = endpoints()
    token = api_token()
    renders = reads_uncached(paths, token)
    headers = {"Authorization": f"Token {token}"}
    env = {key: value for key, value in os.environ.items()
           if key not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_NUM_PROXIES", "CELERY_BROKER_URL")}
    env.update({"DJANGO_SETTINGS_MODULE": "whaletrack.settings", "DATABASE_URL": url, "REDIS_URL": redis_url,
                "DJANGO_DEBUG": "false", "DJANGO_NUM_PROXIES": "0", "API_USER_RATE": USER_RATE,
                "PYTHONUNBUFFERED": "1"})
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    results: dict[str, dict[str, WrkResult]] = {}
    try:
        for kind in servers:
            process, base = server_start(kind, env, workdir / f"{kind}.log")
            left: list[int] = []
            try:
                print(f"# {kind} on {base}", flush=True)
                results[kind] = server_measure(kind, base, paths, headers, args.duration)
            finally:
                left = server_stop(process)
            if left:
                print(f"# WARNING: {kind} left {left} running after its stop (SIGKILLed)", flush=True)
    finally:
        shutil.rmtree(workdir / "static", ignore_errors=True)
        print(f"# server logs: {workdir}", flush=True)

    gunicorn = results["gunicorn"]
    floor = gunicorn["static_floor"].requests_per_s
    ok = True
    for name, target in TARGET_RPS.items():
        rps = gunicorn[name].requests_per_s
        passed = rps >= target
        ok = ok and passed
        print(f"target_gunicorn_{name}_req_per_s: {'PASS' if passed else 'FAIL'} ({rps:.1f} >= {target:.0f})",
              flush=True)
    for name, milliseconds in renders.items():
        passed = milliseconds < PAGE_TARGET_MS
        ok = ok and passed
        print(f"target_render_{name}: {'PASS' if passed else 'FAIL'} ({milliseconds:.1f} ms < {PAGE_TARGET_MS:.0f} ms)",
              flush=True)
    for name, result in gunicorn.items():
        if name == "static_floor" or name in PAGE_NAMES:  # the p99 target is the API's
            continue
        passed = result.p99_ms < TARGET_P99_MS
        ok = ok and passed
        print(f"target_gunicorn_{name}_p99: {'PASS' if passed else 'FAIL'} ({result.p99_ms:.1f} ms < "
              f"{TARGET_P99_MS:.0f} ms)", flush=True)
    for name, result in gunicorn.items():
        if name != "static_floor" and name not in PAGE_NAMES:
            ratio = result.requests_per_s / floor
            print(f"moonshot_gunicorn_{name}_ratio: {'PASS' if ratio >= MOONSHOT_RATIO else 'FAIL'} "
                  f"({ratio:.3f} >= {MOONSHOT_RATIO}, not in the verdict)", flush=True)
    figure("bench_total_s", time.perf_counter() - bench_started, "s")
    print(f"verdict: {'PASS' if ok else 'FAIL'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

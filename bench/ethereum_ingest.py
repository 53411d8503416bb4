"""Benchmark: Ethereum ingest through the full collector path, against a JSON-decode floor (DESIGN.md section 11).

What is measured
    The full path, exactly as production runs it: the replay node (``manage.py replay_node``, a
    loopback HTTP JSON-RPC server in its own process) serves the real recorded blocks
    19,433,902-19,433,903 plus ``--copies`` synthetic copies of that pair (2 blocks per copy,
    distinct numbers/hashes/tx hashes, generated lazily) -> ``EthereumRpcClient`` (web3
    HTTPProvider, batches of 10 blocks: eth_getBlockByNumber(n, true) + eth_getBlockReceipts(n))
    -> ``blocks_collect`` (decode, whale activity parse, pricing, one DB transaction per block
    with the cursor compare-and-set) -> PostgreSQL. Figures: blocks/s, transactions/s, trades
    written and trades/s, events, wall time, peak RSS (``getrusage`` ru_maxrss, the whole
    process's lifetime peak including setup, plus VmHWM reset just before the ingest when the
    kernel allows it) and VmRSS sampled at 25/50/75/100 % of the blocks from the progress
    callback, to show memory stays flat however many blocks are ingested.

The floor, measured in the same run on the same blocks
    One ``requests`` POST per batch of the same JSON-RPC batch shape the client sends (10 blocks:
    10 x eth_getBlockByNumber(n, true) + 10 x eth_getBlockReceipts(n)) and ``json.loads`` of the
    body: "HTTP + decode floor". The time spent inside ``json.loads`` alone on the fetched bytes:
    "JSON-decode floor". Both are reported as blocks/s and as the ratio full-path time / floor
    time per block (the floor covers the first FLOOR_MAX_BLOCKS blocks; every copy has the same
    shape, so the per-block rate is the same). The floor runs AFTER the full path so its buffers
    cannot inflate the ingest's peak RSS. The replay node runs in its own process by default (as a
    real node does), so its work (generating each copy, json.dumps of ~640 KB per block) uses the
    other core; ``--in-process-node`` runs it as a thread here, sharing this process's GIL.

Setup (untimed, every run starts clean)
    The bench database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/whaletrack_bench;
    its name must contain "bench") is dropped and recreated through the ``postgres`` maintenance
    database, then migrated (assets come from the migrations). Seeded with bulk_create:
    ``--whales`` (5,000) tracked Ethereum whales, all real labelled addresses from the Etherscan
    label set (read in place), always including every label-set address active in the recorded
    blocks (tx from/to, ERC-20 Transfer from/to: Binance 14, Coinbase 10, ...), then exchange
    wallets, then the rest in file order; a KnownAddress (category "exchange", with its Entity)
    for every exchange-labelled address; the ETH daily prices of 2024-03-13 and 2024-03-14 from
    the CoinGecko CSV. DEBUG is forced off (Django would otherwise keep every query in memory).

Metrics on, as production runs them
    The collector marks the whales whose trades it stores pending (in its transaction) and queues the
    debounced recompute on the broker (Redis: REDIS_URL, default redis://127.0.0.1:6379/13, emptied
    first). A real Celery worker process (``celery -A whaletrack worker``, solo pool) recomputes them
    while the collector ingests, on the same 2 cores, at WHALE_METRICS_DEBOUNCE_S (default 30 s; figure
    ``metrics_debounce_s``). After the last block the bench waits until no whale is pending and reports
    how long that took (``metrics_caught_up_after_ingest_s``) and how many metric rows the worker wrote
    (``metrics_rows_upserted``, from PostgreSQL's counters of whales_walletmetrics). ``--metrics off``
    runs no worker (the marks are still written): the collector alone.

Holdings refresh on, as production runs it
    Every stored batch also marks the whales it stored trades of for a holdings refresh and queues the
    coalesced ``ethereum.refresh_pending_holdings`` (ETH_HOLDINGS_DEBOUNCE_S, default 10 s) on the same worker.
    The replay node serves no account state: the first refresh fails saying so, the node's URL is remembered
    in the cache (Redis) and the collector marks and queues nothing more for it. Figures: the holdings runs
    logged and how they ended (``holdings_runs``), whether the node is remembered as stateless, and the whales
    left marked. ``--metrics off`` runs no worker, so no refresh runs either (the marks are still written).

Targets
    >= 20 blocks/s through the full path with metrics on, over the whole run; the last quarter of the
    steady part >= 80 % of its first (below); peak RSS < 300 MB for any number of blocks.

Flatness, over the steady part
    Flatness asks whether the ingest slows as the tables grow. With metrics on, the worker cannot start a
    recompute before WHALE_METRICS_DEBOUNCE_S (30 s) has passed since the first batch queued it; until then
    the collector has the 2 cores to itself, and from then on the worker takes its share every debounce
    cycle, as it does in production, where the collector runs for days. Comparing the whole run's first
    quarter with its last therefore measures the worker's absence in the first 30 s, not growth (metrics off,
    the same runs are flat). So the quarters the target uses cover the steady part: from the first batch
    stored WHALE_METRICS_DEBOUNCE_S or more after the start to the end (metrics off: the whole run). The
    default run (3,400 blocks) makes each steady quarter about one debounce cycle long at 20-25 blocks/s,
    so every quarter holds about one recompute instead of some none and some two. The whole run's quarters
    are printed too (``full_blocks_per_s_quarter_to_*``, ``last_to_first_quarter_whole_run``).
    ``metrics_recompute_runs_s`` lists how long each of the worker's recomputes took (its INFO log): the
    part of the 2 cores the worker takes, run by run. A recompute reads only the trades stored since the
    last one (and the window that one applied, for its trust check) and only the stored FIFO lots those
    trades consume (``WalletFifoLot``), so its cost follows the new trades, not the whales' history, but
    for one GROUP BY over all their trades (flows, perp sums: about 0.3 s at 323,000 trades here); here
    the same ~110 whales trade in every block, a worst case. ``--worker-log PATH`` keeps the worker's log.

Baseline (2026-11-21, 2-core Debian 12, CPython 3.11, PostgreSQL 15 on loopback with autovacuum
    off, default run of 2,000 blocks / 343,000 tx / 190,000 trades): full path 7.8 blocks/s,
    745 trades/s, 255 s; peak RSS 213 MB, flat (VmRSS 184-197 MB from 25 % to 100 %); floor
    HTTP + decode 69 blocks/s, json.loads alone 198 blocks/s (643 KB of JSON per block); ratios
    8.9x and 25x. Most of the time is whales.services._whales_touch (2 UPDATEs per touched whale
    per block, ~120 whales per block here).

``--profile`` additionally ingests 100 further blocks under cProfile and prints the top 15
entries by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gc
import json
import os
import pstats
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import database_recreate, django_setup, figure, hwm_mb, maxrss_mb, reset_hwm, rss_mb  # noqa: E402  (after sys.path)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/whaletrack_bench"

FIRST_BLOCK = 19_433_902
TEMPLATE_LAST = 19_433_903
DEFAULT_COPIES = 1699  # 2 real + 2 * 1,699 synthetic = 3,400 blocks
PROFILE_COPIES = 50  # 100 extra blocks for --profile
BATCH = 10  # blocks per JSON-RPC batch, as ledgers.glass.ethereum.services.FETCH_BATCH
FLOOR_MAX_BLOCKS = 500  # the floor runs over the first blocks only (keeps make bench under ~4 min)
TARGET_BLOCKS_PER_S = 20.0
TARGET_LAST_TO_FIRST_QUARTER = 0.8
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
METRICS_CATCH_UP_TIMEOUT_S = 600
TARGET_PEAK_MB = 300.0
PRICE_DAYS = ("2024-03-13", "2024-03-14")
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
ETHERSCAN_PATH = ("labels-etherscan-brianleect", "etherscan_combinedAccountLabels.json")
GRAPHSENSE_ACTORS = ("labels-graphsense-tagpacks", "graphsense.actorpack.yaml")
TRIN_DIR = "ethereum-mainnet-trin"
PRICE_CSV = ("prices-coingecko-daily-csv", "eth-usd-max.csv")


# --- database ------------------------------------------------------------------------------------
# --- seeding -------------------------------------------------------------------------------------
def _unwrap(doc: Any) -> Any:
    return doc["result"] if isinstance(doc, dict) and "result" in doc and "jsonrpc" in doc else doc


@dataclass
class Recorded:
    """What the recorded template blocks touch: every tx from/to and ERC-20 Transfer from/to address,
    and the asset movements (from, to) of the successful transactions, as the collector sees them."""

    addresses: set[str] = field(default_factory=set)
    movements: list[tuple[str, str]] = field(default_factory=list)


def recorded_activity(data_dir: Path) -> Recorded:
    """Scan the recorded template blocks 19,433,902-903 and their receipts (read in place)."""
    found = Recorded()
    for number in (FIRST_BLOCK, TEMPLATE_LAST):
        block = _unwrap(json.loads((data_dir / TRIN_DIR / f"eth_getBlockByNumber_{number}_full.json").read_bytes()))
        receipts = _unwrap(json.loads((data_dir / TRIN_DIR / f"eth_getBlockReceipts_{number}.json").read_bytes()))
        by_hash = {r["transactionHash"].lower(): r for r in receipts}
        for tx in block["transactions"]:
            sender, to = tx["from"].lower(), (tx.get("to") or "").lower()
            found.addresses.update(a for a in (sender, to) if a)
            receipt = by_hash[tx["hash"].lower()]
            ok = int(receipt.get("status") or "0x1", 16) == 1
            if ok and int(tx["value"], 16) and to:
                found.movements.append((sender, to))
            for log in receipt["logs"]:
                topics = [t.lower() for t in log["topics"]]
                if len(topics) == 3 and topics[0] == TRANSFER_TOPIC:
                    pair = ("0x" + topics[1][-40:], "0x" + topics[2][-40:])
                    found.addresses.update(pair)
                    if ok and len(log["data"]) == 66:
                        found.movements.append(pair)
    return found


@dataclass
class Seeded:
    whales: int = 0
    active_whales: int = 0
    exchange_whales: int = 0
    counterparty_whales: int = 0
    known_addresses: int = 0
    entities: int = 0
    prices: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WhaleSeed:
    address: str
    name: str
    entity_slug: str | None


def seed(data_dir: Path, whale_count: int) -> Seeded:
    """Seed whales, exchange KnownAddresses (+ Entities) and ETH prices; see the module docstring.

    Whale order (cut at ``whale_count``): label-set addresses active in the recorded blocks; the
    unlabelled addresses that moved assets to/from an exchange wallet in those blocks (without them
    no whale ever trades with an exchange KnownAddress and the exchange-flow path is never taken);
    the other exchange wallets; every other labelled address in file order.
    """
    from ledgers.exchange.market.models import Asset, PriceHistory
    from whales.chains import Chain
    from whales.labelsets import actors_load, etherscan_parse
    from whales.models import AddressCategory, Entity, KnownAddress, Whale

    actors = actors_load(data_dir.joinpath(*GRAPHSENSE_ACTORS))
    records, _bad, _report = etherscan_parse(data_dir.joinpath(*ETHERSCAN_PATH), actors=actors)
    by_address = {r.address: r for r in records}
    recorded = recorded_activity(data_dir)
    exchanges = [r for r in records if r.category == AddressCategory.EXCHANGE]
    exchange_set = {r.address for r in exchanges}
    counterparties = sorted({
        other for pair in recorded.movements for mine, other in (pair, pair[::-1])
        if mine in exchange_set and other not in by_address
    })

    ranked = sorted(enumerate(records), key=lambda ir: (ir[1].address not in recorded.addresses,
                                                        ir[1].address not in exchange_set, ir[0]))
    active_labelled = [r for _, r in ranked if r.address in recorded.addresses]
    seeds = [WhaleSeed(r.address, r.name or r.address, r.entity.slug if r.entity else None)
             for r in active_labelled]
    seeds += [WhaleSeed(a, f"Recorded exchange counterparty {a[:10]}", None) for a in counterparties]
    seeds += [WhaleSeed(r.address, r.name or r.address, r.entity.slug if r.entity else None)
              for _, r in ranked[len(active_labelled):]]
    chosen = seeds[:whale_count]

    refs = {r.entity.slug: r.entity for r in records if r.entity is not None}
    wanted = {s.entity_slug for s in chosen} | {r.entity.slug for r in exchanges if r.entity}
    Entity.objects.bulk_create(
        [Entity(slug=e.slug, name=e.name[:200], kind=e.kind, website=e.website, source="etherscan-labelcloud")
         for slug, e in refs.items() if slug in wanted], ignore_conflicts=True, batch_size=1000)
    entity_ids = dict(Entity.objects.filter(slug__in=wanted).values_list("slug", "id"))

    Whale.objects.bulk_create(
        [Whale(chain=Chain.ETHEREUM, address=s.address, name=s.name[:200],
               entity_id=entity_ids.get(s.entity_slug) if s.entity_slug else None, is_tracked=True)
         for s in chosen], batch_size=1000)
    KnownAddress.objects.bulk_create(
        [KnownAddress(chain=Chain.ETHEREUM, address=r.address, name=r.name[:200], category=AddressCategory.EXCHANGE,
                      entity_id=entity_ids.get(r.entity.slug) if r.entity else None, source=r.source,
                      source_url=r.source_url, tags=list(r.tags))
         for r in exchanges], batch_size=1000)

    eth = Asset.objects.get(chain=Chain.ETHEREUM, contract_address="")
    prices = []
    with data_dir.joinpath(*PRICE_CSV).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            day = row["snapped_at"][:10]
            if day in PRICE_DAYS:
                prices.append(PriceHistory(asset=eth, timestamp=datetime.fromisoformat(day).replace(tzinfo=UTC),
                                           price_usd=Decimal(row["price"]), source="coingecko"))
    PriceHistory.objects.bulk_create(prices)

    addresses = {s.address for s in chosen}
    result = Seeded(whales=len(chosen), active_whales=len(addresses & recorded.addresses),
                    exchange_whales=len(addresses & exchange_set),
                    counterparty_whales=len(addresses & set(counterparties)),
                    known_addresses=len(exchanges), entities=len(entity_ids), prices=len(prices))
    if "0x28c6c06298d514db089934071355e5743bf21d60" not in addresses:
        result.notes.append("Binance 14 is NOT among the whales")
    if len(prices) != len(PRICE_DAYS):
        result.notes.append(f"only {len(prices)} of {len(PRICE_DAYS)} price days found")
    return result


# --- the full path -------------------------------------------------------------------------------
@dataclass
class IngestRun:
    seconds: float
    blocks: int
    transactions: int
    trades: int
    events: int
    status: str
    error: str
    rss_samples: list[tuple[int, float]]  # (percent, VmRSS MB)
    quarter_rates: list[tuple[int, float]]  # (percent, blocks/s over the quarter ending there)
    steady_from_block_offset: int  # blocks done when the steady part starts (after the warm-up)
    steady_quarter_rates: list[tuple[int, float]]  # as quarter_rates, over the steady part only
    rss_max_sampled: float


def quarter_rates(points: list[tuple[float, int]]) -> list[tuple[int, float]]:
    """Blocks/s over each quarter (by blocks) of ``points``, a run's (perf_counter s, blocks done) samples in
    order, the first being its start: [(25, rate), (50, rate), (75, rate), (100, rate)]. Each boundary is the
    first sample at or past that share of the blocks; [] when the points hold fewer than 4 batches."""
    if len(points) < 5:
        return []
    (t0, b0), total = points[0], points[-1][1] - points[0][1]
    rates: list[tuple[int, float]] = []
    start_t, start_b = t0, b0
    for pct in (25, 50, 75, 100):
        t, b = next(point for point in points if point[1] - b0 >= total * pct / 100)
        rates.append((pct, (b - start_b) / max(t - start_t, 1e-9)))
        start_t, start_b = t, b
    return rates


def ingest(eth_url: str, from_block: int, to_block: int, warmup_s: float) -> IngestRun:
    """Run ``blocks_collect`` over [from_block, to_block] and time it, sampling RSS from the progress callback.

    Quarters (blocks/s) are reported twice: over the whole run, and over the steady part, which starts at the
    first batch stored ``warmup_s`` seconds or more after the start (the module docstring says why)."""
    from ledgers.glass.ethereum.client import EthereumRpcClient
    from ledgers.glass.ethereum.services import Progress, blocks_collect

    total = to_block - from_block + 1
    marks = {max(1, round(total * pct / 100)): pct for pct in (25, 50, 75, 100)}
    samples: list[tuple[int, float]] = []
    points: list[tuple[float, int]] = []  # (perf_counter s, blocks done) at the start and after every batch
    peak = [0.0]

    def progress(p: Progress) -> None:
        if p.blocks_done % BATCH == 0 or p.blocks_done in marks:
            points.append((time.perf_counter(), p.blocks_done))
            current = rss_mb()
            peak[0] = max(peak[0], current)
            if p.blocks_done in marks:
                samples.append((marks[p.blocks_done], current))

    client = EthereumRpcClient(eth_url, timeout_s=30, retries=3)
    started = time.perf_counter()
    points.append((started, 0))
    result = blocks_collect(client=client, from_block=from_block, to_block=to_block, confirmations=0,
                            progress=progress)
    seconds = time.perf_counter() - started
    steady = [point for point in points if point[0] - started >= warmup_s]
    return IngestRun(seconds=seconds, blocks=result.blocks, transactions=result.items_seen,
                     trades=result.items_written, events=result.events_written, status=result.status,
                     error=result.error, rss_samples=samples, quarter_rates=quarter_rates(points),
                     steady_from_block_offset=steady[0][1] if steady else total,
                     steady_quarter_rates=quarter_rates(steady), rss_max_sampled=peak[0])


def trades_exchange_flow() -> int:
    """Stored exchange-flow trades (deposits/withdrawals): proves that path was exercised (untimed)."""
    from whales.models import Trade, TradeSource

    return Trade.objects.filter(source=TradeSource.EXCHANGE_FLOW).count()


# --- the floor -----------------------------------------------------------------------------------
@dataclass
class FloorRun:
    http_decode_seconds: float
    decode_seconds: float
    blocks: int
    bytes_received: int


def floor(eth_url: str, from_block: int, to_block: int) -> FloorRun:
    """Fetch the same batches as raw bytes (one POST each) and json.loads them; time both."""
    import requests

    session = requests.Session()
    decode_s = 0.0
    received = 0
    blocks = 0
    call_id = 0
    started = time.perf_counter()
    for first in range(from_block, to_block + 1, BATCH):
        numbers = range(first, min(first + BATCH, to_block + 1))
        calls = []
        for method, extra in (("eth_getBlockByNumber", [True]), ("eth_getBlockReceipts", [])):
            for n in numbers:
                call_id += 1
                calls.append({"jsonrpc": "2.0", "method": method, "params": [hex(n), *extra], "id": call_id})
        response = session.post(eth_url, data=json.dumps(calls), headers={"Content-Type": "application/json"},
                                timeout=30)
        response.raise_for_status()
        body = response.content
        t0 = time.perf_counter()
        parsed = json.loads(body)
        decode_s += time.perf_counter() - t0
        if len(parsed) != 2 * len(numbers) or any(r.get("result") is None for r in parsed):
            raise RuntimeError(f"floor: incomplete batch at block {first}")
        received += len(body)
        blocks += len(numbers)
        del parsed, body
    total_s = time.perf_counter() - started
    session.close()
    return FloorRun(http_decode_seconds=total_s, decode_seconds=decode_s, blocks=blocks, bytes_received=received)


# --- profile -------------------------------------------------------------------------------------
def profile(eth_url: str, from_block: int, to_block: int, top: int = 15) -> None:
    """Ingest [from_block, to_block] under cProfile; print the top entries by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    run = ingest(eth_url, from_block, to_block)
    profiler.disable()
    print(f"--- profile: {run.blocks} blocks in {run.seconds:.2f} s under cProfile "
          f"(top {top} by cumulative time) ---", flush=True)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats(pstats.SortKey.CUMULATIVE).print_stats(top)
    stats.sort_stats(pstats.SortKey.TIME).print_stats(top)


# --- main ----------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=DEFAULT_COPIES,
                        help=f"synthetic copies of the recorded 2-block pair (2 blocks each; default "
                             f"{DEFAULT_COPIES} = {2 + 2 * DEFAULT_COPIES} blocks with the 2 real ones)")
    parser.add_argument("--whales", type=int, default=5000, help="tracked whales to seed (default 5000)")
    parser.add_argument("--in-process-node", action="store_true",
                        help="run the replay node as a thread of this process (default: its own process)")
    parser.add_argument("--profile", action="store_true",
                        help=f"also ingest {2 * PROFILE_COPIES} further blocks under cProfile")
    parser.add_argument("--metrics", choices=("on", "off"), default="on",
                        help="on (default): a Celery worker recomputes metrics during the ingest; off: no worker")
    parser.add_argument("--worker-log", metavar="PATH",
                        help="keep the metrics worker's log (INFO) at PATH instead of deleting it")
    args = parser.parse_args(argv)
    if args.copies < 0 or args.whales < 1:
        parser.error("--copies must be >= 0 and --whales >= 1")
    return args


class MetricsWorker:
    """``celery -A whaletrack worker`` (solo pool) on the bench database and broker: it runs the debounced
    metrics recomputes the collector queues, as production's worker does, in its own process."""

    def __init__(self, database_url: str, redis_url: str, keep_log: str | None = None) -> None:
        self.keep_log = keep_log
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "DJANGO_DEBUG": "false"}
        env.pop("CELERY_BROKER_URL", None)
        self.log = tempfile.NamedTemporaryFile(prefix="bench-worker-", suffix=".log", delete=False)
        self._process = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "whaletrack", "worker", "--pool=solo",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def task_seconds(self, name: str) -> list[float]:
        """Run times (s) of task ``name`` in the order the worker finished them, from its INFO log
        ("Task <name>[<id>] succeeded in <s>s")."""
        pattern = re.compile(rf"Task {re.escape(name)}\[[^\]]+\] succeeded in ([0-9.]+)s")
        return [float(m.group(1)) for m in pattern.finditer(Path(self.log.name).read_text(errors="replace"))]

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self.log.close()
        if self.keep_log:
            Path(self.log.name).replace(self.keep_log)
        Path(self.log.name).unlink(missing_ok=True)


def metrics_rows_upserted() -> int:
    """Rows inserted plus updated in whales_walletmetrics (PostgreSQL's table counters), read once they stop
    moving: another backend (the worker's) reports its counts within PostgreSQL's idle interval (10 s)."""
    from django.db import connection

    sql = "SELECT n_tup_ins + n_tup_upd FROM pg_stat_user_tables WHERE relname = 'whales_walletmetrics'"
    seen, stable_since = -1, time.monotonic()
    while time.monotonic() - stable_since < 11:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(sql)
            row = cursor.fetchone()
        count = int(row[0]) if row else 0
        if count != seen:
            seen, stable_since = count, time.monotonic()
        time.sleep(1)
    return seen


def metrics_wait_caught_up(timeout_s: float) -> float:
    """Seconds until no whale's metrics are pending (the worker has recomputed every whale the ingest
    touched). Raises: TimeoutError after ``timeout_s``."""
    from whales.models import MetricsPending

    started = time.perf_counter()
    while MetricsPending.objects.exists():
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError(f"metrics still pending {timeout_s:.0f} s after the ingest")
        time.sleep(0.5)
    return time.perf_counter() - started


def holdings_figures(eth_url: str) -> None:
    """The per-batch holdings refresh during the ingest: its runs by status, whether the node is remembered as
    serving no state, and the whales still marked pending (untimed)."""
    from django.db.models import Count

    from ledgers.glass.ethereum.holdings import node_no_state_reason
    from ledgers.glass.ethereum.models import HoldingsSync
    from ledgers.models import CollectorRun

    runs = dict(CollectorRun.objects.filter(collector="ethereum_holdings").values_list("status")
                .annotate(n=Count("id")).order_by())
    figure("holdings_runs", ", ".join(f"{n} {status}" for status, n in sorted(runs.items())) or "none")
    figure("holdings_node_remembered_without_state", "yes" if node_no_state_reason(rpc_url=eth_url) else "no")
    figure("holdings_whales_marked_pending", HoldingsSync.objects.filter(pending_since__isnull=False).count(),
           "whales")


class NodeProcess:
    """The replay node in its own process (``manage.py replay_node``), as a real node would be.

    Its CPU work (generating each copy, json.dumps of ~640 KB per block) then runs on the other
    core instead of competing with the collector for this process's GIL; its memory is not in
    this process's RSS figures.
    """

    def __init__(self, copies: int) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.eth_url = f"{self.url}/ethereum"
        self._process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "replay_node", "--port", str(port), "--eth-copies", str(copies)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/_replay/info", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("replay node process did not start within 60 s")

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench_started = time.perf_counter()
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    os.environ["REDIS_URL"] = redis_url  # broker and cache of this process and the worker
    os.environ.pop("CELERY_BROKER_URL", None)
    import redis

    redis.Redis.from_url(redis_url).flushdb()

    t0 = time.perf_counter()
    database_recreate(url)
    django_setup(url)
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - t0

    data_dir = Path(settings.REPLAY_DATA_DIR)
    t0 = time.perf_counter()
    seeded = seed(data_dir, args.whales)
    seed_s = time.perf_counter() - t0

    to_block = TEMPLATE_LAST + 2 * args.copies
    copies = args.copies + (PROFILE_COPIES if args.profile else 0)
    if args.in_process_node:
        from ledgers.replay.services import start_replay_node

        node = start_replay_node(port=0, eth_copies=copies)
    else:
        node = NodeProcess(copies)
    worker = MetricsWorker(url, redis_url, args.worker_log) if args.metrics == "on" else None
    try:
        print(f"# WhaleTrack Ethereum ingest bench: blocks {FIRST_BLOCK}-{to_block}, "
              f"{seeded.whales} whales, replay node {node.eth_url}", flush=True)
        figure("setup_migrate_s", migrate_s, "s")
        figure("setup_seed_s", seed_s, "s")
        figure("seed_whales", seeded.whales, "whales")
        figure("seed_whales_active_in_blocks", seeded.active_whales, "whales")
        figure("seed_whales_exchange", seeded.exchange_whales, "whales")
        figure("seed_whales_exchange_counterparties", seeded.counterparty_whales, "whales")
        figure("seed_known_exchange_addresses", seeded.known_addresses, "addresses")
        figure("seed_entities", seeded.entities, "entities")
        figure("seed_eth_prices", seeded.prices, "days")
        figure("metrics", args.metrics)
        figure("metrics_debounce_s", settings.WHALE_METRICS_DEBOUNCE_S, "s")
        for note in seeded.notes:
            print(f"# WARNING: {note}", flush=True)

        gc.collect()
        hwm_reset = reset_hwm()
        rss_before = rss_mb()
        # The worker cannot recompute before its first debounce has passed: until then the collector runs alone.
        warmup_s = float(settings.WHALE_METRICS_DEBOUNCE_S) if worker is not None else 0.0
        run = ingest(node.eth_url, FIRST_BLOCK, to_block, warmup_s)
        ingest_hwm = hwm_mb()
        peak_mb = maxrss_mb()
        if run.status != "ok" or run.blocks != to_block - FIRST_BLOCK + 1:
            print(f"# ERROR: collector status {run.status!r}, {run.blocks} blocks: {run.error}", flush=True)
        if worker is not None:
            figure("metrics_caught_up_after_ingest_s", metrics_wait_caught_up(METRICS_CATCH_UP_TIMEOUT_S), "s")
            figure("metrics_rows_upserted", metrics_rows_upserted(), "rows")
            runs = worker.task_seconds("whales.recompute_pending_metrics")
            print(f"metrics_recompute_runs_s: {' '.join(f'{s:.2f}' for s in runs)} ({len(runs)} runs)", flush=True)

        holdings_figures(node.eth_url)

        figure("full_wall_s", run.seconds, "s")
        figure("full_blocks", run.blocks, "blocks")
        figure("full_blocks_per_s", run.blocks / run.seconds, "blocks/s")
        for pct, rate in run.quarter_rates:
            figure(f"full_blocks_per_s_quarter_to_{pct}pct", rate, "blocks/s")
        figure("steady_warmup_s", warmup_s, "s")
        figure("steady_from_block_offset", run.steady_from_block_offset, "blocks")
        for pct, rate in run.steady_quarter_rates:
            figure(f"steady_blocks_per_s_quarter_to_{pct}pct", rate, "blocks/s")
        figure("full_transactions", run.transactions, "tx")
        figure("full_transactions_per_s", run.transactions / run.seconds, "tx/s")
        figure("full_trades_written", run.trades, "trades")
        figure("full_trades_per_s", run.trades / run.seconds, "trades/s")
        figure("full_events_written", run.events, "events")
        figure("full_trades_exchange_flow", trades_exchange_flow(), "trades")
        figure("rss_before_ingest_mb", rss_before, "MB")
        for pct, mb in run.rss_samples:
            figure(f"rss_at_{pct}pct_mb", mb, "MB")
        figure("rss_max_sampled_during_ingest_mb", run.rss_max_sampled, "MB")
        if len(run.rss_samples) == 4:
            figure("rss_growth_25_to_100pct_mb", run.rss_samples[-1][1] - run.rss_samples[0][1], "MB")
        if hwm_reset:
            figure("peak_rss_ingest_only_mb", ingest_hwm, "MB")
        figure("peak_rss_process_mb", peak_mb, "MB")

        fl = floor(node.eth_url, FIRST_BLOCK, min(to_block, FIRST_BLOCK + FLOOR_MAX_BLOCKS - 1))
        full_per_block = run.seconds / max(run.blocks, 1)
        figure("floor_blocks", fl.blocks, "blocks")
        figure("floor_http_decode_s", fl.http_decode_seconds, "s")
        figure("floor_http_decode_blocks_per_s", fl.blocks / fl.http_decode_seconds, "blocks/s")
        figure("floor_json_decode_s", fl.decode_seconds, "s")
        figure("floor_json_decode_blocks_per_s", fl.blocks / fl.decode_seconds, "blocks/s")
        figure("floor_bytes_per_block", fl.bytes_received // max(fl.blocks, 1), "bytes")
        figure("ratio_full_to_http_decode_floor", full_per_block / (fl.http_decode_seconds / fl.blocks), "x")
        figure("ratio_full_to_json_decode_floor", full_per_block / (fl.decode_seconds / fl.blocks), "x")

        if args.profile:
            profile(node.eth_url, to_block + 1, to_block + 2 * PROFILE_COPIES)
    finally:
        node.stop()
        if worker is not None:
            worker.stop()

    speed = run.blocks / run.seconds
    ok_speed = run.status == "ok" and speed >= TARGET_BLOCKS_PER_S
    ok_memory = peak_mb < TARGET_PEAK_MB
    rates = dict(run.quarter_rates)
    figure("last_to_first_quarter_whole_run", rates[100] / rates[25] if rates.get(25) else 0.0, "x")
    rates = dict(run.steady_quarter_rates)
    steady = rates[100] / rates[25] if rates.get(25) else 0.0
    ok_steady = steady >= TARGET_LAST_TO_FIRST_QUARTER
    figure("last_to_first_quarter", steady, "x")
    print(f"target_blocks_per_s: {'PASS' if ok_speed else 'FAIL'} ({speed:.2f} >= {TARGET_BLOCKS_PER_S:.0f}, "
          f"metrics {args.metrics})", flush=True)
    print(f"target_last_quarter: {'PASS' if ok_steady else 'FAIL'} ({steady:.2f} >= {TARGET_LAST_TO_FIRST_QUARTER})",
          flush=True)
    print(f"target_peak_rss: {'PASS' if ok_memory else 'FAIL'} ({peak_mb:.1f} MB < {TARGET_PEAK_MB:.0f} MB)",
          flush=True)
    figure("bench_total_s", time.perf_counter() - bench_started, "s")
    ok = ok_speed and ok_steady and ok_memory
    print(f"verdict: {'PASS' if ok else 'FAIL'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

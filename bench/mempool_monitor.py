"""Benchmark: the Bitcoin mempool whale monitor's hot path (``MempoolWatcher.feed``) against a JSON-decode floor.

What is measured
    ``MempoolWatcher(min_value_sat=whale_min_sat(Decimal("100")), recent=RecentTxHashes(10_000)).feed(frame)``
    (ledgers/glass/bitcoin/mempool.py: json.loads of the frame, per transaction the dedupe LRU lookup, the
    whale filter and, for whales, the urgency score) over a stream of mempool.space WebSocket frames
    amplified from the recorded ones to at least ``--transactions`` (default 1,000,000) transaction
    items. Figures: transactions/s and frames/s, whales detected, duplicates skipped, and the ratio
    watcher time / floor time.

The floor, measured in the same run on the same frames
    ``json.loads`` of every frame and nothing else ("plain JSON decoding"). The frames are generated
    lazily in chunks of ``--chunk`` frames (default 1,000): each chunk is built (untimed), decoded by
    json.loads (timed) and fed to the run's one watcher (timed), the two in alternating order
    from one chunk to the next, then discarded. So the generator's cost is in neither figure and the
    harness holds one chunk (~1 MB) at any time, whatever the stream length.

The stream (recorded data read in place from REPLAY_DATA_DIR, default ../shared/data)
    Templates: the ``transactions`` lists (6 txs each, ``{txid, fee, vsize, value, rate[, time]}``)
    of the recorded WebSocket payloads frontend-cypress-fixtures/mainnet_mempoolInfo.json and
    details_rbf/tx01_ws_stratum_jobs.json, each sent as a ``{"transactions": [...]}`` frame, and the
    ``rbfLatest`` frames rbf_page/rbf_01.json (1 replacement tree, 2 txs) and rbf_02.json (2 trees,
    4 txs), re-serialised compactly as a server sends them. Frame number f (from 0):
    - every ``RESEND_EVERY``-th frame (f % 50 == 49) is the previous frame resent verbatim, as after a
      reconnect: its transactions must be counted as duplicates by the LRU;
    - otherwise every ``RBF_EVERY``-th frame (f % 10 == 4) is an rbfLatest frame (rbf_01 / rbf_02
      alternately), every other frame a transactions frame (the two recorded lists alternately);
    - in a new frame every txid has its last 16 hex chars replaced by f in hex (still 64 hex chars,
      distinct across the stream); fee, vsize, rate and time stay the recorded ones;
    - every ``WHALE_EVERY``-th new transaction item (1 in 1,000) gets its value + 150 BTC, so it is a
      whale at the 100 BTC minimum (no recorded value comes near 100 BTC on its own).
    The counts the watcher reports (transactions, duplicates, whales, malformed) are checked against
    the generator's own counts.

Memory
    Peak RSS of the whole run (``getrusage`` ru_maxrss) and during the stream, and the stream's
    growth of the peak measured in separate subprocesses that run only the watcher: N/4 vs N
    transactions at the same LRU size (the growth must not depend on the stream length) and N
    transactions with LRU 10,000 vs 100,000 (it grows with the LRU). The growth is VmHWM (reset
    through /proc/self/clear_refs just before the stream, when the kernel allows it; else getrusage
    ru_maxrss) minus VmRSS before the stream.

Target
    >= 20,000 transactions/s through ``feed`` (about 1,000x Bitcoin's peak mempool arrival rate), with
    memory bounded by the LRU size, not by the stream length.

Baseline (2026-11-21, 2-core AMD EPYC, CPython 3.11, other jobs sharing the machine; default run of
    1,000,002 tx / 175,439 frames, ~12 s): watcher 425,000 tx/s (74,600 frames/s, 2.35 us per tx),
    json.loads floor 688,000 tx/s, ratio 1.6x; 978 whales, 21,048 duplicates, counts as generated.
    Peak RSS 20.8 MB; growth during the stream 3.45 MB at 250k tx vs 3.59 MB at 1M tx (LRU 10k),
    38.5 MB with LRU 100k (~400 bytes per extra LRU entry at the peak).

``--profile`` additionally feeds 100,000 transactions under cProfile and prints the top entries.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import figure, hwm_mb, maxrss_mb, reset_hwm, rss_mb  # noqa: E402  (after sys.path)
from ledgers.glass.bitcoin.mempool import MempoolWatcher, RecentTxHashes, whale_min_sat  # noqa: E402  (needs sys.path)

FIXTURES = ("bitcoin-mempool-space-fixtures", "frontend-cypress-fixtures")
TRANSACTION_SOURCES = ("mainnet_mempoolInfo.json", "details_rbf/tx01_ws_stratum_jobs.json")
RBF_SOURCES = ("rbf_page/rbf_01.json", "rbf_page/rbf_02.json")
DEFAULT_TRANSACTIONS = 1_000_000
DEFAULT_CHUNK = 1_000
DEFAULT_LRU = 10_000
LARGE_LRU = 100_000
WHALE_MIN_BTC = Decimal("100")
WHALE_BOOST_SAT = 150 * 100_000_000
WHALE_EVERY = 1_000  # every 1,000th new transaction item is a whale
RESEND_EVERY = 50  # every 50th frame resends the previous one verbatim
RBF_EVERY = 10  # 1 frame in 10 (of the new ones) is an rbfLatest frame
TARGET_TX_PER_S = 20_000.0
PROFILE_TRANSACTIONS = 100_000
SUFFIX_HEX = 16
_SLOT = re.compile(r'"@@(TXID|VALUE):(\d+)@@"')


def data_dir() -> Path:
    """The recorded data, read in place: REPLAY_DATA_DIR, else ../shared/data next to the project."""
    return Path(os.environ.get("REPLAY_DATA_DIR") or ROOT.parent / "shared" / "data")


# --- the stream ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Template:
    """One recorded frame compiled for fast re-rendering: the compact JSON split around every txid
    and value, so a copy is a join of literal parts and the rewritten txids/values."""

    name: str
    parts: tuple[str, ...]  # len(slots) + 1 literal pieces
    slots: tuple[tuple[bool, int], ...]  # (is_txid, tx index) between consecutive parts
    prefixes: tuple[str, ...]  # '"' + the first 48 hex chars of each recorded txid
    values: tuple[int, ...]  # recorded value (sat) of each tx

    @property
    def size(self) -> int:
        return len(self.values)


def _tx_dicts(payload: dict) -> list[dict]:
    """The transaction objects of a frame in the order the watcher meets them."""
    if "transactions" in payload:
        return list(payload["transactions"])
    found: list[dict] = []

    def walk(tree: dict) -> None:
        found.append(tree["tx"])
        for child in tree.get("replaces") or []:
            walk(child)

    for tree in payload["rbfLatest"]:
        walk(tree)
    return found


def template_compile(name: str, payload: dict) -> Template:
    """Compile ``payload`` (a frame dict, modified in place) into a Template."""
    txs = _tx_dicts(payload)
    prefixes, values = [], []
    for i, tx in enumerate(txs):
        txid, value = tx["txid"], tx["value"]
        if not (isinstance(txid, str) and len(txid) == 64 and isinstance(value, int)):
            raise ValueError(f"{name}: unexpected transaction item {tx!r}")
        prefixes.append('"' + txid[: 64 - SUFFIX_HEX])
        values.append(value)
        tx["txid"], tx["value"] = f"@@TXID:{i}@@", f"@@VALUE:{i}@@"
    if len(set(prefixes)) != len(prefixes):
        raise ValueError(f"{name}: two txids share their first {64 - SUFFIX_HEX} hex chars")
    pieces = _SLOT.split(json.dumps(payload, separators=(",", ":")))
    parts = tuple(pieces[0::3])
    slots = tuple((kind == "TXID", int(index)) for kind, index in zip(pieces[1::3], pieces[2::3], strict=True))
    return Template(name, parts, slots, tuple(prefixes), tuple(values))


def templates_load(base: Path) -> tuple[list[Template], list[Template]]:
    """The transactions-frame templates and the rbfLatest-frame templates, from the recorded files."""
    folder = base.joinpath(*FIXTURES)
    if not folder.is_dir():
        raise SystemExit(f"recorded data not found at {folder} (set REPLAY_DATA_DIR)")
    tx_templates = [template_compile(name, {"transactions": json.loads((folder / name).read_bytes())["transactions"]})
                    for name in TRANSACTION_SOURCES]
    rbf_templates = []
    for name in RBF_SOURCES:
        doc = json.loads((folder / name).read_bytes())
        rbf_templates.append(template_compile(name, {"rbfLatest": doc["rbfLatest"]}))
    return tx_templates, rbf_templates


@dataclass
class StreamStats:
    """What the generator produced (filled in as it goes), to check the watcher's counts against."""

    frames: int = 0
    rbf_frames: int = 0
    resent_frames: int = 0
    tx_items: int = 0
    new_tx_items: int = 0
    resent_tx_items: int = 0  # = the duplicates the watcher must report
    whale_items: int = 0  # new items at or above the whale minimum = the whales the watcher must report
    bytes: int = 0


def frames_generate(tx_templates: list[Template], rbf_templates: list[Template], transactions: int,
                    min_value_sat: int, stats: StreamStats) -> Iterator[str]:
    """Yield str frames lazily until at least ``transactions`` transaction items were produced (module docstring)."""
    previous, previous_size = "", 0
    f = 0
    while stats.tx_items < transactions:
        if f % RESEND_EVERY == RESEND_EVERY - 1 and previous:
            frame, size = previous, previous_size
            stats.resent_frames += 1
            stats.resent_tx_items += size
        else:
            if f % RBF_EVERY == RBF_EVERY // 2 - 1:
                template = rbf_templates[(f // RBF_EVERY) % len(rbf_templates)]
                stats.rbf_frames += 1
            else:
                template = tx_templates[f % len(tx_templates)]
            suffix = f'{f:0{SUFFIX_HEX}x}"'
            values = list(template.values)
            for i in range(len(values)):
                stats.new_tx_items += 1
                if stats.new_tx_items % WHALE_EVERY == 0:
                    values[i] += WHALE_BOOST_SAT
                if values[i] >= min_value_sat:
                    stats.whale_items += 1
            prefixes, parts = template.prefixes, template.parts
            pieces = [parts[0]]
            for n, (is_txid, i) in enumerate(template.slots, start=1):
                pieces.append(prefixes[i] + suffix if is_txid else str(values[i]))
                pieces.append(parts[n])
            frame, size = "".join(pieces), template.size
        stats.frames += 1
        stats.tx_items += size
        stats.bytes += len(frame)
        previous, previous_size = frame, size
        f += 1
        yield frame


# --- runs ----------------------------------------------------------------------------------------
@dataclass
class Run:
    watcher_s: float = 0.0
    json_s: float = 0.0
    generate_s: float = 0.0
    frames: int = 0
    transactions: int = 0
    duplicates: int = 0
    whales: int = 0
    replacements: int = 0
    malformed: int = 0
    lru_len: int = 0
    hwm_reset: bool = False  # VmHWM was reset just before the stream (else the peaks are ru_maxrss)
    rss_before_mb: float = 0.0  # VmRSS just before the stream
    peak_before_mb: float = 0.0  # the peak just before the stream (= rss_before_mb when hwm_reset)
    peak_after_mb: float = 0.0  # the peak at the end of the stream
    peak_marks: tuple[tuple[int, float], ...] = ()  # (percent of the stream, peak RSS MB so far)
    maxrss_process_mb: float = 0.0  # ru_maxrss: the whole process's lifetime peak

    @property
    def peak_growth_mb(self) -> float:
        """How much the stream raised the peak RSS above the RSS before it."""
        return self.peak_after_mb - self.peak_before_mb


def run_stream(transactions: int, lru_size: int, chunk: int, *, floor: bool) -> tuple[Run, StreamStats]:
    """Feed the generated stream to a watcher (and json.loads it too when ``floor``), chunk by chunk."""
    tx_templates, rbf_templates = templates_load(data_dir())
    minimum = whale_min_sat(WHALE_MIN_BTC)
    watcher = MempoolWatcher(min_value_sat=minimum, recent=RecentTxHashes(lru_size))
    stream = StreamStats()
    frames = frames_generate(tx_templates, rbf_templates, transactions, minimum, stream)
    feed, loads, clock = watcher.feed, json.loads, time.perf_counter
    marks = [(transactions * pct // 100, pct) for pct in (25, 50, 75, 100)]
    taken: list[tuple[int, float]] = []
    run = Run()
    gc.collect()
    run.hwm_reset = reset_hwm()
    peak = hwm_mb if run.hwm_reset else maxrss_mb
    run.rss_before_mb, run.peak_before_mb = rss_mb(), peak()
    chunk_no = 0
    while True:
        t0 = clock()
        batch = list(islice(frames, chunk))
        run.generate_s += clock() - t0
        if not batch:
            break
        json_first = floor and chunk_no % 2 == 0
        if json_first:
            t0 = clock()
            for frame in batch:
                loads(frame)
            run.json_s += clock() - t0
        t0 = clock()
        for frame in batch:
            feed(frame)
        run.watcher_s += clock() - t0
        if floor and not json_first:
            t0 = clock()
            for frame in batch:
                loads(frame)
            run.json_s += clock() - t0
        del batch
        chunk_no += 1
        while marks and stream.tx_items >= marks[0][0]:
            taken.append((marks.pop(0)[1], peak()))
    run.peak_after_mb, run.maxrss_process_mb = peak(), maxrss_mb()
    run.peak_marks = tuple(taken)
    s = watcher.stats
    run.frames, run.transactions, run.duplicates = s.frames, s.transactions, s.duplicates
    run.whales, run.replacements, run.malformed = s.whales, s.replacements, s.malformed
    run.lru_len = len(watcher.recent)
    return run, stream


def run_child(transactions: int, lru_size: int, chunk: int) -> dict[str, Any]:
    """Run the watcher alone over the stream in a fresh interpreter; its Run as a dict."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "--transactions", str(transactions),
               "--lru", str(lru_size), "--chunk", str(chunk)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child run failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def profile(chunk: int, top: int = 15) -> None:
    """Feed PROFILE_TRANSACTIONS transactions under cProfile; print the top entries."""
    tx_templates, rbf_templates = templates_load(data_dir())
    minimum = whale_min_sat(WHALE_MIN_BTC)
    watcher = MempoolWatcher(min_value_sat=minimum, recent=RecentTxHashes(DEFAULT_LRU))
    frames = list(frames_generate(tx_templates, rbf_templates, PROFILE_TRANSACTIONS, minimum, StreamStats()))
    profiler = cProfile.Profile()
    profiler.enable()
    for frame in frames:
        watcher.feed(frame)
    profiler.disable()
    print(f"--- profile: {watcher.stats.transactions} transactions, {len(frames)} frames under cProfile "
          f"(top {top} by internal time) ---", flush=True)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats(pstats.SortKey.TIME).print_stats(top)


# --- main ----------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=DEFAULT_TRANSACTIONS,
                        help=f"transaction items in the stream (at least; default {DEFAULT_TRANSACTIONS:,})")
    parser.add_argument("--chunk", type=int, default=DEFAULT_CHUNK,
                        help=f"frames generated per chunk (untimed; default {DEFAULT_CHUNK:,})")
    parser.add_argument("--lru", type=int, default=DEFAULT_LRU, help=f"RecentTxHashes size (default {DEFAULT_LRU:,})")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocess runs")
    parser.add_argument("--profile", action="store_true",
                        help=f"also feed {PROFILE_TRANSACTIONS:,} transactions under cProfile")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.transactions < 4 or args.chunk < 1 or args.lru < 1:
        parser.error("--transactions must be >= 4, --chunk and --lru >= 1")
    return args


def check_counts(run: Run, stream: StreamStats) -> list[str]:
    """Differences between what the watcher counted and what the generator produced."""
    expected = {"frames": stream.frames, "transactions": stream.tx_items, "duplicates": stream.resent_tx_items,
                "whales": stream.whale_items, "malformed": 0}
    return [f"{key} {getattr(run, key)} != expected {value}" for key, value in expected.items()
            if getattr(run, key) != value]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        run, _stream = run_stream(args.transactions, args.lru, args.chunk, floor=False)
        print(json.dumps({**asdict(run), "peak_growth_mb": run.peak_growth_mb}), flush=True)
        return 0
    bench_started = time.perf_counter()
    print(f"# WhaleTrack mempool monitor bench: MempoolWatcher.feed vs json.loads, >= {args.transactions:,} "
          f"transaction items, LRU {args.lru:,}, whale minimum {WHALE_MIN_BTC} BTC; data {data_dir()}", flush=True)
    print(f"# frames generated lazily in chunks of {args.chunk:,} frames (generation untimed); each chunk is "
          "json.loads'ed (floor) and fed to the watcher, order alternating per chunk, then discarded", flush=True)
    print(f"# stream: 1 frame in {RESEND_EVERY} resent verbatim (duplicates), 1 new frame in {RBF_EVERY} "
          f"rbfLatest, 1 new transaction in {WHALE_EVERY:,} gets value + {WHALE_BOOST_SAT // 100_000_000} BTC "
          "(whale)", flush=True)

    run, stream = run_stream(args.transactions, args.lru, args.chunk, floor=True)
    figure("stream_frames", stream.frames, "frames")
    figure("stream_frames_rbflatest", stream.rbf_frames, "frames")
    figure("stream_frames_resent", stream.resent_frames, "frames")
    figure("stream_transactions", stream.tx_items, "tx")
    figure("stream_mean_frame_bytes", stream.bytes / stream.frames, "bytes")
    figure("stream_fraction_resent_tx", f"{stream.resent_tx_items / stream.tx_items:.4f}")
    figure("stream_fraction_whale_tx", f"{stream.whale_items / stream.tx_items:.5f}")
    figure("generate_frames_per_s_untimed", stream.frames / run.generate_s, "frames/s")
    figure("json_s", run.json_s, "s")
    figure("json_transactions_per_s", stream.tx_items / run.json_s, "tx/s")
    figure("json_frames_per_s", stream.frames / run.json_s, "frames/s")
    figure("watcher_s", run.watcher_s, "s")
    figure("watcher_transactions_per_s", run.transactions / run.watcher_s, "tx/s")
    figure("watcher_frames_per_s", run.frames / run.watcher_s, "frames/s")
    figure("watcher_ns_per_transaction", run.watcher_s * 1e9 / run.transactions, "ns")
    figure("ratio_watcher_to_json_time", run.watcher_s / run.json_s, "x")
    figure("watcher_transactions", run.transactions, "tx")
    figure("watcher_whales_detected", run.whales, "whales")
    figure("watcher_duplicates_skipped", run.duplicates, "tx")
    figure("watcher_replacements", run.replacements, "replacements")
    figure("watcher_malformed", run.malformed, "frames/items")
    figure("watcher_lru_len", run.lru_len, "tx hashes")
    problems = check_counts(run, stream)
    figure("check_counts", "OK" if not problems else "MISMATCH: " + "; ".join(problems))
    peak_kind = "VmHWM reset before the stream" if run.hwm_reset else "ru_maxrss (VmHWM reset not permitted)"
    print(f"# peak RSS during the stream: {peak_kind}; the floor's json.loads runs in this process too", flush=True)
    figure("rss_before_stream_mb", run.rss_before_mb, "MB")
    for pct, mb in run.peak_marks:
        figure(f"peak_rss_at_{pct}pct_mb", mb, "MB")
    figure("peak_rss_growth_during_stream_mb", run.peak_growth_mb, "MB")
    figure("peak_rss_process_mb", run.maxrss_process_mb, "MB")

    ok_memory = True
    if not args.no_memory:
        quarter = max(args.transactions // 4, 4)
        runs = {
            "quarter": (quarter, args.lru, run_child(quarter, args.lru, args.chunk)),
            "full": (args.transactions, args.lru, run_child(args.transactions, args.lru, args.chunk)),
            "large_lru": (args.transactions, LARGE_LRU, run_child(args.transactions, LARGE_LRU, args.chunk)),
        }
        growth = {}
        for key, (n, lru, child) in runs.items():
            growth[key] = child["peak_growth_mb"]
            label = f"{n // 1000}k_tx_lru_{lru // 1000}k"
            figure(f"child_{label}_rss_before_stream_mb", child["rss_before_mb"], "MB")
            figure(f"child_{label}_peak_rss_mb", child["peak_after_mb"], "MB")
            figure(f"child_{label}_peak_rss_growth_mb", growth[key], "MB")
            figure(f"child_{label}_lru_len", child["lru_len"], "tx hashes")
            figure(f"child_{label}_transactions_per_s", child["transactions"] / child["watcher_s"], "tx/s")
        figure("rss_growth_full_minus_quarter_stream_mb", growth["full"] - growth["quarter"], "MB")
        extra_entries = runs["large_lru"][2]["lru_len"] - runs["full"][2]["lru_len"]
        figure("rss_growth_lru_100k_minus_lru_10k_mb", growth["large_lru"] - growth["full"], "MB")
        if extra_entries > 0:
            figure("rss_per_extra_lru_entry_bytes",
                   (growth["large_lru"] - growth["full"]) * 1024 * 1024 / extra_entries, "bytes")
        # flat: the 4x longer stream may not add more than 1 MB or 10 % of the quarter run's growth
        ok_memory = growth["full"] - growth["quarter"] <= max(1.0, 0.10 * growth["quarter"])
        print(f"target: memory flat in stream length: {'PASS' if ok_memory else 'FAIL'} "
              f"(growth {growth['quarter']:.2f} MB at {quarter:,} tx, {growth['full']:.2f} MB at "
              f"{args.transactions:,} tx; {growth['large_lru']:.2f} MB with LRU {LARGE_LRU:,})", flush=True)

    if args.profile:
        profile(args.chunk)

    speed = run.transactions / run.watcher_s
    ok_speed = speed >= TARGET_TX_PER_S and not problems
    print(f"target: >= {TARGET_TX_PER_S:.0f} transactions/s: {'PASS' if ok_speed else 'FAIL'} ({speed:,.0f} tx/s)",
          flush=True)
    figure("bench_total_s", time.perf_counter() - bench_started, "s")
    print(f"verdict: {'PASS' if ok_speed and ok_memory else 'FAIL'}", flush=True)
    return 0 if ok_speed and ok_memory else 1


if __name__ == "__main__":
    sys.exit(main())

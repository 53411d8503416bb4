"""Benchmark: live-feed latency, from a WhaleEvent's commit to its arrival at 200 WebSocket clients.

Setup (the embedded mode, DESIGN.md section 4)
    One server process runs daphne in-process (``daphne.server.Server`` in its main thread, serving
    ``whaletrack.asgi.application``) with the in-memory channel layer (REDIS_URL unset) and, unless
    ``--database-url`` is given, a fresh SQLite file migrated in a temporary directory. A publisher
    thread in that same process (the in-memory layer reaches only consumers of its own process, and the
    embedded main job also publishes from collector threads) commits WhaleEvents. This script's own
    process holds ``--clients`` (default 200) ``websockets`` clients on ``/ws/events/`` over loopback
    (``ALERTS_PUBLIC_FEED=true``: anonymous, no filter). Client and server are separate processes, so
    client-side parsing does not steal the server's interpreter.

What is measured, in one run
    real path: ``--rate`` events/s (default 20) for ``--seconds`` (default 10). Each event is one
        ``transaction.atomic()`` creating a WhaleEvent and calling ``alerts.services.events_publish``
        (claim, alert matching, ``event_payload``, group_send to FEED_GROUP + chain + whale groups);
        t0 is taken by an ``on_commit`` callback registered before the publish one, i.e. right after
        COMMIT and before any publishing work. Latency = receipt at a client - t0 (CLOCK_MONOTONIC is
        system-wide, so the two processes share it). If ``alerts.services.events_publish`` is missing,
        the event_payload is group_sent after commit by this script (printed as ``publish path``).
    floor: the same number of bare ``group_send(FEED_GROUP, feed_message(p))`` (the real path's message) of a
        payload p copied from a real event with a fresh id (same size, so the consumers' dedupe keeps it), at
        the same rate, scheduled on daphne's own event loop (``asyncio.run_coroutine_threadsafe``, the loop
        the in-memory layer's queues belong to); latency = receipt - the time just before the send. This is
        what the layer, the consumers and the sockets cost on their own.
    bare group_send from the publisher thread (diagnostic): the same bare sends made the way
        ``alerts.services`` makes them, ``async_to_sync(layer.group_send)`` in the publishing thread, which
        runs them on a private event loop of that thread.
    worker path: the path ``make run`` takes (``whaletrack.runtime``): the same commits, made by a Celery
        task on the embedded worker (a thread pool in the server process, the in-memory broker), which
        the publisher thread sends at the same rate (``send_task``, as beat and services do). Latency as
        for the real path (commit to receipt); also the broker's pickup delay (send to the task's start).
    Each figure: p50, p99, max over every (event, client) delivery, plus deliveries expected / received /
        duplicated.

Targets
    real path and worker path: p99 < 100 ms at 200 clients, and p99 within 2x of the floor's p99.

Measured limit (2026-12-02, 2 cores): with ``--database-url`` PostgreSQL and no Redis, the worker path
    keeps up at 5 events/s (p99 ~73 ms) but not at 20 events/s x 200 clients (p50 ~0.7-1.2 s): the worker's
    threads and daphne's fan-out share one process and its interpreter lock. Production runs the worker
    as processes of its own on Redis; the embedded default (SQLite) keeps up at 20 events/s.

Run: ``.venv/bin/python bench/alert_latency.py`` (SQLite) or ``--database-url postgres://...`` (a
    database this script may migrate and write WhaleEvents into).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
FLOOR_ID_BASE = 10**12  # floor payload ids: never a real event id, so the per-connection dedupe keeps them
THREAD_ID_BASE = 2 * 10**12
WARMUP_ID_BASE = 3 * 10**12


def raise_open_files_limit() -> int:
    """Raise the soft open-files limit to the hard one (one socket per client); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- server process ----------------------------------------------------------------------------------


def serve(port: int) -> None:
    """daphne in this thread; a publisher thread driven by commands on stdin, answering on stdout."""
    import daphne.server  # first: installs the asyncio Twisted reactor
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    from whaletrack.asgi import application

    server = daphne.server.Server(
        application=application, endpoints=[f"tcp:port={port}:interface=127.0.0.1"], signal_handlers=False,
        verbosity=0,
    )
    threading.Thread(target=publisher, args=(daphne.server.twisted_loop,), daemon=True).start()
    server.run()


_EMIT_LOCK = threading.Lock()


def emit(*parts: object) -> None:
    """One answer line on stdout (whole lines: the worker's threads emit too)."""
    with _EMIT_LOCK:
        print("BENCH", *parts, flush=True)


def publisher(server_loop: asyncio.AbstractEventLoop) -> None:
    """Commands: ``real N RATE``, ``floor N RATE``, ``thread N RATE``, ``worker N RATE``, ``warmup N RATE``,
    ``quit``."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer
    from django.db import transaction
    from django.utils import timezone
    from twisted.internet import reactor

    from alerts.groups import FEED_GROUP
    from alerts.payloads import event_payload
    from whales.chains import Chain
    from whales.models import EventType, Whale, WhaleEvent

    try:
        from alerts.services import events_publish
    except ImportError:
        events_publish = None
    emit("path", "alerts.services.events_publish" if events_publish else "bench group_send after commit")

    layer = get_channel_layer()
    emit("layer", f"{type(layer).__module__}.{type(layer).__name__}")
    whale, _ = Whale.objects.get_or_create(chain=Chain.ETHEREUM, address="0x" + "b" * 40,
                                           defaults={"name": "Bench whale"})
    run = int(time.time())
    sample: dict = {}
    numbers = itertools.count()

    def commit_one() -> tuple[int, float]:
        n = next(numbers)
        stamp: list[float] = []
        with transaction.atomic():
            event = WhaleEvent.objects.create(
                chain=Chain.ETHEREUM, type=EventType.LARGE_TRANSFER, whale=whale, block_time=timezone.now(),
                block_number=21_000_000 + n, tx_hash=f"0x{run:032x}{n:032x}", log_index=0,
                summary=f"Bench whale moved 1,234 ETH ({n})", value_usd="4321000.12",
                details={"token": "ETH", "amount": "1234.5", "source_lag_blocks": 2},
            )
            transaction.on_commit(lambda: stamp.append(time.monotonic()))  # runs first, right after COMMIT
            if events_publish is not None:
                events_publish(event_ids=[event.id])
            else:
                transaction.on_commit(lambda: async_to_sync(layer.group_send)(
                    FEED_GROUP, {"type": "whale.event", "event": event_payload(
                        WhaleEvent.objects.select_related("whale", "whale__entity").get(pk=event.pk))}))
        return event.id, stamp[0]

    def paced(count: int, rate: float, step) -> None:
        start = time.monotonic() + 0.05
        for n in range(count):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            step(n)

    def real(_: int) -> None:
        event_id, t0 = commit_one()
        emit("t", event_id, repr(t0))
        if not sample:
            sample.update(event_payload(WhaleEvent.objects.select_related("whale", "whale__entity").get(pk=event_id)))

    from celery import current_app, shared_task

    from whaletrack.runtime import EmbeddedRuntime

    finished = threading.Semaphore(0)

    @shared_task(name="bench.commit_and_publish", ignore_result=True)
    def commit_and_publish(sent: float) -> None:
        started = time.monotonic()
        try:
            event_id, t0 = commit_one()
            emit("t", event_id, repr(t0))
            emit("q", repr((started - sent) * 1000))
        finally:
            finished.release()

    from django.conf import settings

    # The worker of make run, its size included (beat is not measured: it would run the migrated rows' jobs).
    runtime = EmbeddedRuntime(concurrency=settings.WHALETRACK_WORKER_CONCURRENCY, beat=False)
    runtime.start()
    import gc

    gc.collect()  # as in make run, where the runtime starts before whaletrack.asgi freezes the heap
    gc.freeze()

    def worker_send(_: int) -> None:
        current_app.send_task("bench.commit_and_publish", kwargs={"sent": time.monotonic()})

    try:
        from alerts.services import feed_message
    except ImportError:
        feed_message = None

    def bare(base: int, on_server_loop: bool):
        def step(n: int) -> None:
            payload = {**sample, "id": base + n}
            # The same message the real path sends (frame pre-encoded), so the floor is the layer and
            # the fan-out alone: no database, no claim, no payload building.
            message = feed_message(payload) if feed_message else {"type": "whale.event", "event": payload}
            t0 = time.monotonic()
            if on_server_loop:
                asyncio.run_coroutine_threadsafe(layer.group_send(FEED_GROUP, message), server_loop).result()
            else:
                async_to_sync(layer.group_send)(FEED_GROUP, message)
            emit("t", base + n, repr(t0))
        return step

    try:
        for line in sys.stdin:
            command, *args = line.split()
            if command == "quit":
                break
            count = int(args[0])
            rate = float(args[1]) if len(args) > 1 else 20.0
            if command == "warmup":
                paced(count, rate, real)
                paced(count, rate, bare(WARMUP_ID_BASE, on_server_loop=True))
            elif command == "real":
                sample.clear()
                paced(count, rate, real)
            elif command == "floor":
                paced(count, rate, bare(FLOOR_ID_BASE, on_server_loop=True))
            elif command == "thread":
                paced(count, rate, bare(THREAD_ID_BASE, on_server_loop=False))
            elif command == "worker":
                paced(count, rate, worker_send)
                for _ in range(count):
                    if not finished.acquire(timeout=60):
                        raise TimeoutError("the embedded worker did not run every task within 60 s")
            emit("done", command)
    except Exception as exc:
        emit("error", repr(exc))
        raise
    finally:
        runtime.stop()
        reactor.callFromThread(reactor.stop)


# --- client process ----------------------------------------------------------------------------------


class Clients:
    """``count`` websockets clients; every event frame's receipt time, by event id."""

    def __init__(self, url: str, count: int) -> None:
        self.url = url
        self.count = count
        self.receipts: dict[int, list[float]] = {}
        self.tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        from websockets.asyncio.client import connect

        connected = 0
        ready = asyncio.Event()

        async def client() -> None:
            nonlocal connected
            async with connect(self.url, open_timeout=30, max_queue=None) as websocket:
                connected += 1
                if connected == self.count:
                    ready.set()
                async for frame in websocket:
                    received = time.monotonic()
                    data = json.loads(frame)
                    if data.get("type") == "event":
                        self.receipts.setdefault(data["event"]["id"], []).append(received)

        for _ in range(self.count):
            self.tasks.append(asyncio.create_task(client()))
            await asyncio.sleep(0.005)  # do not flood daphne's accept backlog
        await asyncio.wait_for(ready.wait(), timeout=60)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


class Server:
    """The server process and its command/answer pipe."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.info: dict[str, str] = {}
        self.queue_delays_ms: list[float] = []

    async def run(self, command: str) -> dict[int, float]:
        """Send ``command``; return {id: t0} of what it published, once it reports done."""
        self.process.stdin.write(f"{command}\n".encode())
        await self.process.stdin.drain()
        sent: dict[int, float] = {}
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout=120)
            if not line:
                raise RuntimeError("the server process exited")
            parts = line.decode().split()
            if not parts or parts[0] != "BENCH":
                continue
            if parts[1] == "t":
                sent[int(parts[2])] = float(parts[3])
            elif parts[1] == "q":
                self.queue_delays_ms.append(float(parts[2]))
            elif parts[1] == "done":
                return sent
            elif parts[1] == "error":
                raise RuntimeError(f"the publisher failed: {' '.join(parts[2:])}")
            else:
                self.info[parts[1]] = " ".join(parts[2:])


async def settled(run, clients: Clients, quiet_s: float = 1.0, max_s: float = 15.0) -> dict[int, float]:
    """Await the phase ``run``, then wait for in-flight frames: until no frame arrived for ``quiet_s``
    (at most ``max_s``). Returns the phase's {id: t0}."""
    sent = await run
    deadline = time.monotonic() + max_s
    last = -1
    while time.monotonic() < deadline:
        total = sum(len(clients.receipts.get(event_id, ())) for event_id in sent)
        if total == last or total == len(sent) * clients.count:
            break
        last = total
        await asyncio.sleep(quiet_s)
    return sent


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1] if len(values) > 1 else values[0]


def summarize(name: str, sent: dict[int, float], clients: Clients) -> dict:
    latencies = []
    received = duplicates = 0
    for event_id, t0 in sent.items():
        times = clients.receipts.get(event_id, [])
        received += len(times)
        duplicates += max(0, len(times) - clients.count)
        latencies.extend((t - t0) * 1000 for t in times)
    expected = len(sent) * clients.count
    figures = {
        "p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": percentile(latencies, 99) if latencies else float("nan"),
        "max_ms": max(latencies) if latencies else float("nan"),
    }
    print(f"{name} latency p50: {figures['p50_ms']:.1f} ms")
    print(f"{name} latency p99: {figures['p99_ms']:.1f} ms")
    print(f"{name} latency max: {figures['max_ms']:.1f} ms")
    print(f"{name} deliveries: {received} of {expected} expected ({len(sent)} events x {clients.count} clients), "
          f"{duplicates} duplicates")
    figures["complete"] = received == expected and duplicates == 0
    return figures


async def bench(args: argparse.Namespace) -> bool:
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="wt-alert-latency-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "whaletrack.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": "",  # embedded mode: in-memory channel layer
        "CELERY_BROKER_URL": "memory://localhost/",  # make run without Redis: the in-memory broker
        "ALERTS_PUBLIC_FEED": "true",
        "CHANNEL_LAYER_CAPACITY": "1000",
        "DJANGO_LOG_LEVEL": "ERROR",
        "PYTHONPATH": str(BASE_DIR),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", "--port", str(port),
        cwd=BASE_DIR, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    server = Server(process)
    clients = Clients(f"ws://127.0.0.1:{port}/ws/events/", args.clients)
    try:
        deadline = time.monotonic() + 120
        while True:  # migrate + start
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                await asyncio.sleep(0.2)
        await clients.start()
        count = max(1, round(args.rate * args.seconds))
        await server.run(f"warmup {min(20, count)} {args.rate}")
        real = summarize("real path", await settled(server.run(f"real {count} {args.rate}"), clients), clients)
        floor = summarize("floor", await settled(server.run(f"floor {count} {args.rate}"), clients), clients)
        summarize("bare group_send from the publisher thread",
                  await settled(server.run(f"thread {count} {args.rate}"), clients), clients)
        worker = summarize("worker path", await settled(server.run(f"worker {count} {args.rate}"), clients), clients)
        delays = server.queue_delays_ms
        print(f"worker path broker pickup p50: {statistics.median(delays):.1f} ms, "
              f"p99: {percentile(delays, 99):.1f} ms, max: {max(delays):.1f} ms (send to task start)")
    finally:
        await clients.stop()
        if process.returncode is None:
            process.stdin.write(b"quit\n")
            await process.stdin.drain()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()

    database = "PostgreSQL" if database_url.startswith("postgres") else "SQLite (temporary file)"
    print(f"setup: 1 daphne process, {args.clients} clients on loopback, {server.info.get('layer')}, {database}")
    print(f"publish path: {server.info.get('path')}")
    print(f"channel layer: {server.info.get('layer')}")
    print(f"events: {count} at {args.rate:g}/s per phase")
    ratio = real["p99_ms"] / floor["p99_ms"] if floor["p99_ms"] > 0 else float("inf")
    worker_ratio = worker["p99_ms"] / floor["p99_ms"] if floor["p99_ms"] > 0 else float("inf")
    print(f"real p99 / floor p99: {ratio:.2f}x; worker p99 / floor p99: {worker_ratio:.2f}x")
    print(f"target: real path p99 < 100 ms at {args.clients} clients -> {'PASS' if real['p99_ms'] < 100 else 'FAIL'}")
    print(f"target: real path p99 within 2x of the floor -> {'PASS' if ratio <= 2 else 'FAIL'}")
    print(f"target: worker path p99 < 100 ms and within 2x of the floor -> "
          f"{'PASS' if worker['p99_ms'] < 100 and worker_ratio <= 2 else 'FAIL'}")
    complete = real["complete"] and floor["complete"] and worker["complete"]
    print(f"target: every event delivered once to every client -> {'PASS' if complete else 'FAIL'}")
    passed = real["p99_ms"] < 100 and ratio <= 2 and worker["p99_ms"] < 100 and worker_ratio <= 2 and complete
    print("PASS" if passed else "FAIL")
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    raise_open_files_limit()
    if args.serve:
        serve(args.port)
        return
    sys.exit(0 if asyncio.run(bench(args)) else 1)


if __name__ == "__main__":
    main()

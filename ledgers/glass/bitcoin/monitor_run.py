"""Running the mempool monitor from sync code (the command, ``collect``, the main job) with a run log."""

import asyncio
import signal
from collections.abc import Callable

from django.conf import settings

from ledgers.glass.bitcoin.client import EsploraClient
from ledgers.glass.bitcoin.monitor import MempoolMonitor, MonitorStats
from ledgers.registry import CollectorResult
from ledgers.runlog import collector_run_finish, collector_run_start
from whales.models import RunStatus

MONITOR_NAME = "bitcoin_mempool"
MONITOR_BUDGET_WAIT_S = 2.0


def monitor_once(
    *,
    duration_s: float | None = None,
    ws_url: str | None = None,
    api_url: str | None = None,
    stop_when: Callable[[], bool] | None = None,
    handle_signals: bool = False,
    on_start: Callable[[MempoolMonitor], None] | None = None,
    budget_rate: str | None = None,
    **_: object,
) -> CollectorResult:
    """Run the monitor on BITCOIN_WS_URL (or ``ws_url``) until ``duration_s`` passes, ``stop_when()``
    is true or, with ``handle_signals``, SIGTERM/SIGINT; log the run. Raises: nothing for network
    trouble (it reconnects); a fatal connection error (bad URL, 4xx handshake) fails the run."""
    run = collector_run_start(collector=MONITOR_NAME)
    # A whale's Esplora lookup never waits long for the shared budget: without it the whale is stored
    # from the stream's summary, and the frames keep flowing.
    esplora = EsploraClient.from_settings(api_url, budget_rate=budget_rate, max_wait_s=MONITOR_BUDGET_WAIT_S)
    monitor = MempoolMonitor(ws_url=ws_url or settings.BITCOIN_WS_URL, esplora=esplora)
    if on_start is not None:
        on_start(monitor)

    async def main() -> MonitorStats:
        if handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, monitor.stop)
        return await monitor.run(duration_s=duration_s, stop_when=stop_when)

    status, error = RunStatus.OK, ""
    try:
        stats = asyncio.run(main())
    except Exception as exc:  # a fatal connection error ends the run; it is logged, not raised
        stats, status, error = monitor.stats, RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        esplora.close()
    run.items_seen = stats.transactions
    run.items_written = stats.whales_published
    run.events_written = stats.whales_published
    collector_run_finish(run=run, status=status, error=error)
    return CollectorResult(collector=MONITOR_NAME, status=status, items_seen=stats.transactions,
                           items_written=stats.whales_published, events_written=stats.whales_published,
                           error=error, extra=stats.public())


def monitor_collect(*, duration_s: float = 60.0, ws_url: str | None = None,
                    api_url: str | None = None) -> CollectorResult:
    """Registry entry point (``collect bitcoin_mempool``): the monitor in the foreground for ``duration_s``
    seconds (60 by default)."""
    return monitor_once(duration_s=duration_s, ws_url=ws_url, api_url=api_url)

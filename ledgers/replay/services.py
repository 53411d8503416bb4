"""Starting the replay node from Django code (the main job, the ``replay_node`` command, tests)."""

from pathlib import Path

from django.conf import settings

from ledgers.replay.mempool_ws import DEFAULT_WS_RATE
from ledgers.replay.server import ReplayServer


def start_replay_node(
    *,
    data_dir: Path | None = None,
    host: str | None = None,
    port: int | None = None,
    eth_copies: int = 0,
    head_block: int | None = None,
    ws_port: int = 0,
    ws_rate: float = DEFAULT_WS_RATE,
) -> ReplayServer:
    """Index the recordings and start serving them in a daemon thread; return the running server.

    Defaults come from settings: REPLAY_DATA_DIR (read in place), REPLAY_HOST, REPLAY_PORT
    (pass ``port=0`` for any free port). The WebSocket listens on ``ws_port`` (default 0: any free
    port) and plays ``ws_rate`` frames per second. Point ETH_RPC_URL at ``.eth_url``, COINGECKO_API_URL
    at ``.coingecko_url``, BITCOIN_API_URL at ``.bitcoin_url``, BITCOIN_WS_URL at ``.bitcoin_ws_url``,
    HYPERLIQUID_API_URL at ``.hyperliquid_url`` and ARBITRUM_RPC_URL at ``.arbitrum_url``; call
    ``.stop()`` when done.
    Raises: FileNotFoundError when the data directory does not exist; ValueError for
    ``eth_copies`` without the recorded template pair; OSError when the port cannot be bound.
    """
    path = Path(data_dir if data_dir is not None else settings.REPLAY_DATA_DIR)
    if not path.is_dir():
        raise FileNotFoundError(f"recorded data not found at {path} (set REPLAY_DATA_DIR)")
    server = ReplayServer(
        path,
        host=host if host is not None else settings.REPLAY_HOST,
        port=port if port is not None else settings.REPLAY_PORT,
        eth_copies=eth_copies,
        head_block=head_block,
        ws_port=ws_port,
        ws_rate=ws_rate,
    )
    return server.start()

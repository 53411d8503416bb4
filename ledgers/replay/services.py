"""Starting the replay node from Django code (the main job, the ``replay_node`` command, tests)."""

from pathlib import Path

from django.conf import settings

from ledgers.replay.server import ReplayServer


def start_replay_node(
    *,
    data_dir: Path | None = None,
    host: str | None = None,
    port: int | None = None,
    eth_copies: int = 0,
    head_block: int | None = None,
) -> ReplayServer:
    """Index the recordings and start serving them in a daemon thread; return the running server.

    Defaults come from settings: REPLAY_DATA_DIR (read in place), REPLAY_HOST, REPLAY_PORT
    (pass ``port=0`` for any free port). Point ETH_RPC_URL at ``.eth_url`` and COINGECKO_API_URL
    at ``.coingecko_url``; call ``.stop()`` when done.
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
    )
    return server.start()

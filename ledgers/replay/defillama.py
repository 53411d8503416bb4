"""DeFiLlama answers from the one real recording (market-context-mimir-fixtures/defillama_stables.json, PROVENANCE.md
there: ``GET stablecoins.llama.fi/stablecoins?includePrices=false`` of 2026-07-04, trimmed by its author to USDT
and USDC with their circulating, week-ago and month-ago supply). ``GET /stablecoins`` answers it verbatim; no TVL
answer is recorded, so ``/protocols`` answers 404."""

from pathlib import Path

STABLES_FILE = "defillama_stables.json"


class DefiLlamaRecording:
    """``stables``: the recorded file, or None when the data has none."""

    def __init__(self, data_dir: Path) -> None:
        self.stables = next(iter(sorted(data_dir.rglob(STABLES_FILE))), None)

    def stablecoins_answer(self, path: str) -> tuple[int, bytes]:
        """(status, body) of ``GET <path>`` relative to the stablecoins host."""
        if path.rstrip("/") == "/stablecoins" and self.stables is not None:
            return 200, self.stables.read_bytes()
        return 404, b'{"error": "not recorded"}'

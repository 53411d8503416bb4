"""Raw recorded Bitcoin data for tests (read in place from REPLAY_DATA_DIR; never copied)."""

import json
from pathlib import Path

from django.conf import settings

EXPOSED = "bitcoin-mempool-space-am-i-exposed"
FIXTURES = "bitcoin-mempool-space-fixtures"
GENESIS_ADDRESS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"


def path(*parts: str) -> Path:
    return Path(settings.REPLAY_DATA_DIR).joinpath(*parts)


def load(*parts: str):
    """The parsed JSON of a recorded file."""
    return json.loads(path(*parts).read_text())


def exposed(name: str):
    return load(EXPOSED, name)


def frame(name: str):
    """A recorded mempool.space WebSocket message (frontend-cypress-fixtures/<name>)."""
    return load(FIXTURES, "frontend-cypress-fixtures", name)


def raw_net(tx: dict, address: str) -> int:
    """Outputs paid to ``address`` minus the prevouts it spent, in sat, straight from the raw JSON."""
    received = sum(v["value"] for v in tx["vout"] if v.get("scriptpubkey_address") == address)
    spent = sum((v.get("prevout") or {}).get("value", 0) for v in tx["vin"]
                if (v.get("prevout") or {}).get("scriptpubkey_address") == address)
    return received - spent

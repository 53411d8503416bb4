"""Helpers for the replay node tests: JSON-RPC over real loopback HTTP, and the raw recordings."""

import json
from pathlib import Path

import pytest
import requests


def rpc(url: str, method: str, params: list | None = None, call_id: int = 1) -> dict:
    """POST one JSON-RPC call and return the whole response object."""
    body = {"jsonrpc": "2.0", "id": call_id, "method": method, "params": params if params is not None else []}
    response = requests.post(url, json=body, timeout=10)
    assert response.status_code == 200
    return response.json()


def raw_result(path: Path) -> object:
    """The recorded result of a file, read here independently of the server (envelope or bare)."""
    doc = json.loads(path.read_text())
    return doc["result"] if isinstance(doc, dict) and "jsonrpc" in doc else doc


@pytest.fixture(scope="session")
def trin(replay_data_dir) -> Path:
    return replay_data_dir / "ethereum-mainnet-trin"


@pytest.fixture(scope="session")
def helios(replay_data_dir) -> Path:
    return replay_data_dir / "ethereum-mainnet-helios"

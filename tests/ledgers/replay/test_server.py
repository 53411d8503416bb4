"""Replay node lifecycle: start/stop, URLs, the start_replay_node helper and the replay_node command."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings

from ledgers.replay.server import ReplayServer
from ledgers.replay.services import start_replay_node
from tests.ledgers.replay.conftest import rpc

PROJECT_DIR = Path(settings.BASE_DIR)


def test_urls_are_derived_from_the_bound_port(replay):
    assert replay.url.startswith("http://127.0.0.1:")
    assert replay.eth_url == replay.url + "/ethereum"
    assert replay.coingecko_url == replay.url + "/coingecko/api/v3"


def test_url_before_start_raises_and_stop_closes_the_port(replay_data_dir):
    server = ReplayServer(replay_data_dir)
    with pytest.raises(RuntimeError):
        _ = server.url
    server.start()
    url = server.eth_url
    session = requests.Session()  # a kept-alive connection must not outlive stop()
    assert session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=5).ok
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(requests.exceptions.ConnectionError):
        session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=5)


def test_info_and_unknown_paths(replay):
    info = requests.get(replay.url + "/_replay/info", timeout=10).json()
    assert info["head_block"] == 19_433_903
    assert info["blocks"] == 14
    assert info["blocks_with_receipts"] == 7
    assert info["coingecko_series"] == {"bitcoin": "btc-usd-max_2010-07-18_to_2026-01-31.csv",
                                        "ethereum": "eth-usd-max.csv"}
    assert info["eth_url"] == replay.eth_url
    response = requests.get(replay.url + "/esplora/api/blocks", timeout=10)
    assert (response.status_code, response.json()) == (404, {"error": "not found"})


def test_start_replay_node_uses_settings(settings):
    settings.REPLAY_PORT = 0
    server = start_replay_node()
    try:
        assert server.data_dir == settings.REPLAY_DATA_DIR
        assert rpc(server.eth_url, "eth_blockNumber")["result"] == "0x12889af"
    finally:
        server.stop()


def test_start_replay_node_refuses_a_missing_data_dir(tmp_path):
    with pytest.raises(FileNotFoundError):
        start_replay_node(data_dir=tmp_path / "missing", port=0)


def test_replay_node_command_prints_what_it_serves_and_stops_on_sigterm():
    command = [sys.executable, "manage.py", "replay_node", "--port", "0", "--eth-copies", "2"]
    process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True,  # noqa: S603
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = []
        while not (lines and lines[-1].startswith("Press Ctrl+C")):
            line = process.stdout.readline()
            assert line, f"command ended early: {lines}"
            lines.append(line.strip())
        assert "ethereum: 14 blocks" in lines[1]
        assert "2 synthetic copies" in lines[1]
        assert "head 19433907" in lines[1]
        assert "coingecko: 6 recorded responses" in lines[2]
        eth_url = lines[3].removeprefix("ETH_RPC_URL=")
        assert rpc(eth_url, "eth_blockNumber")["result"] == hex(19_433_907)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stdout.read().strip() == "Replay node stopped."
    finally:
        if process.poll() is None:
            process.kill()

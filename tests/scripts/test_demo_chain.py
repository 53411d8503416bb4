"""``scripts/demo_chain.py`` (``make demo-chain``) run as a user runs it: a subprocess that starts anvil, deploys
the Uniswap V2 contracts and plays one cycle of simulated whale activity. The test then follows the printed
instructions: it imports the files the demo wrote with the manage.py commands the demo printed, points the
Ethereum collector at the printed ETH_RPC_URL from the printed ETH_START_BLOCK, and checks what is stored
against what the node itself says (its blocks, receipts and balances), never against our parser."""

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from web3 import Web3

from ledgers.glass.ethereum.client import EthereumRpcClient
from ledgers.glass.ethereum.holdings import holdings_refresh
from ledgers.glass.ethereum.opening import openings_read
from ledgers.glass.ethereum.services import blocks_collect
from ledgers.history import metrics_backfill
from tests.chain.anvil import ANVIL
from tests.ports import free_port
from tests.processes import BASE_DIR
from tests.requirements import require
from whales.analytics.metrics import metrics_recompute
from whales.models import (
    AddressCategory,
    Holding,
    KnownAddress,
    RunStatus,
    Trade,
    WalletMetrics,
    WalletMetricsDaily,
    Whale,
)

pytestmark = pytest.mark.django_db

STEPS = 13  # one whole cycle of the script: every kind of activity once
HISTORY_DAYS = 2  # played first, a cycle a day, the node's clock starting two days ago
TRANSFER_TOPIC = Web3.keccak(text="Transfer(address,address,uint256)").to_0x_hex()
BALANCE_OF_ABI = [{"name": "balanceOf", "type": "function", "stateMutability": "view",
                   "inputs": [{"name": "owner", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]}]
INFLOW = {"buy", "receive", "withdraw"}
WIDE = Context(prec=80)


def wait_for_line(log: Path, process: subprocess.Popen, marker: str, *, timeout_s: float = 60) -> str:
    """The log's text once ``marker`` is in it. Raises: AssertionError when the process ends first or time
    runs out (with the log)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = log.read_text()
        if marker in text:
            return text
        assert process.poll() is None, f"the demo exited with {process.returncode}:\n{text}"
        time.sleep(0.1)
    raise AssertionError(f"no {marker!r} within {timeout_s} s:\n{log.read_text()}")


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def demo(tmp_path):
    """The demo script in its own process group, on a free port, writing into ``tmp_path``; after the test it
    is killed with its node if it is still running. Yields (process, port, log, out_dir)."""
    require(ANVIL.exists(), f"{ANVIL} is missing (make test runs npm ci in tests/chain)")
    port, out, log = free_port(), tmp_path / "demo-chain", tmp_path / "demo.log"
    env = {key: value for key, value in os.environ.items() if key != "DEMO_CHAIN_PORT"}
    with log.open("w") as handle:
        process = subprocess.Popen(  # noqa: S603  (our script, fixed arguments)
            [sys.executable, "scripts/demo_chain.py", "--port", str(port), "--interval", "0.1",
             "--steps", str(STEPS), "--block-time", "1", "--history-days", str(HISTORY_DAYS), "--out-dir", str(out)],
            cwd=BASE_DIR, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        yield process, port, log, out
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def signed_movements(trade: Trade) -> dict[str, int]:
    """What one stored trade says moved in the whale's balances, in base units, by token ("" = ETH)."""
    sign = 1 if trade.direction in INFLOW else -1
    moved = {trade.base_token_address: sign * int(trade.amount_raw)}
    if trade.direction in ("buy", "sell"):  # a swap: the quote asset moved the other way
        quote = trade.amount_quote.scaleb(18)  # both demo tokens and ETH have 18 decimals
        assert quote == quote.to_integral_value()
        moved[trade.quote_token_address] = moved.get(trade.quote_token_address, 0) - sign * int(quote)
    return moved


def test_the_demo_chain_is_tracked_exactly_as_the_node_says_and_stops_on_ctrl_c(demo, settings):
    process, port, log, out = demo
    text = wait_for_line(log, process, f"== Played {STEPS} transactions")
    assert "LOCAL SIMULATION" in text and f"step {STEPS - 1} failed" not in text and " failed:" not in text
    chain = json.loads((out / "chain.json").read_text())

    # The printed instructions, run as printed (the pytest database is already migrated).
    commands = [shlex.split(line.split("manage.py ", 1)[1]) for line in text.splitlines()
                if ".venv/bin/python manage.py " in line]
    assert [c[0] for c in commands] == ["migrate", "import_labels", "import_whales", "import_prices"]
    for name, *args in commands[1:]:
        call_command(name, *args)
    [run_line] = [line for line in text.splitlines() if line.strip().endswith("make run")]
    run_env = dict(item.split("=", 1) for item in shlex.split(run_line)[:-2])
    assert run_env["ETH_RPC_URL"] == chain["rpc_url"] == f"http://127.0.0.1:{port}"
    assert int(run_env["ETH_START_BLOCK"]) == chain["start_block"]
    assert run_env["WHALETRACK_SOURCES"] == "live"

    whales = {address: name for name, address in chain["whales"].items()}
    assert dict(Whale.objects.filter(is_tracked=True).values_list("address", "name")) == whales
    assert all(name.endswith("(local simulation)") for name in whales.values())
    [(exchange_name, exchange)] = chain["exchange"].items()
    assert KnownAddress.objects.filter(address=exchange, category=AddressCategory.EXCHANGE,
                                       name=exchange_name).exists()

    # The collector as the instance runs it: from ETH_START_BLOCK, with confirmations, at the printed URL.
    w3 = Web3(Web3.HTTPProvider(chain["rpc_url"], request_kwargs={"timeout": 10}))
    last = max(int(n) for n in re.findall(r"step \d+ block (\d+):", text))
    while w3.eth.block_number < last + settings.ETH_CONFIRMATIONS:  # interval mining: blocks keep coming
        time.sleep(0.2)
    settings.ETH_START_BLOCK = int(run_env["ETH_START_BLOCK"])
    client = EthereumRpcClient(run_env["ETH_RPC_URL"], timeout_s=10)
    result = blocks_collect(client=client, to_block=last)
    assert result.status == RunStatus.OK, result.error
    assert result.extra["next_block"] == last + 1

    # Expected from the node: per whale and block, the transactions that move its ETH or tokens, and its
    # balance deltas (the fees of what it sent apart).
    tokens = {chain["contracts"][symbol]: w3.eth.contract(address=Web3.to_checksum_address(chain["contracts"][symbol]),
                                                          abi=BALANCE_OF_ABI) for symbol in ("DEMO-A", "DEMO-B")}
    for address in whales:  # the whales start empty: all they hold reaches them in the simulation's blocks
        owner, before = Web3.to_checksum_address(address), chain["start_block"] - 1
        assert w3.eth.get_balance(owner, before) == 0
        assert [c.functions.balanceOf(owner).call(block_identifier=before) for c in tokens.values()] == [0, 0]
    expected_txs: dict[str, set[str]] = {address: set() for address in whales}
    for number in range(chain["start_block"], last + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        receipts = {r["transactionHash"]: r for r in w3.eth.get_block_receipts(number)}
        fees: dict[str, int] = {address: 0 for address in whales}
        for tx in block["transactions"]:
            receipt = receipts[tx["hash"]]
            sender, to = tx["from"].lower(), (tx["to"] or "").lower()
            if sender in fees:
                fees[sender] += receipt["gasUsed"] * receipt["effectiveGasPrice"]
            touched = {sender, to} if tx["value"] else set()
            for entry in receipt["logs"]:
                if entry["topics"] and entry["topics"][0].to_0x_hex() == TRANSFER_TOPIC:
                    touched |= {"0x" + topic.to_0x_hex()[-40:] for topic in entry["topics"][1:3]}
            for address in touched & set(whales):
                expected_txs[address].add(tx["hash"].to_0x_hex())
        for address in whales:
            stored: dict[str, int] = {}
            for trade in Trade.objects.filter(whale__address=address, block_number=number):
                for token, value in signed_movements(trade).items():
                    stored[token] = stored.get(token, 0) + value
            node = {"": w3.eth.get_balance(Web3.to_checksum_address(address), number)
                    - w3.eth.get_balance(Web3.to_checksum_address(address), number - 1) + fees[address]}
            for token, contract in tokens.items():
                owner = Web3.to_checksum_address(address)
                node[token] = (contract.functions.balanceOf(owner).call(block_identifier=number)
                               - contract.functions.balanceOf(owner).call(block_identifier=number - 1))
            assert {k: v for k, v in stored.items() if v} == {k: v for k, v in node.items() if v}, (number, address)
    for address, hashes in expected_txs.items():
        assert set(Trade.objects.filter(whale__address=address).values_list("tx_hash", flat=True)) == hashes
    assert sum(len(hashes) for hashes in expected_txs.values()) >= STEPS  # every step moved a whale's assets

    # Valued at the simulated prices the demo wrote, labelled as such (assets.yaml).
    assets = yaml.safe_load((out / "assets.yaml").read_text())
    assert assets["source"] == "simulated:demo-chain"
    eth_prices = sorted((datetime.fromisoformat(p["timestamp"]), Decimal(p["price_usd"]))
                        for p in next(a for a in assets["assets"] if a["symbol"] == "ETH")["prices"])
    assert len(eth_prices) == HISTORY_DAYS + 1  # one per simulated day
    deposit = re.findall(r"deposits [\d,.]+ ETH at .* \(tx (0x[0-9a-f]{64})\)", text)[-1]  # the live one
    [flow] = Trade.objects.filter(tx_hash=deposit)
    sent_wei = w3.eth.get_transaction(deposit)["value"]
    deposit_time = datetime.fromtimestamp(w3.eth.get_block(flow.block_number)["timestamp"], tz=UTC)
    eth_usd = [usd for at, usd in eth_prices if at <= deposit_time][-1]  # the newest stamp before it
    assert (flow.direction, flow.source, flow.platform, int(flow.amount_raw)) == (
        "deposit", "exchange_flow", "demo-exchange", sent_wei)
    assert flow.value_usd == (Decimal(sent_wei) * eth_usd / Decimal(10**18)).quantize(
        Decimal("1e-8"), rounding=ROUND_HALF_EVEN, context=WIDE)
    internal = re.search(r"same fund: internal\) \(tx (0x[0-9a-f]{64})\)", text).group(1)
    assert {(t.direction, t.is_internal) for t in Trade.objects.filter(tx_hash=internal)} == {
        ("send", True), ("receive", True)}

    # Holdings read at the last block equal the node's balances there.
    refresh = holdings_refresh(client=client, block_number=last)
    assert refresh.block_number == last
    for address in whales:
        owner = Web3.to_checksum_address(address)
        node = {"": Decimal(w3.eth.get_balance(owner, last)).scaleb(-18)}
        for token, contract in tokens.items():
            node[token] = Decimal(contract.functions.balanceOf(owner).call(block_identifier=last)).scaleb(-18)
        held = {h.token_address: (h.amount, h.block_number) for h in Holding.objects.filter(whale__address=address)}
        assert held == {token: (amount, last) for token, amount in node.items() if amount}, address

    # The past days: each whale's daily portfolio value is the node's balances at that day's last block, at
    # the simulated prices stamped at its end (the next midnight, UTC).
    assert openings_read(client=client).ok == len(whales)  # empty before their first trade: 0 USD each
    # Every flow is priced (the simulated prices) and every opening read: each whale has an ROI.
    metrics_recompute(whale_ids=list(Whale.objects.filter(address__in=whales).values_list("pk", flat=True)))
    assert dict(WalletMetrics.objects.filter(whale__address__in=whales).values_list(
        "whale__address", "details__roi_unavailable")) == dict.fromkeys(whales, "")
    assert not WalletMetrics.objects.filter(whale__address__in=whales, roi_percent__isnull=True).exists()
    today = datetime.now(tz=UTC).date()
    assert metrics_backfill(today=today).days_written == len(whales) * HISTORY_DAYS
    prices = {symbol: sorted((datetime.fromisoformat(p["timestamp"]), Decimal(p["price_usd"])) for p in a["prices"])
              for a in assets["assets"] for symbol in [a["symbol"]]}
    contract_of = {"ETH": None, "DEMO-A": chain["contracts"]["DEMO-A"], "DEMO-B": chain["contracts"]["DEMO-B"]}
    times = {n: datetime.fromtimestamp(w3.eth.get_block(n)["timestamp"], tz=UTC)
             for n in range(chain["start_block"], last + 1)}
    for day in (today - timedelta(days=n) for n in range(HISTORY_DAYS, 0, -1)):
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        block = max(n for n, at in times.items() if at < end)
        assert times[block].date() == day  # a cycle was played on each past day
        for address in whales:
            owner = Web3.to_checksum_address(address)
            value = Decimal(0)
            for symbol, contract in contract_of.items():
                held = (w3.eth.get_balance(owner, block) if contract is None
                        else tokens[contract].functions.balanceOf(owner).call(block_identifier=block))
                value += Decimal(held).scaleb(-18, context=WIDE) * [p for at, p in prices[symbol] if at <= end][-1]
            row = WalletMetricsDaily.objects.get(whale__address=address, date=day)
            assert row.portfolio_value_usd == value.quantize(Decimal("1e-8"), context=WIDE), (address, day)

    # Ctrl-C (SIGINT to the script alone): it stops its node and exits cleanly.
    assert listening(port)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) == 0
    assert "== Demo chain stopped" in log.read_text()
    assert not listening(port)

"""Benchmark: Ethereum holdings reads on a real node (anvil), batched JSON-RPC and Multicall3 against one call per
request, measured in the same run (issue 13 section 5).

What is measured
    ``EthereumRpcClient.balances_at`` -- the read path of every holdings refresh -- over ``--whales`` (5,000)
    whales x (ETH + ``--tokens`` (20) ERC-20 balances) = 105,000 reads at one block:
    (a) batched JSON-RPC: ``eth_getBalance`` / ``eth_call balanceOf``, 500 calls per HTTP request
        (``multicall3=False``);
    (b) Multicall3 ``aggregate3`` (allowFailure=true), 500 reads per aggregate3 call, 4 aggregate3 calls per HTTP
        request (the client's default where the node has Multicall3);
    and, separately, (d) one full ``holdings_refresh`` of the 5,000 whales into PostgreSQL (token reads through
    Multicall3, valuation, ``holdings_set_many`` writes, HoldingsSync) and a second one at the same block
    (every row an update).

The baseline, measured in the same run
    (c) one ``eth_call`` / ``eth_getBalance`` per HTTP request, sequentially, through the same transport
    (``ledgers.evm.JsonRpcTransport.request``: web3's HTTPProvider on a keep-alive requests Session), over the
    first ``--baseline-reads`` (2,000) of the same reads. The ratios are reads/s of (a) and (b) over reads/s of
    (c). All three must return the same values: (a) and (b) are compared in full, (c) on its sample, and a
    sample of 200 against web3's own ``balanceOf`` / ``get_balance`` calls.

Setup (untimed, every run starts clean)
    anvil from ``tests/chain`` (``make chain``) on a free loopback port. ``--tokens`` ERC-20 contracts from the
    Uniswap v2-core build ``ERC20.json`` and Multicall3 (viem's creation bytecode, runtime placed at the canonical
    address with ``anvil_setCode``). Balances are written straight into state, the fast way: ``anvil_setBalance``
    per whale and ``anvil_setStorageAt`` on each token's ``balanceOf`` mapping slot (keccak(address . slot); the
    slot is found by matching the deployer's balance, not assumed), in JSON-RPC batches of 2,000 -- 8-17 s here for
    105,000 writes, where 100,000 transfers would take minutes. Every 7th (whale, token) balance is zero. One
    block is mined and every read is at it. The bench database (DATABASE_URL, default
    postgres://postgres@127.0.0.1:5432/whaletrack_bench_holdings; its name must contain "bench") is dropped,
    recreated and migrated; the whales are tracked Ethereum Whale rows, the 20 tokens curated Assets (is_stablecoin,
    so valued at 1 USD), the seeded mainnet token Assets are removed (they have no code on anvil), and ETH is
    priced at the last close of the recorded CoinGecko CSV.

Target
    >= 10x the one-call-per-request baseline in reads/s, through the path a refresh uses (Multicall3 where the
    node has it; the batched JSON-RPC ratio is printed with its own line).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import database_recreate, django_setup, figure, maxrss_mb  # noqa: E402  (after sys.path)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/whaletrack_bench_holdings"
TARGET_RATIO = 10.0
WRITE_BATCH = 2000  # anvil_set* calls per JSON-RPC batch
SUPPLY = 10**30
PRICE_CSV = ("prices-coingecko-daily-csv", "eth-usd-max.csv")


def whale_address(index: int) -> str:
    return "0x" + hashlib.sha256(f"whaletrack bench whale {index}".encode()).hexdigest()[:40]


def token_balance(whale: int, token: int) -> int:
    """The balance bench whale ``whale`` gets of token ``token`` (base units); every 7th pair holds nothing."""
    if (whale + 3 * token) % 7 == 0:
        return 0
    return ((whale * 7919 + token * 104_729) % 1_000_003) * 10**12


def rpc_batch(url: str, calls: list[tuple[str, list]]) -> None:
    """Send ``calls`` in JSON-RPC batches of WRITE_BATCH; raise RuntimeError on any error answer."""
    import requests

    session = requests.Session()
    for start in range(0, len(calls), WRITE_BATCH):
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p}
                for i, (m, p) in enumerate(calls[start:start + WRITE_BATCH])]
        answers = session.post(url, json=body, timeout=120).json()
        errors = [a["error"] for a in answers if "error" in a]
        if errors:
            raise RuntimeError(f"anvil refused a write: {errors[0]}")
    session.close()


def balance_slot(chain, token) -> int:
    """The storage slot of the token's ``balanceOf`` mapping: the one whose entry for the deployer holds the
    deployer's balance."""
    from eth_abi import encode
    from web3 import Web3

    deployer = chain.accounts[0]
    expected = token.functions.balanceOf(Web3.to_checksum_address(deployer)).call()
    for slot in range(16):
        key = Web3.keccak(encode(["address", "uint256"], [deployer, slot]))
        if int(chain.rpc("eth_getStorageAt", [token.address, "0x" + key.hex(), "latest"]), 16) == expected:
            return slot
    raise RuntimeError("no balanceOf mapping slot found in the first 16")


def chain_setup(chain, whales: int, tokens: int) -> tuple[list[str], list[str], int, float]:
    """Deploy the tokens and Multicall3, write every balance; (whale addresses, token addresses, read block,
    seconds spent writing balances)."""
    from eth_abi import encode
    from web3 import Web3

    from tests.chain.anvil import CORE, artifact, multicall3_place

    deployer = chain.accounts[0]
    built = artifact(CORE / "ERC20.json")
    contracts = [chain.deploy(built, SUPPLY, sender=deployer) for _ in range(tokens)]
    slot = balance_slot(chain, contracts[0])
    multicall3_place(chain, deployer=deployer)
    addresses = [whale_address(i) for i in range(whales)]
    started = time.perf_counter()
    calls: list[tuple[str, list]] = [("anvil_setBalance", [a, hex(10**18 + i * 10**15)])
                                     for i, a in enumerate(addresses)]
    for j, token in enumerate(contracts):
        for i, address in enumerate(addresses):
            value = token_balance(i, j)
            if value:
                key = "0x" + Web3.keccak(encode(["address", "uint256"], [address, slot])).hex()
                calls.append(("anvil_setStorageAt", [token.address, key, "0x" + value.to_bytes(32, "big").hex()]))
    rpc_batch(chain.url, calls)
    chain.mine()
    return addresses, [c.address.lower() for c in contracts], chain.head(), time.perf_counter() - started


def timed_reads(client, queries, block: int) -> tuple[list, float]:
    started = time.perf_counter()
    reads = client.balances_at(queries, block_number=block)
    return reads, time.perf_counter() - started


def baseline(url: str, queries, block: int) -> tuple[list[int | None], float]:
    """One eth_call / eth_getBalance per HTTP request, sequentially, through the client's transport."""
    from ledgers.evm import JsonRpcTransport, RpcError

    rpc = JsonRpcTransport(url, timeout_s=30, retries=0)
    values: list[int | None] = []
    started = time.perf_counter()
    for q in queries:
        if q.token_address:
            data = "0x70a08231" + q.address.removeprefix("0x").rjust(64, "0")
            try:
                result = rpc.request("eth_call", [{"to": q.token_address, "data": data}, hex(block)])
            except RpcError:
                values.append(None)
                continue
            values.append(int(result, 16) if len(result) == 66 else None)
        else:
            values.append(int(rpc.request("eth_getBalance", [q.address, hex(block)]), 16))
    return values, time.perf_counter() - started


def eth_price_last_close(data_dir: Path) -> tuple[str, Decimal]:
    with data_dir.joinpath(*PRICE_CSV).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows[-1]["snapped_at"], Decimal(rows[-1]["price"])


def database_seed(addresses: list[str], tokens: list[str], data_dir: Path) -> None:
    from datetime import datetime

    from ledgers.exchange.market.models import Asset, PriceHistory
    from whales.chains import Chain
    from whales.models import Whale

    Asset.objects.filter(chain=Chain.ETHEREUM).exclude(contract_address="").delete()
    Asset.objects.bulk_create([Asset(symbol=f"TK{j}", name=f"Bench token {j}", chain=Chain.ETHEREUM,
                                     contract_address=t, decimals=18, is_stablecoin=True)
                               for j, t in enumerate(tokens)])
    Whale.objects.bulk_create([Whale(chain=Chain.ETHEREUM, address=a, name=f"bench whale {i}")
                               for i, a in enumerate(addresses)], batch_size=1000)
    when, price = eth_price_last_close(data_dir)
    eth = Asset.objects.get(chain=Chain.ETHEREUM, contract_address="")
    PriceHistory.objects.create(asset=eth, timestamp=datetime.fromisoformat(when.replace(" UTC", "+00:00")),
                                price_usd=price)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--whales", type=int, default=5000)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--baseline-reads", type=int, default=2000)
    args = parser.parse_args(argv)
    bench_started = time.perf_counter()
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    database_recreate(url)
    os.environ.pop("REDIS_URL", None)  # nothing here needs the broker or a shared cache
    django_setup(url)
    from django.conf import settings
    from django.core.management import call_command
    from web3 import Web3

    from ledgers.glass.ethereum.client import MULTICALL_CHUNK, MULTICALL_PER_BATCH, READ_BATCH, EthereumRpcClient
    from ledgers.glass.ethereum.holdings import holdings_refresh
    from ledgers.glass.ethereum.types import BalanceQuery
    from tests.chain.anvil import ANVIL, Anvil
    from whales.models import Holding

    if not ANVIL.exists():
        raise SystemExit(f"{ANVIL} is missing: run make chain")
    call_command("migrate", verbosity=0)
    chain = Anvil()
    try:
        print(f"# WhaleTrack holdings bench: {args.whales} whales x (ETH + {args.tokens} tokens) on anvil {chain.url}",
              flush=True)
        t0 = time.perf_counter()
        addresses, tokens, block, write_s = chain_setup(chain, args.whales, args.tokens)
        figure("setup_chain_s", time.perf_counter() - t0, "s")
        figure("setup_balance_writes_s", write_s, "s")
        queries = [q for a in addresses for q in (BalanceQuery(a), *(BalanceQuery(a, t) for t in tokens))]
        figure("reads", len(queries), "reads")
        figure("read_block", block)

        batched_client = EthereumRpcClient(chain.url, timeout_s=120, retries=0, multicall3=False)
        batched, batched_s = timed_reads(batched_client, queries, block)
        multicall_client = EthereumRpcClient(chain.url, timeout_s=120, retries=0)
        multicall, multicall_s = timed_reads(multicall_client, queries, block)
        sample = queries[:args.baseline_reads]
        per_call, baseline_s = baseline(chain.url, sample, block)

        if batched != multicall:
            raise SystemExit("ERROR: the Multicall3 reads differ from the batched JSON-RPC reads")
        if [None if r.value_raw is None else int(r.value_raw) for r in batched[:len(sample)]] != per_call:
            raise SystemExit("ERROR: the one-call-per-request reads differ from the batched reads")
        for index in range(0, len(queries), max(len(queries) // 200, 1)):
            q, read = queries[index], batched[index]
            node = (chain.eth_balance_wei(q.address, block) if not q.token_address else
                    chain.w3.eth.contract(address=Web3.to_checksum_address(q.token_address),
                                          abi=[{"name": "balanceOf", "type": "function", "stateMutability": "view",
                                                "inputs": [{"name": "", "type": "address"}],
                                                "outputs": [{"name": "", "type": "uint256"}]}])
                    .functions.balanceOf(Web3.to_checksum_address(q.address)).call(block_identifier=block))
            if int(read.value_raw) != node:
                raise SystemExit(f"ERROR: read {index} is {read.value_raw}, the node says {node}")
        if multicall_client.read_path != "multicall3_aggregate3":
            raise SystemExit(f"ERROR: the Multicall3 client read by {multicall_client.read_path}")
        figure("reads_checked_equal", f"all {len(queries)} (a)=(b); {len(sample)} (c)=(a); "
                                      f"{len(range(0, len(queries), max(len(queries) // 200, 1)))} against web3")

        # What the node is asked: providers rate-limit and bill each call of a batch, so this is Multicall3's gain
        # on a remote node, whatever the local speed.
        aggregate3_calls = math.ceil(len(queries) / MULTICALL_CHUNK)
        figure("a_batched_json_rpc_node_calls",
               f"{len(queries)} in {math.ceil(len(queries) / READ_BATCH)} HTTP requests")
        figure("b_multicall3_node_calls", f"{aggregate3_calls} in {math.ceil(aggregate3_calls / MULTICALL_PER_BATCH)} "
                                          f"HTTP requests")
        batched_rate = len(queries) / batched_s
        multicall_rate = len(queries) / multicall_s
        baseline_rate = len(sample) / baseline_s
        figure("a_batched_json_rpc_s", batched_s, "s")
        figure("a_batched_json_rpc_reads_per_s", batched_rate, "reads/s")
        figure("b_multicall3_aggregate3_s", multicall_s, "s")
        figure("b_multicall3_aggregate3_reads_per_s", multicall_rate, "reads/s")
        figure("c_baseline_one_call_per_request_reads", len(sample), "reads")
        figure("c_baseline_one_call_per_request_s", baseline_s, "s")
        figure("c_baseline_one_call_per_request_reads_per_s", baseline_rate, "reads/s")
        figure("ratio_batched_to_baseline", batched_rate / baseline_rate, "x")
        figure("ratio_multicall3_to_baseline", multicall_rate / baseline_rate, "x")

        database_seed(addresses, tokens, Path(settings.REPLAY_DATA_DIR))
        refreshes = []
        for label in ("first", "second"):
            client = EthereumRpcClient(chain.url, timeout_s=120, retries=0)
            started = time.perf_counter()
            refresh = holdings_refresh(client=client, block_number=block)
            seconds = time.perf_counter() - started
            refreshes.append(refresh)
            figure(f"refresh_{label}_s", seconds, "s")
            figure(f"refresh_{label}_whales_per_s", refresh.whales / seconds, "whales/s")
            figure(f"refresh_{label}_read_path", client.read_path)
        expected_held = args.whales + sum(1 for i in range(args.whales) for j in range(args.tokens)
                                          if token_balance(i, j))
        figure("refresh_whales", refreshes[0].whales, "whales")
        figure("refresh_holdings_written", refreshes[0].holdings, "holdings")
        figure("holding_rows", Holding.objects.count(), "rows")
        if Holding.objects.count() != expected_held or refreshes[0].reads_failed:
            raise SystemExit(f"ERROR: {Holding.objects.count()} holdings stored, {expected_held} balances set; "
                             f"{refreshes[0].reads_failed} reads failed")
        figure("peak_rss_process_mb", maxrss_mb(), "MB")
    finally:
        chain.stop()

    ratio = multicall_rate / baseline_rate
    print(f"target_multicall3_vs_baseline: {'PASS' if ratio >= TARGET_RATIO else 'FAIL'} "
          f"({ratio:.1f}x >= {TARGET_RATIO:.0f}x)", flush=True)
    batched_ratio = batched_rate / baseline_rate
    print(f"target_batched_vs_baseline: {'PASS' if batched_ratio >= TARGET_RATIO else 'FAIL'} "
          f"({batched_ratio:.1f}x >= {TARGET_RATIO:.0f}x)", flush=True)
    figure("bench_total_s", time.perf_counter() - bench_started, "s")
    print(f"verdict: {'PASS' if ratio >= TARGET_RATIO else 'FAIL'}", flush=True)
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())

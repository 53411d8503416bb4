"""A real Ethereum node for the tests: anvil from the npm package ``@foundry-rs/anvil-linux-amd64``, with the
compiled Uniswap V2 contracts from ``@uniswap/v2-core`` and ``@uniswap/v2-periphery`` deployed by web3.py.
Nobody here wrote that contract code; expected values in the tests are read back from the node.

Installed by ``make test`` and ``make chain`` (``npm ci`` in ``tests/chain``, from the committed ``package.json``
and lock file, into the ignored ``tests/chain/node_modules``). No Django here: ``scripts/demo_chain.py``
(``make demo-chain``) runs the same node and contracts outside pytest.
"""

import json
import re
import subprocess
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from web3 import Web3
from web3.contract import Contract

from tests.ports import free_port

MODULES = Path(__file__).resolve().parent / "node_modules"
ANVIL = MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
CORE = MODULES / "@uniswap" / "v2-core" / "build"
PERIPHERY = MODULES / "@uniswap" / "v2-periphery" / "build"
VIEM_CONTRACTS = MODULES / "viem" / "_cjs" / "constants" / "contracts.js"
MULTICALL3_ADDRESS = "0xca11bde05977b3631167028862be2a173976ca11"  # canonical, as on mainnet
CHAIN_ID = 31337  # anvil's default
DEADLINE = 2**32 - 1  # the router's swap deadline: never


def artifact(path: Path) -> dict[str, Any]:
    """``{"abi": [...], "bytecode": "..."}`` of a compiled contract from its npm build file."""
    data = json.loads(path.read_text())
    return {"abi": data["abi"], "bytecode": data["bytecode"]}


class Anvil:
    """One anvil process on loopback ``port`` (default: a free one; ``url``), with automining: each
    transaction is mined in its own block unless ``automine(False)`` collects several into the next
    ``mine()``, or ``interval_mining(s)`` mines a block every ``s`` seconds. ``w3`` talks to it; ``accounts``
    are its ten funded (10,000 ETH), unlocked accounts of anvil's default mnemonic, so the same addresses
    every run. ``genesis_timestamp`` (Unix seconds) starts its clock in the past, for a chain with history.
    Raises RuntimeError when it does not answer in 15 s (e.g. the port is taken)."""

    def __init__(self, port: int | None = None, *, genesis_timestamp: int | None = None) -> None:
        self.port = port if port is not None else free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(  # noqa: S603  (our pinned npm binary, fixed arguments)
            [str(ANVIL), "--port", str(self.port), "--chain-id", str(CHAIN_ID), "--silent",
             *(("--timestamp", str(genesis_timestamp)) if genesis_timestamp is not None else ())],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            try:
                if self.rpc("eth_chainId") == hex(CHAIN_ID):
                    break
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"anvil did not start on {self.url}")
            time.sleep(0.05)
        self.w3 = Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 30}))
        self.accounts: list[str] = [account.lower() for account in self.w3.eth.accounts]

    def rpc(self, method: str, params: list | None = None) -> Any:
        """One raw JSON-RPC call; the ``result`` (RuntimeError for an ``error`` answer)."""
        answer = requests.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []},
                               timeout=30).json()
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def automine(self, on: bool) -> None:
        self.rpc("evm_setAutomine", [on])

    def interval_mining(self, seconds: int) -> None:
        """Mine a block every ``seconds`` (with the pending transactions, or empty), as a real chain does;
        transactions then wait for the next block."""
        self.rpc("evm_setIntervalMining", [seconds])

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def head(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def deploy(self, built: dict[str, Any], *args: Any, sender: str) -> Contract:
        """Deploy ``built`` (``artifact()``) with constructor ``args`` from ``sender``; the contract at its
        address."""
        factory = self.w3.eth.contract(abi=built["abi"], bytecode=built["bytecode"])
        receipt = self.transact(factory.constructor(*args), sender=sender)
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=built["abi"])

    def transact(self, call: Any, *, sender: str, value_wei: int = 0) -> Any:
        """Send a contract call (or constructor) from ``sender`` and wait for its receipt (status 1)."""
        tx_hash = call.transact({"from": Web3.to_checksum_address(sender), "value": value_wei})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        assert receipt["status"] == 1, receipt
        return receipt

    def send_eth(self, *, sender: str, to: str, value_wei: int) -> Any:
        """A plain ETH transfer; its receipt."""
        tx_hash = self.w3.eth.send_transaction({"from": Web3.to_checksum_address(sender),
                                                "to": Web3.to_checksum_address(to), "value": value_wei})
        return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)

    def eth_balance_wei(self, address: str, block: int | str = "latest") -> int:
        return self.w3.eth.get_balance(Web3.to_checksum_address(address), block_identifier=block)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def multicall3_creation_bytecode() -> str:
    """Multicall3's creation bytecode as the npm package ``viem`` ships it (``multicall3Bytecode`` in
    ``_cjs/constants/contracts.js``). Raises RuntimeError when the file does not hold it."""
    found = re.search(r"exports\.multicall3Bytecode = '(0x[0-9a-fA-F]+)'", VIEM_CONTRACTS.read_text())
    if found is None:
        raise RuntimeError(f"no multicall3Bytecode in {VIEM_CONTRACTS}")
    return found.group(1)


def multicall3_place(chain: "Anvil", *, deployer: str) -> str:
    """Deploy Multicall3 from viem's creation bytecode, read its runtime code back with ``eth_getCode`` and put
    that code at the canonical address (``anvil_setCode``), where it exists on mainnet; returns the address."""
    tx_hash = chain.w3.eth.send_transaction({"from": Web3.to_checksum_address(deployer),
                                             "data": multicall3_creation_bytecode()})
    receipt = chain.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    assert receipt["status"] == 1, receipt
    runtime = chain.rpc("eth_getCode", [receipt["contractAddress"], "latest"])
    chain.rpc("anvil_setCode", [MULTICALL3_ADDRESS, runtime])
    chain.mine()  # the code is in state from this block on
    return MULTICALL3_ADDRESS


@dataclass
class Uniswap:
    """The deployed Uniswap V2 set: WETH9, the factory, Router02 and two test tokens (``ERC20.json``, 18
    decimals, total supply minted to the deployer), each paired with WETH and with each other."""

    weth: Contract
    factory: Contract
    router: Contract
    token_a: Contract
    token_b: Contract

    def balance_of(self, token: Contract, address: str, block: int | str = "latest") -> int:
        return token.functions.balanceOf(Web3.to_checksum_address(address)).call(block_identifier=block)


def uniswap_deploy(chain: Anvil, *, deployer: str, supply: int = 10**6 * 10**18,
                   liquidity_tokens: int = 10**5 * 10**18, liquidity_eth_wei: int = 100 * 10**18) -> Uniswap:
    """Deploy the contracts from their npm builds and add liquidity: token/ETH pools of ``liquidity_tokens``
    against ``liquidity_eth_wei`` each, and an A/B pool of ``liquidity_tokens`` each side."""
    weth = chain.deploy(artifact(PERIPHERY / "WETH9.json"), sender=deployer)
    factory = chain.deploy(artifact(CORE / "UniswapV2Factory.json"), Web3.to_checksum_address(deployer),
                           sender=deployer)
    router = chain.deploy(artifact(PERIPHERY / "UniswapV2Router02.json"), factory.address, weth.address,
                          sender=deployer)
    token_a = chain.deploy(artifact(CORE / "ERC20.json"), supply, sender=deployer)
    token_b = chain.deploy(artifact(CORE / "ERC20.json"), supply, sender=deployer)
    me = Web3.to_checksum_address(deployer)
    for token in (token_a, token_b):
        chain.transact(token.functions.approve(router.address, 2**256 - 1), sender=deployer)
        chain.transact(router.functions.addLiquidityETH(token.address, liquidity_tokens, 0, 0, me, DEADLINE),
                       sender=deployer, value_wei=liquidity_eth_wei)
    chain.transact(router.functions.addLiquidity(token_a.address, token_b.address, liquidity_tokens,
                                                 liquidity_tokens, 0, 0, me, DEADLINE), sender=deployer)
    return Uniswap(weth=weth, factory=factory, router=router, token_a=token_a, token_b=token_b)


def wei_to_eth(value_wei: int) -> Decimal:
    return Decimal(value_wei).scaleb(-18)

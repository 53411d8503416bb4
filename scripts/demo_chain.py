"""``make demo-chain``: try WhaleTrack live without mainnet, on a local simulated chain.

What it does
    Starts anvil (the npm package ``make chain`` installs into ``tests/chain/node_modules``) on 127.0.0.1
    (``--port``, default ``DEMO_CHAIN_PORT`` or 8545), deploys the real Uniswap V2 contracts from their npm
    builds (WETH9, the factory, Router02) and two test tokens paired with WETH and with each other
    (``tests/chain/anvil.py``), funds four simulated whales on-chain, plays ``--history-days`` days of past
    activity (the node's clock starting that many days ago; one cycle a day), then a scripted live stream of whale
    activity, one transaction every ``--interval`` seconds, forever (or ``--steps`` of them, after which the
    node keeps running) until Ctrl-C (SIGINT) or SIGTERM, which stop the node too. Blocks come every ``--block-time``
    seconds, like a real chain (0: one block per transaction).

The simulation, plainly labelled as one
    Accounts are anvil's default mnemonic, so the addresses are the same every run: #0, "Demo treasury (local
    simulation)", deployed the contracts, provided the liquidity and funds the whales; #1-#4 are "Demo whale
    1..4 (local simulation)" (1 and 2 belong to "Demo fund (local simulation)"); #5 is "Demo Exchange hot wallet
    (local simulation)"; #6 is an unlabelled counterparty. The whales start empty (``anvil_setBalance`` to 0,
    before the simulation's first block) and everything they hold reaches them in the simulation's blocks
    (ETH and tokens from the treasury), so an instance that follows the chain from its first block sees every
    flow that ROI counts. The cycle: ETH transfers, ERC-20 transfers, swaps ETH -> token, token -> token and
    token -> ETH through the router, deposits to and withdrawals from the simulated exchange, and an internal
    transfer between the fund's two wallets. Amounts vary per step (seeded by the step number).

What it writes for an instance to import (``--out-dir``, default ``var/demo-chain``, ignored by git)
    It never touches an instance's database: the instance imports these with its own commands.
    - ``whales.yaml``: the simulated whales, for ``manage.py import_whales``;
    - ``labels/labels-graphsense-tagpacks/``: a TagPack naming the simulated exchange's address and the
      treasury's (with the exchange's actor pack), for ``manage.py import_labels --data-dir var/demo-chain/labels``;
    - ``assets.yaml``: the demo tokens and simulated USD prices, for ``manage.py import_prices --asset-file``.
      ETH: the last recorded CoinGecko price (``REPLAY_DATA_DIR``, read in place) or ``--eth-usd``, restamped
      onto each simulated day's midnight (the last closes, in order), so today's values live activity for
      ``PRICE_MAX_AGE_HOURS`` from today's midnight; each token:
      ETH's price x the ETH per token of its pool's opening liquidity. Source ``simulated:demo-chain``;
    - ``chain.json``: the RPC URL, the first block of the simulation and every address, for tools and tests.
    It prints the ``ETH_RPC_URL`` and the exact commands that point an instance at the chain.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import environ  # noqa: E402  (after sys.path)
import yaml  # noqa: E402
from web3 import Web3  # noqa: E402
from web3.contract import Contract  # noqa: E402

from tests.chain.anvil import ANVIL, CHAIN_ID, DEADLINE, Anvil, Uniswap, uniswap_deploy  # noqa: E402

DEFAULT_PORT = 8545
MAX_HISTORY_DAYS = 60
WEI = 10**18
TOKEN_SUPPLY = 1_000_000 * WEI  # each test token's total supply, minted to the deployer
POOL_TOKENS = 300_000 * WEI  # each pool's opening liquidity: tokens ...
POOL_ETH_WEI = 3_000 * WEI  # ... against ETH (so 0.01 ETH per token), and A/B one to one
TREASURY_ETH_WEI = 1_000_000 * WEI  # the treasury's balance, set before it deploys
WHALE_ETH_WEI = 5_000 * WEI  # what the treasury sends each whale first
FUNDING = {2: {"A": 60_000 * WEI}, 4: {"A": 40_000 * WEI, "B": 40_000 * WEI}}  # whale account -> tokens
PRICE_SOURCE = "simulated:demo-chain"
LABEL = "Local simulation"
FUND = "Demo fund (local simulation)"
EXCHANGE_ACTOR = "demo-exchange"
EXCHANGE_ENTITY = "Demo Exchange (local simulation)"
EXCHANGE_WALLET = "Demo Exchange hot wallet (local simulation)"
TREASURY = "Demo treasury (local simulation)"
WHALES = {1: FUND, 2: FUND, 3: None, 4: None}  # anvil account -> entity
EXCHANGE, COUNTERPARTY = 5, 6
SYMBOLS = {"A": "DEMO-A", "B": "DEMO-B"}


def whale_name(account: int) -> str:
    return f"Demo whale {account} (local simulation)"


def recorded_eth_closes(data_dir: Path, count: int) -> list[tuple[Decimal, str]]:
    """The newest ``count`` ETH daily closes of the recorded CoinGecko export (``eth-usd-max.csv``), oldest
    first, with their days. Raises: OSError when the file is missing, ValueError when it holds too few rows."""
    path = data_dir / "prices-coingecko-daily-csv" / "eth-usd-max.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("snapped_at") and row.get("price")]
    if len(rows) < count:
        raise ValueError(f"{path}: fewer than {count} prices")
    newest = sorted(rows, key=lambda row: row["snapped_at"])[-count:]
    return [(Decimal(row["price"]), row["snapped_at"][:10]) for row in newest]



def port_taken(port: int) -> bool:
    """Whether something already listens on 127.0.0.1:``port``."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def amount(base_wei: int, step: int) -> int:
    """``base_wei`` x a factor of 0.60-1.60 drawn from the step number (the same every run)."""
    return base_wei * random.Random(step).randint(60, 160) // 100  # a simulation, not crypto


def units(value: int) -> str:
    """An 18-decimal amount (ETH in wei, or a demo token's base units) in whole units, for the log."""
    return f"{Decimal(value).scaleb(-18):,.4f}"


@dataclass
class Demo:
    """The deployed simulation: the node, the contracts, the accounts and what the cycle owes back."""

    chain: Anvil
    uniswap: Uniswap
    start_block: int = 0
    owed: dict[str, int] = field(default_factory=dict)

    def address(self, account: int) -> str:
        return self.chain.accounts[account]

    def name(self, account: int) -> str:
        if account in WHALES:
            return whale_name(account)
        return {0: TREASURY, EXCHANGE: EXCHANGE_WALLET,
                COUNTERPARTY: "an unlabelled wallet"}.get(account, f"account #{account}")

    def token(self, key: str) -> Contract:
        return self.uniswap.token_a if key == "A" else self.uniswap.token_b

    def balance(self, key: str, account: int) -> int:
        return self.uniswap.balance_of(self.token(key), self.address(account))

    # --- one transaction each; each returns its receipt ------------------------------------------
    def send_eth(self, sender: int, to: int, value_wei: int) -> Any:
        receipt = self.chain.send_eth(sender=self.address(sender), to=self.address(to), value_wei=value_wei)
        if receipt["status"] != 1:
            raise RuntimeError(f"ETH transfer reverted: {receipt['transactionHash'].to_0x_hex()}")
        return receipt

    def send_token(self, key: str, sender: int, to: int, value: int) -> Any:
        call = self.token(key).functions.transfer(Web3.to_checksum_address(self.address(to)), value)
        return self.chain.transact(call, sender=self.address(sender))

    def swap_eth_for(self, key: str, account: int, value_wei: int) -> Any:
        path = [self.uniswap.weth.address, self.token(key).address]
        call = self.uniswap.router.functions.swapExactETHForTokens(
            0, path, Web3.to_checksum_address(self.address(account)), DEADLINE)
        return self.chain.transact(call, sender=self.address(account), value_wei=value_wei)

    def swap_tokens(self, key_in: str, key_out: str | None, account: int, value: int) -> Any:
        """``value`` of token ``key_in`` for token ``key_out``, or for ETH when ``key_out`` is None."""
        to = Web3.to_checksum_address(self.address(account))
        if key_out is None:
            call = self.uniswap.router.functions.swapExactTokensForETH(
                value, 0, [self.token(key_in).address, self.uniswap.weth.address], to, DEADLINE)
        else:
            call = self.uniswap.router.functions.swapExactTokensForTokens(
                value, 0, [self.token(key_in).address, self.token(key_out).address], to, DEADLINE)
        return self.chain.transact(call, sender=self.address(account))


def deploy(chain: Anvil) -> Demo:
    """Deploy the contracts from the treasury and let the swappers approve the router; empty the whales (and mine
    that state into a block); then, from ``start_block`` on (every block from there is the simulation's), fund
    the whales with ETH and tokens. So every transaction a whale sends in the simulation moves an asset: its
    gas is in a trade's fee, and its balances follow from its trades exactly."""
    chain.rpc("anvil_setBalance", [chain.accounts[0], hex(TREASURY_ETH_WEI)])
    uniswap = uniswap_deploy(chain, deployer=chain.accounts[0], supply=TOKEN_SUPPLY, liquidity_tokens=POOL_TOKENS,
                             liquidity_eth_wei=POOL_ETH_WEI)
    demo = Demo(chain=chain, uniswap=uniswap)
    for account in (3, 4):  # the swappers, with anvil's own ETH before the simulation
        for key in ("A", "B"):
            chain.transact(demo.token(key).functions.approve(uniswap.router.address, 2**256 - 1),
                           sender=demo.address(account))
    for account in WHALES:
        chain.rpc("anvil_setBalance", [chain.accounts[account], "0x0"])
    chain.mine()
    demo.start_block = chain.head() + 1
    for account in WHALES:
        demo.send_eth(0, account, WHALE_ETH_WEI)
    for account, tokens in FUNDING.items():
        for key, value in tokens.items():
            demo.send_token(key, 0, account, value)
    return demo


Step = Callable[[Demo, int], tuple[str, Any]]


def _pair(step: int) -> tuple[str, str]:
    """The cycle's token pair: A then B on even cycles, B then A on odd ones, so the pools' prices do not
    drift one way."""
    return ("A", "B") if (step // len(CYCLE)) % 2 == 0 else ("B", "A")


def _pays_counterparty(demo: Demo, step: int) -> tuple[str, Any]:
    value = amount(60 * WEI, step)
    demo.owed["counterparty"] = value
    return (f"{demo.name(1)} sends {units(value)} ETH to {demo.name(COUNTERPARTY)}",
            demo.send_eth(1, COUNTERPARTY, value))


def _buys_token(demo: Demo, step: int) -> tuple[str, Any]:
    key, _ = _pair(step)
    value = amount(30 * WEI, step)
    return f"{demo.name(3)} swaps {units(value)} ETH for {SYMBOLS[key]}", demo.swap_eth_for(key, 3, value)


def _sends_token(demo: Demo, step: int) -> tuple[str, Any]:
    value = min(amount(4_000 * WEI, step), demo.balance("A", 2))
    demo.owed["tokens"] = value
    return (f"{demo.name(2)} sends {units(value)} DEMO-A to {demo.name(4)}", demo.send_token("A", 2, 4, value))


def _swaps_token_for_token(demo: Demo, step: int) -> tuple[str, Any]:
    key_in, key_out = _pair(step)
    value = demo.balance(key_in, 3)
    return (f"{demo.name(3)} swaps {units(value)} {SYMBOLS[key_in]} for {SYMBOLS[key_out]}",
            demo.swap_tokens(key_in, key_out, 3, value))


def _sells_token(demo: Demo, step: int) -> tuple[str, Any]:
    _, key = _pair(step)
    value = min(amount(3_000 * WEI, step), demo.balance(key, 4))
    return f"{demo.name(4)} swaps {units(value)} {SYMBOLS[key]} for ETH", demo.swap_tokens(key, None, 4, value)


def _deposits_eth(demo: Demo, step: int) -> tuple[str, Any]:
    value = amount(120 * WEI, step)
    demo.owed["deposit"] = value
    return f"{demo.name(1)} deposits {units(value)} ETH at {EXCHANGE_ENTITY}", demo.send_eth(1, EXCHANGE, value)


def _withdraws_eth(demo: Demo, step: int) -> tuple[str, Any]:
    value = demo.owed.pop("deposit", amount(100 * WEI, step))
    return f"{EXCHANGE_ENTITY} pays {units(value)} ETH out to {demo.name(1)}", demo.send_eth(EXCHANGE, 1, value)


def _internal(demo: Demo, step: int) -> tuple[str, Any]:
    """Whale 1 moves ETH to whale 2 on even cycles; whale 2 moves the same back on odd ones."""
    if (step // len(CYCLE)) % 2 == 0:
        sender, to, value = 1, 2, amount(25 * WEI, step)
        demo.owed["internal"] = value
    else:
        sender, to, value = 2, 1, demo.owed.pop("internal", amount(25 * WEI, step))
    return (f"{demo.name(sender)} moves {units(value)} ETH to {demo.name(to)} (same fund: internal)",
            demo.send_eth(sender, to, value))


def _deposits_token(demo: Demo, step: int) -> tuple[str, Any]:
    value = min(demo.owed.get("tokens", amount(3_000 * WEI, step)), demo.balance("A", 4))
    demo.owed["tokens"] = value
    return (f"{demo.name(4)} deposits {units(value)} DEMO-A at {EXCHANGE_ENTITY}",
            demo.send_token("A", 4, EXCHANGE, value))


def _counterparty_pays_back(demo: Demo, step: int) -> tuple[str, Any]:
    value = demo.owed.pop("counterparty", amount(60 * WEI, step))
    return (f"{demo.name(COUNTERPARTY)} sends {units(value)} ETH to {demo.name(1)}",
            demo.send_eth(COUNTERPARTY, 1, value))


def _withdraws_token(demo: Demo, step: int) -> tuple[str, Any]:
    value = min(demo.owed.pop("tokens", amount(3_000 * WEI, step)), demo.balance("A", EXCHANGE))
    return (f"{EXCHANGE_ENTITY} pays {units(value)} DEMO-A out to {demo.name(2)}",
            demo.send_token("A", EXCHANGE, 2, value))


def _passes_tokens_on(demo: Demo, step: int) -> tuple[str, Any]:
    _, key = _pair(step)
    value = demo.balance(key, 3)
    return f"{demo.name(3)} sends {units(value)} {SYMBOLS[key]} to {demo.name(4)}", demo.send_token(key, 3, 4, value)


def _pays_eth_back(demo: Demo, step: int) -> tuple[str, Any]:
    value = amount(28 * WEI, step)
    return f"{demo.name(4)} sends {units(value)} ETH to {demo.name(3)}", demo.send_eth(4, 3, value)


# One cycle of whale activity; the amounts a step sends out, a later step of the cycle brings back.
CYCLE: list[Step] = [
    _pays_counterparty, _buys_token, _sends_token, _swaps_token_for_token, _sells_token, _deposits_eth,
    _withdraws_eth, _internal, _deposits_token, _counterparty_pays_back, _withdraws_token, _passes_tokens_on,
    _pays_eth_back,
]


def files_write(demo: Demo, out_dir: Path, *, rpc_url: str, eth_prices: list[tuple[datetime, Decimal]],
                eth_usd_note: str) -> dict[str, Path]:
    """Write what an instance imports (module docstring) into ``out_dir``; return the paths by kind.
    ``eth_prices``: the simulated ETH prices, (stamp, USD), oldest first; each token is priced at every stamp."""
    labels_dir = out_dir / "labels" / "labels-graphsense-tagpacks"
    labels_dir.mkdir(parents=True, exist_ok=True)
    header = ("# Written by scripts/demo_chain.py (make demo-chain) for a LOCAL SIMULATION on anvil at "
              f"{rpc_url}, chain id {CHAIN_ID}.\n# Not mainnet, not real wallets, not market data.\n")
    whales = [{
        "chain": "ethereum", "address": demo.address(account), "name": whale_name(account),
        **({"entity": entity} if entity else {}), "labels": [LABEL],
        "notes": (f"Simulated: anvil account #{account} of the default mnemonic on the local demo chain ({rpc_url}); "
                  "its activity is scripted by scripts/demo_chain.py. Not a real wallet."),
    } for account, entity in WHALES.items()]
    paths = {"whales": out_dir / "whales.yaml", "tagpack": labels_dir / "demo-chain-local-simulation.yaml",
             "actors": labels_dir / "graphsense.actorpack.yaml", "assets": out_dir / "assets.yaml",
             "chain": out_dir / "chain.json"}
    paths["whales"].write_text(header + yaml.safe_dump({"whales": whales}, sort_keys=False))
    paths["tagpack"].write_text(header + yaml.safe_dump({
        "title": "Demo chain: the simulated exchange and treasury (local simulation)",
        "creator": "scripts/demo_chain.py", "currency": "ETH", "confidence": "ownership",
        "tags": [{"address": demo.address(EXCHANGE), "label": EXCHANGE_WALLET, "category": "exchange",
                  "actor": EXCHANGE_ACTOR},
                 {"address": demo.address(0), "label": TREASURY}],
    }, sort_keys=False))
    paths["actors"].write_text(header + yaml.safe_dump({"actors": [
        {"id": EXCHANGE_ACTOR, "label": EXCHANGE_ENTITY, "uri": "", "categories": ["exchange"]},
    ]}, sort_keys=False))
    ratio = Decimal(POOL_ETH_WEI) / Decimal(POOL_TOKENS)
    stamp, eth_usd = eth_prices[0][0].isoformat(), eth_prices[-1][1]
    token_usd = eth_usd * ratio
    assets = [{"chain": "ethereum", "contract_address": "", "symbol": "ETH",
               "prices": [{"timestamp": at.isoformat(), "price_usd": str(usd)} for at, usd in eth_prices]}]
    for key, symbol in SYMBOLS.items():
        contract = demo.token(key)
        own = f"{contract.functions.name().call()} / {contract.functions.symbol().call()}"
        assets.append({
            "chain": "ethereum", "contract_address": contract.address.lower(), "symbol": symbol,
            "name": f"Demo token {key} (local simulation; the contract says {own})"[:100],
            "decimals": contract.functions.decimals().call(),
            "prices": [{"timestamp": at.isoformat(), "price_usd": str(usd * ratio)} for at, usd in eth_prices],
        })
    paths["assets"].write_text(
        header + f"# Simulated prices, one per simulated day from the simulation's start ({stamp}). ETH: "
        f"{eth_usd_note}. Tokens: ETH's price x {ratio} ETH per token, their pools' opening liquidity.\n"
        + yaml.safe_dump({"source": PRICE_SOURCE, "assets": assets}, sort_keys=False))
    paths["chain"].write_text(json.dumps({
        "simulation": "local demo chain (anvil), scripts/demo_chain.py: not mainnet",
        "rpc_url": rpc_url, "chain_id": CHAIN_ID, "start_block": demo.start_block, "price_time": stamp,
        "eth_usd": str(eth_usd), "token_usd": str(token_usd),
        "eth_prices": [[at.isoformat(), str(usd)] for at, usd in eth_prices],
        "contracts": {"weth": demo.uniswap.weth.address.lower(), "factory": demo.uniswap.factory.address.lower(),
                      "router": demo.uniswap.router.address.lower(),
                      **{SYMBOLS[key]: demo.token(key).address.lower() for key in SYMBOLS}},
        "whales": {whale_name(account): demo.address(account) for account in WHALES},
        "exchange": {EXCHANGE_WALLET: demo.address(EXCHANGE)},
        "counterparties": {TREASURY: demo.address(0), "unlabelled wallet": demo.address(COUNTERPARTY)},
    }, indent=2) + "\n")
    return paths


def shown(path: Path) -> str:
    """``path`` relative to the project when inside it (the commands run from there), else absolute."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def instructions(demo: Demo, paths: dict[str, Path], out_dir: Path, *, rpc_url: str, eth_usd_note: str) -> str:
    database = (out_dir / "whaletrack.sqlite3").resolve()
    lines = [
        "== WhaleTrack demo chain: a LOCAL SIMULATION on anvil (not mainnet, not real wallets, not market data)",
        f"   ETH_RPC_URL={rpc_url}   (chain id {CHAIN_ID}; Uniswap V2 deployed; the simulation starts at block "
        f"{demo.start_block})",
        *(f"   {whale_name(account):<44} {demo.address(account)}" + (f"  ({entity})" if entity else "")
          for account, entity in WHALES.items()),
        f"   {EXCHANGE_WALLET:<44} {demo.address(EXCHANGE)}",
        f"   {TREASURY:<44} {demo.address(0)}",
        *(f"   {symbol:<44} {demo.token(key).address.lower()}" for key, symbol in SYMBOLS.items()),
        f"   simulated prices in {shown(paths['assets'])}: ETH {eth_usd_note}",
        "",
        "== Point an instance at it: in another shell, in the project folder, with its own database (a new chain",
        "   each run, so start from an empty one), beside an offline instance on 8000 if one runs:",
        f"   export DATABASE_URL=sqlite:///{database}",
        "   # (SQLite keeps ~15 significant digits of an amount; for amounts exact to the wei, a PostgreSQL",
        "   #  DATABASE_URL of its own: README 'Precision')",
        f"   rm -f {database}",
        "   .venv/bin/python manage.py migrate --verbosity 0",
        f"   .venv/bin/python manage.py import_labels --data-dir {shown(paths['tagpack'].parent.parent)}",
        f"   .venv/bin/python manage.py import_whales {shown(paths['whales'])}",
        f"   .venv/bin/python manage.py import_prices --asset-file {shown(paths['assets'])}",
        f"   WHALETRACK_SOURCES=live ETH_RPC_URL={rpc_url} ETH_START_BLOCK={demo.start_block} "
        "ETH_MAX_BLOCKS_PER_RUN=1000 PORT=8010 make run",
        "   then open http://127.0.0.1:8010/ (README: 'Try it live without mainnet').",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    environ.Env.read_env(ROOT / ".env", overwrite=False)  # the real environment wins, as in the settings
    env = environ.Env()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=env.int("DEMO_CHAIN_PORT", default=DEFAULT_PORT),
                        help="anvil's port on 127.0.0.1 (default DEMO_CHAIN_PORT, else 8545)")
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between two whale transactions")
    parser.add_argument("--steps", type=int, default=0,
                        help="play this many transactions, then keep the node running (default 0: play forever)")
    parser.add_argument("--block-time", type=int, default=2, help="seconds per block (0: a block per transaction)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "var" / "demo-chain",
                        help="where the files for the instance go (default var/demo-chain)")
    parser.add_argument("--eth-usd", type=Decimal, default=None,
                        help="simulated ETH price in USD (default: the last recorded CoinGecko prices, one per day)")
    parser.add_argument("--history-days", type=int, default=7,
                        help="days of past activity played first, one cycle per day, the node's clock starting "
                             "that many days ago, so the wallets have a daily history (0-60, default 7)")
    args = parser.parse_args(argv)

    if not ANVIL.exists():
        print(f"anvil is missing ({ANVIL}): run `make chain` (make demo-chain does)", file=sys.stderr)
        return 2
    if port_taken(args.port):
        print(f"127.0.0.1:{args.port} is taken (an offline instance started with REPLAY_PORT={args.port}? another "
              "node?): stop it, or choose another port with DEMO_CHAIN_PORT=8546 make demo-chain", file=sys.stderr)
        return 2
    if not 0 <= args.history_days <= MAX_HISTORY_DAYS:
        print(f"--history-days must be between 0 and {MAX_HISTORY_DAYS}", file=sys.stderr)
        return 2
    # The simulated days: the node's clock starts ``history_days`` ago (UTC midnight); one price per day.
    today = datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=n) for n in range(args.history_days, -1, -1)]
    if args.eth_usd is not None:
        closes = [args.eth_usd] * len(days)
        eth_usd_note = f"{args.eth_usd} USD (--eth-usd) every day"
    else:
        data_dir = Path(env.str("REPLAY_DATA_DIR", default=str(ROOT.parent / "shared" / "data")))
        try:
            recorded = recorded_eth_closes(data_dir, len(days))
        except (OSError, ValueError) as exc:
            print(f"no recorded ETH prices ({exc}): set REPLAY_DATA_DIR or pass --eth-usd", file=sys.stderr)
            return 2
        closes = [usd for usd, _ in recorded]
        eth_usd_note = (f"the last {len(days)} recorded CoinGecko daily closes ({recorded[0][1]} to "
                        f"{recorded[-1][1]}), restamped onto the simulated days")
    eth_prices = list(zip(days, closes, strict=True))

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    chain = Anvil(port=args.port, genesis_timestamp=int(days[0].timestamp()) + 60 if args.history_days else None)
    try:
        demo = deploy(chain)
        rpc_url = chain.url
        paths = files_write(demo, args.out_dir, rpc_url=rpc_url, eth_prices=eth_prices, eth_usd_note=eth_usd_note)
        print(instructions(demo, paths, args.out_dir, rpc_url=rpc_url, eth_usd_note=eth_usd_note), flush=True)
        step = 0
        if args.history_days:
            print(f"== Playing {args.history_days} days of past activity, one cycle a day:", flush=True)
        for day in days[:-1]:
            for k in range(len(CYCLE)):  # a transaction every 10 minutes from 01:00 of the simulated day
                at = day + timedelta(hours=1, minutes=10 * k)
                chain.rpc("evm_setNextBlockTimestamp", [int(at.timestamp())])
                what, receipt = CYCLE[step % len(CYCLE)](demo, step)
                print(f"   {at:%Y-%m-%d %H:%M} step {step} block {receipt['blockNumber']}: {what} "
                      f"(tx {receipt['transactionHash'].to_0x_hex()})", flush=True)
                step += 1
        if args.history_days:  # back to the present: the live part's blocks carry today's time
            chain.rpc("evm_setNextBlockTimestamp", [int(datetime.now(tz=UTC).timestamp())])
            chain.mine()
        if args.block_time > 0:
            chain.interval_mining(args.block_time)
        forever = args.steps <= 0
        print(f"== Playing whale activity, one transaction every {args.interval:g} s"
              f"{'' if forever else f', {args.steps} in all'} (Ctrl-C stops it and the node):", flush=True)
        played = 0
        while not stop.is_set() and (forever or played < args.steps):
            action = CYCLE[step % len(CYCLE)]
            try:
                what, receipt = action(demo, step)
                print(f"   {datetime.now(tz=UTC):%H:%M:%S} step {step} block {receipt['blockNumber']}: {what} "
                      f"(tx {receipt['transactionHash'].to_0x_hex()})", flush=True)
            except Exception as exc:  # one failed step is reported; the stream goes on
                if stop.is_set():
                    break
                print(f"   step {step} failed: {type(exc).__name__}: {exc}", flush=True)
            step += 1
            played += 1
            stop.wait(args.interval)
        if not stop.is_set():
            print(f"== Played {played} transactions; the node keeps running at {rpc_url} (Ctrl-C stops it)", flush=True)
            stop.wait()
    finally:
        chain.stop()
        print("== Demo chain stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

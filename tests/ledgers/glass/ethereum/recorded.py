"""Helpers that read the recorded mainnet blocks straight from ../shared/data (never copied).

Everything here works on the raw JSON with plain dict access, independently of the collector's
decoder, so tests can compute expected values from the recording itself.
"""

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from django.conf import settings

TRIN = "ethereum-mainnet-trin"
RECORDED_BLOCKS = (19_433_902, 19_433_903)
TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
SWAP_TOPICS = {
    "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822",  # Uniswap V2 Swap
    "0xc42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67",  # Uniswap V3 Swap
}


def data_dir() -> Path:
    return Path(settings.REPLAY_DATA_DIR)


def raw_block(number: int) -> dict:
    return json.loads((data_dir() / TRIN / f"eth_getBlockByNumber_{number}_full.json").read_text())["result"]


def raw_receipts(number: int) -> list[dict]:
    return json.loads((data_dir() / TRIN / f"eth_getBlockReceipts_{number}.json").read_text())["result"]


def eth_price_on(day: str) -> Decimal:
    """ETH/USD of the CoinGecko daily CSV row ``day`` (YYYY-MM-DD), from the CSV text."""
    with (data_dir() / "prices-coingecko-daily-csv" / "eth-usd-max.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["snapped_at"].startswith(day):
                return Decimal(row["price"])
    raise LookupError(day)


def raw_movements(number: int) -> list[dict]:
    """Every ETH value transfer and ERC-20 Transfer of the block's successful transactions.

    Shape: [{tx_hash, log_index (-1 for ETH), from, to, token ("" for ETH), value (int), has_swap}].
    """
    block, receipts = raw_block(number), raw_receipts(number)
    out = []
    for tx, receipt in zip(block["transactions"], receipts, strict=True):
        if int(receipt["status"], 16) != 1:
            continue
        has_swap = any(log["topics"] and log["topics"][0] in SWAP_TOPICS for log in receipt["logs"])
        if int(tx["value"], 16):
            out.append({"tx_hash": tx["hash"], "log_index": -1, "from": tx["from"], "to": tx["to"] or "",
                        "token": "", "value": int(tx["value"], 16), "has_swap": has_swap})
        for log in receipt["logs"]:
            if len(log["topics"]) == 3 and log["topics"][0] == TRANSFER and len(log["data"]) == 66:
                out.append({"tx_hash": log["transactionHash"], "log_index": int(log["logIndex"], 16),
                            "from": "0x" + log["topics"][1][-40:], "to": "0x" + log["topics"][2][-40:],
                            "token": log["address"], "value": int(log["data"], 16), "has_swap": has_swap})
    return out


def block_time(number: int) -> datetime:
    return datetime.fromtimestamp(int(raw_block(number)["timestamp"], 16), tz=UTC)

"""Fixtures for the Ethereum collector tests: whales, labels and prices taken from the recordings."""

import json
from datetime import UTC, datetime

import pytest

from ledgers.exchange.market.models import Asset, PriceHistory
from ledgers.glass.ethereum.client import EthereumRpcClient
from tests.chain.fixtures import chain
from tests.ledgers.glass.ethereum import recorded
from whales.models import AddressCategory, Entity, EntityKind, KnownAddress, Whale

__all__ = ["chain"]  # the anvil fixture (tests.chain.fixtures), imported so pytest finds it here

# Etherscan label-cloud slugs of exchanges whose wallets appear in blocks 19,433,902-903.
EXCHANGE_SLUGS = ("binance", "coinbase", "kraken", "okx", "crypto-com", "bitstamp", "gemini")

# Senders of swap transactions in the recorded blocks (tracked so their swaps are classified):
SWAPPERS = {
    "0x191489c19c488559649b717ae3c1e4b9dada1389": "sells a token for USDT (tx 0x77370026...)",
    "0x89cb0b10d7c8a320d69760fcf58321111bce6b0a": "buys a token with 2 ETH (tx 0x625f4f94...)",
    "0x5ed5ba77b4b71d132e32a17f9674e47005c26f57": "sells a token, ETH paid back via WETH unwrap (tx 0x7c2c4a52...)",
    "0xf5213a6a2f0890321712520b8048d9886c1a9900": "sells a token for WETH (tx 0x68853227...)",
    "0x36907b85407840d180294d04329564ebcd07716b": "buys a token with 488 USDT (tx 0xe5530c29...)",
}


def exchange_labels() -> dict[str, tuple[str, str]]:
    """{address: (name, exchange slug)} of the label cloud's exchange wallets (raw label file)."""
    path = recorded.data_dir() / "labels-etherscan-brianleect" / "etherscan_combinedAccountLabels.json"
    labels = json.loads(path.read_text())
    out = {}
    for address, entry in labels.items():
        slugs = [s for s in entry["labels"] if s in EXCHANGE_SLUGS]
        if slugs:
            out[address] = (entry["name"], slugs[0])
    return out


@pytest.fixture
def recorded_world(db):
    """Entities, exchange KnownAddresses, tracked whales and ETH prices for the recorded blocks.

    Whales: every labelled exchange wallet that moves ETH or tokens in the two blocks, plus SWAPPERS.
    Returns {"whales": {address: Whale}, "exchanges": {address: (name, slug)}}.
    """
    exchanges = exchange_labels()
    entities = {slug: Entity.objects.create(slug=slug, name=slug.title(), kind=EntityKind.EXCHANGE)
                for slug in EXCHANGE_SLUGS}
    KnownAddress.objects.bulk_create([
        KnownAddress(chain="ethereum", address=a, name=name, category=AddressCategory.EXCHANGE,
                     entity=entities[slug], source="etherscan-labelcloud")
        for a, (name, slug) in exchanges.items()
    ])
    seen = {a for n in recorded.RECORDED_BLOCKS for m in recorded.raw_movements(n) for a in (m["from"], m["to"])}
    whales = {}
    for address in sorted(seen & set(exchanges)):
        name, slug = exchanges[address]
        whales[address] = Whale.objects.create(chain="ethereum", address=address, name=name, entity=entities[slug])
    for address in SWAPPERS:
        whales[address] = Whale.objects.create(chain="ethereum", address=address)
    eth = Asset.objects.get(chain="ethereum", contract_address="")
    for day in ("2024-03-13", "2024-03-14"):
        PriceHistory.objects.create(asset=eth, timestamp=datetime.fromisoformat(day).replace(tzinfo=UTC),
                                    price_usd=recorded.eth_price_on(day))
    return {"whales": whales, "exchanges": exchanges}


@pytest.fixture
def eth_client(replay):
    """A collector client on the replay node's Ethereum endpoint, with fast retries for tests."""
    return EthereumRpcClient(replay.eth_url, timeout_s=5, retries=3, backoff_s=0.01)


@pytest.fixture(scope="module")
def uniswap(chain):
    """The Uniswap V2 contracts from their npm builds, deployed on ``chain`` with liquidity."""
    from tests.chain.anvil import uniswap_deploy

    return uniswap_deploy(chain, deployer=chain.accounts[0])

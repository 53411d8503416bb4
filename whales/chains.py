"""Chains WhaleTrack follows, address normalization and explorer links."""

import re

from django.core.exceptions import ValidationError
from django.db import models

from whales.errors import InvalidAddress, UnknownChain


class Chain(models.TextChoices):
    """A chain WhaleTrack follows; the value is the stable key used in URLs, JSON and group names."""

    ETHEREUM = "ethereum", "Ethereum"
    BITCOIN = "bitcoin", "Bitcoin"
    HYPERLIQUID = "hyperliquid", "Hyperliquid"
    ARBITRUM = "arbitrum", "Arbitrum One"


EVM_CHAINS = frozenset({Chain.ETHEREUM, Chain.HYPERLIQUID, Chain.ARBITRUM})

_EVM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
# Base58 P2PKH/P2SH (1..., 3...) and bech32/bech32m segwit (bc1q..., bc1p...).
_BTC_BASE58 = re.compile(r"^[13][1-9A-HJ-NP-Za-km-z]{25,34}$")
_BTC_BECH32 = re.compile(r"^(bc1)[02-9ac-hj-np-z]{11,87}$")

EXPLORER_ADDRESS_URL = {
    Chain.ETHEREUM: "https://etherscan.io/address/{address}",
    Chain.BITCOIN: "https://mempool.space/address/{address}",
    Chain.HYPERLIQUID: "https://app.hyperliquid.xyz/explorer/address/{address}",
    Chain.ARBITRUM: "https://arbiscan.io/address/{address}",
}
EXPLORER_TX_URL = {
    Chain.ETHEREUM: "https://etherscan.io/tx/{tx_hash}",
    Chain.BITCOIN: "https://mempool.space/tx/{tx_hash}",
    Chain.HYPERLIQUID: "https://app.hyperliquid.xyz/explorer/tx/{tx_hash}",
    Chain.ARBITRUM: "https://arbiscan.io/tx/{tx_hash}",
}


def normalize_address(chain: str, address: str) -> str:
    """Return ``address`` in WhaleTrack's stored form for ``chain``.

    Shape: EVM chains (ethereum, arbitrum, hyperliquid): ``0x`` + 40 lowercase hex, any input case
        accepted. Bitcoin: base58 as given; bech32 lowercased (bech32 is case-insensitive).
    Raises: UnknownChain for a chain WhaleTrack does not follow; InvalidAddress for an address that is
    not valid on it (both ``whales.errors``).
    """
    if chain not in Chain.values:
        raise UnknownChain(f"Unknown chain {chain!r}; known: {', '.join(Chain.values)}.")
    chain = Chain(chain)
    value = (address or "").strip()
    if chain in EVM_CHAINS:
        if not _EVM_ADDRESS.match(value):
            raise InvalidAddress(f"{address!r} is not an EVM address (0x followed by 40 hex digits)")
        return value.lower()
    if _BTC_BASE58.match(value):
        return value
    if _BTC_BECH32.match(value.lower()) and (value == value.lower() or value == value.upper()):
        return value.lower()
    raise InvalidAddress(f"{address!r} is not a Bitcoin address (base58 1.../3... or bech32 bc1...)")


def validate_address_for_chain(chain: str, address: str) -> str:
    """Form/serializer helper: ``normalize_address`` with Django's ValidationError on bad input."""
    try:
        return normalize_address(chain, address)
    except (InvalidAddress, UnknownChain) as exc:
        raise ValidationError(str(exc), code="invalid_address") from exc


def address_url(chain: str, address: str) -> str:
    """Explorer URL of ``address`` on ``chain``."""
    return EXPLORER_ADDRESS_URL[Chain(chain)].format(address=address)


def tx_url(chain: str, tx_hash: str) -> str:
    """Explorer URL of transaction ``tx_hash`` on ``chain`` ("" when there is no hash, or no chain: a system
    event's). Raises: ValueError for an unknown chain."""
    return EXPLORER_TX_URL[Chain(chain)].format(tx_hash=tx_hash) if tx_hash and chain else ""

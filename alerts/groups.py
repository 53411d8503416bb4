"""Channel-layer group names (STYLE.md section 5). Layers accept only A-Z a-z 0-9 - _ . in names
shorter than 100 characters; addresses are normalized (lowercase hex, bech32 lowercase; base58 kept)."""

from whales.chains import Chain

FEED_GROUP = "whales.feed"


def chain_group(chain: str) -> str:
    """``whales.chain.<chain>``: every event of one chain. Raises: ValueError for an unknown chain."""
    return f"whales.chain.{Chain(chain).value}"


def whale_group(whale_id: int) -> str:
    """``whales.whale.<id>``: every event of one tracked whale (by primary key: addresses may hold
    characters or lengths a group name cannot)."""
    return f"whales.whale.{int(whale_id)}"


def user_group(user_id: int) -> str:
    """``alerts.user.<id>``: the alerts of one user (their /ws/alerts/ connections)."""
    return f"alerts.user.{int(user_id)}"

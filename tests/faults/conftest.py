"""Fixtures of the fault suite: a real Ethereum node (anvil) per module."""

import pytest


@pytest.fixture(scope="module")
def chain():
    """anvil from npm (tests/chain) for the module, stopped after its tests."""
    from tests.chain.anvil import ANVIL, Anvil
    from tests.requirements import require

    require(ANVIL.exists(), f"{ANVIL} is missing (make test runs npm ci in tests/chain)")
    node = Anvil()
    try:
        yield node
    finally:
        node.stop()

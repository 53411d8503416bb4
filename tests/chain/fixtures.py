"""pytest fixtures around ``tests/chain/anvil.py``, for the conftests that want a real node (kept apart from
``anvil.py``, which ``scripts/demo_chain.py`` imports without pytest). A conftest takes one by importing it."""

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.chain.anvil import Anvil


@pytest.fixture(scope="module")
def chain() -> Iterator["Anvil"]:
    """A real node for the module: anvil from npm (tests/chain), stopped after the module's tests.
    Skips (fails under WHALETRACK_REQUIRE_SERVICES=1) when ``npm ci`` has not installed it. web3 is imported
    only when a test asks for the node."""
    from tests.chain.anvil import ANVIL, Anvil
    from tests.requirements import require

    require(ANVIL.exists(), f"{ANVIL} is missing (make test runs npm ci in tests/chain)")
    node = Anvil()
    try:
        yield node
    finally:
        node.stop()

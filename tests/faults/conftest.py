"""Fixtures of the fault suite: a real Ethereum node (anvil) per module (``tests.chain.fixtures``)."""

from tests.chain.fixtures import chain

__all__ = ["chain"]  # the fixture, imported so pytest finds it here

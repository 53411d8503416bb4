"""Registers the Ethereum collector (filled in below)."""

"""Glass ledger: on-chain activity, read from the chains themselves (one app per source)."""

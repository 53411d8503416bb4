"""The four ledgers of the system WhaleTrack grew from, one Django app per source inside its ledger.

- ``glass``: on-chain activity (Ethereum, Bitcoin and its mempool, Hyperliquid and its bridge).
- ``human``: sentiment (Reddit, news).
- ``catalyst``: events that move prices (SEC filings, exchange announcements).
- ``exchange``: prices and trading venues (``exchange.market``).

``ledgers/replay`` is not a ledger: it is the recorded-data node for offline runs and tests.
"""

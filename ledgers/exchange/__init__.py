"""Exchange ledger: prices and trading venues (``market``: assets and CoinGecko prices)."""

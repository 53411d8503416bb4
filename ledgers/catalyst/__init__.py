"""Catalyst ledger: events that move prices. ``sec``: SEC EDGAR filings of the issuers analysts list."""

"""Catalyst ledger: events that move prices (SEC filings, exchange announcements). No source is built
yet; each will be an app here."""

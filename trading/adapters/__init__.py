"""Venue adapters: one interface (``trading.adapters.base.VenueAdapter``) that the paper book, Hyperliquid and
Coinspot implement. ``trading.adapters.registry.adapter_for`` picks an account's adapter; the trading services and
the API only ever talk to the interface."""

"""Registers the Hyperliquid collectors in the whales collector registry (imported by HyperliquidConfig.ready)."""

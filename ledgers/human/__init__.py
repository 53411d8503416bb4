"""Human ledger: sentiment (Reddit, news). No source is built yet; each will be an app here."""

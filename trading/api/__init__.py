"""REST API of paper trading, mounted at ``/api/v1/trading/`` (DESIGN.md §7)."""

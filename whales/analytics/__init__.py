"""Analytics over the whale registry: wallet metrics (FIFO over ``whales.fifo``), classification,
smart-money scores and flows, their Celery tasks, and the smart-money API (``api/``). Part of the ``whales``
app (its models live in ``whales.models.analytics``); it imports no other app."""

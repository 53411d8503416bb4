"""REST API of the alerts app: alert rules (CRUD, simulate) and the user's alerts, under /api/v1/."""

"""Fault suite (issue 14): collectors and publishers killed, cut off from PostgreSQL or from Redis on running
processes, checked against a clean run of the same input."""

"""API gateway: routing, edge auth, rate limiting, health aggregation."""

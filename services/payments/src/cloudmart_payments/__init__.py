"""Payments service: Stripe payments, refunds, idempotency."""

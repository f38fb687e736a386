"""Alembic migrations of the payments database."""

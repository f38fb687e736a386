"""The tables every data-owning service has: outbox and idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from cloudmart_common.migrations import create_common_tables, drop_common_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_common_tables()


def downgrade() -> None:
    drop_common_tables()

"""Mail integrity: a dead letter remembers the agent who ingested it, so `mail retry` acts as that agent.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Dead letters from before this revision have none: they are retried as the agent who retries them.
    op.add_column("mail_failed", sa.Column("actor", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("mail_failed") as batch:
        batch.drop_column("actor")

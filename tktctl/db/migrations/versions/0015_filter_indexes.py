"""The filters' indexes: ``ticket (queue_id, state_id)``, which `count --queue Q --state-type T`
and `stats --by queue,state` read alone (no table rows), replacing ``ix_ticket_queue_id`` (its
prefix); then fresh planner statistics for the ticket table, so the planner weighs the new
index against the others on a desk that already has tickets.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# The statement that refreshes a table's planner statistics, by dialect.
ANALYZE = {"sqlite": "ANALYZE ticket", "postgresql": "ANALYZE ticket", "mysql": "ANALYZE TABLE ticket"}


def upgrade() -> None:
    # Created first: MySQL keeps the queue foreign key on an index that starts with queue_id.
    op.create_index("ix_ticket_queue_id_state_id", "ticket", ["queue_id", "state_id"])
    op.drop_index("ix_ticket_queue_id", table_name="ticket")
    op.execute(ANALYZE[op.get_bind().dialect.name])


def downgrade() -> None:
    op.create_index("ix_ticket_queue_id", "ticket", ["queue_id"])
    op.drop_index("ix_ticket_queue_id_state_id", table_name="ticket")

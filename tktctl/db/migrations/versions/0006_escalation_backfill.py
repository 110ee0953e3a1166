"""Escalation back-fill: when tickets that predate 0003 were first closed, from their history.

Tickets created before 0003 have no deadlines and no ``first_closed_at``; without it a
reopened old ticket would escalate on solution again. This revision sets ``first_closed_at``
from the first ``StateUpdate`` into a closed state (a ticket closed without such a row: its
last change). The deadlines themselves need the business calendars and the code that
computes them, which a migration must not import (a later revision may change the tables
that code reads): ``tktctl db upgrade`` recomputes them after migrating, with the same
batched rebuild as ``tktctl maint escalation-rebuild``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The tables as this revision knows them: frozen here, not imported from the models.
TICKET = sa.table("ticket", sa.column("id"), sa.column("state_id"), sa.column("changed"), sa.column("first_closed_at"))
HISTORY = sa.table(
    "ticket_history",
    sa.column("id"),
    sa.column("ticket_id"),
    sa.column("type"),
    sa.column("at"),
    sa.column("data", sa.JSON()),
)
STATE = sa.table("ticket_state", sa.column("id"), sa.column("name"), sa.column("type_id"))
STATE_TYPE = sa.table("ticket_state_type", sa.column("id"), sa.column("name"))
BATCH = 1000


def upgrade() -> None:
    bind = op.get_bind()
    closed = dict(
        bind.execute(
            sa.select(STATE.c.name, STATE.c.id)
            .join(STATE_TYPE, STATE_TYPE.c.id == STATE.c.type_id)
            .where(STATE_TYPE.c.name == "closed")
        ).all()
    )
    unknown = TICKET.c.first_closed_at.is_(None)
    # The JSON "to" is read in Python: the same on SQLite, PostgreSQL and MySQL.
    rows = bind.execute(
        sa.select(HISTORY.c.ticket_id, HISTORY.c.at, HISTORY.c.data)
        .join(TICKET, TICKET.c.id == HISTORY.c.ticket_id)
        .where(unknown, HISTORY.c.type == "StateUpdate")
        .order_by(HISTORY.c.ticket_id, HISTORY.c.id)
    )
    first: dict[int, object] = {}
    for ticket_id, at, data in rows:
        if ticket_id not in first and isinstance(data, dict) and data.get("to") in closed:
            first[ticket_id] = at
    values = [{"ticket": t, "at": at} for t, at in first.items()]
    statement = TICKET.update().where(TICKET.c.id == sa.bindparam("ticket")).values(first_closed_at=sa.bindparam("at"))
    for start in range(0, len(values), BATCH):
        bind.execute(statement, values[start : start + BATCH])
    if closed:
        bind.execute(
            TICKET.update()
            .where(unknown, TICKET.c.state_id.in_(list(closed.values())))
            .values(first_closed_at=TICKET.c.changed)
        )


def downgrade() -> None:
    """Nothing to undo: 0003's columns keep the values (0003's downgrade drops them)."""

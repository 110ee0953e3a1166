"""ids_in: one bound list of ids, an array on PostgreSQL (rendered once), an expanding IN elsewhere."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import mysql, postgresql, sqlite

from tktctl.api import Desk
from tktctl.core.prepared import ids_in
from tktctl.db.models import Ticket


def test_ids_in_is_one_array_on_postgresql_and_an_expanding_in_elsewhere() -> None:
    statement = select(Ticket.id).where(ids_in(Ticket.id), Ticket.priority_id > 1)
    assert "ticket.id = ANY (%(ids)s::BIGINT[]) AND" in str(statement.compile(dialect=postgresql.dialect()))
    for dialect in (sqlite.dialect(), mysql.dialect()):
        assert "ticket.id IN (__[POSTCOMPILE_ids]) AND" in str(statement.compile(dialect=dialect))


def test_ids_in_selects_the_ids_bound(desk: Desk) -> None:
    made = [desk.tickets.create(title=f"t{i}")["id"] for i in range(3)]
    statement = select(Ticket.id).where(ids_in(Ticket.id)).order_by(Ticket.id)
    with desk.engine.connect() as conn:
        for ids in ([made[0], made[2]], [made[1]], [], [made[2] + 100]):
            assert conn.execute(statement, {"ids": ids}).scalars().all() == sorted(set(ids) & set(made))

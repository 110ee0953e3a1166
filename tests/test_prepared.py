"""ids_in: one bound list of ids, an array on PostgreSQL (rendered once), an expanding IN elsewhere;
named: exactly the key asked, on every backend."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import mysql, postgresql, sqlite

from tktctl.api import Desk
from tktctl.core.prepared import ids_in, named
from tktctl.db.models import Agent, Signature, Ticket
from tktctl.errors import NotFoundError


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


def test_named_is_the_exact_key_in_every_column_on_every_backend(desk: Desk) -> None:
    """MariaDB's PAD SPACE collation matches "Thanks " to "Thanks": named (the lookups by name and
    Named.find, a text's name and language) keeps what the SQL matched only if it is the exact key."""
    desk.signatures.create("Thanks", language="en", body="Thanks!")
    with desk.read() as unit:
        found = named(unit.session, Signature, name="Thanks", language="en")
        assert found is not None and (found.name, found.language, found.body) == ("Thanks", "en", "Thanks!")
        for key in ({"name": "Thanks "}, {"language": "en "}, {"language": "de"}):
            assert named(unit.session, Signature, **{"name": "Thanks", "language": "en", **key}) is None, key
        assert named(unit.session, Agent, login="root@localhost ") is None
        assert named(unit.session, Agent, login="root@localhost").login == "root@localhost"
    with pytest.raises(NotFoundError):
        desk.signatures.show("Thanks ", language="en")


def test_an_account_or_address_with_a_trailing_space_is_not_found_on_every_backend(desk: Desk) -> None:
    """Regression: `agent show`, `customer show` and `address show` (and every change naming one) found
    "carla " as carla on MariaDB (its PAD SPACE collation) while SQLite and PostgreSQL said not found."""
    desk.customers.create("carla")
    desk.addresses.create("desk@example.com")
    shows = {desk.agents.show: "root@localhost", desk.customers.show: "carla", desk.addresses.show: "desk@example.com"}
    for show, key in shows.items():
        assert show(key) is not None
        with pytest.raises(NotFoundError):
            show(key + " ")


def test_a_queue_text_with_a_trailing_space_is_not_found_on_every_backend(desk: Desk) -> None:
    """Regression: `queue update --salutation "formal "` (or --signature) was accepted on MariaDB only (PAD
    SPACE), storing a name no text has; SQLite and PostgreSQL said not found."""
    desk.salutations.create("formal", body="Dear customer,")
    desk.signatures.create("team", body="The team")
    desk.queues.update("Raw", salutation="formal", signature="team")
    for key, name in (("salutation", "formal "), ("signature", "team ")):
        with pytest.raises(NotFoundError):
            desk.queues.update("Raw", **{key: name})
    assert {k: desk.queues.show("Raw")[k] for k in ("salutation", "signature")} == {
        "salutation": "formal",
        "signature": "team",
    }

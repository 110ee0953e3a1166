"""Ticket numbers as OTRS makes them, from a counter that never hands out a number twice.

The counter is one row updated in place: the UPDATE takes its row lock (on SQLite, the
write transaction holds the database's write lock), so concurrent creators queue behind
each other until commit, and the unique key on ``ticket.tn`` guards the rest.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Insert, bindparam, case, func, select, update
from sqlalchemy.orm import Session

from tktctl.db.models import Counter, Ticket
from tktctl.errors import UsageError
from tktctl.tickets import changes

if TYPE_CHECKING:
    from tktctl.core.unit import Unit

GENERATORS = ("DateChecksum", "Date", "AutoIncrement")
# OTRS's Ticket::NumberGenerator::MinCounterSize default: AutoIncrement pads its counter to 5 digits
# (SystemID 10, counter 1: 1000001). Numbers padded to 4 before stay valid: shorter, or equal to a counter passed.
MIN_COUNTER_SIZE = 5


def checksum(digits: str) -> int:
    """OTRS's DateChecksum check digit: digits weighted 1, 2, 1, 2 ...; 10 - sum mod 10 (10 -> 1)."""
    total = sum(map(int, digits[::2])) + 2 * sum(map(int, digits[1::2]))
    check = 10 - total % 10
    return 1 if check == 10 else check


def format_number(generator: str, system_id: str, day: str, counter: int) -> str:
    if generator == "AutoIncrement":
        return f"{system_id}{counter:0{MIN_COUNTER_SIZE}d}"
    if generator == "Date":
        return f"{day}{system_id}{counter:05d}"
    if generator == "DateChecksum":
        base = f"{day}{system_id}{counter:05d}"
        return f"{base}{checksum(base)}"
    raise UsageError(f"unknown ticket number generator {generator!r}; choose one of {', '.join(GENERATORS)}")


def is_valid_number(generator: str, system_id: str, tn: str) -> bool:
    """Whether ``tn`` has the layout ``generator`` gives its numbers, with this system id.

    An imported ticket keeps its number only if this desk could have made it: ASCII digits,
    the system id in its place, a real date for the date-based generators, and the check digit.
    """
    if not (tn.isascii() and tn.isdigit()):
        return False
    if generator == "AutoIncrement":
        return tn.startswith(system_id) and len(tn) >= len(system_id) + 4
    day, rest = tn[:8], tn[8:]
    try:
        datetime.strptime(day, "%Y%m%d")
    except ValueError:
        return False
    if generator == "DateChecksum":
        rest, check = rest[:-1], tn[-1:]
        if check != str(checksum(tn[:-1])):
            return False
    return rest.startswith(system_id) and len(rest) >= len(system_id) + 5


def next_numbers(
    session: Session,
    *,
    generator: str,
    system_id: str,
    now: datetime,
    count: int = 1,
    passing_over: frozenset[str] | set[str] = frozenset(),
    checked: bool = True,
) -> list[str]:
    """Reserve ``count`` new numbers in the caller's transaction.

    Numbers already taken (tickets imported or copied from another desk keep theirs) are
    passed over, so the counter never hands out a number that a ticket holds; so are
    ``passing_over`` (numbers an import brings along that are not written yet). Not ``checked``:
    the caller's INSERT skips a number a ticket holds and asks again (``insert_new_ticket``).
    """
    if generator not in GENERATORS:
        raise UsageError(f"unknown ticket number generator {generator!r}; choose one of {', '.join(GENERATORS)}")
    if not (system_id.isascii() and system_id.isdigit()):  # isdigit() alone accepts "²", "١٠", "１０"
        raise UsageError(f"system id must be digits, not {system_id!r}")
    if count < 1:
        raise UsageError("the number of ticket numbers to reserve must be at least 1")
    numbers: list[str] = []
    while len(numbers) < count:
        batch = _advance(session, generator, system_id, now, count - len(numbers))
        taken = _taken(session, batch) if checked else set()
        numbers += [n for n in batch if n not in taken and n not in passing_over]
    return numbers


def _advance(session: Session, generator: str, system_id: str, now: datetime, count: int) -> list[str]:
    """Move the counter on by ``count`` under its row lock; the numbers passed over."""
    day = now.strftime("%Y%m%d")
    move_returning, move_last_id = _counter_statements(generator != "AutoIncrement")
    values = {"today": day, "step": count}
    # Through the session's connection: a Core statement, not the ORM's UPDATE (which would look for
    # objects of the session to synchronise: ~0.8M instructions a create, for none).
    connection = session.connection()
    if connection.dialect.update_returning:  # SQLite, PostgreSQL: the new value in the same round trip
        last = connection.execute(move_returning, values).scalar()
        moved = last is not None
    else:  # MariaDB has no UPDATE ... RETURNING: the new value comes back as the statement's insert id
        result = connection.execute(move_last_id, values)
        moved = result.rowcount == 1
        last = result.lastrowid if moved else None
    if not moved:
        raise UsageError("ticket number counter missing: run `tktctl init`")
    assert last is not None
    return [format_number(generator, system_id, day, n) for n in range(last - count + 1, last + 1)]


@cache
def _counter_statements(daily: bool) -> tuple[Any, Any]:
    """The counter's UPDATE (``:today``, ``:step``) returning the new value, and the same for MySQL/MariaDB,
    which hands the new value back as ``LAST_INSERT_ID(value)`` does (the OK packet's insert id: no
    SELECT after the UPDATE), built once."""
    step = bindparam("step")
    new_value = case((Counter.day == bindparam("today"), Counter.value + step), else_=step) if daily else None

    def move(value: Any) -> Any:
        # Ordered: MySQL evaluates SET left to right with new values; `value` must read the old `day`.
        return (
            update(Counter)
            .where(Counter.name == "ticket")
            .ordered_values((Counter.value, value), (Counter.day, bindparam("today") if daily else Counter.day))
        )

    value = new_value if daily else Counter.value + step
    return move(value).returning(Counter.value), move(func.last_insert_id(value))


def _taken(session: Session, numbers: list[str]) -> set[str]:
    """Which of a run of consecutive new numbers tickets already hold: one range query per length.

    Numbers of one length are digit strings that sort the same in every collation, so a
    range between the smallest and the largest holds them all (and perhaps others, which
    the set difference ignores); one indexed range scan instead of an IN list per 500.
    """
    taken: set[str] = set()
    for length in {len(n) for n in numbers}:
        same = [n for n in numbers if len(n) == length]
        taken.update(session.connection().execute(_taken_statement(), {"low": min(same), "high": max(same)}).scalars())
    return taken


@cache
def _taken_statement() -> Any:
    return select(Ticket.tn).where(Ticket.tn.between(bindparam("low"), bindparam("high")))


def skips_held_numbers(unit: Unit) -> bool:
    """Whether :func:`insert_new_ticket` lets the unique key on ``ticket.tn`` settle that a new number is
    free (SQLite, PostgreSQL: INSERT … ON CONFLICT DO NOTHING RETURNING), instead of a SELECT first."""
    return _skipping_insert(unit.connection.dialect.name) is not None and unit.connection.dialect.insert_returning


def next_number(unit: Unit, *, checked: bool = True) -> str:
    """The desk's next ticket number (its generator and system id), in ``unit``'s transaction."""
    numbers = unit.store.numbers
    (tn,) = next_numbers(
        unit.session, generator=numbers.generator, system_id=numbers.system_id, now=unit.now, checked=checked
    )
    return tn


def new_ticket(unit: Unit, **values: Any) -> tuple[int, str]:
    """A new ticket row under the next number free (the caller writes its history): every door that
    opens a ticket (create, mail, split) numbers it this one way. Returns its id and number."""
    return insert_new_ticket(unit, next_number(unit, checked=not skips_held_numbers(unit)), **values)


def insert_new_ticket(unit: Unit, tn: str, **values: Any) -> tuple[int, str]:
    """:func:`insert_ticket` under ``tn``, from ``next_numbers(checked=not skips_held_numbers(unit))``: where
    the row is skipped because a ticket holds the number (an imported ticket keeps its own), the next one
    is tried. Returns the ticket's id and number."""
    if not skips_held_numbers(unit):
        return changes.insert_ticket(unit, tn, **values), tn
    while True:
        row = {**changes.ticket_row(unit, tn), **values}
        ticket_id = unit.connection.execute(_skipping_insert(unit.connection.dialect.name), row).scalar()
        if ticket_id is not None:
            return ticket_id, tn
        tn = next_number(unit, checked=False)


@cache
def _skipping_insert(dialect: str) -> Insert | None:
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        return None
    table = Ticket.__table__
    return dialect_insert(table).on_conflict_do_nothing(index_elements=[table.c.tn]).returning(table.c.id)  # type: ignore[no-any-return]

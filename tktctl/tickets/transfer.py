"""Tickets in and out in bulk: import from JSON, JSONL, YAML or CSV; export complete tickets.

Import checks every record before it writes (a bad line names its number), then creates
the tickets in batches, one transaction per batch, with Core executemany inserts and
ticket numbers reserved for the whole batch at once. With ``external_id``, a rerun after a
crash skips what a committed batch already created: only whole batches ever exist.

Export streams complete tickets (articles, attachments' metadata, history) in chunks; its
output is import's input, so a desk moves to another database record by record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import bindparam, func, insert, select

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.lookup import CHUNK, chunks
from tktctl.core.record import Record
from tktctl.core.stream import stream
from tktctl.core.unit import python_warning
from tktctl.core.vocabulary import (
    choice,
)
from tktctl.db.bulk import insert_rows
from tktctl.db.models import Article, Attachment, DynamicFieldValue, History, Ticket, TicketLink
from tktctl.errors import ConflictError, PartialFailure, PermissionDeniedError, TktctlError, UsageError
from tktctl.gcpause import collector_paused
from tktctl.sla import deadlines
from tktctl.text import plural
from tktctl.tickets import fields as custom_fields
from tktctl.tickets import guards
from tktctl.tickets.changes import Selected, article_history, new_ticket_data
from tktctl.tickets.exporting import complete_tickets
from tktctl.tickets.importcheck import IF_EXISTS, UPDATE_COLUMNS, Checker, Row
from tktctl.tickets.importspool import Outcomes, SeenKeys, Spool, batched
from tktctl.tickets.links import import_links
from tktctl.tickets.numbering import next_numbers

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit
    from tktctl.tickets.selection import TicketFilter

# What an import writes (its models' tables): the tables whose statistics a large one updates.
IMPORTED_TABLES = tuple(m.__table__.name for m in (Ticket, Article, Attachment, History, DynamicFieldValue, TicketLink))


@dataclass
class ImportResult:
    """Per-record outcomes (``line``, ``ok``, ``action``, ``tn``, ``external_id``, ``error``) and totals."""

    outcomes: Outcomes
    totals: dict[str, int]

    def __iter__(self) -> Iterator[Record]:
        return iter(self.outcomes)


class Transfer:
    """Bulk import and export of complete tickets."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def import_tickets(
        self,
        records: Iterable[tuple[int, Any]],
        *,
        batch_size: int = 1000,
        if_exists: str = "skip",
        continue_on_error: bool = False,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
        warn: Callable[[str], None] = python_warning,
    ) -> ImportResult:
        """Check every record, then create them in batches (one transaction each).

        Atomic (the default): the first bad record is raised, naming its line, and nothing is
        written. ``continue_on_error``: every good record is created and each bad one is
        reported; PartialFailure (exit 7) at the end if any was bad. Both passes go a batch
        at a time and what waits between them is on disk (importspool): memory stays flat.
        A large import ends by updating its tables' statistics; a failure of that goes to ``warn``.
        """
        choice("--if-exists", if_exists, IF_EXISTS)
        if batch_size < 1:
            raise UsageError("--batch-size must be at least 1")
        refused: Spool[Record] = Spool()
        written: Spool[Record] = Spool()
        totals = {"created": 0, "updated": 0, "skipped": 0, "failed": 0}
        # The checked records and their rows are many acyclic objects: collector scans free nothing.
        with collector_paused():
            rows = self._check(records, batch_size, continue_on_error, if_exists, refused)
            totals["failed"] = len(refused)
            try:
                for batch in batched(rows, batch_size):
                    outcomes = self._batch(batch, if_exists, dry_run, continue_on_error)
                    for outcome in outcomes:
                        totals[outcome["action"]] += 1
                    written.add(sorted(outcomes, key=itemgetter("line")))
                    if progress is not None:
                        progress(len(batch))
                    if not dry_run:  # a bounded log: copied into the database when it passes a size
                        self.store.checkpoint(if_grown=True)
            finally:
                if not dry_run:  # also after a failed batch: those before it are committed
                    self.store.checkpoint()
                    self.store.analyze_loaded(IMPORTED_TABLES, warn, totals["created"] + totals["updated"])
        outcomes = Outcomes(refused, written)
        if totals["failed"]:
            failure = PartialFailure(f"{totals['failed']} of {plural(len(outcomes), 'record')} failed", outcomes)
            raise failure
        return ImportResult(outcomes, totals)

    def _check(
        self, records: Iterable[tuple[int, Any]], size: int, keep_going: bool, if_exists: str, refused: Spool[Record]
    ) -> Spool[Row]:
        """Every record checked, a chunk of ``size`` at a time: the good rows spooled, the bad ones
        raised (atomic) or added to ``refused``, in line order."""
        rows: Spool[Row] = Spool()
        queues: set[int] = set()
        seen = SeenKeys()
        try:
            with self.store.read() as unit:
                checker = Checker(unit, self.store.numbers, if_exists)
                for part in batched(records, size):
                    checked, bad = _check_part(checker, seen, part, keep_going)
                    rows.add(checked)
                    refused.add(bad)
                    queues.update(row.ticket["queue_id"] for row in checked)
                if if_exists != "update":  # refused before anything is written; an update's records may only match
                    _require_create(unit, queues)
        finally:
            seen.close()
        return rows

    def _batch(self, batch: Sequence[Row], if_exists: str, dry_run: bool, keep_going: bool) -> list[Record]:
        """One transaction: skip/update/refuse existing keys, then insert the rest set-wise.

        With ``keep_going`` a refused record is reported and each update runs in its own
        savepoint, so a failed one leaves nothing behind while the others stay.
        """
        with self.store.write(dry_run=dry_run, bulk=True) as unit, _custom_plans(unit):
            existing = _existing(unit, batch)
            outcomes: list[Record] = []
            fresh: list[Row] = []
            for row in batch:
                try:
                    outcome = _match(unit, row, existing, if_exists, keep_going)
                except TktctlError as exc:
                    if not keep_going:
                        raise _at_line(row.line, exc) from exc
                    outcome = _failed(row.line, exc)
                if outcome is None:
                    fresh.append(row)
                else:
                    outcomes.append(outcome)
            outcomes += self._insert(unit, fresh)
            return outcomes

    def _insert(self, unit: Unit, rows: Sequence[Row]) -> list[Record]:
        if not rows:
            return []
        _require_create(unit, {row.ticket["queue_id"] for row in rows})
        numbers = self.store.numbers
        needed = sum(1 for r in rows if not r.ticket["tn"])
        given = {r.ticket["tn"] for r in rows if r.ticket["tn"]}
        fresh = iter(
            next_numbers(
                unit.session,
                generator=numbers.generator,
                system_id=numbers.system_id,
                now=unit.now,
                count=needed,
                passing_over=given,
            )
            if needed
            else []
        )
        for row in rows:
            row.ticket["tn"] = row.ticket["tn"] or next(fresh)
        conn = unit.session.connection()
        # The driver's fastest insert, then the new ids read back in one range: ids handed out
        # after this read are larger than every id it could see.
        before = conn.scalar(select(func.coalesce(func.max(Ticket.id), 0)))
        times: dict[Any, Any] = {}  # each instant converted once for all the batch's tables
        insert_rows(conn, Ticket.__table__, [r.ticket for r in rows], times)
        ids = {tn: i for tn, i in conn.execute(select(Ticket.tn, Ticket.id).where(Ticket.id > before))}
        articles: list[dict[str, Any]] = []
        attachments: list[list[dict[str, Any]]] = []
        history: list[dict[str, Any]] = []
        values: list[dict[str, Any]] = []
        made = _NewHistory(unit)
        for row in rows:
            ticket_id = ids[row.ticket["tn"]]
            values += custom_fields.rows(ticket_id, row.parsed)
            for article in row.articles:
                article["ticket_id"] = ticket_id
            articles += row.articles
            attachments += row.attachments
            if row.history is not None:
                for entry in row.history:
                    entry["ticket_id"] = ticket_id
                history += row.history
            else:
                history += made(ticket_id, row)
                base = {"ticket_id": ticket_id, "actor_id": made.actor, "queue_id": row.ticket["queue_id"]}
                at = row.ticket["created"]
                history += [
                    {**base, "at": at, "type": "TicketDynamicFieldUpdate", "data": data}
                    for data in custom_fields.history_data(row.parsed)
                ]
        if values:
            insert_rows(conn, DynamicFieldValue.__table__, values, times)
        if any(attachments):
            # Rare: attachments need their article's id, so these articles come back one by one.
            returning = insert(Article).returning(Article.id, sort_by_parameter_order=True)
            article_ids = [r[0] for r in conn.execute(returning, articles)]
            files = [{**f, "article_id": a} for a, fs in zip(article_ids, attachments, strict=True) for f in fs]
            conn.execute(insert(Attachment), files)
        elif articles:
            insert_rows(conn, Article.__table__, articles, times)
        if history:
            insert_rows(conn, History.__table__, history, times)
        linked = [(ids[r.ticket["tn"]], *link) for r in rows for link in r.links]
        if linked:
            import_links(unit, linked)
        timed = {q for q, sla in deadlines.slas(unit).items() if sla.any}
        if timed:  # deadlines after the articles: an agent's answer or a customer's contact moves them
            deadlines.refresh(unit, [ids[r.ticket["tn"]] for r in rows if r.ticket["queue_id"] in timed])
        return [_outcome(row, "created", row.ticket["tn"]) for row in rows]

    # Export --------------------------------------------------------------------------

    def export_tickets(self, selection: TicketFilter | None = None, *, batch: int = CHUNK) -> Iterator[Record]:
        """Complete tickets (articles with attachments' metadata, history), streamed in chunks."""
        from tktctl.tickets.selection import TicketFilter, filter_clauses

        with self.store.read() as unit:
            clauses = filter_clauses(unit, selection or TicketFilter())
            for part in stream(unit, select(Ticket.id).where(*clauses).order_by(Ticket.id), batch=batch):
                yield from complete_tickets(unit, [ticket_id for (ticket_id,) in part])


@contextmanager
def _custom_plans(unit: Unit) -> Iterator[None]:
    """No server-side prepared statements for lookups (psycopg prepares after 5 runs).

    The ticket table grows by a batch at a time: a generic plan made while it was nearly
    empty scans it whole for every later lookup (an import went from 1 min to 9 min).
    The connection gets its setting back when it returns to the pool.
    """
    driver = unit.session.connection().connection.driver_connection
    if not hasattr(driver, "prepare_threshold"):
        yield
        return
    threshold, driver.prepare_threshold = driver.prepare_threshold, None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


class Found(NamedTuple):
    """A ticket already holding a record's key."""

    id: int
    tn: str
    queue_id: int
    owner_id: int


def _existing(unit: Unit, batch: Sequence[Row]) -> dict[tuple[str, str], Found]:
    """Tickets already there with a batch row's external_id or tn: (key, value) -> the ticket."""
    found: dict[tuple[str, str], Found] = {}
    for name, column in (("external_id", Ticket.external_id), ("tn", Ticket.tn)):
        values = [r.ticket[name] for r in batch if r.ticket[name] is not None]
        # One statement, its IN list a parameter: not 500 literals built per chunk.
        statement = select(column, Ticket.id, Ticket.tn, Ticket.queue_id, Ticket.owner_id).where(
            column.in_(bindparam("values", expanding=True))
        )
        for part in chunks(values):
            rows = unit.session.execute(statement, {"values": part})
            found.update({(name, value): Found(*rest) for value, *rest in rows})
    return found


def _match(
    unit: Unit, row: Row, existing: dict[tuple[str, str], Found], if_exists: str, keep_going: bool
) -> Record | None:
    """The outcome for a record whose key a ticket holds (skipped, updated, or an error); None: create it.

    A ticket the agent may not see is only a taken key: nothing of it is shown or changed.
    """
    ticket = row.ticket
    name = "external_id" if ("external_id", ticket["external_id"]) in existing else "tn"
    found = existing.get((name, ticket[name]))
    if found is None:
        if ticket["tn"] is not None and not permissions.is_admin(unit):
            raise PermissionDeniedError(
                f"permission denied: tn {ticket['tn']!r} matches no ticket to update, and keeping it for a new"
                f" ticket is a migration: agent {unit.actor.login!r} needs 'rw' on group {permissions.ADMIN_GROUP!r}",
                ref=ticket["tn"],
            )
        return None
    if not permissions.sees(unit, found.queue_id, found.owner_id):
        raise ConflictError(f"{name.replace('_', ' ')} {ticket[name]!r} is taken", ref=ticket[name])
    if if_exists == "fail":
        raise ConflictError(f"ticket {found.tn} exists (same external_id or tn)", ref=found.tn)
    if if_exists == "skip":
        return _outcome(row, "skipped", found.tn)
    if keep_going:
        with unit.session.begin_nested():
            _update(unit, row, found.id)
    else:
        _update(unit, row, found.id)
    return _outcome(row, "updated", found.tn)


def _update(unit: Unit, row: Row, ticket_id: int) -> None:
    """Change a ticket to what the record gives, each change by its verb's own checks, primitives and history.

    In the order an agent would run the verbs: the owner last, so that an agent who hands
    over a ticket locked by himself may still change the rest of it first.
    """

    new, given = row.ticket, row.given
    current = unit.session.execute(select(*UPDATE_COLUMNS).where(Ticket.id == ticket_id).with_for_update()).one()
    sel = Selected.of([ticket_id])
    fields = {k: new[k] for k in ("title", "customer", "type") if k in given and new[k] != getattr(current, k)}
    if fields:
        guards.fields_change(unit, sel, fields)
    if "priority" in given and new["priority_id"] != current.priority_id:
        guards.prioritize_change(unit, sel, new["priority_id"], 0)
    logins = lookup.logins(unit, [new["owner_id"], new["responsible_id"]])
    if "responsible" in given and new["responsible_id"] != current.responsible_id:
        guards.assign_change(unit, sel, logins[new["responsible_id"]], responsible=True)
    state_id = new["state_id"] if "state" in given else current.state_id
    pending = new["pending_until"] if given & {"state", "pending_until"} else current.pending_until
    if state_id != current.state_id or pending != current.pending_until:
        guards.state_change(unit, sel, lookup.states(unit)[state_id].name, pending)
    if "queue" in given and new["queue_id"] != current.queue_id:
        guards.move_change(unit, sel, lookup.queues(unit)[new["queue_id"]].name)
    if "owner" in given and new["owner_id"] != current.owner_id:
        guards.assign_change(unit, sel, logins[new["owner_id"]])
    if row.custom:
        guards.custom_fields_change(unit, sel, row.custom)


def _require_create(unit: Unit, queue_ids: Iterable[int]) -> None:
    """``create`` on the groups of the queues new tickets go to, as `ticket create` needs."""
    queues = lookup.queues(unit)
    permissions.require(unit, "create", {queues[queue_id].group_id for queue_id in queue_ids})


def _check_part(
    checker: Checker, seen: SeenKeys, part: Sequence[tuple[int, Any]], keep_going: bool
) -> tuple[list[Row], list[Record]]:
    """One chunk's records checked: its good rows and (``keep_going``) its bad ones, in line order.

    Atomic, the first bad record is raised: a key repeated before a record that fails its
    own check is the earlier error.
    """
    rows: list[Row] = []
    bad: list[tuple[int, TktctlError]] = []
    for line, raw in part:
        try:
            if isinstance(raw, TktctlError):
                raise raw
            rows.append(checker.row(line, raw))
        except TktctlError as exc:
            bad.append((line, exc))
            if not keep_going:
                break
    repeated = seen.repeats([r.line for r in rows], [r.ticket for r in rows])
    for position, (name, key, first) in repeated.items():
        bad.append((rows[position].line, UsageError(f"{name} {key!r} repeats line {first}")))
    bad.sort(key=itemgetter(0))
    if bad and not keep_going:
        line, exc = bad[0]
        raise _at_line(line, exc) from exc
    good = [row for position, row in enumerate(rows) if position not in repeated]
    return good, [_failed(line, exc) for line, exc in bad]


def _at_line(line: int, exc: TktctlError) -> TktctlError:
    """The error, its message naming the record's line."""
    message = exc.message if exc.message.startswith("line ") else f"line {line}: {exc.message}"
    return type(exc)(message, ref=exc.ref)


def _failed(line: int, exc: TktctlError) -> Record:
    """A record's failure, as `--continue-on-error` reports it."""
    return {"line": line, "ok": False, "action": "failed", "tn": None, "error": _at_line(line, exc).to_dict()["error"]}


def _outcome(row: Row, action: str, tn: str) -> Record:
    return {"line": row.line, "ok": True, "action": action, "tn": tn, "error": None}


class _NewHistory:
    """What `ticket create` records: NewTicket, then one entry per article."""

    def __init__(self, unit: Unit) -> None:
        self.actor = unit.actor.id
        self.queues = {i: q.name for i, q in lookup.queues(unit).items()}
        self.states = {i: s.name for i, s in lookup.states(unit).items()}

    def __call__(self, ticket_id: int, row: Row) -> list[dict[str, Any]]:
        ticket = row.ticket
        queue_id, state_id = ticket["queue_id"], ticket["state_id"]
        data = new_ticket_data(ticket["tn"], self.queues[queue_id], self.states[state_id], ticket["priority_id"])
        base = {"ticket_id": ticket_id, "actor_id": self.actor, "queue_id": queue_id, "at": ticket["created"]}
        entries = [{**base, "type": "NewTicket", "data": data}]
        entries += [
            {**base, "type": article_history(a["channel"], a["sender"]), "data": {"channel": a["channel"]}}
            for a in row.articles
        ]
        return entries

"""Tickets in and out in bulk: import from JSON, JSONL, YAML or CSV; export complete tickets.

Import checks every record before it writes (a bad line names its number), then creates
the tickets in batches, one transaction per batch, with Core executemany inserts and
ticket numbers reserved for the whole batch at once. With ``external_id``, a rerun after a
crash skips what a committed batch already created: only whole batches ever exist.

Export streams complete tickets (articles, attachments' metadata, history) in chunks; its
output is import's input, so a desk moves to another database record by record.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from sqlalchemy import bindparam, func, insert, select

from tktctl import yamlload
from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.lookup import chunks
from tktctl.core.vocabulary import (
    CHANNELS,
    HISTORY_TYPES,
    SENDERS,
    choice,
    clean_column,
    clean_text,
    parse_priority,
)
from tktctl.db.models import Agent, Article, Attachment, History, Queue, Ticket, UTCDateTime
from tktctl.errors import ConflictError, PartialFailure, PermissionDeniedError, TktctlError, UsageError
from tktctl.gcpause import collector_paused
from tktctl.isotime import iso
from tktctl.sla import deadlines
from tktctl.text import plural
from tktctl.tickets.changes import Selected, article_history, clean_ticket_text, new_ticket_data
from tktctl.tickets.numbering import is_valid_number, next_numbers
from tktctl.tickets.records import Record, ticket_record, ticket_select

if TYPE_CHECKING:
    from tktctl.core.unit import NumberSettings, Store, Unit
    from tktctl.tickets.verbs import TicketFilter

FORMATS = ("json", "jsonl", "yaml", "csv")
IF_EXISTS = ("skip", "update", "fail")
# The keys a record may carry (an exported ticket's other keys are derived, see DERIVED).
# fmt: off
FIELDS = {
    "tn", "title", "queue", "priority", "state", "lock", "owner", "responsible", "customer", "type",
    "created", "changed", "pending_until", "external_id", "body", "subject", "channel", "articles", "history",
}
# fmt: on
# Keys an exported ticket carries that import recomputes or ignores.
DERIVED = {"id", "state_type", "priority_name", "escalation", "created_now"}
# Keys that keep what another desk made (its number, times and history): a migration, for admins only.
PRESERVING = ("tn", "created", "changed", "history")
# The keys `--if-exists update` changes, when a record gives them a value.
UPDATE_KEYS = ("title", "customer", "type", "priority", "responsible", "state", "pending_until", "queue", "owner")
# An existing ticket's values an update compares the record with, read under its row lock.
UPDATE_COLUMNS = (
    Ticket.title,
    Ticket.customer,
    Ticket.type,
    Ticket.priority_id,
    Ticket.responsible_id,
    Ticket.state_id,
    Ticket.pending_until,
    Ticket.queue_id,
    Ticket.owner_id,
)


NESTED = "nested too deeply"


def read_records(stream: TextIO, fmt: str | None = None) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) pairs; a value that failed to parse is a UsageError.

    JSONL is read line by line (constant memory); JSON and YAML number records by their
    position in the list, CSV by line (the header is line 1). Without ``fmt``, the first
    character that is not white space tells the format.
    """
    lines: Iterable[str] = stream
    first = 1
    if fmt is None:
        skipped = ""
        head = stream.read(1)
        while head.isspace():
            skipped += head
            head = stream.read(1)
        fmt = "json" if head == "[" else "jsonl" if head in ("{", "") else "yaml"
        first += skipped.count("\n")
        lines = chain([head + stream.readline()], stream) if head else ()
    else:
        choice("input format", fmt, FORMATS)
    if fmt == "jsonl":
        for number, line in enumerate(lines, start=first):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, UsageError(f"line {number}: invalid JSON: {exc.msg}")
            except RecursionError:
                yield number, UsageError(f"line {number}: invalid JSON: {NESTED}")
        return
    text = "\n" * (first - 1) + "".join(lines)
    if fmt == "csv":
        for number, row in enumerate(csv.DictReader(text.splitlines()), start=2):
            yield number, {k: v for k, v in row.items() if v not in ("", None)}
        return
    if fmt == "json":
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, ValueError) as exc:
            raise UsageError(f"invalid {fmt}: {exc}") from exc
        except RecursionError as exc:
            raise UsageError(f"invalid {fmt}: {NESTED}") from exc
    else:
        name = getattr(stream, "name", "-")
        value = yamlload.load(text, name if isinstance(name, str) and name != "<stdin>" else "-")
    items = value if isinstance(value, list) else [value]
    yield from enumerate(items, start=1)


@dataclass
class Row:
    """One checked input record, ready to insert (``attachments`` runs beside ``articles``)."""

    line: int
    ticket: dict[str, Any]
    articles: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[list[dict[str, Any]]] = field(default_factory=list)
    history: list[dict[str, Any]] | None = None
    given: frozenset[str] = frozenset()  # UPDATE_KEYS the record gives (read by `--if-exists update` only)


@dataclass
class ImportResult:
    """Per-record outcomes (``line``, ``ok``, ``action``, ``tn``, ``external_id``, ``error``) and totals."""

    outcomes: list[Record]
    totals: dict[str, int]

    def __iter__(self) -> Iterator[Record]:
        return iter(self.outcomes)


ACCEPTED = frozenset(FIELDS | DERIVED)
ARTICLE_TEXT = ("channel", "sender", "from", "to", "subject", "body")
TEXT_FIELDS = ("queue", "state", "owner", "responsible", "lock", "channel", "body", "subject")


class Checker:
    """Turns raw records into rows, resolving names once per import (read in one transaction).

    It runs once per input record, so what a record can share with the others (ids of
    queues, states and agents, the actor, the time of the import) is looked up here once.
    """

    def __init__(self, unit: Unit, numbers: NumberSettings, if_exists: str) -> None:
        self.unit = unit
        self.numbers = numbers
        self.admin = permissions.is_admin(unit)
        self.update = if_exists == "update"
        self.keysets: dict[frozenset[str], frozenset[str]] = {}
        self.queues = {q.name: q.id for q in lookup.queues(unit).values()}
        self.states = {s.name: s.id for s in lookup.states(unit).values() if s.type != "merged"}
        self.agents: dict[str, int] = {login: i for login, i in unit.session.execute(select(Agent.login, Agent.id))}
        self.actor = unit.actor.id
        self.now = unit.now

    def agent(self, login: Any) -> int:
        if login not in self.agents:
            raise lookup_error("agent", login)
        return self.agents[login]

    def time(self, value: Any, what: str) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise UsageError(f"{what} must be a time string, not {type(value).__name__}")
        return self.unit.parse_time(value)

    def row(self, line: int, raw: Any) -> Row:
        if not isinstance(raw, dict):
            raise UsageError(f"a record must be an object, not {type(raw).__name__}")
        if not raw.keys() <= ACCEPTED:
            unknown = sorted(raw.keys() - ACCEPTED)
            raise UsageError(f"unknown field {', '.join(unknown)}; fields: {', '.join(sorted(FIELDS))}")
        for key in TEXT_FIELDS:
            value = raw.get(key)
            if value is not None and not isinstance(value, str):
                raise UsageError(f"{key} must be a string, not {type(value).__name__}")
        self.refuse_preserving(raw)
        get = raw.get
        clean_ticket_text(raw)
        title, customer, tn = raw["title"], get("customer"), get("tn")
        if tn is not None and not is_valid_number(self.numbers.generator, self.numbers.system_id, tn):
            raise UsageError(
                f"tn {tn!r} is not a {self.numbers.generator} ticket number of this desk"
                f" (system id {self.numbers.system_id})"
            )
        queue_name = get("queue") or "Raw"
        queue = self.queues.get(queue_name)
        if queue is None:
            raise lookup_error("queue", queue_name)
        state = self.states.get(get("state") or "new")
        if state is None:
            raise lookup_error("state", get("state"))
        priority = get("priority", 3)
        if isinstance(priority, bool) or not isinstance(priority, (int, str)):
            raise UsageError(f"priority must be 1-5 or a name, not {type(priority).__name__}")
        created = self.time(get("created"), "created") or self.now
        owner = get("owner")
        responsible = get("responsible")
        lock = choice("lock", get("lock", "unlocked"), ("locked", "unlocked"))
        ticket = {
            "tn": tn,
            "title": title,
            "queue_id": queue,
            "state_id": state,
            "priority_id": parse_priority(priority),
            "locked": lock == "locked",
            "owner_id": self.agent(owner) if owner else self.actor,
            "responsible_id": self.agent(responsible) if responsible else None,
            "customer": customer,
            "type": get("type"),
            "created": created,
            "changed": self.time(get("changed"), "changed") or created,
            "pending_until": self.time(get("pending_until"), "pending_until"),
            "external_id": get("external_id"),
            "created_by": self.actor,
            "changed_by": self.actor,
        }
        row = Row(line, ticket)
        if self.update:
            given = frozenset(k for k in UPDATE_KEYS if get(k) is not None)
            row.given = self.keysets.setdefault(given, given)
        articles = get("articles") or []
        if not isinstance(articles, list):
            raise UsageError("articles must be a list")
        if get("body") is not None:
            articles = [{"body": raw["body"], "subject": get("subject"), "channel": get("channel")}, *articles]
        for article in articles:
            self.article(row, article, created, title, customer)
        if get("history") is not None:
            if not isinstance(raw["history"], list):
                raise UsageError("history must be a list")
            row.history = [self.entry(h, queue) for h in raw["history"]]
        return row

    def refuse_preserving(self, raw: dict[str, Any]) -> None:
        """A non-admin's record gets its own number, times and history: asking to keep them is refused.

        With `--if-exists update` a ``tn`` only finds the ticket to update (matching is not
        keeping); one that matches nothing is refused when the batch is written.
        """
        if self.admin:
            return
        kept = [k for k in PRESERVING if raw.get(k) is not None and not (k == "tn" and self.update)]
        articles = raw.get("articles")
        if isinstance(articles, list) and any(isinstance(a, dict) and a.get("created") is not None for a in articles):
            kept.append("articles' created")
        if kept:
            raise PermissionDeniedError(
                f"permission denied: keeping {', '.join(kept)} is a migration: agent {self.unit.actor.login!r}"
                f" needs 'rw' on group {permissions.ADMIN_GROUP!r}",
                ref=kept[0],
            )

    def article(self, row: Row, raw: Any, created: datetime, title: str, customer: str | None) -> None:
        """Add one checked article (and its attachments' metadata) to ``row``."""
        if not isinstance(raw, dict):
            raise UsageError("an article must be an object")
        get = raw.get
        for key in ARTICLE_TEXT:
            value = get(key)
            if value is not None and type(value) is not str:
                raise UsageError(f"article {key} must be a string, not {type(value).__name__}")
        channel = choice("channel", get("channel") or "phone", CHANNELS)
        sender = choice("sender", get("sender") or ("agent" if channel == "internal" else "customer"), SENDERS)
        clean_text("body", get("body"))
        attachments = get("attachments") or []
        if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
            raise UsageError("attachments must be a list of objects")
        row.articles.append(
            {
                "channel": channel,
                "sender": sender,
                "a_from": get("from", customer),
                "a_to": get("to"),
                "subject": get("subject") or title,
                "body": get("body"),
                "visible_to_customer": bool(get("visible_to_customer", channel != "internal")),
                "created": self.time(get("created"), "article created") or created,
                "created_by": self.actor,
            }
        )
        row.attachments.append(attachments and [_attachment(a) for a in attachments])

    def entry(self, raw: Any, queue_id: int) -> dict[str, Any]:
        """One history row an admin's migration keeps: a known OTRS type, an existing actor, a real time."""
        if not isinstance(raw, dict):
            raise UsageError("a history entry must be an object")
        kind = raw.get("type")
        if not isinstance(kind, str):
            raise UsageError(f"history type must be a string, not {type(kind).__name__}")
        clean_column("history type", kind, History.type, required=True)
        if kind not in HISTORY_TYPES:
            raise UsageError(f"history type {kind!r} is not an OTRS history type")
        for key in ("actor", "queue"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise UsageError(f"history {key} must be a string, not {type(raw[key]).__name__}")
        data = raw.get("data") or {}
        if not isinstance(data, dict):
            raise UsageError(f"history data must be an object, not {type(data).__name__}")
        return {
            "type": kind,
            "actor_id": self.agent(raw["actor"]) if raw.get("actor") else self.actor,
            "queue_id": self.queues.get(raw.get("queue") or "", queue_id),
            "at": self.time(raw.get("at"), "history at") or self.now,
            "data": data,
        }


# Attachment sizes are stored in a signed 64-bit column.
SIZE_LIMIT = 2**63


def _attachment(raw: dict[str, Any]) -> dict[str, Any]:
    """One attachment's metadata (the content is not exported, so not imported)."""
    size = raw.get("size", 0)
    if isinstance(size, bool) or not isinstance(size, int):
        raise UsageError(f"attachment size must be a whole number of bytes, not {type(size).__name__}")
    if not 0 <= size < SIZE_LIMIT:
        raise UsageError("attachment size is out of range")
    filename, content_type = raw.get("filename", ""), raw.get("content_type", "application/octet-stream")
    for kind, value, column in (
        ("attachment filename", filename, Attachment.filename),
        ("attachment content_type", content_type, Attachment.content_type),
    ):
        if not isinstance(value, str):
            raise UsageError(f"{kind} must be a string, not {type(value).__name__}")
        clean_column(kind, value, column)
    return {"filename": filename, "content_type": content_type, "size": size, "content": b""}


def lookup_error(kind: str, name: Any) -> TktctlError:
    from tktctl.errors import NotFoundError

    return NotFoundError(f"{kind} {name!r} not found", ref=None if name is None else str(name))


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
    ) -> ImportResult:
        """Check every record, then create them in batches (one transaction each).

        Atomic (the default): the first bad record is raised, naming its line, and nothing is
        written. ``continue_on_error``: every good record is created and each bad one is
        reported; PartialFailure (exit 7) at the end if any was bad.
        """
        choice("--if-exists", if_exists, IF_EXISTS)
        if batch_size < 1:
            raise UsageError("--batch-size must be at least 1")
        # The checked records and their rows are many acyclic objects: collector scans free nothing.
        with collector_paused():
            rows, outcomes = self._check(records, continue_on_error, if_exists)
            totals = {"created": 0, "updated": 0, "skipped": 0, "failed": len(outcomes)}
            try:
                for batch in chunks(rows, batch_size):
                    for outcome in self._batch(batch, if_exists, dry_run, continue_on_error):
                        totals[outcome["action"]] += 1
                        outcomes.append(outcome)
                    if progress is not None:
                        progress(len(batch))
            finally:
                if not dry_run:  # also after a failed batch: those before it are committed
                    self.store.checkpoint()
        outcomes.sort(key=lambda o: o["line"])
        if totals["failed"]:
            failure = PartialFailure(f"{totals['failed']} of {plural(len(outcomes), 'record')} failed", outcomes)
            raise failure
        return ImportResult(outcomes, totals)

    def _check(
        self, records: Iterable[tuple[int, Any]], keep_going: bool, if_exists: str
    ) -> tuple[list[Row], list[Record]]:
        rows: list[Row] = []
        bad: list[Record] = []
        with self.store.read() as unit:
            checker = Checker(unit, self.store.numbers, if_exists)
            seen: dict[str, dict[str, int]] = {"external_id": {}, "tn": {}}
            for line, raw in records:
                try:
                    if isinstance(raw, TktctlError):
                        raise raw
                    row = checker.row(line, raw)
                    for name, lines in seen.items():
                        key = row.ticket[name]
                        if key is not None and key in lines:
                            raise UsageError(f"{name} {key!r} repeats line {lines[key]}")
                        if key is not None:
                            lines[key] = line
                    rows.append(row)
                except TktctlError as exc:
                    if not keep_going:
                        raise _at_line(line, exc) from exc
                    bad.append(_failed(line, exc))
            if if_exists != "update":  # refused before anything is written; an update's records may only match
                _require_create(unit, rows)
        return rows, bad

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
        _require_create(unit, rows)
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
        _insert_rows(conn, Ticket.__table__, [r.ticket for r in rows])
        ids = {tn: i for tn, i in conn.execute(select(Ticket.tn, Ticket.id).where(Ticket.id > before))}
        articles: list[dict[str, Any]] = []
        attachments: list[list[dict[str, Any]]] = []
        history: list[dict[str, Any]] = []
        made = _NewHistory(unit)
        for row in rows:
            ticket_id = ids[row.ticket["tn"]]
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
        if any(attachments):
            # Rare: attachments need their article's id, so these articles come back one by one.
            returning = insert(Article).returning(Article.id, sort_by_parameter_order=True)
            article_ids = [r[0] for r in conn.execute(returning, articles)]
            files = [{**f, "article_id": a} for a, fs in zip(article_ids, attachments, strict=True) for f in fs]
            conn.execute(insert(Attachment), files)
        elif articles:
            _insert_rows(conn, Article.__table__, articles)
        if history:
            _insert_rows(conn, History.__table__, history)
        timed = {q for q, sla in deadlines.slas(unit).items() if sla.any}
        if timed:  # deadlines after the articles: an agent's answer or a customer's contact moves them
            deadlines.refresh(unit, [ids[r.ticket["tn"]] for r in rows if r.ticket["queue_id"] in timed])
        return [_outcome(row, "created", row.ticket["tn"]) for row in rows]

    # Export --------------------------------------------------------------------------

    def export_tickets(self, selection: TicketFilter | None = None) -> Iterator[Record]:
        """Complete tickets (articles with attachments' metadata, history), streamed in chunks."""
        from tktctl.tickets.verbs import TicketFilter, filter_clauses

        with self.store.read() as unit:
            clauses = filter_clauses(unit, selection or TicketFilter())
            ids = list(unit.session.scalars(select(Ticket.id).where(*clauses).order_by(Ticket.id)))
            for part in chunks(ids):
                yield from _complete(unit, part)


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


def _insert_rows(conn: Any, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` the fastest way the driver has: COPY on PostgreSQL, else executemany.

    Values are converted a column at a time instead of a value at a time, and a column of
    hashable values once per distinct value: an import's times repeat (a ticket's creation
    is also its article's and its history's). The statement is compiled once. This is what
    keeps a 100,000-ticket import near (or, with COPY, past) the driver's plain rate.
    """
    dialect = conn.dialect
    keys = list(rows[0])
    if dialect.driver == "psycopg":
        columns = _columns(dialect, table, keys, rows)
        names = ", ".join(dialect.identifier_preparer.quote(table.c[k].name) for k in keys)
        cursor = conn.connection.driver_connection.cursor()
        with cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for values in zip(*columns, strict=True):
                copy.write_row(values)
        return
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    names = list(compiled.positiontup) if compiled.positional else keys
    columns = _columns(dialect, table, names, rows)
    if compiled.positional:
        params: list[Any] = list(zip(*columns, strict=True))
    else:
        params = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    conn.exec_driver_sql(compiled.string, params)


def _columns(dialect: Any, table: Any, names: list[str], rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """The values of ``names`` column by column, each through its type's bind conversion."""
    columns = [[row[name] for row in rows] for name in names]
    for index, name in enumerate(names):
        column_type = table.c[name].type
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            continue
        if isinstance(column_type, UTCDateTime):
            # Once per distinct time; times that are the same instant convert alike.
            distinct = {value: process(value) for value in set(columns[index])}
            columns[index] = list(map(distinct.__getitem__, columns[index]))
        else:
            columns[index] = list(map(process, columns[index]))
    return columns


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
    from tktctl.tickets import verbs

    new, given = row.ticket, row.given
    current = unit.session.execute(select(*UPDATE_COLUMNS).where(Ticket.id == ticket_id).with_for_update()).one()
    sel = Selected.of([ticket_id])
    fields = {k: new[k] for k in ("title", "customer", "type") if k in given and new[k] != getattr(current, k)}
    if fields:
        verbs.fields_change(unit, sel, fields)
    if "priority" in given and new["priority_id"] != current.priority_id:
        verbs.prioritize_change(unit, sel, new["priority_id"], 0)
    logins = lookup.logins(unit, [new["owner_id"], new["responsible_id"]])
    if "responsible" in given and new["responsible_id"] != current.responsible_id:
        verbs.assign_change(unit, sel, logins[new["responsible_id"]], responsible=True)
    state_id = new["state_id"] if "state" in given else current.state_id
    pending = new["pending_until"] if given & {"state", "pending_until"} else current.pending_until
    if state_id != current.state_id or pending != current.pending_until:
        verbs.state_change(unit, sel, lookup.states(unit)[state_id].name, pending)
    if "queue" in given and new["queue_id"] != current.queue_id:
        verbs.move_change(unit, sel, lookup.queues(unit)[new["queue_id"]].name)
    if "owner" in given and new["owner_id"] != current.owner_id:
        verbs.assign_change(unit, sel, logins[new["owner_id"]])


def _require_create(unit: Unit, rows: Sequence[Row]) -> None:
    """``create`` on the groups of the queues new tickets go to, as `ticket create` needs."""
    queues = lookup.queues(unit)
    permissions.require(unit, "create", {queues[row.ticket["queue_id"]].group_id for row in rows})


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


def _complete(unit: Unit, ids: Sequence[int]) -> Iterator[Record]:
    from tktctl.tickets.records import articles_of, history_select

    tickets = {row.id: ticket_record(row) for row in unit.session.execute(ticket_select().where(Ticket.id.in_(ids)))}
    by_ticket = articles_of(unit, ids)
    history: dict[int, list[Record]] = {}
    statement = (
        history_select()
        .add_columns(History.ticket_id, Queue.name.label("queue"))
        .join(Queue, History.queue_id == Queue.id)
        .where(History.ticket_id.in_(ids))
        .order_by(History.id)
    )
    for row in unit.session.execute(statement):
        entry = dict(row._mapping)
        history.setdefault(entry.pop("ticket_id"), []).append(entry)
    for ticket_id in ids:
        record = tickets[ticket_id]
        record["articles"] = by_ticket.get(ticket_id, [])
        record["history"] = history.get(ticket_id, [])
        yield record


def copy_desk(source: Store, target_url: str, progress: Callable[[int], None] | None = None) -> list[Record]:
    """Copy every table, ids and ticket numbers included, into an empty database; then verify it.

    The target is migrated first and written in one transaction (all or nothing); on
    PostgreSQL the id sequences are moved past the copied ids (InnoDB and SQLite follow
    the largest id by themselves). Each table's row count and checksum must then agree.
    """
    from sqlalchemy import text

    from tktctl.core.unit import Store
    from tktctl.db.engine import normalise_url
    from tktctl.db.models import Base

    if normalise_url(target_url) == normalise_url(source.url):
        raise UsageError("the target is the source database")
    source.status()  # reachable
    with source.read() as unit:  # the source must be a desk of this version
        permissions.require_admin(unit)  # every table, password hashes included: as `desk dump`
    target = Store(target_url)
    try:
        target.upgrade()
        with target.engine.connect() as conn:
            filled = [t.name for t in Base.metadata.sorted_tables if conn.execute(select(t).limit(1)).first()]
        if filled:
            raise ConflictError(f"target database is not empty (table {filled[0]} has rows); copy needs an empty one")
        with source.engine.connect() as reader, target.engine.begin() as writer:
            for table in Base.metadata.sorted_tables:
                order = list(table.primary_key.columns)
                rows = reader.execution_options(yield_per=5000).execute(select(table).order_by(*order))
                for part in rows.partitions():
                    _insert_rows(writer, table, [r._asdict() for r in part])
                    if progress is not None:
                        progress(len(part))
            if writer.dialect.name == "postgresql":
                for table in Base.metadata.sorted_tables:
                    if "id" in table.c and table.c.id.autoincrement in (True, "auto") and table.c.id.primary_key:
                        writer.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table.name}"
                            )
                        )
        return verify_copy(source, target)
    finally:
        target.close()


def verify_copy(source: Store, target: Store) -> list[Record]:
    """Row count and SHA-256 of every table on both sides; a difference is a database error."""
    from tktctl.db.models import Base
    from tktctl.errors import DatabaseError

    report: list[Record] = []
    with source.engine.connect() as left, target.engine.connect() as right:
        for table in Base.metadata.sorted_tables:
            (rows, mine), (their_rows, theirs) = _checksum(left, table), _checksum(right, table)
            report.append(
                {"table": table.name, "rows": rows, "checksum": mine, "verified": (rows, mine) == (their_rows, theirs)}
            )
            if not report[-1]["verified"]:
                raise DatabaseError(
                    f"copy of table {table.name} differs: {plural(rows, 'row')} ({mine[:12]}) here, "
                    f"{plural(their_rows, 'row')} ({theirs[:12]}) there"
                )
    return report


def _checksum(conn: Any, table: Any) -> tuple[int, str]:
    """Rows in primary-key order as canonical JSON, hashed: the same on every backend."""
    import hashlib

    digest = hashlib.sha256()
    count = 0
    result = conn.execution_options(yield_per=5000).execute(select(table).order_by(*table.primary_key.columns))
    for row in result:
        values = [_canonical(v) for v in row]
        digest.update(json.dumps(values, sort_keys=True, ensure_ascii=False).encode())
        count += 1
    return count, digest.hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return value

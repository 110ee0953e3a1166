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
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import bindparam, insert, select, update

from tktctl.db.models import Agent, Article, Attachment, History, Queue, Ticket
from tktctl.errors import ConflictError, PartialFailure, TktctlError, UsageError
from tktctl.isotime import iso
from tktctl.services import lookup, permissions
from tktctl.services.lookup import chunks
from tktctl.services.numbering import next_numbers
from tktctl.services.records import Record, ticket_record, ticket_select
from tktctl.services.vocabulary import CHANNELS, SENDERS, TITLE_MAX, choice, clean_text, parse_priority

if TYPE_CHECKING:
    from tktctl.services.desk import Desk, Unit
    from tktctl.services.tickets import TicketFilter

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
UPDATABLE = ("title", "queue_id", "state_id", "priority_id", "customer", "type", "owner_id", "pending_until")


def read_records(stream: TextIO, fmt: str | None = None) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) pairs; a value that failed to parse is a UsageError.

    JSONL is read line by line (constant memory); JSON and YAML number records by their
    position in the list, CSV by line (the header is line 1).
    """
    if fmt is None:
        head = stream.read(1)
        while head.isspace():
            head = stream.read(1)
        fmt = "json" if head == "[" else "jsonl" if head in ("{", "") else "yaml"
        text_rest: Iterable[str] = _prepend(head, stream)
    else:
        choice("input format", fmt, FORMATS)
        text_rest = stream
    if fmt == "jsonl":
        for number, line in enumerate(text_rest_lines(text_rest), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, UsageError(f"line {number}: invalid JSON: {exc.msg}")
        return
    text = "".join(text_rest)
    if fmt == "csv":
        for number, row in enumerate(csv.DictReader(text.splitlines()), start=2):
            yield number, {k: v for k, v in row.items() if v not in ("", None)}
        return
    try:
        if fmt == "json":
            value = json.loads(text)
        else:
            import yaml

            value = yaml.safe_load(text)
    except (json.JSONDecodeError, ValueError) as exc:
        raise UsageError(f"invalid {fmt}: {exc}") from exc
    except Exception as exc:  # yaml.YAMLError without importing yaml at module level
        raise UsageError(f"invalid {fmt}: {exc}") from exc
    items = value if isinstance(value, list) else [value]
    yield from enumerate(items, start=1)


def _prepend(head: str, stream: TextIO) -> Iterator[str]:
    yield head
    yield from iter(lambda: stream.read(65536), "")


def text_rest_lines(chunks_of_text: Iterable[str]) -> Iterator[str]:
    """Lines from a stream of text pieces, without holding more than one piece."""
    pending = ""
    for piece in chunks_of_text:
        pending += piece
        *lines, pending = pending.split("\n")
        yield from lines
    if pending:
        yield pending


@dataclass
class Row:
    """One checked input record, ready to insert."""

    line: int
    ticket: dict[str, Any]
    articles: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] | None = None


@dataclass
class ImportResult:
    """Per-record outcomes (``line``, ``ok``, ``action``, ``tn``, ``external_id``, ``error``) and totals."""

    outcomes: list[Record]
    totals: dict[str, int]

    def __iter__(self) -> Iterator[Record]:
        return iter(self.outcomes)


class Checker:
    """Turns raw records into rows, resolving names once per import (read in one transaction)."""

    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        self.queues = {q.name: q for q in lookup.queues(unit).values()}
        self.states = {s.name: s for s in lookup.states(unit).values()}
        self.agents: dict[str, int] = {login: i for login, i in unit.session.execute(select(Agent.login, Agent.id))}

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
        unknown = sorted(set(raw) - FIELDS - DERIVED)
        if unknown:
            raise UsageError(f"unknown field {', '.join(unknown)}; fields: {', '.join(sorted(FIELDS))}")
        for key in ("title", "queue", "state", "customer", "type", "external_id", "tn", "owner", "body", "subject"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise UsageError(f"{key} must be a string, not {type(raw[key]).__name__}")
        title = clean_text("title", raw.get("title"), limit=TITLE_MAX, required=True)
        clean_text("customer", raw.get("customer"), limit=150)
        clean_text("external id", raw.get("external_id"), limit=200)
        queue_name = raw.get("queue") or "Raw"
        queue = self.queues.get(queue_name)
        if queue is None:
            raise lookup_error("queue", queue_name)
        state = self.states.get(raw.get("state") or "new")
        if state is None or state.type == "merged":
            raise lookup_error("state", raw.get("state"))
        priority = raw.get("priority", 3)
        if isinstance(priority, bool) or not isinstance(priority, (int, str)):
            raise UsageError(f"priority must be 1-5 or a name, not {type(priority).__name__}")
        created = self.time(raw.get("created"), "created") or self.unit.now
        owner = raw.get("owner")
        responsible = raw.get("responsible")
        lock = raw.get("lock", "unlocked")
        choice("lock", lock, ("locked", "unlocked"))
        ticket = {
            "tn": raw.get("tn"),
            "title": title,
            "queue_id": queue.id,
            "state_id": state.id,
            "priority_id": parse_priority(priority),
            "locked": lock == "locked",
            "owner_id": self.agent(owner) if owner else self.unit.actor.id,
            "responsible_id": self.agent(responsible) if responsible else None,
            "customer": raw.get("customer"),
            "type": raw.get("type"),
            "created": created,
            "changed": self.time(raw.get("changed"), "changed") or created,
            "pending_until": self.time(raw.get("pending_until"), "pending_until"),
            "external_id": raw.get("external_id"),
            "created_by": self.unit.actor.id,
            "changed_by": self.unit.actor.id,
        }
        row = Row(line, ticket)
        articles = raw.get("articles") or []
        if raw.get("body") is not None:
            articles = [{"body": raw["body"], "subject": raw.get("subject"), "channel": raw.get("channel")}, *articles]
        if not isinstance(articles, list):
            raise UsageError("articles must be a list")
        row.articles = [self.article(a, created, title, raw.get("customer")) for a in articles]
        if raw.get("history") is not None:
            if not isinstance(raw["history"], list):
                raise UsageError("history must be a list")
            row.history = [self.entry(h, queue.id) for h in raw["history"]]
        return row

    def article(self, raw: Any, created: datetime, title: str, customer: str | None) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise UsageError("an article must be an object")
        channel = choice("channel", raw.get("channel") or "phone", CHANNELS)
        sender = choice("sender", raw.get("sender") or ("agent" if channel == "internal" else "customer"), SENDERS)
        clean_text("body", raw.get("body"))
        attachments = raw.get("attachments") or []
        if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
            raise UsageError("attachments must be a list of objects")
        return {
            "channel": channel,
            "sender": sender,
            "a_from": raw.get("from", customer),
            "a_to": raw.get("to"),
            "subject": raw.get("subject") or title,
            "body": raw.get("body"),
            "visible_to_customer": bool(raw.get("visible_to_customer", channel != "internal")),
            "created": self.time(raw.get("created"), "article created") or created,
            "created_by": self.unit.actor.id,
            "attachments": [
                {
                    "filename": str(a.get("filename", "")),
                    "content_type": str(a.get("content_type", "application/octet-stream")),
                    "size": int(a.get("size", 0)),
                    "content": b"",
                }
                for a in attachments
            ],
        }

    def entry(self, raw: Any, queue_id: int) -> dict[str, Any]:
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise UsageError("a history entry must be an object with a type")
        queue = self.queues.get(raw.get("queue") or "")
        return {
            "type": raw["type"],
            "actor_id": self.agent(raw["actor"]) if raw.get("actor") else self.unit.actor.id,
            "queue_id": queue.id if queue is not None else queue_id,
            "at": self.time(raw.get("at"), "history at") or self.unit.now,
            "data": raw.get("data") or {},
        }


def lookup_error(kind: str, name: Any) -> TktctlError:
    from tktctl.errors import NotFoundError

    return NotFoundError(f"{kind} {name!r} not found", ref=None if name is None else str(name))


class Transfer:
    """Bulk import and export of complete tickets."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

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
        rows, outcomes = self._check(records, continue_on_error)
        totals = {"created": 0, "updated": 0, "skipped": 0, "failed": len(outcomes)}
        for batch in chunks(rows, batch_size):
            for outcome in self._batch(batch, if_exists, dry_run):
                totals[outcome["action"]] += 1
                outcomes.append(outcome)
            if progress is not None:
                progress(len(batch))
        outcomes.sort(key=lambda o: o["line"])
        if totals["failed"]:
            failure = PartialFailure(f"{totals['failed']} of {len(outcomes)} records failed", outcomes)
            raise failure
        return ImportResult(outcomes, totals)

    def _check(self, records: Iterable[tuple[int, Any]], keep_going: bool) -> tuple[list[Row], list[Record]]:
        rows: list[Row] = []
        bad: list[Record] = []
        with self.desk.read() as unit:
            checker = Checker(unit)
            seen: dict[str, int] = {}
            for line, raw in records:
                try:
                    if isinstance(raw, TktctlError):
                        raise raw
                    row = checker.row(line, raw)
                    key = row.ticket["external_id"]
                    if key is not None and key in seen:
                        raise UsageError(f"external_id {key!r} repeats line {seen[key]}")
                    if key is not None:
                        seen[key] = line
                    rows.append(row)
                except TktctlError as exc:
                    message = exc.message if exc.message.startswith("line ") else f"line {line}: {exc.message}"
                    if not keep_going:
                        raise type(exc)(message, ref=exc.ref) from exc
                    error = {**exc.to_dict()["error"], "message": message}
                    bad.append({"line": line, "ok": False, "action": "failed", "tn": None, "error": error})
            # create on the groups of the queues the records go to, as `ticket create` needs
            queues = lookup.queues(unit)
            permissions.require(unit, "create", {queues[row.ticket["queue_id"]].group_id for row in rows})
        return rows, bad

    def _batch(self, batch: Sequence[Row], if_exists: str, dry_run: bool) -> list[Record]:
        """One transaction: skip/update/refuse existing keys, then insert the rest set-wise."""
        with self.desk.write(dry_run=dry_run) as unit:
            _custom_plans(unit)
            existing = _existing(unit, batch)
            outcomes: list[Record] = []
            fresh: list[Row] = []
            updates: list[dict[str, Any]] = []
            for row in batch:
                found = existing.get(("external_id", row.ticket["external_id"])) or existing.get(
                    ("tn", row.ticket["tn"])
                )
                if found is None:
                    fresh.append(row)
                    continue
                if if_exists == "fail":
                    raise ConflictError(
                        f"line {row.line}: ticket {found[1]} exists (same external_id or tn)",
                        ref=found[1],
                    )
                action = "updated" if if_exists == "update" else "skipped"
                if action == "updated":
                    updates.append({"_id": found[0], **{k: row.ticket[k] for k in UPDATABLE}})
                outcomes.append(_outcome(row, action, found[1]))
            if updates:
                values = {k: bindparam(k) for k in UPDATABLE}
                statement = update(Ticket).where(Ticket.id == bindparam("_id")).values(**values, changed=unit.now)
                unit.session.connection().execute(statement, updates)
            outcomes += self._insert(unit, fresh)
            return outcomes

    def _insert(self, unit: Unit, rows: Sequence[Row]) -> list[Record]:
        if not rows:
            return []
        needed = sum(1 for r in rows if not r.ticket["tn"])
        fresh = iter(self._reserve(unit, needed, {r.ticket["tn"] for r in rows if r.ticket["tn"]}))
        for row in rows:
            row.ticket["tn"] = row.ticket["tn"] or next(fresh)
        conn = unit.session.connection()
        # Plain executemany (the driver's fast path); ids are then read back by ticket number.
        _executemany(conn, Ticket.__table__, [r.ticket for r in rows])
        ids: dict[str, int] = {}
        for part in chunks([r.ticket["tn"] for r in rows]):
            ids.update({tn: i for tn, i in conn.execute(select(Ticket.tn, Ticket.id).where(Ticket.tn.in_(part)))})
        articles: list[dict[str, Any]] = []
        attachments: list[list[dict[str, Any]]] = []
        history: list[dict[str, Any]] = []
        for row in rows:
            ticket_id = ids[row.ticket["tn"]]
            for article in row.articles:
                articles.append({**{k: v for k, v in article.items() if k != "attachments"}, "ticket_id": ticket_id})
                attachments.append(article["attachments"])
            if row.history is not None:
                history += [{**h, "ticket_id": ticket_id} for h in row.history]
            else:
                history += _new_history(unit, ticket_id, row)
        if any(attachments):
            # Rare: attachments need their article's id, so these articles come back one by one.
            returning = insert(Article).returning(Article.id, sort_by_parameter_order=True)
            article_ids = [r[0] for r in conn.execute(returning, articles)]
            files = [{**f, "article_id": a} for a, fs in zip(article_ids, attachments, strict=True) for f in fs]
            conn.execute(insert(Attachment), files)
        elif articles:
            _executemany(conn, Article.__table__, articles)
        if history:
            _executemany(conn, History.__table__, history)
        return [_outcome(row, "created", row.ticket["tn"]) for row in rows]

    def _reserve(self, unit: Unit, count: int, given: set[str]) -> list[str]:
        """``count`` new ticket numbers for a batch, passing over the numbers the batch brings itself."""
        numbers = self.desk.numbers
        reserved: list[str] = []
        while len(reserved) < count:
            batch = next_numbers(
                unit.session,
                generator=numbers.generator,
                system_id=numbers.system_id,
                now=unit.now,
                count=count - len(reserved),
            )
            reserved += [n for n in batch if n not in given]
        return reserved

    # Export --------------------------------------------------------------------------

    def export_tickets(self, selection: TicketFilter | None = None) -> Iterator[Record]:
        """Complete tickets (articles with attachments' metadata, history), streamed in chunks."""
        from tktctl.services.tickets import TicketFilter, filter_clauses

        with self.desk.read() as unit:
            clauses = filter_clauses(unit, selection or TicketFilter())
            ids = list(unit.session.scalars(select(Ticket.id).where(*clauses).order_by(Ticket.id)))
            for part in chunks(ids):
                yield from _complete(unit, part)


def _custom_plans(unit: Unit) -> None:
    """No server-side prepared statements for this import's lookups (psycopg prepares after 5 runs).

    The ticket table grows by a batch at a time: a generic plan made while it was nearly
    empty scans it whole for every later lookup (an import went from 1 min to 9 min).
    """
    driver = unit.session.connection().connection.driver_connection
    if hasattr(driver, "prepare_threshold"):
        driver.prepare_threshold = None


def _executemany(conn: Any, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Core executemany with each column's bind processor looked up once, not once per value.

    The statement is compiled once and handed to the driver's ``executemany``; per row, only
    the columns' own conversions run (times to naive UTC, JSON to text), which is what keeps
    a 100,000-ticket import near the driver's plain rate.
    """
    dialect = conn.dialect
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    names = list(compiled.positiontup) if compiled.positional else keys
    convert = [(name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names]
    if compiled.positional:
        params: list[Any] = [tuple(f(r[k]) if f else r[k] for k, f in convert) for r in rows]
    else:
        params = [{k: f(r[k]) if f else r[k] for k, f in convert} for r in rows]
    conn.exec_driver_sql(compiled.string, params)


def _existing(unit: Unit, batch: Sequence[Row]) -> dict[tuple[str, str], tuple[int, str]]:
    """Tickets already there with a batch row's external_id or tn: (key, value) -> (id, tn)."""
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for name, column in (("external_id", Ticket.external_id), ("tn", Ticket.tn)):
        values = [r.ticket[name] for r in batch if r.ticket[name] is not None]
        for part in chunks(values):
            rows = unit.session.execute(select(column, Ticket.id, Ticket.tn).where(column.in_(part)))
            found.update({(name, value): (i, tn) for value, i, tn in rows})
    return found


def _outcome(row: Row, action: str, tn: str) -> Record:
    return {"line": row.line, "ok": True, "action": action, "tn": tn, "error": None}


def _new_history(unit: Unit, ticket_id: int, row: Row) -> list[dict[str, Any]]:
    """What `ticket create` records: NewTicket, then one entry per article."""
    from tktctl.services.tickets import PRIORITY_NAMES, article_history

    states = lookup.states(unit)
    queues = lookup.queues(unit)
    ticket = row.ticket
    data = {
        "tn": ticket["tn"],
        "queue": queues[ticket["queue_id"]].name,
        "state": states[ticket["state_id"]].name,
        "priority": PRIORITY_NAMES[ticket["priority_id"]],
    }
    base = {"ticket_id": ticket_id, "actor_id": unit.actor.id, "queue_id": ticket["queue_id"], "at": ticket["created"]}
    entries = [{**base, "type": "NewTicket", "data": data}]
    entries += [
        {**base, "type": article_history(a["channel"], a["sender"]), "data": {"channel": a["channel"]}}
        for a in row.articles
    ]
    return entries


def _complete(unit: Unit, ids: Sequence[int]) -> Iterator[Record]:
    from tktctl.services.records import articles_of, history_select

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


def copy_desk(source: Desk, target_url: str, progress: Callable[[int], None] | None = None) -> list[Record]:
    """Copy every table, ids and ticket numbers included, into an empty database; then verify it.

    The target is migrated first and written in one transaction (all or nothing); on
    PostgreSQL the id sequences are moved past the copied ids (InnoDB and SQLite follow
    the largest id by themselves). Each table's row count and checksum must then agree.
    """
    from sqlalchemy import text

    from tktctl.db.engine import normalise_url
    from tktctl.db.models import Base
    from tktctl.services.desk import Desk as DeskClass

    if normalise_url(target_url) == normalise_url(source.url):
        raise UsageError("the target is the source database")
    source.status()  # reachable
    with source.read():  # the source must be a desk of this version
        pass
    target = DeskClass(target_url)
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
                    writer.execute(table.insert(), [dict(r._mapping) for r in part])
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


def verify_copy(source: Desk, target: Desk) -> list[Record]:
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
                    f"copy of table {table.name} differs: {rows} rows ({mine[:12]}) here, "
                    f"{their_rows} rows ({theirs[:12]}) there"
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

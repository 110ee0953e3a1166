"""An import's records read and checked before anything is written: formats, keys, types,
names, ticket numbers and who may keep what (numbers, times, history)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import select

from tktctl import yamlload
from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.vocabulary import (
    CHANNELS,
    HISTORY_TYPES,
    SENDERS,
    choice,
    clean_column,
    clean_text,
    column_length,
    parse_priority,
)
from tktctl.db.models import Agent, Article, Attachment, History, Ticket
from tktctl.errors import PermissionDeniedError, TktctlError, UsageError
from tktctl.tickets import fields as custom_fields
from tktctl.tickets.changes import clean_ticket_text
from tktctl.tickets.numbering import is_valid_number

if TYPE_CHECKING:
    from tktctl.core.unit import NumberSettings, Unit


FORMATS = ("json", "jsonl", "yaml", "csv")
IF_EXISTS = ("skip", "update", "fail")
# The keys a record may carry (an exported ticket's other keys are derived, see DERIVED).
# fmt: off
FIELDS = {
    "tn", "title", "queue", "priority", "state", "lock", "owner", "responsible", "customer", "type",
    "created", "changed", "pending_until", "external_id", "body", "subject", "channel", "articles", "history",
    "links",
    "fields",
}
# fmt: on
# Keys an exported ticket carries that import recomputes or ignores.
DERIVED = {"id", "state_type", "priority_name", "escalation", "created_now", "merged_into", "merged_from"}
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
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (other tn, type, relation): new tickets only
    custom: dict[str, Any] = field(default_factory=dict)  # custom fields as the record gives them
    parsed: custom_fields.Parsed = field(default_factory=list)  # ... checked against their definitions


ACCEPTED = frozenset(FIELDS | DERIVED)
ARTICLE_TEXT = ("channel", "sender", "from", "to", "subject", "body", "cc", "message_id", "in_reply_to", "references")
TEXT_FIELDS = ("queue", "state", "owner", "responsible", "lock", "channel", "body", "subject")
# Read once: a column's length is a slow attribute lookup, and an import checks every record's.
MESSAGE_ID_LIMIT = column_length(Article.message_id)
HISTORY_TYPE_LIMIT = column_length(History.type)


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
        # A merged ticket comes in merged only by a migration (an admin's, which keeps its history).
        self.states = {s.name: s.id for s in lookup.states(unit).values() if s.type != "merged" or self.admin}
        self.agents: dict[str, int] = {login: i for login, i in unit.session.execute(select(Agent.login, Agent.id))}
        self.actor = unit.actor.id
        self.now = unit.now
        self.fields = custom_fields.definitions(unit)

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
            "type": lookup.ticket_type(self.unit, get("type"), disabled_ok=True),
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
        if get("fields"):
            row.custom = raw["fields"]
            row.parsed = custom_fields.parse(self.unit, raw["fields"], self.fields)
        if get("history") is not None:
            if not isinstance(raw["history"], list):
                raise UsageError("history must be a list")
            row.history = [self.entry(h, queue) for h in raw["history"]]
        if get("links") is not None:
            row.links = [_link(link) for link in _list("links", raw["links"])]
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
        clean_text("article message_id", get("message_id"), limit=MESSAGE_ID_LIMIT)
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
                "a_cc": get("cc"),
                "message_id": get("message_id"),
                "in_reply_to": get("in_reply_to"),
                "a_references": get("references"),
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
        clean_text("history type", kind, limit=HISTORY_TYPE_LIMIT, required=True)
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


def _list(key: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise UsageError(f"{key} must be a list")
    return value


def _link(raw: Any) -> tuple[str, str, str]:
    """One link of an exported ticket: the other ticket's ``tn``, ``type`` and ``relation``."""
    if not isinstance(raw, dict) or not isinstance(raw.get("tn"), str):
        raise UsageError("a link must be an object with the linked ticket's tn")
    kind = choice("link type", raw.get("type", "normal"), ("normal", "parent-child"))
    relations = ("normal",) if kind == "normal" else ("parent", "child")
    rel = choice("link relation", raw.get("relation", relations[0]), relations)
    clean_column("link tn", raw["tn"], Ticket.tn, required=True)
    return raw["tn"], kind, rel


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

"""Auto-response templates and which queue sends which (one per queue and type)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.record import Record
from tktctl.core.vocabulary import choice, clean_line, clean_text
from tktctl.db.models import AutoResponse, Queue, QueueAutoResponse
from tktctl.errors import ConflictError, NotFoundError, UsageError
from tktctl.mail.outbound import AUTO_TYPES

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit


def _get(unit: Unit, name: str) -> AutoResponse:
    found = unit.session.scalar(select(AutoResponse).where(AutoResponse.name == name))
    if found is None:
        raise NotFoundError(f"auto-response {name!r} not found", ref=name)
    return found


def _records(unit: Unit, rows: Sequence[AutoResponse]) -> list[Record]:
    used: dict[int, list[str]] = {}
    for response_id, queue in unit.session.execute(
        select(QueueAutoResponse.auto_response_id, Queue.name)
        .join(Queue, Queue.id == QueueAutoResponse.queue_id)
        .order_by(Queue.name)
    ):
        used.setdefault(response_id, []).append(queue)
    return [
        {
            "id": r.id,
            "name": r.name,
            "type": r.type,
            "subject": r.subject,
            "body": r.body,
            "valid": r.valid,
            "queues": used.get(r.id, []),
        }
        for r in rows
    ]


def assign(unit: Unit, queue: Queue, names: Sequence[str]) -> None:
    """Make each named response the queue's response of its type (replacing the previous one)."""
    for name in names:
        response = _get(unit, name)
        unit.session.execute(
            delete(QueueAutoResponse).where(
                QueueAutoResponse.queue_id == queue.id, QueueAutoResponse.type == response.type
            )
        )
        unit.session.execute(
            insert(QueueAutoResponse).values(queue_id=queue.id, type=response.type, auto_response_id=response.id)
        )


def unassign(unit: Unit, queue: Queue, types: Sequence[str]) -> None:
    for kind in types:
        choice("auto-response type", kind, AUTO_TYPES)
        unit.session.execute(
            delete(QueueAutoResponse).where(QueueAutoResponse.queue_id == queue.id, QueueAutoResponse.type == kind)
        )


def records(unit: Unit) -> list[Record]:
    """Every auto-response's record, by name: what ``autoresponse list`` prints and ``desk dump`` writes."""
    return _records(unit, unit.session.scalars(select(AutoResponse).order_by(AutoResponse.name)).all())


APPLY_KEYS = ("name", "type", "subject", "body", "valid", "queues")


def apply(unit: Unit, documents: list[dict[str, Any]]) -> None:
    """Create or change each auto-response a record describes; ``queues``, when given, are exactly
    the queues that send it (each queue sends one response per type)."""
    for document in documents:
        unknown = sorted(set(document) - set(APPLY_KEYS))
        if unknown:
            raise UsageError(f"unknown auto-response key {', '.join(unknown)}; known: {', '.join(APPLY_KEYS)}")
        name = document["name"]
        if not isinstance(document.get("valid", True), bool):
            raise UsageError(f"auto-response {name!r}: valid must be true or false")
        queues = document.get("queues")
        if queues is not None and not (isinstance(queues, list) and all(isinstance(q, str) for q in queues)):
            raise UsageError(f"auto-response {name!r}: queues must be a list of queue names")
        response = unit.session.scalar(select(AutoResponse).where(AutoResponse.name == name))
        wanted = {k: document[k] for k in ("type", "subject", "body", "valid") if k in document}
        if response is None:
            for key in ("type", "subject", "body"):
                if not isinstance(wanted.get(key), str):
                    raise UsageError(f"auto-response {name!r}: a new one needs {key}")
            _check(name, wanted["type"], wanted["subject"], wanted["body"])
            response = AutoResponse(name=name, created=unit.now, changed=unit.now, **{"valid": True, **wanted})
            unit.session.add(response)
        else:
            _check(name, wanted.get("type", response.type), wanted.get("subject"), wanted.get("body"))
            differing = {k: v for k, v in wanted.items() if getattr(response, k) != v}
            if "type" in differing:  # its queues sent it for the old type
                unit.session.execute(delete(QueueAutoResponse).where(QueueAutoResponse.auto_response_id == response.id))
            for key, value in differing.items():
                setattr(response, key, value)
            if differing:
                response.changed = unit.now
        unit.session.flush()
        if queues is not None:
            unit.session.execute(
                delete(QueueAutoResponse).where(
                    QueueAutoResponse.auto_response_id == response.id,
                    QueueAutoResponse.queue_id.not_in([lookup.queue(unit, q).id for q in queues]),
                )
            )
            for queue in queues:
                assign(unit, lookup.queue(unit, queue), [name])


def prune(unit: Unit, keep: set[str]) -> None:
    """Disable the auto-responses not kept (as OTRS does: they stay, invalid)."""
    for response in unit.session.scalars(select(AutoResponse).where(AutoResponse.name.not_in(keep))):
        if response.valid:
            response.valid = False
            response.changed = unit.now
    unit.session.flush()


def _check(name: str, type: str, subject: str | None, body: str | None) -> None:
    clean_text("name", name, limit=200, required=True)
    choice("auto-response type", type, AUTO_TYPES)
    clean_text("subject", subject, limit=250)
    clean_text("body", body)


class AutoResponses:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, name: str, *, type: str, subject: str, body: str, if_not_exists: bool = False) -> Record:
        """A template; ``$tn``, ``$title``, ``$queue``, ``$customer``, ``$subject`` ... are filled in when sent."""
        clean_line("name", name, limit=200, required=True)
        choice("auto-response type", type, AUTO_TYPES)
        clean_text("subject", subject, limit=250, required=True)
        clean_text("body", body, required=True)
        with self.store.write() as unit:
            permissions.require_admin(unit)
            existing = unit.session.scalar(select(AutoResponse).where(AutoResponse.name == name))
            if existing is not None:
                if if_not_exists:
                    return _records(unit, [existing])[0]
                raise ConflictError(f"auto-response {name!r} already exists", ref=name)
            response = AutoResponse(
                name=name, type=type, subject=subject, body=body, valid=True, created=unit.now, changed=unit.now
            )
            unit.session.add(response)
            unit.session.flush()
            return _records(unit, [response])[0]

    def list(self) -> list[Record]:
        with self.store.read() as unit:
            return records(unit)

    def show(self, name: str) -> Record:
        with self.store.read() as unit:
            return _records(unit, [_get(unit, name)])[0]

    def update(self, name: str, *, subject: str | None = None, body: str | None = None) -> Record:
        clean_text("subject", subject, limit=250)
        clean_text("body", body)
        with self.store.write() as unit:
            permissions.require_admin(unit)
            response = _get(unit, name)
            if subject is not None:
                response.subject = subject
            if body is not None:
                response.body = body
            response.changed = unit.now
            unit.session.flush()
            return _records(unit, [response])[0]

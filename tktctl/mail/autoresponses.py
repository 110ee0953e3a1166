"""Auto-response templates, their translations, and which queue sends which (one per queue and type).

A response's own subject and body are in its ``language`` (the desk's default when unset); its
``translations`` hold the same text in other languages, and the ticket's language chooses
(core/language.ticket_language) when it is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.language import optional_tag
from tktctl.core.record import Record
from tktctl.core.vocabulary import choice, clean_line, clean_text
from tktctl.db.models import AutoResponse, AutoResponseText, Queue, QueueAutoResponse
from tktctl.errors import ConflictError, NotFoundError, UsageError
from tktctl.mail.outbound import AUTO_TYPES
from tktctl.mail.translations import Text, as_record, auto_response_translations, check_translations

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
    texts = auto_response_translations(unit, [r.id for r in rows])
    return [
        {
            "id": r.id,
            "name": r.name,
            "type": r.type,
            "subject": r.subject,
            "body": r.body,
            "valid": r.valid,
            "queues": used.get(r.id, []),
            "language": r.language,
            "translations": as_record(texts.get(r.id, {})),
        }
        for r in rows
    ]


def _set_translations(unit: Unit, response_id: int, texts: dict[str, Text], *, replace: bool) -> None:
    """Write these translations (``replace``: and drop the others)."""
    clause = AutoResponseText.auto_response_id == response_id
    if replace:
        unit.session.execute(delete(AutoResponseText).where(clause))
    else:
        unit.session.execute(delete(AutoResponseText).where(clause, AutoResponseText.language.in_(list(texts))))
    if texts:
        unit.session.execute(
            insert(AutoResponseText),
            [{"auto_response_id": response_id, "language": k, "subject": s, "body": b} for k, (s, b) in texts.items()],
        )


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


APPLY_KEYS = ("name", "type", "subject", "body", "valid", "queues", "language", "translations")


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
        wanted = {k: document[k] for k in ("type", "subject", "body", "valid", "language") if k in document}
        if wanted.get("language") is not None:
            wanted["language"] = optional_tag(str(wanted["language"]), f"auto-response {name!r}: language")
        texts = check_translations(f"auto-response {name!r}", document.get("translations"), 250)
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
        if "translations" in document and texts != auto_response_translations(unit, [response.id]).get(response.id, {}):
            _set_translations(unit, response.id, texts, replace=True)
            response.changed = unit.now
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

    def create(
        self,
        name: str,
        *,
        type: str,
        subject: str,
        body: str,
        language: str | None = None,
        if_not_exists: bool = False,
    ) -> Record:
        """A template; ``$tn``, ``$title``, ``$queue``, ``$customer``, ``$subject`` ... are filled in when sent.
        ``language``: the text's (the desk's default when unset); add translations with :meth:`update`."""
        clean_line("name", name, limit=200, required=True)
        language = optional_tag(language)
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
                name=name,
                type=type,
                subject=subject,
                body=body,
                language=language,
                valid=True,
                created=unit.now,
                changed=unit.now,
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

    def update(
        self,
        name: str,
        *,
        subject: str | None = None,
        body: str | None = None,
        language: str | None = None,
        remove: bool = False,
    ) -> Record:
        """Change the subject or text; with ``language``, of that translation (created when new, then
        with both), or the response's own text when that is its language; ``remove`` drops a translation."""
        clean_text("subject", subject, limit=250)
        clean_text("body", body)
        language = optional_tag(language)
        if language is None and remove:
            raise UsageError("--remove needs the --language of the translation to remove")
        if language is not None and not remove and subject is None and body is None:
            raise UsageError("give --subject or --body (or --remove) with --language")
        with self.store.write() as unit:
            permissions.require_admin(unit)
            response = _get(unit, name)
            if language is None or language == response.language:
                if remove:
                    raise UsageError(f"{language} is the auto-response's own language; it has no translation to remove")
                response.subject = response.subject if subject is None else subject
                response.body = response.body if body is None else body
            else:
                _translate(unit, response, language, subject, body, remove)
            response.changed = unit.now
            unit.session.flush()
            return _records(unit, [response])[0]


def _translate(
    unit: Unit, response: AutoResponse, language: str, subject: str | None, body: str | None, remove: bool
) -> None:
    """Write (or ``remove``) one translation of the response."""
    have = auto_response_translations(unit, [response.id]).get(response.id, {}).get(language)
    if remove:
        if have is None:
            raise NotFoundError(f"auto-response {response.name!r} has no {language} translation", ref=language)
        unit.session.execute(
            delete(AutoResponseText).where(
                AutoResponseText.auto_response_id == response.id, AutoResponseText.language == language
            )
        )
        return
    if have is None and (subject is None or body is None):
        raise UsageError(f"a new {language} translation needs both --subject and --body")
    old_subject, old_body = have or ("", "")
    text = (old_subject if subject is None else subject, old_body if body is None else body)
    _set_translations(unit, response.id, {language: text}, replace=False)

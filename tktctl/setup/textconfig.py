"""Outgoing texts in the desk's configuration document (``desk dump`` / ``desk apply``, setup/deskconfig.py).

Addresses are keyed by email; salutations, signatures and templates by ``name (language)``,
one record per language variant, as their ``list -o yaml`` prints them. A template record's
``queues`` are exactly the queues offering the template (every variant of a name offers the
same: the union of its records' queues). Pruning disables: a queue may still name the text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select

from tktctl.access import audit
from tktctl.access.groups import apply_changes, check_item, check_name
from tktctl.core import lookup
from tktctl.core.language import desk_language, language_tag
from tktctl.core.record import Record
from tktctl.db.models import QueueTemplate, SystemAddress
from tktctl.errors import UsageError
from tktctl.setup.texts import Addresses, Salutations, Signatures, Templates, Texts

if TYPE_CHECKING:
    from tktctl.core.unit import Unit

ADDRESS_KEYS = {"email", "realname", "comment", "valid"}
TEXT_KEYS = {"name", "language", "body", "comment", "valid"}


def address_records(unit: Unit) -> list[Record]:
    rows = unit.session.scalars(select(SystemAddress).order_by(SystemAddress.email))
    return [Addresses.record(unit, r) for r in rows]


def apply_addresses(unit: Unit, documents: list[dict[str, Any]]) -> None:
    for document in documents:
        item = check_item(f"address {document['email']}", document, ADDRESS_KEYS)
        Addresses._check(item["email"], item.get("realname"), item.get("comment"))
        row = unit.session.scalar(select(SystemAddress).where(SystemAddress.email == item["email"]))
        if row is None:
            row = SystemAddress(email=item["email"], valid=True, created=unit.now, changed=unit.now)
            unit.session.add(row)
            unit.session.flush()
            audit.record(unit, "create", "address", item["email"])
        wanted = {k: item[k] for k in ("realname", "comment") if k in item}
        apply_changes(unit, row, "address", item["email"], valid=item.get("valid"), **wanted)


def prune_addresses(unit: Unit, keep: set[str]) -> None:
    for row in unit.session.scalars(select(SystemAddress).where(SystemAddress.email.not_in(keep))).all():
        apply_changes(unit, row, "address", row.email, valid=False)


def text_key(record: Record) -> str:
    return f"{record['name']} ({record['language']})"


def text_section(service: type[Texts[Any]]) -> tuple[Any, Any, Any]:
    """The records, apply and prune functions of one kind of text."""
    keys = TEXT_KEYS | set(service.extra_keys) | ({"queues"} if service is Templates else set())

    def records(unit: Unit) -> list[Record]:
        texts = service(unit.store)
        rows = unit.session.scalars(select(texts.model).order_by(texts.model.name, texts.model.language))
        return [texts.record(unit, r) for r in rows]

    def apply(unit: Unit, documents: list[dict[str, Any]]) -> None:
        texts = service(unit.store)
        offered: dict[str, set[str]] = {}
        for document in documents:
            if not isinstance(document.get("name"), str):
                raise UsageError(f"every {texts.kind} record needs a name")
            item = check_item(f"{texts.kind} {document['name']}", document, keys)
            check_name(texts.kind, item["name"])
            for key in ("language", "body", *service.extra_keys):
                if not isinstance(item.get(key), (str, type(None))):
                    raise UsageError(f"{texts.kind} {item['name']}: {key} must be text")
            language = item.get("language")
            language = language_tag(language) if language else desk_language(unit.session)
            wanted = {k: item[k] for k in ("body", "comment", *service.extra_keys) if k in item}
            texts.check(wanted)
            row = unit.session.scalar(
                select(texts.model).where(texts.model.name == item["name"], texts.model.language == language)
            )
            if row is None:
                if not isinstance(wanted.get("body"), str):
                    raise UsageError(f"{texts.kind} {item['name']} ({language}): a new one needs a body")
                row = texts.model(name=item["name"], language=language, valid=True, created=unit.now, changed=unit.now)
                row.body = wanted["body"]
                if service is Templates:
                    row.kind = wanted.get("kind") or "answer"
                unit.session.add(row)
                unit.session.flush()
                audit.record(unit, "create", texts.kind, item["name"], language=language)
            apply_changes(unit, row, texts.kind, f"{item['name']} ({language})", valid=item.get("valid"), **wanted)
            if "queues" in item:
                queues = item["queues"] or []
                if not isinstance(queues, list) or not all(isinstance(q, str) for q in queues):
                    raise UsageError(f"template {item['name']}: queues must be a list of queue names")
                offered.setdefault(item["name"], set()).update(queues)
        for name, queues in offered.items():
            _offer(unit, name, sorted(queues))

    def prune(unit: Unit, keep: set[str]) -> None:
        texts = service(unit.store)
        for row in unit.session.scalars(select(texts.model)).all():
            if text_key({"name": row.name, "language": row.language}) not in keep:
                apply_changes(unit, row, texts.kind, f"{row.name} ({row.language})", valid=False)

    return records, apply, prune


def _offer(unit: Unit, name: str, queues: list[str]) -> None:
    """Make ``queues`` exactly the queues that offer the template ``name``."""
    ids = [lookup.queue(unit, q).id for q in queues]
    unit.session.execute(delete(QueueTemplate).where(QueueTemplate.name == name))
    if ids:
        unit.session.execute(insert(QueueTemplate), [{"queue_id": i, "name": name} for i in ids])


SALUTATIONS = text_section(Salutations)
SIGNATURES = text_section(Signatures)
TEMPLATES = text_section(Templates)

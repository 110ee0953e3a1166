"""Outgoing texts as OTRS keeps them: system addresses, salutations, signatures, standard templates.

Admins manage them (every change audited); anyone may read them, as queues. A salutation,
signature or template is a name with one variant per language (unique together); a queue names
its salutation and signature, and offers templates, by name, and the ticket's language picks
the variant when a reply is composed (mail/compose.py). All texts are text/plain.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from sqlalchemy import delete, exists, insert, select

from tktctl.access import audit, permissions
from tktctl.access.groups import UNSET, Named, apply_changes, check_name, existing
from tktctl.core import lookup
from tktctl.core.language import desk_language, language_tag
from tktctl.core.prepared import named
from tktctl.core.record import Record
from tktctl.core.vocabulary import check_body, choice, clean_line, clean_text
from tktctl.db.models import Queue, QueueTemplate, Salutation, Signature, StandardTemplate, SystemAddress
from tktctl.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

T = TypeVar("T", Salutation, Signature, StandardTemplate)
# OTRS's template types, lower-case; `ticket reply --template` takes an answer.
TEMPLATE_KINDS = ("answer", "create", "email", "forward", "note", "phone-call", "snippet")
_ADDRESS = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+")


class Addresses:
    """System addresses (OTRS Admin::SystemAddress): the From of a queue's mail."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def record(unit: Unit, row: SystemAddress) -> Record:
        """The address; which queues send from it is theirs to say (``queue show``: ``address``)."""
        return {
            "id": row.id,
            "email": row.email,
            "realname": row.realname,
            "comment": row.comment,
            "valid": row.valid,
            "created": row.created,
            "changed": row.changed,
        }

    @staticmethod
    def get(unit: Unit, email: str) -> SystemAddress:
        found = named(unit.session, SystemAddress, email=email)
        if found is None:
            raise NotFoundError(f"address {email!r} not found", ref=email)
        return found

    @staticmethod
    def _check(email: str | None, realname: Any, comment: Any) -> None:
        if email is not None:
            clean_line("address", email, limit=250, required=True)
            if not _ADDRESS.fullmatch(email):
                raise UsageError(f"address {email!r} is not an email address (name@domain)")
        if realname not in (None, UNSET):
            clean_line("display name", realname, limit=200)
        if comment not in (None, UNSET):
            clean_text("comment", comment, limit=250)

    def create(
        self, email: str, *, realname: str | None = None, comment: str | None = None, if_not_exists: bool = False
    ) -> Record:
        self._check(email, realname, comment)
        with self.store.write() as unit:
            permissions.require_admin(unit)
            found = existing(unit, SystemAddress.email, email, "address", if_not_exists=if_not_exists)
            if found is not None:
                return self.record(unit, found)
            row = SystemAddress(
                email=email, realname=realname, comment=comment, valid=True, created=unit.now, changed=unit.now
            )
            unit.session.add(row)
            unit.session.flush()
            audit.record(unit, "create", "address", email, realname=realname, comment=comment)
            return self.record(unit, row)

    def list(self) -> list[Record]:
        with self.store.read() as unit:
            rows = unit.session.scalars(select(SystemAddress).order_by(SystemAddress.email))
            return [self.record(unit, r) for r in rows]

    def show(self, email: str) -> Record:
        with self.store.read() as unit:
            return self.record(unit, self.get(unit, email))

    def update(self, email: str, *, realname: Any = UNSET, comment: Any = UNSET, valid: bool | None = None) -> Record:
        """Change the display name or comment (None clears one), or disable/enable the address."""
        self._check(None, realname, comment)
        wanted = {k: v for k, v in {"realname": realname, "comment": comment}.items() if v is not UNSET}
        with self.store.write() as unit:
            permissions.require_admin(unit)
            row = self.get(unit, email)
            apply_changes(unit, row, "address", email, valid=valid, **wanted)
            return self.record(unit, row)


def queue_settings(unit: Unit, settings: dict[str, Any]) -> dict[str, Any]:
    """A queue's ``address``, ``salutation`` and ``signature`` resolved: the address to its id, the
    texts checked to exist (in some language); None clears one."""
    resolved = dict(settings)
    if "address" in resolved:
        email = resolved.pop("address")
        resolved["system_address_id"] = None if email is None else Addresses.get(unit, email).id
    for key, model in (("salutation", Salutation), ("signature", Signature)):
        name = resolved.get(key)
        # Exactly the name, in some language: MariaDB's PAD SPACE collation also finds "formal " for it.
        if name is not None and name not in unit.session.scalars(select(model.name).where(model.name == name)):
            raise NotFoundError(f"{key} {name!r} not found", ref=name)
    return resolved


class Texts(Named[T]):
    """Salutations, signatures or templates: create, list, show, update, disable/enable, per language.

    Named objects keyed by name and language: ``desk apply`` creates or brings each variant to its
    record, and pruning disables a variant (a queue may still name the text)."""

    extra_keys: ClassVar[tuple[str, ...]] = ()
    key_columns: ClassVar[tuple[str, ...]] = ("name", "language")
    apply_keys: ClassVar[set[str]] = {"name", "language", "body", "comment", "valid"}
    value_keys: ClassVar[tuple[str, ...]] = ("body", "comment")
    unaudited: ClassVar[tuple[str, ...]] = ("body",)

    def key(self, unit: Unit, item: Mapping[str, Any]) -> tuple[Any, ...]:
        """``(name, language)``; no language is the desk's default."""
        language = item.get("language")
        return item["name"], language_tag(language) if language else desk_language(unit.session)

    def label(self, key: Sequence[Any]) -> Any:
        """``name (language)``: on the key's values, or in SQL on its columns."""
        return key[0] + " (" + key[1] + ")"

    def record(self, unit: Unit, row: T) -> Record:
        return {
            "id": row.id,
            "name": row.name,
            "language": row.language,
            **{k: getattr(row, k) for k in self.extra_keys},
            "body": row.body,
            "comment": row.comment,
            "valid": row.valid,
            "created": row.created,
            "changed": row.changed,
        }

    def put(self, unit: Unit, item: dict[str, Any]) -> None:
        """Create the variant a checked record describes (it needs a body), or bring it to the record."""
        check_name(self.kind, item["name"])
        for key in ("language", "body", *self.extra_keys):
            if not isinstance(item.get(key), (str, type(None))):
                raise UsageError(f"{self.kind} {item['name']}: {key} must be text")
        self.ensure(unit, item)

    def new_values(self, key: Sequence[Any], wanted: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(wanted.get("body"), str):
            raise UsageError(f"{self.kind} {self.label(key)}: a new one needs a body")
        return super().new_values(key, wanted)

    def check(self, values: Mapping[str, Any]) -> None:
        """The body (required on create), comment and a kind's own values; usage errors before any write."""
        if "body" in values:
            clean_text("body", values["body"], required=True)
            check_body("body", values["body"], self.store.max_body_bytes)
        super().check(values)

    def list(self, *, language: str | None = None) -> list[Record]:  # type: ignore[override]
        """Every variant, or those in ``language``."""
        return super().list(language=language_tag(language) if language is not None else None)

    def update(
        self,
        name: str,
        *,
        language: str | None = None,
        body: str | None = None,
        comment: Any = UNSET,
        **extra: Any,
    ) -> Record:
        """Change the given values of one language variant (a None comment clears it)."""
        wanted: dict[str, Any] = {k: v for k, v in extra.items() if k in self.extra_keys and v is not None}
        if body is not None:
            wanted["body"] = body
        if comment is not UNSET:
            wanted["comment"] = comment
        self.check({**extra, **wanted})
        with self.store.write() as unit:
            permissions.require_admin(unit)
            row = self.get(unit, name, language=language)
            apply_changes(unit, row, self.kind, self.label(self.row_key(row)), **wanted)
            self.after_write(unit, name, extra)
            return self.record(unit, row)


class Salutations(Texts[Salutation]):
    model = Salutation
    kind = "salutation"


class Signatures(Texts[Signature]):
    model = Signature
    kind = "signature"


class Templates(Texts[StandardTemplate]):
    """Standard templates (OTRS Admin::Template) and the queues that offer them (Admin::QueueTemplates)."""

    model = StandardTemplate
    kind = "template"
    extra_keys: ClassVar[tuple[str, ...]] = ("kind", "subject")
    value_keys: ClassVar[tuple[str, ...]] = (*Texts.value_keys, *extra_keys)
    apply_keys: ClassVar[set[str]] = {*Texts.apply_keys, *extra_keys, "queues"}

    def new_values(self, key: Sequence[Any], wanted: dict[str, Any]) -> dict[str, Any]:
        return {**super().new_values(key, wanted), "kind": wanted.get("kind") or "answer"}

    def apply(self, unit: Unit, documents: list[dict[str, Any]]) -> None:
        """Each variant, then the queues offering each name: exactly the union of its records' ``queues``."""
        super().apply(unit, documents)
        offered: dict[str, set[str]] = {}
        for item in documents:
            if "queues" in item:
                queues = item["queues"] or []
                if not isinstance(queues, list) or not all(isinstance(q, str) for q in queues):
                    raise UsageError(f"template {item['name']}: queues must be a list of queue names")
                offered.setdefault(item["name"], set()).update(queues)
        for name, queues in offered.items():
            ids = [lookup.queue(unit, q).id for q in sorted(queues)]
            unit.session.execute(delete(QueueTemplate).where(QueueTemplate.name == name))
            if ids:
                unit.session.execute(insert(QueueTemplate), [{"queue_id": i, "name": name} for i in ids])

    def record(self, unit: Unit, row: StandardTemplate) -> Record:
        return {**super().record(unit, row), "queues": offering(unit, row.name)}

    def check(self, values: dict[str, Any]) -> None:
        super().check(values)
        if values.get("kind") is not None:
            choice("template kind", values["kind"], TEMPLATE_KINDS)
        clean_line("subject", values.get("subject"), limit=250)

    def create(self, name: str, *, body: str, kind: str = "answer", **rest: Any) -> Record:  # type: ignore[override]
        return super().create(name, body=body, kind=kind, **rest)

    def after_write(self, unit: Unit, name: str, extra: dict[str, Any]) -> None:
        add: Sequence[str] = extra.get("queues") or ()
        remove: Sequence[str] = extra.get("no_queues") or ()
        if remove:
            ids = [lookup.queue(unit, q).id for q in remove]
            unit.session.execute(
                delete(QueueTemplate).where(QueueTemplate.name == name, QueueTemplate.queue_id.in_(ids))
            )
        have = set(offering(unit, name))
        new = [q for q in dict.fromkeys(add) if q not in have]
        if new:
            unit.session.execute(
                insert(QueueTemplate), [{"queue_id": lookup.queue(unit, q).id, "name": name} for q in new]
            )
        if add or remove:
            audit.record(unit, "update", "template", name, queues={"added": new, "removed": list(remove)})

    def delete(self, name: str, *, language: str | None = None) -> Record:
        """Delete one language variant; with the last one the queues stop offering the template."""
        with self.store.write() as unit:
            permissions.require_admin(unit)
            row = self.get(unit, name, language=language)
            record = self.record(unit, row)
            unit.session.delete(row)
            unit.session.flush()
            if not unit.session.scalar(select(exists().where(StandardTemplate.name == name))):
                unit.session.execute(delete(QueueTemplate).where(QueueTemplate.name == name))
            audit.record(unit, "delete", "template", name, language=record["language"])
            return record


def offering(unit: Unit, name: str) -> list[str]:
    """The queues that offer the template ``name``, by name."""
    statement = (
        select(Queue.name).join(QueueTemplate, QueueTemplate.queue_id == Queue.id).where(QueueTemplate.name == name)
    )
    return list(unit.session.scalars(statement.order_by(Queue.name)))

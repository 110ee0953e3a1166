"""Custom (dynamic) field definitions, as OTRS's Admin::DynamicField: create, list, show, update, disable.

Admins only (``rw`` on ``admin``), each change audited in its transaction. A field's type
never changes (its values are stored by type); a disabled field keeps its values, which
still show and filter, but takes no new ones. Values of tickets: :mod:`tktctl.tickets.fields`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tktctl.access import audit, permissions
from tktctl.core import fieldtypes
from tktctl.core.record import Record
from tktctl.core.vocabulary import clean_line
from tktctl.db.models import DynamicField, DynamicFieldValue
from tktctl.errors import ConflictError, NotFoundError, UsageError

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

YAML_KEYS = ("name", "label", "type", "values", "valid")


def _record(field: DynamicField) -> Record:
    return {
        "id": field.id,
        "name": field.name,
        "label": field.label,
        "type": field.field_type,
        "values": list((field.config or {}).get("values") or []),
        "valid": field.valid,
        "created": field.created,
        "changed": field.changed,
    }


def _get(unit: Unit, name: str) -> DynamicField:
    found = unit.session.scalar(select(DynamicField).where(DynamicField.name == name))
    if found is None:
        raise NotFoundError(f"field {name!r} not found", ref=name)
    return found


def _label(label: Any, name: str) -> str:
    clean_line("label", label, limit=200)
    return label if label else name


class Fields:
    def __init__(self, store: Store) -> None:
        self.store = store

    def list(self) -> list[Record]:
        with self.store.read() as unit:
            return records(unit)

    def show(self, name: str) -> Record:
        with self.store.read() as unit:
            return _record(_get(unit, name))

    def create(
        self,
        name: str,
        *,
        type: str,
        values: Sequence[str] = (),
        label: str | None = None,
        if_not_exists: bool = False,
    ) -> Record:
        """A new field; dropdowns and multiselects need their ``values``."""
        fieldtypes.check_name(name)
        kind = fieldtypes.check_type(type)
        choices = fieldtypes.check_values(kind, values)
        text = _label(label, name)
        with self.store.write() as unit:
            permissions.require_admin(unit)
            existing = unit.session.scalar(select(DynamicField).where(DynamicField.name == name))
            if existing is not None:
                if if_not_exists:
                    return _record(existing)
                raise ConflictError(f"field {name!r} already exists", ref=name)
            return _record(_create(unit, name, kind, choices, text))

    def update(
        self,
        name: str,
        *,
        label: str | None = None,
        values: Sequence[str] | None = None,
        add_values: Sequence[str] = (),
        valid: bool | None = None,
    ) -> Record:
        """Change the label or the possible values (``values`` replaces them); a value in use stays."""
        with self.store.write() as unit:
            permissions.require_admin(unit)
            field = _get(unit, name)
            changes: dict[str, Any] = {}
            if label is not None:
                changes["label"] = _label(label, name)
            old = list((field.config or {}).get("values") or [])
            if values is not None or add_values:
                new = [*(old if values is None else values), *(v for v in add_values if v not in (values or old))]
                changes["values"] = list(fieldtypes.check_values(field.field_type, new))
                _refuse_removing_used(unit, field, set(old) - set(new))
            if valid is not None:
                changes["valid"] = valid
            return _record(_update(unit, field, changes))

    def set_valid(self, name: str, valid: bool) -> Record:
        """Disable (or enable) a field: its values stay, it takes no new ones."""
        return self.update(name, valid=valid)


def _create(unit: Unit, name: str, kind: str, values: Sequence[str], label: str) -> DynamicField:
    field = DynamicField(
        name=name,
        label=label,
        field_type=kind,
        config={"values": list(values)} if values else {},
        valid=True,
        created=unit.now,
        changed=unit.now,
    )
    unit.session.add(field)
    unit.session.flush()
    audit.record(unit, "create", "field", name, type=kind, label=label, values=list(values))
    return field


def _update(unit: Unit, field: DynamicField, changes: dict[str, Any]) -> DynamicField:
    """Apply the changes that differ, audited; nothing differing changes nothing."""
    current = {"label": field.label, "values": list((field.config or {}).get("values") or []), "valid": field.valid}
    differing = {k: v for k, v in changes.items() if current[k] != v}
    if not differing:
        return field
    if "label" in differing:
        field.label = differing["label"]
    if "values" in differing:
        field.config = {"values": differing["values"]}
    if "valid" in differing:
        field.valid = differing["valid"]
    field.changed = unit.now
    unit.session.flush()
    audit.record(
        unit, "update", "field", field.name, **{k: {"from": current[k], "to": v} for k, v in differing.items()}
    )
    return field


def _refuse_removing_used(unit: Unit, field: DynamicField, removed: set[str]) -> None:
    if not removed:
        return
    used = unit.session.scalar(
        select(DynamicFieldValue.value_text)
        .where(DynamicFieldValue.field_id == field.id, DynamicFieldValue.value_text.in_(sorted(removed)))
        .limit(1)
    )
    if used is not None:
        raise ConflictError(f"field {field.name}: value {used!r} is set on tickets; keep it", ref=field.name)


def records(unit: Unit) -> list[Record]:
    """Every field's record by name: what ``field list`` prints and ``desk dump`` writes."""
    return [_record(f) for f in unit.session.scalars(select(DynamicField).order_by(DynamicField.name))]


def apply(unit: Unit, documents: list[dict[str, Any]]) -> None:
    """Create each field a record describes, or bring an existing one to it (``desk apply``)."""
    for document in documents:
        if not isinstance(document, dict):
            raise UsageError(f"a field must be a mapping, not {document!r:.60}")
        unknown = sorted(set(document) - set(YAML_KEYS))
        if unknown:
            raise UsageError(f"unknown field key {', '.join(unknown)}; known: {', '.join(YAML_KEYS)}")
        name = fieldtypes.check_name(document.get("name"))
        kind = fieldtypes.check_type(document.get("type"))
        choices = fieldtypes.check_values(kind, document.get("values"))
        label = _label(document.get("label"), name)
        valid = document.get("valid", True)
        if not isinstance(valid, bool):
            raise UsageError(f"field {name}: valid must be true or false")
        field = unit.session.scalar(select(DynamicField).where(DynamicField.name == name))
        if field is None:
            field = _create(unit, name, kind, choices, label)
        elif field.field_type != kind:
            raise ConflictError(f"field {name} is a {field.field_type} field; its type cannot change", ref=name)
        old = set((field.config or {}).get("values") or [])
        _refuse_removing_used(unit, field, old - set(choices))
        _update(unit, field, {"label": label, "values": list(choices), "valid": valid})


def prune(unit: Unit, keep: set[str]) -> None:
    """Disable the fields not kept: their values stay with the tickets (a field is never deleted)."""
    for field in unit.session.scalars(select(DynamicField).where(DynamicField.name.not_in(keep))).all():
        _update(unit, field, {"valid": False})

"""The desk's own settings, stored in its database so every host and profile on it agrees
(today: ``default_language``, the language of mail when neither customer, message nor queue says).

They are the ``settings`` section of ``desk dump``/``desk apply``: one record per setting,
``{name, value}``, every known setting listed with its value (its default when never set).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from tktctl.access import audit
from tktctl.core.language import DEFAULT_LANGUAGE, DEFAULT_SETTING, language_tag
from tktctl.core.record import Record
from tktctl.db.models_lang import DeskSetting
from tktctl.errors import UsageError

if TYPE_CHECKING:
    from tktctl.core.unit import Unit

# Each known setting: its default and the check that normalises a value (a usage error if bad).
KNOWN: dict[str, tuple[str, Callable[[str], str]]] = {
    DEFAULT_SETTING: (DEFAULT_LANGUAGE, lambda value: language_tag(value, DEFAULT_SETTING)),
}


def records(unit: Unit) -> list[Record]:
    """Every known setting with its value, by name."""
    stored = {name: value for name, value in unit.session.execute(select(DeskSetting.name, DeskSetting.value))}
    return [{"name": name, "value": stored.get(name, default)} for name, (default, _) in sorted(KNOWN.items())]


def _checked(document: dict[str, Any]) -> tuple[str, str]:
    unknown = sorted(set(document) - {"name", "value"})
    name = document["name"]
    if unknown:
        raise UsageError(f"setting {name!r}: unknown key {', '.join(unknown)}; known: name, value")
    if name not in KNOWN:
        raise UsageError(f"unknown setting {name!r}; known: {', '.join(sorted(KNOWN))}")
    value = document.get("value")
    if not isinstance(value, str):
        raise UsageError(f"setting {name!r} needs a value (text)")
    return name, KNOWN[name][1](value)


def apply(unit: Unit, documents: list[dict[str, Any]]) -> None:
    """Set each setting a record names to its value (audited when it changes)."""
    current = {r["name"]: r["value"] for r in records(unit)}
    for name, value in (_checked(d) for d in documents):
        if current[name] == value:
            continue
        row = unit.session.get(DeskSetting, name)
        if row is None:
            unit.session.add(DeskSetting(name=name, value=value))
        else:
            row.value = value
        unit.session.flush()
        audit.record(unit, "update", "setting", name, value={"from": current[name], "to": value})


def prune(unit: Unit, keep: set[str]) -> None:
    """Settings a document leaves out go back to their defaults."""
    dropped = unit.session.scalars(select(DeskSetting.name).where(DeskSetting.name.not_in(keep))).all()
    if dropped:
        unit.session.execute(delete(DeskSetting).where(DeskSetting.name.in_(dropped)))
        for name in dropped:
            audit.record(unit, "delete", "setting", name)

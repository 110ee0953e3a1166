"""Outgoing texts in the desk's configuration document (``desk dump`` / ``desk apply``, setup/deskconfig.py).

Addresses are keyed by email; salutations, signatures and templates (setup/texts.py, named
objects as groups are) by ``name (language)``, one record per language variant, as their
``list -o yaml`` prints them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tktctl.access import audit
from tktctl.access.groups import apply_changes, check_item
from tktctl.core.record import Record
from tktctl.db.models import SystemAddress
from tktctl.setup.texts import Addresses

if TYPE_CHECKING:
    from tktctl.core.unit import Unit

ADDRESS_KEYS = {"email", "realname", "comment", "valid"}


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

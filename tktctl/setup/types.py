"""Ticket types (OTRS Admin::TicketType): create, list, show, update (comment, rename), disable, enable.

Managed as groups and roles are (admins only, every change audited). A ticket names its type,
a key of ``ticket_type`` (0007). A rename moves the type's tickets in its transaction, without
history (as in OTRS, where a ticket refers to its type's id); a disabled type stays on its
tickets but is given to no ticket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import delete, insert, select, update

from tktctl.access import audit, permissions
from tktctl.access.groups import UNSET, Named, check_name
from tktctl.core.record import Record
from tktctl.core.vocabulary import clean_text
from tktctl.db.models import Ticket, TicketType
from tktctl.errors import ConflictError

if TYPE_CHECKING:
    from tktctl.core.unit import Unit


class TicketTypes(Named[TicketType]):
    model = TicketType
    kind = "type"
    name_limit: ClassVar[int] = 100  # ticket.type's length

    def update(self, name: str, *, comment: Any = UNSET, new_name: str | None = None) -> Record:
        """Change the comment (None clears it) or the name; a new name follows onto every ticket of the type."""
        if new_name is None or new_name == name:
            return super().update(name, comment=comment)
        check_name(self.kind, new_name, self.name_limit)
        if comment is not UNSET:
            clean_text("comment", comment, limit=250)
        with self.store.write() as unit:
            permissions.require_admin(unit)
            row = self.get(unit, name)
            if unit.session.scalar(select(TicketType.id).where(TicketType.name == new_name)) is not None:
                raise ConflictError(f"type {new_name!r} already exists", ref=new_name)
            rename(unit, row, new_name)
            if comment is not UNSET:
                super().ensure(unit, {"name": new_name, "comment": comment})
            return self.record(unit, self.get(unit, new_name))


def rename(unit: Unit, row: TicketType, new_name: str) -> None:
    """The type under a new name, keeping its id: the new key first, the tickets onto it, the old key gone."""
    old_id, old_name = row.id, row.name
    values = {"comment": row.comment, "valid": row.valid, "created": row.created, "changed": unit.now}
    unit.session.expunge(row)
    new_id = unit.session.execute(insert(TicketType).values(name=new_name, **values)).inserted_primary_key[0]
    moved = unit.session.execute(
        update(Ticket).where(Ticket.type == old_name).values(type=new_name).execution_options(synchronize_session=False)
    ).rowcount
    unit.session.execute(delete(TicketType).where(TicketType.id == old_id))
    unit.session.execute(update(TicketType).where(TicketType.id == new_id).values(id=old_id))
    audit.record(unit, "update", "type", old_name, name={"from": old_name, "to": new_name}, tickets=moved)

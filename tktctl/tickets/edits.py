"""`ticket update`: a ticket's title, customer, type, responsible agent and external id, in bulk.

Each field is changed by the primitive its own verb uses, with OTRS's history type:
TitleUpdate, CustomerUpdate, TypeUpdate (``rw``, as Znuny's AgentTicketFreeText and
AgentTicketCustomer), ResponsibleUpdate (``owner``, as `ticket assign --responsible`) and
ExternalIdUpdate (``rw``; OTRS has no external id). A locked ticket is changed only by its owner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tktctl.core.vocabulary import choice
from tktctl.db.models import Agent, Ticket
from tktctl.db.sqljson import json_object
from tktctl.errors import ConflictError, UsageError
from tktctl.tickets import changes
from tktctl.tickets.changes import Selected
from tktctl.tickets.guards import assign_change, fields_change, require

if TYPE_CHECKING:
    from tktctl.core.unit import Unit
    from tktctl.tickets.selection import Selection
    from tktctl.tickets.verbs import BulkResult, Tickets

# What `--clear` may empty (the title may not be empty).
CLEARABLE = ("customer", "type", "responsible", "external_id")
TEXT_FIELDS = ("title", "customer", "type", "external_id")


class Edits:
    """Changes to a ticket's own fields, on the bulk runner of :class:`~tktctl.tickets.verbs.Tickets`."""

    def __init__(self, tickets: Tickets) -> None:
        self.tickets = tickets

    def update(
        self,
        selection: Selection,
        *,
        title: str | None = None,
        customer: str | None = None,
        type: str | None = None,
        responsible: str | None = None,
        external_id: str | None = None,
        clear: Sequence[str] = (),
        **options: Any,
    ) -> BulkResult:
        """Set the fields given (``clear`` empties the named ones); each ticket's history says what changed."""
        values = {"title": title, "customer": customer, "type": type, "external_id": external_id}
        texts: dict[str, str | None] = {k: v for k, v in values.items() if v is not None}
        cleared = [choice("field to clear", c.replace("-", "_"), CLEARABLE) for c in clear]
        both = sorted(set(cleared) & {*texts, *(["responsible"] if responsible is not None else [])})
        if both:
            raise UsageError(f"--{both[0].replace('_', '-')} is both set and cleared")
        texts.update({k: None for k in cleared if k in TEXT_FIELDS})
        for key, value in (("customer", customer), ("type", type), ("responsible", responsible)):
            if value is not None and not value.strip():
                raise UsageError(f"{key} must not be empty (--clear {key} removes it)")
        if external_id is not None and not external_id.strip():
            raise UsageError("external id must not be empty (--clear external-id removes it)")
        changes.clean_ticket_text({"title": texts.get("title", "-"), **texts})
        agent = responsible if responsible is not None else (None if "responsible" not in cleared else "")
        if not texts and agent is None:
            raise UsageError(
                "nothing to change: give --title, --customer, --type, --responsible, --external-id or --clear"
            )

        def change(unit: Unit, sel: Selected) -> int:
            return update_change(unit, sel, texts, agent)

        return self.tickets.run(selection, change, **options)


def update_change(unit: Unit, sel: Selected, texts: Mapping[str, str | None], responsible: str | None) -> int:
    """The checks and changes of `ticket update` (``responsible`` "" clears it); returns tickets changed.

    Custom fields (`--set FIELD=VALUE`, issue 12's dynamic fields) add their step here.
    """
    if texts:
        if texts.get("external_id") is not None:
            _external_id_free(unit, sel, texts["external_id"])
        fields_change(unit, sel, dict(texts))
    if responsible:
        assign_change(unit, sel, responsible, responsible=True)
    elif responsible is not None:
        _clear_responsible(unit, sel)
    # Every step stamps what it changes with this transaction's time: a ticket counts once.
    return sum(
        unit.session.scalar(changes.count_of(Ticket).where(*where, Ticket.changed == unit.now)) or 0
        for where in sel.parts
    )


def _external_id_free(unit: Unit, sel: Selected, key: str) -> None:
    """One ticket per key: a key for many tickets is a usage error, one held by another ticket a conflict."""
    if len(sel.ids) > 1:
        raise UsageError(f"external id {key!r} can name one ticket only, not {len(sel.ids)}")
    holder = unit.session.scalar(select(Ticket.id).where(Ticket.external_id == key))
    if holder is not None and holder not in sel.ids:
        raise ConflictError(f"external id {key!r} is taken", ref=key)


def _clear_responsible(unit: Unit, sel: Selected) -> int:
    """No responsible agent: ``owner``, as setting one; a ResponsibleUpdate row names the one removed."""
    require(unit, "owner", sel)
    changes.guard_locks(unit, sel)
    data = json_object(("from", changes.name_of(Ticket.responsible_id, Agent)), ("to", None))
    entry = changes.Entry("ResponsibleUpdate", data)
    return changes.apply(unit, sel, {"responsible_id": None}, [entry], [Ticket.responsible_id.is_not(None)])

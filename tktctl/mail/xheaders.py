"""The X-OTRS-* (and X-Tktctl-*) values of a message, applied as Znuny's PostMaster applies them.

New tickets take ``Queue`` (see ingest's routing), ``Title``, ``Type``, ``Owner``,
``Responsible``, ``State`` with ``State-PendingTime``, ``Priority`` and ``CustomerUser``;
follow-ups take the ``FollowUp-`` forms of ``Queue``, ``Title``, ``Type``, ``Owner``,
``Responsible``, ``State`` (or ``State-Keep``: leave the state alone), ``State-PendingTime``
and ``Priority``. An unknown value (a queue, state, agent that does not exist) is ignored,
as in OTRS. Each change is checked as the verb making it is (``ticket move``, ``assign``,
``state``, ``prioritize``) and writes that verb's history; mail does not wait for ticket
locks (the PostMaster does not either).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.lookup import TicketRow
from tktctl.core.vocabulary import PENDING_TYPES, TITLE_MAX, parse_priority
from tktctl.db.models import Agent, Ticket
from tktctl.db.sqljson import json_object
from tktctl.errors import TktctlError
from tktctl.mail.parse import TRUE_WORDS, clean
from tktctl.tickets import changes
from tktctl.tickets.changes import PRIORITY_NAMES, Entry, Selected, name_of

if TYPE_CHECKING:
    from tktctl.core.unit import Unit

PREFIX = "x-otrs-"
FOLLOWUP = "x-otrs-followup-"
# OTRS's relative pending time: "+50s", "+ 30 m", "12d", "3600" (seconds).
_RELATIVE = re.compile(r"^\s*([+-]?)\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


CUSTOM_FIELD_MARKERS = ("dynamicfield-", "field-")


def fields(params: dict[str, str], *, followup: bool) -> dict[str, str]:
    """The values for a new ticket (``followup`` false) or a follow-up, by short name (``state-keep`` ...)."""
    prefix = FOLLOWUP if followup else PREFIX
    found = {}
    for key, value in params.items():
        if key.startswith(prefix) and value.strip():
            name = key[len(prefix) :]
            if not followup and name.startswith("followup-"):
                continue
            found[name] = value.strip()
    if not followup:
        for alias in ("customeruser", "customerno"):  # OTRS's names for the customer
            if alias in found:
                found.setdefault("customer", found[alias])
    return found


def custom_fields(found: dict[str, str]) -> dict[str, str]:
    """Custom field values by name: ``X-OTRS-DynamicField-NAME`` and ``X-Tktctl-Field-NAME`` (the name
    in any case: header names are case-insensitive, and fields are matched so)."""
    return {
        name[len(marker) :]: value
        for name, value in found.items()
        for marker in CUSTOM_FIELD_MARKERS
        if name.startswith(marker) and len(name) > len(marker)
    }


def is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in TRUE_WORDS


def valid(get: Callable[[], Any], given: bool) -> Any:
    """A value, or None when absent or unknown (as OTRS: an unknown value is ignored)."""
    if not given:
        return None
    try:
        return get()
    except TktctlError:
        return None


def pending_time(unit: Unit, value: str | None) -> datetime | None:
    """``State-PendingTime``: OTRS's relative form from now, or any absolute time tktctl reads."""
    if not value:
        return None
    relative = _RELATIVE.match(value)
    if relative:
        sign, number, unit_name = relative.groups()
        seconds = int(number) * _UNITS[(unit_name or "s").lower()]
        try:
            return unit.now + timedelta(seconds=-seconds if sign == "-" else seconds)
        except OverflowError:  # past year 1 or 9999: ignored, as any value OTRS cannot use
            return None
    return valid(lambda: unit.parse_time(value), True)


def state_and_pending(unit: Unit, found: dict[str, str]) -> tuple[lookup.StateInfo | None, datetime | None]:
    """The state asked for and its pending time; a pending state without a time is ignored."""
    state = valid(lambda: lookup.state(unit, found["state"]), "state" in found)
    if state is None or not state.valid or state.type == "merged":
        return None, None
    until = pending_time(unit, found.get("state-pendingtime")) if state.type in PENDING_TYPES else None
    if state.type in PENDING_TYPES and until is None:
        return None, None
    return state, until


def ticket_type(unit: Unit, value: str | None) -> str | None:
    """A ticket type the desk has and keeps valid (else ignored, as OTRS ignores an unknown value)."""
    text = clean(value, None)
    return valid(lambda: lookup.ticket_type(unit, text), bool(text))


def new_ticket_values(unit: Unit, found: dict[str, str]) -> dict[str, Any]:
    """Column values for a new ticket from its X-OTRS-* values (the queue is routing's)."""
    state, until = state_and_pending(unit, found)
    agent = lambda key: valid(lambda: lookup.agent(unit, found[key], for_write=True).id, key in found)  # noqa: E731
    return {
        "state": state,
        "pending_until": until,
        "priority_id": valid(lambda: parse_priority(found["priority"]), "priority" in found),
        "owner_id": agent("owner"),
        "responsible_id": agent("responsible"),
        "type": ticket_type(unit, found.get("type")),
        "title": clean(found.get("title"), TITLE_MAX),
    }


def apply_followup(unit: Unit, row: TicketRow, found: dict[str, str], reopen: bool) -> None:
    """The follow-up's X-OTRS-FollowUp-* values on the ticket; ``reopen``: a closed or pending one opens."""
    sel = Selected.of([row.id])
    groups = lookup.group_ids(unit, [row])
    wanted, until = state_and_pending(unit, found)
    if is_true(found.get("state-keep")):
        wanted = None
    elif wanted is None and reopen:
        wanted = lookup.state(unit, "open")
    if wanted is not None and (wanted.id != row.state_id or until is not None):
        permissions.require(unit, "rw", groups)  # as `ticket state` / `ticket reopen`
        changes.set_state(unit, sel, wanted, until)
    priority = valid(lambda: parse_priority(found["priority"]), "priority" in found)
    if priority is not None and priority != row.priority_id:
        permissions.require(unit, "priority", groups)  # as `ticket prioritize`
        changes.apply(unit, sel, {"priority_id": priority}, [])
        change = {"from": PRIORITY_NAMES[row.priority_id], "to": PRIORITY_NAMES[priority]}
        changes.add_history(unit, [(row.id, "PriorityUpdate", row.queue_id, change)])
    for key, column, history in (
        ("owner", Ticket.owner_id, "OwnerUpdate"),
        ("responsible", Ticket.responsible_id, "ResponsibleUpdate"),
    ):
        agent = valid(lambda k=key: lookup.agent(unit, found[k], for_write=True), key in found)
        if agent is not None:
            permissions.require(unit, "owner", groups)  # as `ticket assign`
            data = json_object(("from", name_of(column, Agent)), ("to", agent.login))
            differs = or_(column.is_(None), column != agent.id)
            changes.apply(unit, sel, {column.key: agent.id}, [Entry(history, data)], [differs])
    text = {"title": clean(found.get("title"), TITLE_MAX), "type": ticket_type(unit, found.get("type"))}
    text = {k: v for k, v in text.items() if v}
    if text:
        permissions.require(unit, "rw", groups)  # as an import's update of title and type
        changes.set_fields(unit, sel, text)
    queue = valid(lambda: lookup.queue(unit, found["queue"], for_write=True), "queue" in found)
    if queue is not None and queue.id != row.queue_id:
        permissions.require(unit, "move_into", [queue.group_id])  # as `ticket move`
        changes.move(unit, sel, queue.id)

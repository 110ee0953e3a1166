"""Which ticket a message follows up: the ticket number after the hook in its subject, a Message-ID it
refers to, or, for a delivery report, the desk's own message it returns (Znuny's FollowUpCheck modules)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import select

from tktctl.core import lookup
from tktctl.core.configcache import configuration
from tktctl.core.lookup import TicketRow
from tktctl.db.models import Article, Queue, Ticket
from tktctl.mail.parse import Inbound

if TYPE_CHECKING:
    from tktctl.core.unit import Unit


def hook_pattern(generator: str, system_id: str, hook: str = "Ticket#", divider: str = "") -> re.Pattern[str]:
    """A ticket number after the hook, as Znuny's ``GetTNByString``: ``Ticket#TN`` (with the divider:
    ``Ticket#DIVIDERTN``, so ``[Ticket#TN]`` too) or ``Ticket#: TN``, in this desk's number format."""
    sid = re.escape(system_id)
    number = {"DateChecksum": rf"\d{{8}}{sid}\d{{5,}}\d", "Date": rf"\d{{8}}{sid}\d{{5,}}"}.get(
        generator, rf"{sid}\d{{4,}}"
    )
    forms = rf"{re.escape(hook + divider)}({number})|{re.escape(hook)}:\s{{0,2}}({number})"
    return re.compile(rf"(?:{forms})(?!\d)", re.IGNORECASE)


def policy(unit: Unit, queue_id: int) -> str:
    """What a queue does with a follow-up to a closed ticket (``follow_up``), read once per configuration
    generation for all queues."""
    return str(_follow_ups(unit)[queue_id])


@configuration("queue_follow_ups")
def _follow_ups(unit: Unit) -> dict[int, str]:
    return dict(unit.session.execute(select(Queue.id, Queue.follow_up)).all())


def ticket_of(unit: Unit, inbound: Inbound, hook: re.Pattern[str]) -> TicketRow | None:
    """The ticket a message answers: its number after the hook in the subject, else a known
    Message-ID it refers to. A merged ticket stands for the one it was merged into; a removed one is
    answered as a closed one."""
    candidates = [a or b for a, b in hook.findall(inbound.subject or "")]
    tn = None
    if candidates:
        tn = unit.session.scalar(select(Ticket.tn).where(Ticket.tn.in_(candidates)).order_by(Ticket.id.desc()))
    if tn is None and inbound.reply_ids:
        tn = unit.session.scalar(
            select(Ticket.tn)
            .join(Article, Article.ticket_id == Ticket.id)
            .where(Article.message_id.in_(inbound.reply_ids))
            .order_by(Article.id.desc())
            .limit(1)
        )
    if tn is None:
        return None
    row: TicketRow | None = lookup.tickets(unit, [tn], lock=True)[0]
    if row is not None and lookup.states(unit)[row.state_id].type == "merged":
        row = _merge_target(unit, row)  # to the ticket it was merged into (as OTRS)
    return None if row is None or lookup.states(unit)[row.state_id].type == "merged" else row


def _merge_target(unit: Unit, row: TicketRow) -> TicketRow | None:
    """The ticket a merged one ended up in (merges of merges followed, as OTRS's TicketCheckNumber)."""
    from tktctl.tickets.merge import merged_into

    found = merged_into(unit, row.id)
    if found is None:
        return None
    tn = unit.session.scalar(select(Ticket.tn).where(Ticket.id == found))
    return lookup.tickets(unit, [tn], lock=True)[0]


def bounced(unit: Unit, inbound: Inbound) -> TicketRow | None:
    """The ticket whose mail a delivery report returns (the desk sent it: an agent's or system article)."""
    if inbound.bounce_of is None:
        return None
    tn = unit.session.scalar(
        select(Ticket.tn)
        .join(Article, Article.ticket_id == Ticket.id)
        .where(Article.message_id == inbound.bounce_of, Article.sender.in_(("agent", "system")))
        .order_by(Article.id.desc())
        .limit(1)
    )
    return None if tn is None else lookup.tickets(unit, [tn], lock=True)[0]

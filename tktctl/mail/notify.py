"""Ticket notifications by rule (OTRS's NotificationEvent), resolved set-based and mailed through the outbox.

The changes that cause an event announce it with ``Unit.publish`` (the facade subscribes
:func:`notify`); for each valid rule naming the event, one query narrows the tickets by the
rule's filter and finds every (ticket, recipient) pair: owner, responsible, watchers, queue
subscribers, named agents, members of groups and roles, and the customer. An agent is told only
about tickets it may read (``ro`` on the queue's group, or its owner), never about its own change,
and never of an event it muted. Each message is an outbox row in the change's transaction,
with a ``SendAgentNotification`` (or ``SendCustomerNotification``) history row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from email.utils import formataddr
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, String, and_, bindparam, cast, func, insert, literal, or_, select, true, union

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.lookup import chunks
from tktctl.core.prepared import ids_in
from tktctl.db.models import (
    Agent,
    AgentMute,
    Article,
    Attachment,
    Customer,
    Group,
    MailOutbox,
    Queue,
    QueueSubscription,
    Role,
    RoleAgent,
    Ticket,
    TicketWatcher,
)
from tktctl.mail import outbound

if TYPE_CHECKING:
    from tktctl.core.unit import Unit

# OTRS-like tags a template may use besides ``$name``: <OTRS_TICKET_TicketNumber> (or <TKTCTL_TICKET_...>).
TICKET_TAGS = {
    "TicketNumber": "tn",
    "TicketID": "id",
    "Title": "title",
    "Queue": "queue",
    "State": "state",
    "Priority": "priority",
    "Type": "type",
    "CustomerUserID": "customer",
    "Owner": "owner",
    "Responsible": "responsible",
    "UntilTime": "pending_until",
}
RECIPIENT_TAGS = {"UserLogin": "recipient_login", "UserFullname": "recipient_name", "UserEmail": "recipient"}
_TAG = re.compile(r"<(?:OTRS|TKTCTL)_(TICKET|NOTIFICATION_RECIPIENT)_([A-Za-z]+)>")


class Notifier:
    """The facade's subscriber to every notification event (see :meth:`Unit.publish`)."""

    def wants(self, unit: Unit, event: str) -> bool:
        return bool(lookup.notification_rules(unit, event))

    def __call__(
        self, unit: Unit, event: str, ticket_ids: Sequence[int] | Callable[[], Sequence[int]], data: dict[str, Any]
    ) -> None:
        rules = lookup.notification_rules(unit, event)
        if not rules:
            return
        ids = list(ticket_ids() if callable(ticket_ids) else ticket_ids)
        for rule in rules:
            for part in chunks(sorted(set(ids))):
                notify(unit, rule, event, part, data)


def notify(unit: Unit, rule: dict[str, Any], event: str, ticket_ids: Sequence[int], data: dict[str, Any]) -> int:
    """Mail one rule's recipients about ``event`` on these tickets; returns the messages queued."""
    from tktctl.mail.rules import ticket_filter
    from tktctl.tickets.selection import filter_clauses

    senders = rule.get("article_sender")
    if senders and data.get("sender") not in senders:
        return 0
    filtered = bool(rule.get("filter"))
    where = filter_clauses(unit, ticket_filter(rule["name"], rule["filter"]), visible=False) if filtered else []
    params = {"ids": list(ticket_ids), "actor": unit.actor.id, "event": event}
    agents = _agent_recipients(unit, rule, where, params)
    customers = _customer_recipients(unit, rule, where, params)
    if not agents and not customers:
        return 0
    from tktctl.tickets.records import tickets_by_id

    tickets = {t["id"]: t for t in tickets_by_id(unit, sorted({r[0] for r in (*agents, *customers)}))}
    settings = unit.cache.get("mail_settings") or outbound.MailSettings.from_config(unit.store.mail_config)
    unit.cache["mail_settings"] = settings
    articles = _articles(unit, rule, data, list(tickets))
    entries: list[tuple[int, str, int, dict[str, Any]]] = []
    rows: list[dict[str, Any]] = []
    queue_ids = dict(unit.session.execute(select(Ticket.id, Ticket.queue_id).where(Ticket.id.in_(list(tickets)))).all())
    for ticket_id, login, name, email in agents:
        rows.append(
            _row(unit, rule, event, data, tickets[ticket_id], articles.get(ticket_id), settings, (login, name, email))
        )
        entries.append(
            (ticket_id, "SendAgentNotification", queue_ids[ticket_id], {"to": login, "event": _label(event, data)})
        )
    for ticket_id, email in customers:
        rows.append(
            _row(unit, rule, event, data, tickets[ticket_id], articles.get(ticket_id), settings, (None, None, email))
        )
        entries.append(
            (ticket_id, "SendCustomerNotification", queue_ids[ticket_id], {"to": email, "event": _label(event, data)})
        )
    from tktctl.tickets import changes

    unit.session.execute(insert(MailOutbox), rows)  # one executemany, however many messages
    changes.add_history(unit, entries)
    return len(entries)


def _label(event: str, data: dict[str, Any]) -> str:
    """The event as mail and history name it: the escalation's own name (EscalationResponseTimeStart)."""
    return str(data.get("detail") or event)


def _agent_recipients(unit: Unit, rule: dict[str, Any], where: list[Any], params: dict[str, Any]) -> list[Any]:
    """(ticket id, login, name, email) of every agent to tell, in one query over the union of kinds."""
    kinds = tuple(sorted(set(rule.get("recipients", ())) & {"owner", "responsible", "watchers", "queue_subscribers"}))
    group_ids: tuple[int, ...] = ()
    if rule.get("groups"):
        group_ids = tuple(unit.session.scalars(select(Group.id).where(Group.name.in_(list(rule["groups"])))))
    shape = (kinds, tuple(rule.get("agents") or ()), group_ids, tuple(rule.get("roles") or ()))
    if not (kinds or shape[1] or group_ids or shape[3]):
        return []
    # A rule's filter is its own SQL; without one the statement depends only on the shape: built once.
    statement = _agent_statement(shape, tuple(where)) if where else _shared_agent_statement(shape)
    return list(unit.session.execute(statement, params).all())


@cache
def _shared_agent_statement(shape: tuple[tuple[Any, ...], ...]) -> Select[Any]:
    return _agent_statement(shape, ())


def _agent_statement(shape: tuple[tuple[Any, ...], ...], filters: tuple[Any, ...]) -> Select[Any]:
    """The recipients of a rule of this shape (kinds, named agents, group ids, roles) among ``:ids``,
    for the event ``:event`` changed by ``:actor``."""
    kinds, agents, group_ids, roles = shape
    where = (ids_in(Ticket.id), *filters)
    found: list[Any] = []
    if "owner" in kinds:
        found.append(select(Ticket.id.label("t"), Ticket.owner_id.label("a")).where(*where))
    if "responsible" in kinds:
        found.append(
            select(Ticket.id.label("t"), Ticket.responsible_id.label("a")).where(
                *where, Ticket.responsible_id.is_not(None)
            )
        )
    if "watchers" in kinds:
        found.append(
            select(Ticket.id.label("t"), TicketWatcher.agent_id.label("a"))
            .join(TicketWatcher, TicketWatcher.ticket_id == Ticket.id)
            .where(*where)
        )
    if "queue_subscribers" in kinds:
        found.append(
            select(Ticket.id.label("t"), QueueSubscription.agent_id.label("a"))
            .join(QueueSubscription, QueueSubscription.queue_id == Ticket.queue_id)
            .where(*where)
        )
    if agents:
        named = select(Agent.id).where(Agent.login.in_(list(agents)))
        found.append(
            select(Ticket.id.label("t"), Agent.id.label("a")).join(Agent, true()).where(*where, Agent.id.in_(named))
        )
    if group_ids:
        members = or_(*(permissions.holders("ro", Agent.id, literal(g)) for g in group_ids))
        found.append(select(Ticket.id.label("t"), Agent.id.label("a")).join(Agent, true()).where(*where, members))
    if roles:
        role_ids = select(Role.id).where(Role.name.in_(list(roles)), Role.valid.is_(True))
        found.append(
            select(Ticket.id.label("t"), RoleAgent.agent_id.label("a"))
            .join(RoleAgent, RoleAgent.role_id.in_(role_ids))
            .where(*where)
        )
    pairs = union(*found).subquery()
    muted = select(AgentMute.agent_id).where(AgentMute.event == bindparam("event"))
    return (
        select(Ticket.id, Agent.login, Agent.name, Agent.email)
        .select_from(pairs)
        .join(Ticket, Ticket.id == pairs.c.t)
        .join(Queue, Queue.id == Ticket.queue_id)
        .join(Agent, Agent.id == pairs.c.a)
        .where(
            Agent.valid.is_(True),
            Agent.email.is_not(None),
            Agent.email != "",
            Agent.id != bindparam("actor"),
            Agent.id.not_in(muted),
            # Only agents who may read the ticket now: ro on its queue's group, or its owner.
            or_(Agent.id == Ticket.owner_id, permissions.holders("ro", Agent.id, Queue.group_id)),
        )
        .distinct()
        .order_by(Ticket.id, Agent.login)
    )


def _customer_recipients(unit: Unit, rule: dict[str, Any], where: list[Any], params: dict[str, Any]) -> list[Any]:
    """(ticket id, address): the customer user's email, else the ticket's customer when it is an address."""
    if "customer" not in rule.get("recipients", ()):
        return []
    address = func.coalesce(Customer.email, Ticket.customer)
    statement = (
        select(Ticket.id, cast(address, String()))
        .outerjoin(Customer, and_(Customer.login == Ticket.customer, Customer.valid.is_(True)))
        .where(ids_in(Ticket.id), *where, Ticket.customer.is_not(None))
        .order_by(Ticket.id)
    )
    return [(t, a) for t, a in unit.session.execute(statement, params) if a and "@" in a]


def _articles(unit: Unit, rule: dict[str, Any], data: dict[str, Any], ticket_ids: list[int]) -> dict[int, Any]:
    """The article an event is about (when the rule includes it): ticket id -> (body, attachments)."""
    wanted = data.get("articles") or {}
    if not rule.get("include_article") or not wanted:
        return {}
    article_ids = [wanted[t] for t in ticket_ids if t in wanted]
    if not article_ids:
        return {}
    bodies = dict(unit.session.execute(select(Article.id, Article.body).where(Article.id.in_(article_ids))).all())
    files: dict[int, list[tuple[str, str, bytes]]] = {}
    rows = unit.session.execute(
        select(Attachment.article_id, Attachment.filename, Attachment.content_type, Attachment.content)
        .where(Attachment.article_id.in_(article_ids))
        .order_by(Attachment.id)
    )
    for article_id, filename, content_type, content in rows:
        files.setdefault(article_id, []).append((filename, content_type, content))
    return {t: (bodies.get(a) or "", files.get(a, [])) for t, a in wanted.items() if t in ticket_ids}


def render(template: str, values: dict[str, str]) -> str:
    """``$name`` placeholders, then OTRS-style tags; unknown ones stay as written (no code runs)."""

    def tag(match: re.Match[str]) -> str:
        table = TICKET_TAGS if match.group(1) == "TICKET" else RECIPIENT_TAGS
        key = table.get(match.group(2))
        return values.get(key, match.group(0)) if key else match.group(0)

    return _TAG.sub(tag, outbound.render(template, values))


def _row(
    unit: Unit,
    rule: dict[str, Any],
    event: str,
    data: dict[str, Any],
    ticket: dict[str, Any],
    article: Any,
    settings: outbound.MailSettings,
    to: tuple[str | None, str | None, str],
) -> dict[str, Any]:
    """The outbox row of one notification to ``to`` (login or None for the customer, name, address)."""
    login, name, email = to
    values = {k: "" if v is None else str(v) for k, v in ticket.items() if not isinstance(v, (dict, list))}
    values["priority"] = values.get("priority_name", values.get("priority", ""))
    values["customer"] = values.get("customer") or "-"
    values.update(event=_label(event, data), recipient=email, recipient_login=login or "", recipient_name=name or "")
    subject = " ".join(render(rule.get("subject", "$event: $title"), values).split())
    subject = outbound.with_hook(subject, ticket["tn"], settings)
    body = render(rule.get("body", "$event\n\nTicket: $tn\nTitle: $title\n"), values)
    attachments: Sequence[tuple[str, str, bytes]] = ()
    if article is not None:
        body = f"{body.rstrip()}\n\n{article[0]}\n"
        attachments = article[1]
    return outbound.outbox_row(
        unit,
        ticket_id=ticket["id"],
        kind="notification",
        envelope_from="",
        recipient=email,
        sender=settings.address,
        to=formataddr((name or "", email)),
        subject=subject,
        body=body,
        headers={"Auto-Submitted": "auto-generated", "X-Loop": settings.address},
        attachments=attachments,
    )[0]

"""Ticket notifications by rule (OTRS's NotificationEvent), resolved set-based and mailed through the outbox.

The changes that cause an event announce it with ``Unit.publish`` (the facade subscribes
:func:`notify`); for each valid rule naming the event, one query narrows the tickets by the
rule's filter and finds every (ticket, recipient) pair: owner, responsible, watchers, queue
subscribers, named agents, members of groups and roles, and the customer. An agent is told only
about tickets it may read (``ro`` on the queue's group, or its owner), never about its own change,
and never of an event it muted. Each message is an outbox draft in the change's transaction,
with a ``SendAgentNotification`` (or ``SendCustomerNotification``) history row; it is composed
when `mail send` sends it, after checking again that the agent may still read the ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, String, and_, bindparam, cast, func, insert, literal, or_, select, true, union

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.configcache import configuration
from tktctl.core.language import ticket_preferences
from tktctl.core.lookup import chunks
from tktctl.core.prepared import ids_in
from tktctl.db.models import (
    Agent,
    AgentMute,
    Article,
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
from tktctl.mail import outbound, tags, texts
from tktctl.mail.translations import rule_text

if TYPE_CHECKING:
    from tktctl.core.unit import Unit


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
    senders = texts.queue_senders(unit, queue_ids.values(), settings.queue_address)
    languages = ticket_preferences(unit.session, [t for t, _ in customers]) if rule.get("translations") else {}
    # (ticket id, (login, name, address), history type, who the history names, languages read): agents (their
    # own language, else the desk's), then customers (the ticket's languages).
    recipients = [
        (t, (login, name, email), "SendAgentNotification", login, [language] if language else [])
        for t, login, name, email, language in agents
    ]
    recipients += [
        (t, (None, None, email), "SendCustomerNotification", email, languages.get(t, [])) for t, email in customers
    ]
    for ticket_id, to, history, who, preferred in recipients:
        queue_id = queue_ids[ticket_id]
        ticket, article = tickets[ticket_id], articles.get(ticket_id)
        text = rule_text(unit, rule, preferred)
        rows.append(_row(unit, rule, event, data, ticket, article, settings, to, text, senders[queue_id][0]))
        entries.append((ticket_id, history, queue_id, {"to": who, "event": _label(event, data)}))
    from tktctl.tickets import changes

    unit.session.execute(insert(MailOutbox), rows)  # one executemany, however many messages
    changes.add_history(unit, entries)
    return len(entries)


def _label(event: str, data: dict[str, Any]) -> str:
    """The event as mail and history name it: the escalation's own name (EscalationResponseTimeStart)."""
    return str(data.get("detail") or event)


def _agent_recipients(unit: Unit, rule: dict[str, Any], where: list[Any], params: dict[str, Any]) -> list[Any]:
    """(ticket id, login, name, email, language) of every agent to tell, in one query over the union of kinds;
    none, and no query, when no agent but the actor could be mailed (a desk whose agents have no address)."""
    if not mailable_agents(unit) - {unit.actor.id}:
        return []
    kinds = tuple(sorted(set(rule.get("recipients", ())) & {"owner", "responsible", "watchers", "queue_subscribers"}))
    group_ids: tuple[int, ...] = ()
    if rule.get("groups"):
        group_ids = tuple(unit.session.scalars(select(Group.id).where(Group.name.in_(list(rule["groups"])))))
    shape = (kinds, tuple(rule.get("agents") or ()), group_ids, tuple(rule.get("roles") or ()))
    if not (kinds or shape[1] or group_ids or shape[3]):
        return []
    # A rule's filter is its own SQL; without one the statement depends only on the shape: built once.
    statement = _agent_statement(shape, tuple(where)) if where else _shared_agent_statement(shape)
    return list(unit.connection.execute(statement, params).all())


# An agent a notification can reach: valid, with an address (the recipients statement and its shortcut).
_MAILABLE = (Agent.valid.is_(True), Agent.email.is_not(None), Agent.email != "")


@configuration("mailable_agents")
def mailable_agents(unit: Unit) -> frozenset[int]:
    """The valid agents with an address: every recipient is one (read once per configuration generation,
    where the recipients, of tickets, watchers and subscriptions, are data read per event)."""
    statement = select(Agent.id).where(*_MAILABLE)
    return frozenset(unit.connection.execute(statement).scalars())


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
        select(Ticket.id, Agent.login, Agent.name, Agent.email, Agent.language)
        .select_from(pairs)
        .join(Ticket, Ticket.id == pairs.c.t)
        .join(Queue, Queue.id == Ticket.queue_id)
        .join(Agent, Agent.id == pairs.c.a)
        .where(
            *_MAILABLE,
            Agent.id != bindparam("actor"),
            Agent.id.not_in(muted),
            _reads(),
        )
        .distinct()
        .order_by(Ticket.id, Agent.login)
    )


def _reads() -> Any:
    """Whether the joined Agent may read the joined Ticket (and its Queue): ``ro`` on the queue's
    group, or its owner."""
    return or_(Agent.id == Ticket.owner_id, permissions.holders("ro", Agent.id, Queue.group_id))


def still_reads(unit: Unit, login: str, ticket_id: int) -> bool:
    """At send time: the agent a notification was queued for is still valid and may read the ticket."""
    statement = (
        select(Agent.id)
        .select_from(Ticket)
        .join(Queue, Queue.id == Ticket.queue_id)
        .join(Agent, Agent.login == login)
        .where(Ticket.id == ticket_id, Agent.valid.is_(True), _reads())
    )
    return unit.session.execute(statement).first() is not None


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
    return [(t, a) for t, a in unit.connection.execute(statement, params) if a and "@" in a]


def _articles(unit: Unit, rule: dict[str, Any], data: dict[str, Any], ticket_ids: list[int]) -> dict[int, Any]:
    """The article an event is about (when the rule includes it): ticket id -> (body, article id);
    its attachments are read when the mail is composed, not in the change's transaction."""
    wanted = data.get("articles") or {}
    if not rule.get("include_article") or not wanted:
        return {}
    article_ids = [wanted[t] for t in ticket_ids if t in wanted]
    if not article_ids:
        return {}
    bodies = dict(unit.session.execute(select(Article.id, Article.body).where(Article.id.in_(article_ids))).all())
    return {t: (bodies.get(a) or "", a) for t, a in wanted.items() if t in ticket_ids}


def _row(
    unit: Unit,
    rule: dict[str, Any],
    event: str,
    data: dict[str, Any],
    ticket: dict[str, Any],
    article: Any,
    settings: outbound.MailSettings,
    to: tuple[str | None, str | None, str],
    text: tuple[str, str],
    sender: str,
) -> dict[str, Any]:
    """The outbox row of one notification to ``to`` (login or None for the customer, name, address),
    of ``text`` (subject and body templates in the recipient's language), from ``sender`` (the queue's
    system address)."""
    login, name, email = to
    values = {k: "" if v is None else str(v) for k, v in ticket.items() if not isinstance(v, (dict, list))}
    values["priority"] = values.get("priority_name", values.get("priority", ""))
    values["customer"] = values.get("customer") or "-"
    values.update(event=_label(event, data), recipient=email, recipient_login=login or "", recipient_name=name or "")
    scopes = {
        "TICKET": tags.ticket_tags(ticket),
        "NOTIFICATION_RECIPIENT": tags.agent_tags(login, name, email),
        "CONFIG": settings.tag_config(),
    }
    subject = " ".join(tags.render(text[0], scopes, values).split())
    subject = outbound.with_hook(subject, ticket["tn"], settings)
    body = tags.render(text[1], scopes, values)
    files = None
    if article is not None:
        body = f"{body.rstrip()}\n\n{article[0]}\n"
        files = article[1]
    return outbound.outbox_row(
        unit,
        ticket_id=ticket["id"],
        kind="notification",
        envelope_from="",
        recipient=email,
        sender=sender,
        to=email,
        to_name=name or "",
        subject=subject,
        body=body,
        headers={"Auto-Submitted": "auto-generated", "X-Loop": settings.address},
        files=files,
        reader=login,
    )

"""Composing answers as Znuny's TemplateGenerator does: the queue's salutation, a standard template,
the agent's own text and the queue's signature, each in the ticket's language and tag-rendered
(mail/tags.py); and the From of every mail about a queue's tickets: its system address.

The context the tags see is gathered here, in the caller's transaction: the ticket record, the
customer's last message (subject, body, sender), the owner, the responsible and the acting agent,
and the whitelisted configuration. The agent's own text is never rendered (it is what they typed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from email.utils import formataddr, parseaddr
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, select

from tktctl.core.language import choose, desk_language, ticket_language
from tktctl.db.models import Agent, Queue, QueueTemplate, Salutation, Signature, StandardTemplate, SystemAddress
from tktctl.errors import NotFoundError, UsageError
from tktctl.mail import tags

if TYPE_CHECKING:
    from tktctl.core.unit import Unit
    from tktctl.db.models import Article


def queue_senders(unit: Unit, queue_ids: Iterable[int], fallback: Callable[[str], str]) -> dict[int, tuple[str, str]]:
    """Each queue's (From header, bare address): its valid system address (with the display name),
    else ``fallback`` of the queue's name (the profile's ``mail.queues`` address, else ``mail.address``)."""
    ids = sorted(set(queue_ids))
    rows = unit.session.execute(
        select(Queue.id, Queue.name, SystemAddress.email, SystemAddress.realname, SystemAddress.valid)
        .outerjoin(SystemAddress, SystemAddress.id == Queue.system_address_id)
        .where(Queue.id.in_(ids))
    )
    found: dict[int, tuple[str, str]] = {}
    for queue_id, name, email, realname, valid in rows:
        if email and valid:
            found[queue_id] = (formataddr((realname or "", email)), email)
        else:
            address = fallback(name)
            found[queue_id] = (address, address)
    return found


def answer(
    unit: Unit,
    ticket: dict[str, Any],
    queue_id: int,
    name: str,
    text: str | None,
    last: Article | None,
    config: dict[str, str],
) -> tuple[str | None, str]:
    """The subject (None: the template has none) and body of an answer with the template ``name``."""
    language = ticket_language(unit.session, ticket["id"])
    template = _template(unit, queue_id, ticket["queue"], name, language)
    queue = unit.session.get(Queue, queue_id)
    salutation = _variant(unit, Salutation, queue.salutation if queue else None, language)
    signature = _variant(unit, Signature, queue.signature if queue else None, language)
    scopes = _scopes(unit, ticket, last, config)
    parts = [tags.render(salutation.body, scopes) if salutation else None, tags.render(template.body, scopes), text]
    parts.append(tags.render(signature.body, scopes) if signature else None)
    body = "\n\n".join(p.strip("\n") for p in parts if p and p.strip())
    subject = tags.render(template.subject, scopes) if template.subject else None
    return subject, body + "\n"


def _template(unit: Unit, queue_id: int, queue: str, name: str, language: str) -> StandardTemplate:
    """The answer template in the ticket's language; offered by the ticket's queue, or by no queue."""
    template = _variant(unit, StandardTemplate, name, language)
    if template is None:
        raise NotFoundError(f"template {name!r} not found", ref=name)
    if template.kind != "answer":
        raise UsageError(f"template {name!r} is a {template.kind} template; a reply takes an answer")
    offered = select(QueueTemplate.queue_id).where(QueueTemplate.name == name)
    if unit.session.scalar(select(exists(offered))) and queue_id not in set(unit.session.scalars(offered)):
        raise UsageError(f"template {name!r} is not offered by queue {queue!r} (template update --queue)")
    return template


def _variant(unit: Unit, model: Any, name: str | None, language: str) -> Any:
    """The valid variant of the text ``name`` closest to ``language``, else the desk's default
    language's, else any (core.language.choose); None when it has no valid variant."""
    if name is None:
        return None
    statement = select(model).where(model.name == name, model.valid.is_(True)).order_by(model.language)
    by_language = {r.language: r for r in unit.session.scalars(statement)}
    return choose(by_language, language, desk_language(unit.session)) if by_language else None


def _scopes(
    unit: Unit, ticket: dict[str, Any], last: Article | None, config: dict[str, str]
) -> dict[str, dict[str, str]]:
    """What the tags of an answer may show."""
    realname, address = parseaddr(last.a_from or "") if last else ("", "")
    customer = {
        "From": address or (ticket.get("customer") or ""),
        "Realname": realname or address or (ticket.get("customer") or ""),
        "Subject": (last.subject or "") if last else "",
        "Body": (last.body or "") if last else "",
        "UserLogin": ticket.get("customer") or "",
    }
    logins = [x for x in (ticket.get("owner"), ticket.get("responsible")) if x]
    agents = {a.login: a for a in unit.session.scalars(select(Agent).where(Agent.login.in_(logins)))}

    def person(login: str | None) -> dict[str, str]:
        agent = agents.get(login or "")
        return tags.agent_tags(login, agent.name, agent.email) if agent else tags.agent_tags(login, None, None)

    actor = unit.actor
    return {
        "TICKET": tags.ticket_tags(ticket),
        "CUSTOMER": customer,
        "OWNER": person(ticket.get("owner")),
        "RESPONSIBLE": person(ticket.get("responsible")),
        "CURRENT": tags.agent_tags(actor.login, actor.name, actor.email),
        "CONFIG": config,
    }

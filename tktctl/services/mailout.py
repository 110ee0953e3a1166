"""Outgoing mail: composed in the change's transaction into the outbox, delivered later by `mail send`.

Nothing here talks to a mail server while a ticket changes: auto-responses, agent
notifications and answers are rows of ``mail_outbox`` committed together with the change
(an SMTP outage loses nothing), and :func:`deliver` sends them with retry and backoff.
"""

from __future__ import annotations

import os
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import func, insert, select

from tktctl.db.models import Agent, AutoResponse, MailOutbox, Queue, QueueAutoResponse, QueueSubscription, Ticket
from tktctl.errors import UsageError
from tktctl.services import permissions
from tktctl.services.mailparse import Limits

if TYPE_CHECKING:
    import smtplib

    from tktctl.services.desk import Unit

AUTO_TYPES = ("auto-reply", "auto-reject", "auto-follow-up", "auto-reply/new-ticket")
AUTO_HISTORY = {
    "auto-reply": "SendAutoReply",
    "auto-reject": "SendAutoReject",
    "auto-follow-up": "SendAutoFollowUp",
    "auto-reply/new-ticket": "SendAutoReply",
}
DEFAULT_ADDRESS = "tktctl@localhost"
MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    tls: bool = False
    starttls: bool = False
    user: str | None = None
    password_file: str | None = None
    timeout: float = 30.0

    @classmethod
    def resolve(cls, config: Any) -> SmtpSettings:
        """``TKTCTL_SMTP_URL=smtp[s]://[user@]host:port`` wins over the profile's ``smtp:`` section."""
        url = os.environ.get("TKTCTL_SMTP_URL")
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
                raise UsageError(f"TKTCTL_SMTP_URL must look like smtp://host:port, not {url!r}")
            return cls(
                host=parts.hostname,
                port=parts.port or (465 if parts.scheme == "smtps" else 25),
                tls=parts.scheme == "smtps",
                user=unquote(parts.username) if parts.username else None,
            )
        if config is None:
            return cls()
        if not isinstance(config, dict):
            raise UsageError("profile key 'smtp' must be a mapping (host, port, tls, starttls, user, password_file)")
        unknown = sorted(set(config) - set(cls.__dataclass_fields__))
        if unknown:
            raise UsageError(f"smtp: unknown key {', '.join(unknown)}; known: {', '.join(cls.__dataclass_fields__)}")
        return cls(**config)

    def password(self) -> str | None:
        if self.password_file is None:
            return None
        try:
            return Path(self.password_file).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"cannot read smtp password file: {exc}") from exc


@dataclass(frozen=True)
class MailSettings:
    """The profile's ``mail:`` section."""

    address: str = DEFAULT_ADDRESS
    queues: dict[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    auto_response_limit: int = 40
    trusted: bool = True
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Any) -> MailSettings:
        if config is None:
            return cls()
        if not isinstance(config, dict):
            raise UsageError("profile key 'mail' must be a mapping")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(config) - known)
        if unknown:
            raise UsageError(f"mail: unknown key {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        queues = config.get("queues") or {}
        accounts = config.get("accounts") or {}
        if not isinstance(queues, dict) or not isinstance(accounts, dict):
            raise UsageError("mail.queues and mail.accounts must be mappings")
        limit = config.get("auto_response_limit", 40)
        if not isinstance(limit, int) or limit < 0:
            raise UsageError("mail.auto_response_limit must be a whole number >= 0")
        return cls(
            address=str(config.get("address", DEFAULT_ADDRESS)),
            queues={str(k).lower(): str(v) for k, v in queues.items()},
            limits=Limits.from_config(config.get("limits")),
            auto_response_limit=limit,
            trusted=bool(config.get("trusted", True)),
            accounts={str(k): v for k, v in accounts.items()},
        )

    def queue_address(self, queue_name: str) -> str:
        """The address a queue answers from: the first one mapped to it, else the system address."""
        return next((a for a, q in self.queues.items() if q == queue_name), self.address)


def compose(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    now: datetime,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    headers: dict[str, str] | None = None,
) -> tuple[EmailMessage, str]:
    """A message and its new Message-ID."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    domain = sender.rpartition("@")[2].strip("> ") or "localhost"
    message_id = make_msgid(domain=domain)
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    chain = [r for r in (*references, in_reply_to) if r]
    if chain:
        message["References"] = " ".join(dict.fromkeys(chain))
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message, message_id


def enqueue(
    unit: Unit, message: EmailMessage, *, ticket_id: int | None, kind: str, envelope_from: str, recipient: str
) -> None:
    unit.session.execute(
        insert(MailOutbox).values(
            ticket_id=ticket_id,
            kind=kind,
            sender=envelope_from,
            recipient=recipient[:250],
            subject=str(message["Subject"])[:10_000],
            message=message.as_bytes(),
            status="pending",
            attempts=0,
            next_attempt=unit.now,
            created=unit.now,
        )
    )


def with_hook(subject: str, tn: str) -> str:
    """``[Ticket#TN]`` first, once, as OTRS writes it."""
    hook = f"[Ticket#{tn}]"
    return " ".join(f"{hook} {subject.replace(hook, ' ')}".split())


def ticket_fields(unit: Unit, ticket_id: int, extra: dict[str, str | None]) -> dict[str, str]:
    """What templates may use: $tn, $title, $queue, $state, $priority, $customer, $owner, $subject, $from."""
    from tktctl.services.records import tickets_by_id

    record = tickets_by_id(unit, [ticket_id])[0]
    values = {k: record[k] for k in ("tn", "title", "queue", "state", "priority_name", "customer", "owner")}
    values["priority"] = values.pop("priority_name")
    return {k: "" if v is None else str(v) for k, v in {**values, **extra}.items()}


def render(template: str, values: dict[str, str]) -> str:
    """``$name`` / ``${name}`` placeholders; unknown ones stay as written (no code runs)."""
    return string.Template(template).safe_substitute(values)


def auto_respond(
    unit: Unit,
    *,
    ticket_id: int,
    queue_id: int,
    kind: str,
    to: str | None,
    block: str | None,
    settings: MailSettings,
    fields: dict[str, str | None],
    in_reply_to: str | None,
    references: Sequence[str],
) -> str | None:
    """Queue the queue's auto-response of ``kind``; returns why none was sent, or None."""
    template = unit.session.execute(
        select(AutoResponse.subject, AutoResponse.body)
        .join(QueueAutoResponse, QueueAutoResponse.auto_response_id == AutoResponse.id)
        .where(QueueAutoResponse.queue_id == queue_id, QueueAutoResponse.type == kind, AutoResponse.valid.is_(True))
    ).first()
    if template is None:
        return f"queue has no {kind} response"
    if block is not None or to is None:
        return f"no auto-response: {block or 'no sender address'}"
    own = {settings.address.lower(), *settings.queues}
    if to.lower() in own:
        return "no auto-response to our own address"
    since = unit.now - timedelta(days=1)
    sent_today = unit.session.scalar(
        select(func.count()).where(
            MailOutbox.recipient == to[:250], MailOutbox.kind.in_(AUTO_TYPES), MailOutbox.created >= since
        )
    )
    if (sent_today or 0) >= settings.auto_response_limit:
        return f"no auto-response: {to} got {settings.auto_response_limit} in the last 24 hours"
    values = ticket_fields(unit, ticket_id, fields)
    subject = with_hook(render(template.subject, values), values["tn"])
    body = render(template.body, values)
    sender = settings.queue_address(values["queue"])
    # RFC 3834: automatic responses go out with an empty envelope sender, so nothing bounces back.
    send_article(
        unit,
        ticket_id=ticket_id,
        queue_id=queue_id,
        kind=kind,
        author="system",
        sender=sender,
        to=to,
        recipient=to,
        subject=subject,
        body=body,
        in_reply_to=in_reply_to,
        references=references,
        headers={"Auto-Submitted": "auto-replied", "X-Loop": sender, "Precedence": "bulk"},
        envelope_from="",
        history_type=AUTO_HISTORY[kind],
    )
    return None


def send_article(
    unit: Unit,
    *,
    ticket_id: int,
    queue_id: int,
    kind: str,
    author: str,
    sender: str,
    to: str,
    recipient: str,
    subject: str,
    body: str,
    in_reply_to: str | None,
    references: Sequence[str],
    envelope_from: str,
    history_type: str,
    headers: dict[str, str] | None = None,
) -> int:
    """Mail to a customer: the outbox row, the email article (its Message-ID threads replies) and history."""
    from tktctl.services import changes

    message, message_id = compose(
        sender=sender,
        to=to,
        subject=subject,
        body=body,
        now=unit.now,
        in_reply_to=in_reply_to,
        references=references,
        headers=headers,
    )
    enqueue(unit, message, ticket_id=ticket_id, kind=kind, envelope_from=envelope_from, recipient=recipient)
    article_id = changes.add_article(
        unit,
        ticket_id,
        channel="email",
        sender=author,
        body=body,
        subject=subject,
        from_=sender,
        to=to,
        message_id=message_id,
        in_reply_to=in_reply_to,
    )
    changes.add_history(unit, [(ticket_id, history_type, queue_id, {"to": recipient, "subject": subject})])
    return article_id


def notify_agents(unit: Unit, ticket_ids: Sequence[int], event: str, settings: MailSettings | None = None) -> None:
    """Mail the agents subscribed to the tickets' queues (not the one acting), with history rows."""
    from tktctl.services import changes

    if not ticket_ids:
        return
    rows = unit.session.execute(
        select(Ticket.id, Ticket.tn, Ticket.title, Ticket.customer, Ticket.queue_id, Queue.name, Agent)
        .join(Queue, Ticket.queue_id == Queue.id)
        .join(QueueSubscription, QueueSubscription.queue_id == Queue.id)
        .join(Agent, Agent.id == QueueSubscription.agent_id)
        .where(
            Ticket.id.in_(list(ticket_ids)),
            Agent.valid.is_(True),
            Agent.email.is_not(None),
            Agent.id != unit.actor.id,
            permissions.holders("ro", Agent.id, Queue.group_id),  # only agents who may read the ticket, now
        )
        .order_by(Ticket.id, Agent.login)
    ).all()
    if not rows:
        return
    settings = settings or unit.desk.mail.settings
    entries: list[tuple[int, str, int, dict[str, Any]]] = []
    for row in rows:
        agent = row.Agent
        subject = with_hook(f"{event}: {row.title}", row.tn)
        body = (
            f"{event} in queue {row.name}\n\nTicket: {row.tn}\nTitle: {row.title}\n"
            f"Customer: {row.customer or '-'}\n\nShow it with: tktctl ticket show {row.tn}\n"
        )
        to = formataddr((agent.name or "", agent.email or ""))
        message, _ = compose(
            sender=settings.address,
            to=to,
            subject=subject,
            body=body,
            now=unit.now,
            headers={"Auto-Submitted": "auto-generated", "X-Loop": settings.address},
        )
        enqueue(unit, message, ticket_id=row.id, kind="notification", envelope_from="", recipient=agent.email or "")
        entries.append((row.id, "SendAgentNotification", row.queue_id, {"to": agent.login, "event": event}))
    changes.add_history(unit, entries)


def smtp_connect(smtp: SmtpSettings) -> smtplib.SMTP:
    import smtplib
    import ssl

    if smtp.tls:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=smtp.timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
    if smtp.user:
        client.login(smtp.user, smtp.password() or "")
    return client


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes, at most six hours between attempts."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))

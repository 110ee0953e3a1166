"""Outgoing mail: drafted in the change's transaction into the outbox, composed and delivered by `mail send`.

Nothing here talks to a mail server or builds MIME while a ticket changes: auto-responses,
agent notifications and answers are rows of ``mail_outbox`` committed together with the change
(an SMTP outage loses nothing), each holding a *draft* (headers, body, the article whose files
go with it, the agent who must still be able to read the ticket); :func:`tktctl.mail.send.deliver`
composes each one (:mod:`tktctl.mail.compose`) when it sends it. This module does not load ``email``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from sqlalchemy import func, insert, select

from tktctl.core.configcache import configuration
from tktctl.core.vocabulary import clean_line
from tktctl.db.engine import display_url
from tktctl.db.models import AutoResponse, MailOutbox, QueueAutoResponse, SystemAddress
from tktctl.errors import UsageError
from tktctl.mail import tags, texts
from tktctl.mail.limits import Limits
from tktctl.mail.translations import auto_response_text
from tktctl.tickets import changes
from tktctl.tickets.attach import store_files
from tktctl.tickets.records import tickets_by_id

if TYPE_CHECKING:
    import smtplib

    from tktctl.core.unit import Unit

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


SMTP_KEYS = ("host", "port", "tls", "starttls", "user", "password_file", "timeout")


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    tls: bool = False
    starttls: bool = False
    user: str | None = None
    password_file: str | None = None
    timeout: float = 30.0
    url_password: str | None = field(default=None, repr=False)  # from TKTCTL_SMTP_URL only, never shown

    @classmethod
    def resolve(cls, config: Any) -> SmtpSettings:
        """``TKTCTL_SMTP_URL=smtp[s]://[user[:password]@]host:port[?starttls=true]`` wins over ``smtp:``."""
        url = os.environ.get("TKTCTL_SMTP_URL")
        if url:
            usage = f"TKTCTL_SMTP_URL must look like smtp[s]://[user:password@]host[:port], not {display_url(url)}"
            try:
                parts = urlsplit(url)
                port = parts.port
            except ValueError as exc:
                raise UsageError(usage) from exc
            query = parse_qs(parts.query)
            if parts.scheme not in ("smtp", "smtps") or not parts.hostname or set(query) - {"starttls"}:
                raise UsageError(usage)
            return cls(
                host=parts.hostname,
                port=port or (465 if parts.scheme == "smtps" else 25),
                tls=parts.scheme == "smtps",
                starttls=query.get("starttls", ["false"])[-1].lower() in ("1", "true", "yes"),
                user=unquote(parts.username) if parts.username else None,
                url_password=unquote(parts.password) if parts.password is not None else None,
            )
        if config is None:
            return cls()
        if not isinstance(config, dict):
            raise UsageError(f"profile key 'smtp' must be a mapping ({', '.join(SMTP_KEYS)})")
        unknown = sorted(set(config) - set(SMTP_KEYS))
        if unknown:
            raise UsageError(f"smtp: unknown key {', '.join(unknown)}; known: {', '.join(SMTP_KEYS)}")
        return cls(**config)

    @property
    def display(self) -> str:
        """Where mail goes, as it may be shown: the password masked (``db.engine.display_url``)."""
        login = f"{quote(self.user, safe='')}:***@" if self.user else ""
        return display_url(f"{'smtps' if self.tls else 'smtp'}://{login}{self.host}:{self.port}")

    def password(self) -> str | None:
        if self.url_password is not None:
            return self.url_password
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
    hook: str = "Ticket#"  # as OTRS's Ticket::Hook and Ticket::HookDivider
    hook_divider: str = ""

    def tag_config(self) -> dict[str, str]:
        """The ``<OTRS_CONFIG_...>`` values a text may show (tags.CONFIG names them all)."""
        return {
            "FQDN": self.address.rpartition("@")[2],
            "Ticket::Hook": self.hook,
            "Ticket::HookDivider": self.hook_divider,
            "NotificationSenderEmail": self.address,
        }

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
        # Addresses go into the From, Sender and X-Loop headers of every mail: one line each.
        addresses = [str(config.get("address", DEFAULT_ADDRESS)), *map(str, queues)]
        for address in addresses:
            clean_line("mail address", address, limit=250, required=True)
        hook, divider = config.get("hook", "Ticket#"), config.get("hook_divider", "")
        if not isinstance(hook, str) or not isinstance(divider, str) or not hook.strip() or "]" in hook + divider:
            raise UsageError("mail.hook (e.g. Ticket#) and mail.hook_divider must be text, the hook not empty")
        clean_line("mail.hook", hook + divider, limit=50)
        return cls(
            address=addresses[0],
            queues={str(k).lower(): str(v) for k, v in queues.items()},
            limits=Limits.from_config(config.get("limits")),
            auto_response_limit=limit,
            trusted=bool(config.get("trusted", True)),
            accounts={str(k): v for k, v in accounts.items()},
            hook=hook,
            hook_divider=divider,
        )

    def queue_address(self, queue_name: str) -> str:
        """The address a queue answers from: the first one mapped to it, else the system address."""
        return next((a for a, q in self.queues.items() if q == queue_name), self.address)


def _line_break(text: str) -> bool:
    return "\r" in text or "\n" in text


def has_control(text: str) -> bool:
    """CR, LF or another control character: a header injection (``Bcc:``), never a valid address or name."""
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


DRAFT = b'{"draft":'  # how a draft starts; a row queued before drafts holds the message itself


def enqueue(unit: Unit, *, ticket_id: int | None, kind: str, envelope_from: str, recipient: str, **draft: Any) -> None:
    """Queue a draft (``draft`` as :func:`outbox_row` takes it) in the change's transaction."""
    row = outbox_row(unit, ticket_id=ticket_id, kind=kind, envelope_from=envelope_from, recipient=recipient, **draft)
    unit.session.execute(insert(MailOutbox).values(**row))


def outbox_row(
    unit: Unit, *, ticket_id: int | None, kind: str, envelope_from: str, recipient: str, **draft: Any
) -> dict[str, Any]:
    """The outbox row of :func:`enqueue`, not yet written (many go in with one executemany).

    ``draft`` holds what :func:`tktctl.mail.compose.build` needs: ``sender`` (the From), ``to``
    (and ``to_name``), ``subject``, ``body``, ``headers``, ``in_reply_to``, ``references``,
    ``message_id`` (else one is made at send time), ``files`` (the article whose attachments go
    with it), ``article`` (the article this mail is: its ``--raw`` becomes the bytes sent) and
    ``reader`` (an agent who must still be able to read the ticket when it is sent). A recipient
    or a header with a CR/LF (bad data already stored) must not fail the change: the row is
    queued as ``failed`` with the error at once.
    """
    document = {"draft": 1, "from": draft.pop("sender"), "date": unit.now.isoformat(), **draft}
    error = f"bad recipient address {recipient!r}" if has_control(recipient) else None
    header_values = (document["from"], document["to"], document.get("to_name") or "", document["subject"])
    broken = next((v for v in (*header_values, *(draft.get("headers") or {}).values()) if _line_break(v)), None)
    if error is None and broken is not None:  # what composing would raise, known now
        error = f"cannot compose the message: header values may not contain linefeed or carriage return ({broken!r})"
    return {
        "ticket_id": ticket_id,
        "kind": kind,
        "sender": envelope_from[:250],
        "recipient": recipient[:250],
        "subject": str(draft["subject"])[:10_000],
        "message": json.dumps(document, ensure_ascii=False).encode("utf-8"),
        "status": "pending" if error is None else "failed",
        "attempts": 0,
        "next_attempt": unit.now,
        "created": unit.now,
        "last_error": error,
    }


def with_hook(subject: str, tn: str, settings: MailSettings | None = None) -> str:
    """``[Ticket#TN]`` (the configured hook and divider) first, once, as OTRS writes it."""
    hook = f"[{settings.hook}{settings.hook_divider}{tn}]" if settings else f"[Ticket#{tn}]"
    return " ".join(f"{hook} {subject.replace(hook, ' ')}".split())


def ticket_fields(
    unit: Unit, ticket_id: int, extra: dict[str, str | None], settings: MailSettings
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """What an auto-response may use: $tn, $title, $queue, $state, $priority, $customer, $owner,
    $subject, $from, and the tags of the ticket, the customer's message and the configuration."""

    record = tickets_by_id(unit, [ticket_id])[0]
    values = {k: record[k] for k in ("tn", "title", "queue", "state", "priority_name", "customer", "owner")}
    values["priority"] = values.pop("priority_name")
    values = {k: "" if v is None else str(v) for k, v in {**values, **extra}.items()}
    name, address = parseaddr(values.get("from", ""))
    customer = {"From": address, "Realname": name or address, "Subject": values.get("subject", "")}
    scopes = {"TICKET": tags.ticket_tags(record), "CUSTOMER": customer, "CONFIG": settings.tag_config()}
    return values, scopes


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
    """Queue the queue's auto-response of ``kind`` (from the queue's address, its text tag-rendered);
    returns why none was sent, or None."""
    template = auto_responses(unit).get((queue_id, kind))
    if template is None:
        return f"queue has no {kind} response"
    if block is not None or to is None:
        return f"no auto-response: {block or 'no sender address'}"
    own = {settings.address.lower(), *settings.queues}
    if to.lower() in own or to.lower() in system_addresses(unit):
        return "no auto-response to our own address"
    since = unit.now - timedelta(days=1)
    sent_today = unit.session.scalar(
        select(func.count()).where(
            MailOutbox.recipient == to[:250], MailOutbox.kind.in_(AUTO_TYPES), MailOutbox.created >= since
        )
    )
    if (sent_today or 0) >= settings.auto_response_limit:
        return f"no auto-response: {to} got {settings.auto_response_limit} in the last 24 hours"

    own = (template.subject, template.body)
    subject, body = auto_response_text(unit, template.id, own, template.language, ticket_id)  # the ticket's language
    values, scopes = ticket_fields(unit, ticket_id, fields, settings)
    subject = with_hook(tags.render(subject, scopes, values), values["tn"], settings)
    body = tags.render(body, scopes, values)
    sender, address = texts.queue_senders(unit, [queue_id], settings.queue_address)[queue_id]
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
        headers={"Auto-Submitted": "auto-replied", "X-Loop": address, "Precedence": "bulk"},
        envelope_from="",
        history_type=AUTO_HISTORY[kind],
    )
    return None


@configuration("auto_responses")
def auto_responses(unit: Unit) -> dict[tuple[int, str], Any]:
    """The valid auto-response of each (queue id, kind), read once per configuration generation
    (kept between the transactions of a batch, as long as no configuration changed)."""
    rows = unit.session.execute(
        select(
            QueueAutoResponse.queue_id,
            QueueAutoResponse.type,
            AutoResponse.id,
            AutoResponse.subject,
            AutoResponse.body,
            AutoResponse.language,
        )
        .join(AutoResponse, QueueAutoResponse.auto_response_id == AutoResponse.id)
        .where(AutoResponse.valid.is_(True))
    )
    return {(r.queue_id, r.type): r for r in rows}


@configuration("system_addresses")
def system_addresses(unit: Unit) -> frozenset[str]:
    """The desk's system addresses, lower case, read once per configuration generation (loop protection
    asks for every auto-response)."""
    return frozenset(e for e in unit.session.scalars(select(func.lower(SystemAddress.email))) if e)


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
    attachments: Sequence[Any] = (),
) -> int:
    """Mail to a customer: the email article (its Message-ID threads replies, its ``attachments``
    are the mail's too), the outbox draft, history, and ArticleCreate announced (by ``author``)."""
    from tktctl.mail.compose import message_id

    own_id = message_id(sender)
    article_id = changes.add_article(
        unit,
        ticket_id,
        channel="email",
        sender=author,
        body=body,
        subject=subject,
        from_=sender,
        to=to,
        message_id=own_id,
        in_reply_to=in_reply_to,
    )
    store_files(unit, [article_id], attachments)
    enqueue(
        unit,
        ticket_id=ticket_id,
        kind=kind,
        envelope_from=envelope_from,
        recipient=recipient,
        sender=sender,
        to=to,
        subject=subject,
        body=body,
        message_id=own_id,
        in_reply_to=in_reply_to,
        references=list(references),
        headers=headers or {},
        files=article_id if attachments else None,
        article=article_id,
    )
    changes.add_history(unit, [(ticket_id, history_type, queue_id, {"to": recipient, "subject": subject})])
    unit.publish("ArticleCreate", [ticket_id], articles={ticket_id: article_id}, sender=author)
    return article_id


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

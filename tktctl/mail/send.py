"""Delivering the outbox over SMTP: claim due mail, compose it, send it, record each outcome on its own.

A draft is composed just before it is sent (:mod:`tktctl.mail.compose`), with the files of its
article as they are now; a notification to an agent who may no longer read the ticket is
``dropped`` (its reason in ``last_error``: the line `mail send` prints), not sent. The bytes sent
for an article (an answer, an auto-response) are stored as its raw message (`ticket article --raw`).

Rows are claimed by pushing their next attempt one lease ahead, so concurrent `mail send`
runs never take the same row, and a run that dies mid-way leaves its rows to the next one
(delivery is at least once: a crash between the server's OK and the commit sends again).
"""

from __future__ import annotations

import hashlib
import json
import smtplib
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import select, update

from tktctl.core.record import Record
from tktctl.db.blobs import insert_rows
from tktctl.db.models import ArticlePlain, Attachment, MailOutbox, Ticket
from tktctl.mail.notify import still_reads
from tktctl.mail.outbound import DRAFT, LEASE, MAX_ATTEMPTS, SmtpSettings, backoff, has_control, smtp_connect
from tktctl.mail.outbox import outbox_by_id

if TYPE_CHECKING:
    from tktctl.core.unit import Store


def _claim(store: Store, limit: int) -> list[Any]:
    with store.write() as unit:
        due = unit.session.execute(
            select(
                MailOutbox.id,
                MailOutbox.ticket_id,
                MailOutbox.sender,
                MailOutbox.recipient,
                MailOutbox.message,
                MailOutbox.attempts,
            )
            .where(MailOutbox.status == "pending", MailOutbox.next_attempt <= unit.now)
            .order_by(MailOutbox.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if due:
            unit.session.execute(
                update(MailOutbox)
                .where(MailOutbox.id.in_([r.id for r in due]))
                .values(next_attempt=unit.now + LEASE)
                .execution_options(synchronize_session=False)
            )
        return due


class Composed(NamedTuple):
    """A claimed row made ready: the bytes to send, or why it is not sent (``dropped``: on purpose)."""

    content: bytes | None
    article: int | None = None
    error: str | None = None
    dropped: bool = False


def _compose(store: Store, row: Any) -> Composed:
    """The message of a claimed row: a row queued before drafts already holds it."""
    message = bytes(row.message)
    if not message.startswith(DRAFT):
        return Composed(message)
    from tktctl.mail.compose import build

    draft = json.loads(message)
    with store.read() as unit:
        reader = draft.get("reader")
        if reader and row.ticket_id is not None and not still_reads(unit, reader, row.ticket_id):
            tn = unit.session.scalar(select(Ticket.tn).where(Ticket.id == row.ticket_id))
            return Composed(None, error=f"not sent: {reader} may no longer read ticket {tn}", dropped=True)
        files = []
        if draft.get("files") is not None:
            files = unit.session.execute(
                select(Attachment.filename, Attachment.content_type, Attachment.content)
                .where(Attachment.article_id == draft["files"])
                .order_by(Attachment.id)
            ).all()
    try:
        return Composed(build(draft, [(f, t, bytes(c)) for f, t, c in files]), draft.get("article"))
    except (ValueError, TypeError) as exc:  # what the email package raises for such headers
        return Composed(None, error=f"cannot compose the message: {exc}")


def _record(store: Store, row: Any, error: str | None, permanent: bool, composed: Composed | None = None) -> None:
    with store.write() as unit:
        values: dict[str, Any]
        if error is None:
            values = {"status": "sent", "sent": unit.now, "attempts": row.attempts + 1, "last_error": None}
            if composed is not None and composed.article is not None and composed.content is not None:
                _keep_raw(unit, composed.article, composed.content)
        elif composed is not None and composed.dropped:
            values = {"status": "dropped", "last_error": error}
        else:
            attempts = row.attempts + 1
            failed = permanent or attempts >= MAX_ATTEMPTS
            values = {
                "status": "failed" if failed else "pending",
                "attempts": attempts,
                "last_error": error[:2000],
                "next_attempt": unit.now + backoff(attempts),
            }
        unit.session.execute(update(MailOutbox).where(MailOutbox.id == row.id).values(**values))


def _keep_raw(unit: Any, article_id: int, content: bytes) -> None:
    """The bytes sent become the article's raw message (once: a redelivery keeps the first)."""
    if unit.session.get(ArticlePlain, article_id) is None:
        row = {"article_id": article_id, "sha256": hashlib.sha256(content).hexdigest(), "content": content}
        insert_rows(unit.session, ArticlePlain, [row], "content")


def deliver(store: Store, smtp: SmtpSettings, limit: int) -> list[Record]:
    """Send what is due; returns the outbox records of the rows this run handled."""

    due = _claim(store, limit)
    if not due:
        return []
    try:
        client = smtp_connect(smtp)
    except (OSError, smtplib.SMTPException) as exc:
        for row in due:
            _record(store, row, f"cannot reach {smtp.display}: {exc}", permanent=False)
    else:
        with client:
            for row in due:
                composed = _compose(store, row)
                if composed.content is None:
                    _record(store, row, composed.error, True, composed)
                    continue
                error, permanent = _send(client, row, composed.content)
                _record(store, row, error, permanent, composed)
    with store.read() as unit:
        return outbox_by_id(unit, [r.id for r in due])


def _send(client: smtplib.SMTP, row: Any, content: bytes) -> tuple[str | None, bool]:
    """(error or None, whether the error is permanent: a 5xx answer or a bad address)."""
    bad = next((a for a in (row.sender, row.recipient) if has_control(a)), None)
    if bad is not None:  # smtplib would send the CR/LF on: a second SMTP command
        return f"bad address {bad!r}: control characters", True
    try:
        refused = client.sendmail(row.sender, [row.recipient], content)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        return f"{code} {text.decode(errors='replace')}", code >= 500
    except smtplib.SMTPResponseException as exc:
        message = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {message}", exc.smtp_code >= 500
    except (OSError, smtplib.SMTPException) as exc:
        return f"{type(exc).__name__}: {exc}", False
    if refused:
        code, text = next(iter(refused.values()))
        return f"{code} {text.decode(errors='replace')}", code >= 500
    return None, False

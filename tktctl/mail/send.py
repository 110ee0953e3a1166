"""Delivering the outbox over SMTP: claim due mail, send it, record each outcome on its own.

Rows are claimed by pushing their next attempt one lease ahead, so concurrent `mail send`
runs never take the same row, and a run that dies mid-way leaves its rows to the next one
(delivery is at least once: a crash between the server's OK and the commit sends again).
"""

from __future__ import annotations

import smtplib
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from tktctl.core.record import Record
from tktctl.db.models import MailOutbox
from tktctl.mail.outbound import LEASE, MAX_ATTEMPTS, SmtpSettings, backoff, has_control, smtp_connect

if TYPE_CHECKING:
    from tktctl.core.unit import Store


def _claim(store: Store, limit: int) -> list[Any]:
    with store.write() as unit:
        due = unit.session.execute(
            select(MailOutbox.id, MailOutbox.sender, MailOutbox.recipient, MailOutbox.message, MailOutbox.attempts)
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


def _record(store: Store, row: Any, error: str | None, permanent: bool) -> None:
    with store.write() as unit:
        values: dict[str, Any]
        if error is None:
            values = {"status": "sent", "sent": unit.now, "attempts": row.attempts + 1, "last_error": None}
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


def deliver(store: Store, smtp: SmtpSettings, limit: int) -> list[Record]:
    """Send what is due; returns the outbox records of the rows this run handled."""
    from tktctl.mail.outbox import outbox_by_id

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
                error, permanent = _send(client, row)
                _record(store, row, error, permanent)
    with store.read() as unit:
        return outbox_by_id(unit, [r.id for r in due])


def _send(client: smtplib.SMTP, row: Any) -> tuple[str | None, bool]:
    """(error or None, whether the error is permanent: a 5xx answer or a bad address)."""
    bad = next((a for a in (row.sender, row.recipient) if has_control(a)), None)
    if bad is not None:  # smtplib would send the CR/LF on: a second SMTP command
        return f"bad address {bad!r}: control characters", True
    try:
        refused = client.sendmail(row.sender, [row.recipient], row.message)
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

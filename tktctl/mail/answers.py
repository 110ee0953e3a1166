"""Mail out that agents ask for: answers to customers, attachments, and the outbox."""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.record import Record
from tktctl.core.vocabulary import check_body, check_limit, clean_line, clean_text
from tktctl.db.models import Article, Attachment, MailOutbox
from tktctl.errors import NotFoundError, UsageError
from tktctl.mail import outbound, texts
from tktctl.mail.outbox import outbox_records, select_outbox
from tktctl.tickets import changes
from tktctl.tickets.attach import check_files
from tktctl.tickets.changes import Selected
from tktctl.tickets.records import articles, tickets_by_id

if TYPE_CHECKING:
    from tktctl.core.unit import Store
    from tktctl.tickets.attach import File


class Answers:
    """The agent's side of mail: a part of :class:`tktctl.mail.service.Mail`."""

    store: Store
    smtp_config: Any
    settings: outbound.MailSettings

    def _require_admin(self) -> None:
        """Mail administration (fetching, sending, dead letters, the outbox) is the desk admins' job."""
        with self.store.read() as unit:
            permissions.require_admin(unit)

    # Outbound -------------------------------------------------------------------------------

    def outbox(self, *, status: Sequence[str] = ("pending", "failed")) -> list[Record]:
        with self.store.read() as unit:
            permissions.require_admin(unit)  # notifications name tickets of every queue
            return list(outbox_records(unit, select_outbox().where(MailOutbox.status.in_(list(status)))))

    def send(self, *, limit: int = 500) -> list[Record]:
        """Deliver due outbox mail over SMTP; failures wait (1, 2, 4 ... minutes), 5xx or 10 attempts fail."""
        from tktctl.mail import send  # smtplib and email.generator: only `mail send` needs them

        check_limit(limit)
        smtp = outbound.SmtpSettings.resolve(self.smtp_config)  # bad settings are usage errors, before the database
        self._require_admin()
        return send.deliver(self.store, smtp, limit)

    def reply(
        self,
        ref: str,
        *,
        body: str | None,
        subject: str | None = None,
        to: str | None = None,
        attachments: Sequence[File] = (),
        template: str | None = None,
    ) -> Record:
        """The agent's answer to the customer: an email article (with ``attachments``, which the mail
        carries too), SendAnswer history and outgoing mail, from the queue's system address.

        With ``template`` the body is the queue's salutation, the template, ``body`` (if any) and the
        queue's signature, in the ticket's language and tag-rendered (mail/texts.py)."""
        if template is None and body is None:
            raise UsageError("give --body, --template or both")
        if template is None or body:
            clean_text("body", body, required=True)
        check_body("body", body, self.store.max_body_bytes)
        clean_line("template", template, limit=200)
        clean_text("subject", subject, limit=1000)
        clean_line("to", to, limit=1000)
        files = check_files(self.store, attachments)
        with self.store.write() as unit:
            row = permissions.tickets(unit, [ref], lock=True)[0]
            permissions.require(unit, "rw", lookup.group_ids(unit, [row]))
            changes.guard_locks(unit, Selected.of([row.id]))
            last = unit.session.execute(
                select(Article)
                .where(Article.ticket_id == row.id, Article.sender == "customer", Article.channel == "email")
                .order_by(Article.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            ticket = tickets_by_id(unit, [row.id])[0]
            recipient = to or (last.a_from if last else None) or ticket["customer"]
            address = parseaddr(recipient or "")[1]
            if "@" not in address:
                raise UsageError(f"ticket {row.tn} has no customer email address; give --to ADDRESS", ref=row.tn)
            if template is not None:
                subject_text, body = texts.answer(
                    unit, ticket, row.queue_id, template, body, last, self.settings.tag_config()
                )
                subject = subject or subject_text
                check_body("body", body, self.store.max_body_bytes)
            base = subject or (last.subject if last and last.subject else ticket["title"])
            base = base if subject or re.match(r"(?i)re:", base) else f"Re: {base}"
            title = outbound.with_hook(base, row.tn, self.settings)
            sender, envelope = texts.queue_senders(unit, [row.queue_id], self.settings.queue_address)[row.queue_id]
            references = re.findall(r"<[^<>\s]+>", (last.a_references or "") if last else "")
            article_id = outbound.send_article(
                unit,
                ticket_id=row.id,
                queue_id=row.queue_id,
                kind="answer",
                author="agent",
                sender=sender,
                to=recipient or address,
                recipient=address,
                subject=title,
                body=body or "",
                in_reply_to=last.message_id if last else None,
                references=references,
                envelope_from=envelope,
                history_type="SendAnswer",
                attachments=files,
            )
            changes.apply(unit, Selected.of([row.id]), {}, [])
            return next(a for a in articles(unit, row.id) if a["id"] == article_id)

    # Attachments ---------------------------------------------------------------------------

    def attachments(self, ref: str) -> list[Record]:
        with self.store.read() as unit:
            row = permissions.tickets(unit, [ref], lock=False)[0]
            found = unit.session.execute(
                select(
                    Attachment.id, Attachment.article_id, Attachment.filename, Attachment.content_type, Attachment.size
                )
                .join(Article, Article.id == Attachment.article_id)
                .where(Article.ticket_id == row.id)
                .order_by(Attachment.id)
            )
            return [{"ticket": row.tn, **r._mapping} for r in found]

    def attachment(self, ref: str, attachment_id: int) -> tuple[Record, bytes]:
        """One attachment's record and content (it must belong to the ticket named)."""
        with self.store.read() as unit:
            row = permissions.tickets(unit, [ref], lock=False)[0]
            found = unit.session.execute(
                select(Attachment)
                .join(Article, Article.id == Attachment.article_id)
                .where(Article.ticket_id == row.id, Attachment.id == attachment_id)
            ).scalar_one_or_none()
            if found is None:
                raise NotFoundError(f"ticket {row.tn} has no attachment {attachment_id}", ref=str(attachment_id))
            record = {
                "ticket": row.tn,
                "id": found.id,
                "article_id": found.article_id,
                "filename": found.filename,
                "content_type": found.content_type,
                "size": found.size,
            }
            return record, found.content

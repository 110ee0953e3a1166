"""The mail interface: messages in (pipe, batch, IMAP/POP3), answers and auto-responses out.

One message is one transaction: the ticket (or follow-up), its article, the raw message,
attachments, history and the outgoing mail in the outbox commit together or not at all.
Any database trouble is a :class:`~tktctl.errors.TempFail` (exit 75: the MTA retries); a
message that can never be processed goes to the dead-letter table instead. A message is
recognised by its SHA-256, so a redelivery after a crash is a no-op, never a second ticket.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from email.utils import parseaddr
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.lookup import TicketRow
from tktctl.core.vocabulary import PENDING_TYPES, TITLE_MAX, check_limit, parse_priority
from tktctl.db.models import Article, ArticlePlain, Attachment, MailFailed, MailOutbox, Queue, Ticket
from tktctl.errors import ConflictError, DatabaseError, NotFoundError, TempFail, TktctlError, UsageError
from tktctl.mail import outbound
from tktctl.mail.parse import Inbound, Rejected, clean, parse
from tktctl.tickets import changes
from tktctl.tickets.changes import PRIORITY_NAMES, Selected
from tktctl.tickets.numbering import next_numbers
from tktctl.tickets.records import Record, articles, tickets_by_id

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

Seal = Callable[[], None]
# What a dead letter keeps of a message too large to store: its headers and the start of its body.
KEPT_BODY = 64 * 1024
KEPT_MAX = 1024 * 1024
NO_SUBJECT = "(no subject)"
RAW_QUEUE = "Raw"
ATTACHMENT_COLUMNS = (
    Attachment.id,
    Attachment.article_id,
    Attachment.filename,
    Attachment.content_type,
    Attachment.size,
)


def _nothing() -> None:
    """The default seal: nothing to protect outside the command line."""


def hook_pattern(generator: str, system_id: str) -> re.Pattern[str]:
    """``[Ticket#TN]`` with the configured number format and system id."""
    sid = re.escape(system_id)
    number = {"DateChecksum": rf"\d{{8}}{sid}\d{{5,}}\d", "Date": rf"\d{{8}}{sid}\d{{5,}}"}.get(
        generator, rf"{sid}\d{{4,}}"
    )
    return re.compile(rf"\[Ticket#({number})\]", re.IGNORECASE)


def _result(action: str, inbound: Inbound | None, **extra: Any) -> Record:
    record: Record = {
        "action": action,
        "ticket": None,
        "article": None,
        "message_id": inbound.message_id if inbound else None,
        "subject": inbound.subject if inbound else None,
        "reason": None,
        "failed_id": None,
        "auto_response": None,
    }
    record.update(extra)
    return record


class Mail:
    """Mail operations of one desk."""

    def __init__(self, store: Store, mail_config: Any = None, smtp_config: Any = None) -> None:
        self.store = store
        self.mail_config = mail_config
        self.smtp_config = smtp_config

    @cached_property
    def settings(self) -> outbound.MailSettings:
        return outbound.MailSettings.from_config(self.mail_config)

    @cached_property
    def hook(self) -> re.Pattern[str]:
        return hook_pattern(self.store.numbers.generator, self.store.numbers.system_id)

    # Inbound ------------------------------------------------------------------------------

    def ingest(
        self, raw: bytes, *, target_queue: str | None = None, untrusted: bool = False, seal: Seal = _nothing
    ) -> Record:
        """Store one message as a ticket or follow-up, or as a dead letter; TempFail when the MTA should retry.

        ``seal`` is called just before each commit (the CLI blocks termination signals there,
        so that an interrupted run either committed and exits 0, or did not and exits 75).
        """
        options = {"target_queue": target_queue, "untrusted": untrusted}
        return self._guarded(lambda: self._ingest(raw, options, None, seal, self.store.actor_login))

    def ingest_many(
        self, messages: Iterator[tuple[str, bytes]], *, target_queue: str | None = None, untrusted: bool = False
    ) -> Iterator[Record]:
        """Each message in its own transaction; one result each (with ``source``)."""
        for source, raw in messages:
            yield {**self.ingest(raw, target_queue=target_queue, untrusted=untrusted), "source": source}

    @staticmethod
    def _guarded(call: Callable[[], Record]) -> Record:
        """Whatever escapes here left the message unstored (not even as a dead letter): the MTA must retry."""
        try:
            return call()
        except TempFail:
            raise
        except TktctlError as exc:
            raise TempFail(f"temporary failure, retry later: {exc.message}") from exc

    def _ingest(self, raw: bytes, options: dict[str, Any], failed_id: int | None, seal: Seal, actor: str) -> Record:
        """Process as ``actor``: every write is checked as the verb making the same change would check it."""
        too_large = self._over_database_limit(raw)
        if too_large is not None:
            return self._dead_letter(raw, too_large, options, None, failed_id, seal, actor, whole=False)
        try:
            inbound = parse(raw, self.settings.limits)
        except Rejected as exc:
            whole = len(raw) <= self.settings.limits.max_bytes
            return self._dead_letter(raw, exc.reason, options, None, failed_id, seal, actor, whole=whole)
        try:
            with self.store.write(actor=actor) as unit:
                result = self._process(unit, inbound, options, failed_id)
                seal()
            return result
        except (DatabaseError, ConflictError, TempFail):
            raise
        except TktctlError as exc:
            reason = exc.message
        except Exception as exc:  # a bug must not lose the message: keep it for `mail retry`
            first = (str(exc).strip().splitlines() or [""])[0]
            reason = f"internal error: {type(exc).__name__}: {first}"
        return self._dead_letter(raw, reason, options, inbound, failed_id, seal, actor)

    def _dead_letter(
        self,
        raw: bytes,
        reason: str,
        options: dict[str, Any],
        inbound: Inbound | None,
        failed_id: int | None,
        seal: Seal,
        actor: str,
        *,
        whole: bool = True,
    ) -> Record:
        """Keep the message for `mail retry`; one too large to store keeps only its headers and a prefix."""
        import hashlib

        sha = inbound.sha256 if inbound else hashlib.sha256(raw).hexdigest()
        with self.store.write() as unit:
            if failed_id is None:
                failed_id = unit.session.scalar(
                    select(MailFailed.id).where(MailFailed.sha256 == sha, MailFailed.status == "failed")
                )
            values = {"reason": clean(reason), "retried": unit.now if failed_id else None}
            if failed_id is not None:
                unit.session.execute(update(MailFailed).where(MailFailed.id == failed_id).values(**values))
            else:
                failed_id = unit.session.execute(
                    insert(MailFailed).values(
                        sha256=sha,
                        status="failed",
                        sender=inbound.from_ if inbound else None,
                        subject=inbound.subject if inbound else None,
                        size=len(raw),
                        options=options,
                        content=raw if whole else _prefix(raw),
                        received=unit.now,
                        actor=actor,
                        **values,
                    )
                ).inserted_primary_key[0]
            seal()
        return _result("failed", inbound, reason=reason, failed_id=failed_id)

    def _over_database_limit(self, raw: bytes) -> str | None:
        """Why the database cannot take this message in one statement (MySQL's max_allowed_packet), if so."""
        if self.store.engine.dialect.name != "mysql":
            return None
        from tktctl.db.engine import max_value_bytes

        with self.store.read() as unit:
            limit = max_value_bytes(unit.session.connection(), raw)
        if limit is None or len(raw) <= limit:
            return None
        return (
            f"message is {len(raw)} bytes; this MySQL/MariaDB server stores at most about {limit} "
            "in one value (raise max_allowed_packet, or lower mail.limits.max_bytes)"
        )

    def _process(self, unit: Unit, inbound: Inbound, options: dict[str, Any], failed_id: int | None) -> Record:
        trusted = self.settings.trusted and not options.get("untrusted")
        fields = inbound.trusted if trusted else {}
        if fields.get("ignore", "").lower() in ("yes", "true", "1"):
            return _result("ignored", inbound, reason="X-Tktctl-Ignore/X-OTRS-Ignore header")
        duplicate = unit.session.execute(
            select(Ticket.tn, ArticlePlain.article_id)
            .join(Article, Article.id == ArticlePlain.article_id)
            .join(Ticket, Ticket.id == Article.ticket_id)
            .where(ArticlePlain.sha256 == inbound.sha256)
        ).first()
        if duplicate is not None:
            result = _result("duplicate", inbound, ticket=duplicate.tn, article=duplicate.article_id)
        else:
            row = self._followup_of(unit, inbound)
            if row is None:
                result = self._new_ticket(unit, inbound, fields, options.get("target_queue"))
            else:
                result = self._followup(unit, inbound, row, inbound.followup_trusted if trusted else {})
        if failed_id is not None:
            unit.session.execute(
                update(MailFailed)
                .where(MailFailed.id == failed_id)
                .values(status="done", retried=unit.now, ticket_tn=result["ticket"])
            )
        return result

    def _followup_of(self, unit: Unit, inbound: Inbound) -> TicketRow | None:
        """The ticket a message answers: ``[Ticket#TN]`` in the subject, else a known Message-ID it refers to."""
        candidates = self.hook.findall(inbound.subject or "")
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
        row = lookup.tickets(unit, [tn], lock=True)[0]
        return None if lookup.states(unit)[row.state_id].type in ("merged", "removed") else row

    def _queue_for(self, unit: Unit, inbound: Inbound, fields: dict[str, str], target: str | None) -> Queue:
        names = [fields.get("queue")]
        names += [self.settings.queues.get(address) for address in inbound.recipients]
        for name in [*names, target]:
            if name:
                try:
                    return lookup.queue(unit, name, for_write=True)
                except TktctlError:
                    if name == target:
                        raise
        return lookup.queue(unit, RAW_QUEUE, for_write=True)

    def _new_ticket(
        self,
        unit: Unit,
        inbound: Inbound,
        fields: dict[str, str],
        target: str | None,
        linked_to: TicketRow | None = None,
    ) -> Record:
        queue = self._queue_for(unit, inbound, fields, target)
        permissions.require(unit, "create", [queue.group_id])
        state = _valid(lambda: changes.target_state(unit, fields["state"], None), "state" in fields)
        priority = _valid(lambda: parse_priority(fields["priority"]), "priority" in fields)
        owner = _valid(lambda: lookup.agent(unit, fields["owner"], for_write=True).id, "owner" in fields)
        state = state or lookup.state(unit, "new")
        title = clean(fields.get("title") or inbound.subject or NO_SUBJECT, TITLE_MAX) or NO_SUBJECT
        customer = clean(fields.get("customer") or inbound.from_address, 150)
        numbers = self.store.numbers
        (tn,) = next_numbers(unit.session, generator=numbers.generator, system_id=numbers.system_id, now=unit.now)
        ticket_id = changes.insert_ticket(
            unit,
            tn,
            title=title,
            queue_id=queue.id,
            state_id=state.id,
            priority_id=priority or 3,
            owner_id=owner or unit.actor.id,
            responsible_id=None,
            customer=customer,
            type=None,
            pending_until=None,
            external_id=None,
        )
        data = changes.new_ticket_data(tn, queue.name, state.name, priority or 3)
        entries: list[tuple[int, str, int, dict[str, Any]]] = [(ticket_id, "NewTicket", queue.id, data)]
        entries.append((ticket_id, "EmailCustomer", queue.id, {"channel": "email", "from": inbound.from_address}))
        if linked_to is not None:
            entries.append((ticket_id, "TicketLinkAdd", queue.id, {"to": linked_to.tn, "reason": "follow-up"}))
            entries.append((linked_to.id, "TicketLinkAdd", linked_to.queue_id, {"to": tn, "reason": "follow-up"}))
        changes.add_history(unit, entries)
        article_id = self._store(unit, ticket_id, inbound)
        outbound.notify_agents(unit, [ticket_id], "NewTicket", self.settings)
        kind = "auto-reply" if linked_to is None else "auto-reply/new-ticket"
        reason = self._respond(unit, ticket_id, queue.id, kind, inbound)
        return _result("new_ticket", inbound, ticket=tn, article=article_id, auto_response=reason)

    def _followup(self, unit: Unit, inbound: Inbound, row: TicketRow, fields: dict[str, str]) -> Record:
        queue = unit.session.get(Queue, row.queue_id)
        assert queue is not None
        state_type = lookup.states(unit)[row.state_id].type
        if state_type == "closed" and queue.follow_up == "new_ticket":
            permissions.require_visible(unit, [row])  # the old ticket gets a link: it must exist for the agent
            return self._new_ticket(unit, inbound, {}, queue.name, linked_to=row)
        rejected = state_type == "closed" and queue.follow_up == "reject"
        groups = lookup.group_ids(unit, [row])
        permissions.require(unit, "note", groups)  # the article, as `ticket note`
        article_id = self._store(unit, row.id, inbound)
        data = {"from": inbound.from_address, "subject": inbound.subject, "rejected": rejected}
        changes.add_history(unit, [(row.id, "FollowUp", row.queue_id, data)])
        changes.apply(unit, Selected.of([row.id]), {}, [])
        if not rejected:
            wanted = _valid(lambda: changes.target_state(unit, fields["state"], None), "state" in fields)
            if wanted is None and (state_type == "closed" or state_type in PENDING_TYPES):
                wanted = lookup.state(unit, "open")
            if wanted is not None and wanted.id != row.state_id:
                permissions.require(unit, "rw", groups)  # as `ticket state` / `ticket reopen`
                changes.set_state(unit, Selected.of([row.id]), wanted, None)
            priority = _valid(lambda: parse_priority(fields["priority"]), "priority" in fields)
            if priority is not None and priority != row.priority_id:
                permissions.require(unit, "priority", groups)  # as `ticket prioritize`
                changes.apply(unit, Selected.of([row.id]), {"priority_id": priority}, [])
                change = {"from": PRIORITY_NAMES[row.priority_id], "to": PRIORITY_NAMES[priority]}
                changes.add_history(unit, [(row.id, "PriorityUpdate", row.queue_id, change)])
            outbound.notify_agents(unit, [row.id], "FollowUp", self.settings)
        kind = "auto-reject" if rejected else "auto-follow-up"
        reason = self._respond(unit, row.id, row.queue_id, kind, inbound)
        action = "follow_up_rejected" if rejected else "follow_up"
        return _result(action, inbound, ticket=row.tn, article=article_id, auto_response=reason)

    def _store(self, unit: Unit, ticket_id: int, inbound: Inbound) -> int:
        """The article, its attachments and the raw message."""
        article_id = changes.add_article(
            unit,
            ticket_id,
            channel="email",
            sender="system" if inbound.auto_response_block == "delivery report" else "customer",
            body=_capped(inbound.body, self.store.max_body_bytes),
            subject=inbound.subject,
            from_=inbound.from_,
            to=inbound.to,
            a_cc=inbound.cc,
            message_id=inbound.message_id,
            in_reply_to=clean(inbound.in_reply_to),
            a_references=clean(inbound.references),
        )
        if inbound.attachments:
            unit.session.execute(
                insert(Attachment),
                [
                    {
                        "article_id": article_id,
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "size": len(a.content),
                        "content": a.content,
                    }
                    for a in inbound.attachments
                ],
            )
        unit.session.execute(
            insert(ArticlePlain).values(article_id=article_id, sha256=inbound.sha256, content=inbound.raw)
        )
        return article_id

    def _respond(self, unit: Unit, ticket_id: int, queue_id: int, kind: str, inbound: Inbound) -> str:
        reason = outbound.auto_respond(
            unit,
            ticket_id=ticket_id,
            queue_id=queue_id,
            kind=kind,
            to=inbound.from_address,
            block=inbound.auto_response_block,
            settings=self.settings,
            fields={"subject": inbound.subject, "from": inbound.from_},
            in_reply_to=inbound.message_id,
            references=inbound.reply_ids,
        )
        return reason or f"{kind} queued"

    def _require_admin(self) -> None:
        """Mail administration (fetching, sending, dead letters, the outbox) is the desk admins' job."""
        with self.store.read() as unit:
            permissions.require_admin(unit)

    # Dead letters -------------------------------------------------------------------------

    def failed(self, *, include_done: bool = False) -> list[Record]:
        """Dead letters, oldest first (those already reprocessed only with ``include_done``)."""
        with self.store.read() as unit:
            permissions.require_admin(unit)  # they hold whole messages, whatever queue they were meant for
            statement = select(
                MailFailed.id,
                MailFailed.status,
                MailFailed.reason,
                MailFailed.sender,
                MailFailed.subject,
                MailFailed.size,
                MailFailed.received,
                MailFailed.retried,
                MailFailed.ticket_tn.label("ticket"),
                MailFailed.actor,
            ).order_by(MailFailed.id)
            if not include_done:
                statement = statement.where(MailFailed.status == "failed")
            return [dict(r._mapping) for r in unit.session.execute(statement)]

    def retry(self, ids: Sequence[int] = (), *, seal: Seal = _nothing, unseal: Seal = _nothing) -> list[Record]:
        """Reprocess dead letters (all that failed when ``ids`` is empty); each keeps its row, updated.

        Each is processed as the agent who ingested it (with that agent's permissions), not as
        the admin retrying; one from before that was recorded acts as the admin.
        """
        with self.store.read() as unit:
            permissions.require_admin(unit)
            statement = select(
                MailFailed.id,
                MailFailed.options,
                MailFailed.content,
                MailFailed.status,
                MailFailed.actor,
                MailFailed.size,
            )
            statement = statement.where(MailFailed.id.in_(list(ids))) if ids else statement
            rows = {r.id: r for r in unit.session.execute(statement.order_by(MailFailed.id))}
        missing = [i for i in ids if i not in rows]
        if missing:
            raise NotFoundError(f"dead letter {missing[0]} not found", ref=str(missing[0]))
        results = []
        for row in rows.values():
            if row.status != "failed":
                if ids:
                    raise ConflictError(f"dead letter {row.id} was already processed", ref=str(row.id))
                continue
            if len(row.content) < row.size:  # only its headers and a prefix were kept
                if ids:
                    raise ConflictError(
                        f"dead letter {row.id} kept only the first {len(row.content)} of its {row.size} bytes; "
                        "it cannot be reprocessed (the sender must send it again)",
                        ref=str(row.id),
                    )
                continue
            options = dict(row.options or {})
            actor = row.actor or self.store.actor_login
            result = self._guarded(lambda r=row, o=options, a=actor: self._ingest(r.content, o, r.id, seal, a))
            unseal()
            results.append({**result, "failed_id": row.id})
        return results

    # Fetching ------------------------------------------------------------------------------

    def fetch(self, account: str | None = None, *, seal: Seal = _nothing, unseal: Seal = _nothing) -> list[Record]:
        """Fetch from the configured IMAP/POP3 accounts; a message leaves the server only once committed."""
        from tktctl.mail import fetch

        self._require_admin()
        accounts = self.settings.accounts
        if account is not None:
            if account not in accounts:
                raise NotFoundError(f"mail account {account!r} not found in the profile's mail.accounts", ref=account)
            accounts = {account: accounts[account]}
        if not accounts:
            raise UsageError("no mail accounts configured (profile key mail.accounts)")
        results: list[Record] = []
        for name, config in accounts.items():
            source = fetch.Account.from_config(name, config)

            def store(raw: bytes, where: str, src: fetch.Account = source) -> Record:
                result = self.ingest(raw, target_queue=src.target_queue, untrusted=src.untrusted, seal=seal)
                unseal()
                results.append({**result, "source": where})
                return result

            fetch.fetch(source, store)
        return results

    # Outbound -------------------------------------------------------------------------------

    def outbox(self, *, status: Sequence[str] = ("pending", "failed")) -> list[Record]:
        with self.store.read() as unit:
            permissions.require_admin(unit)  # notifications name tickets of every queue
            return list(_outbox_records(unit, select_outbox().where(MailOutbox.status.in_(list(status)))))

    def send(self, *, limit: int = 500) -> list[Record]:
        """Deliver due outbox mail over SMTP; failures wait (1, 2, 4 ... minutes), 5xx or 10 attempts fail."""
        from tktctl.mail import send

        check_limit(limit)
        smtp = outbound.SmtpSettings.resolve(self.smtp_config)  # bad settings are usage errors, before the database
        self._require_admin()
        return send.deliver(self.store, smtp, limit)

    def reply(self, ref: str, *, body: str, subject: str | None = None, to: str | None = None) -> Record:
        """The agent's answer to the customer: an email article, SendAnswer history and outgoing mail."""
        from tktctl.core.vocabulary import check_body, clean_line, clean_text

        clean_text("body", body, required=True)
        check_body("body", body, self.store.max_body_bytes)
        clean_text("subject", subject, limit=1000)
        clean_line("to", to, limit=1000)
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
            base = subject or (last.subject if last and last.subject else ticket["title"])
            base = base if subject or re.match(r"(?i)re:", base) else f"Re: {base}"
            title = outbound.with_hook(base, row.tn)
            sender = self.settings.queue_address(ticket["queue"])
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
                body=body,
                in_reply_to=last.message_id if last else None,
                references=references,
                envelope_from=sender,
                history_type="SendAnswer",
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


def _capped(body: str, limit: int) -> str:
    """A mail body over the cap is cut there, with a note (the raw message keeps it whole)."""
    data = body.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return body
    cut = data[:limit].decode("utf-8", "ignore")
    note = f"[tktctl: body truncated at {limit} of {len(data)} bytes (max_body_bytes); the raw message is whole]"
    return f"{cut}\n\n{note}\n"


def _prefix(raw: bytes) -> bytes:
    """The headers and the first KEPT_BODY bytes of the body, at most KEPT_MAX bytes in all."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    header_end = min(ends) if ends else len(raw)
    return raw[: min(header_end + KEPT_BODY, KEPT_MAX)]


def _valid(get: Callable[[], Any], given: bool) -> Any:
    """A trusted header's value, or None when absent or invalid (as OTRS: an unknown value is ignored)."""
    if not given:
        return None
    try:
        return get()
    except TktctlError:
        return None


def select_outbox() -> Any:
    return (
        select(
            MailOutbox.id,
            Ticket.tn.label("ticket"),
            MailOutbox.kind,
            MailOutbox.recipient,
            MailOutbox.subject,
            MailOutbox.status,
            MailOutbox.attempts,
            MailOutbox.next_attempt,
            MailOutbox.last_error,
            MailOutbox.created,
            MailOutbox.sent,
        )
        .outerjoin(Ticket, Ticket.id == MailOutbox.ticket_id)
        .order_by(MailOutbox.id)
    )


def _outbox_records(unit: Unit, statement: Any) -> Iterator[Record]:
    for row in unit.session.execute(statement):
        yield dict(row._mapping)


def outbox_by_id(unit: Unit, ids: Sequence[int]) -> list[Record]:
    return list(_outbox_records(unit, select_outbox().where(MailOutbox.id.in_(list(ids)))))

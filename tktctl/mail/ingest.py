"""Messages in (pipe, batch, IMAP/POP3): new tickets, follow-ups, dead letters and auto-responses.

One message is one transaction: the ticket (or follow-up), its article, the raw message,
attachments, history and the outgoing mail in the outbox commit together or not at all.
Any database trouble is a :class:`~tktctl.errors.TempFail` (exit 75: the MTA retries); a
message that can never be processed goes to the dead-letter table instead. A message is
recognised by its SHA-256, so a redelivery after a crash is a no-op, never a second ticket.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.lookup import TicketRow
from tktctl.core.record import Record
from tktctl.core.vocabulary import PENDING_TYPES, TITLE_MAX, parse_priority
from tktctl.db.models import Article, ArticlePlain, Attachment, MailFailed, Queue, Ticket
from tktctl.errors import ConflictError, DatabaseError, TempFail, TktctlError
from tktctl.mail import outbound
from tktctl.mail.parse import Inbound, Rejected, clean, parse
from tktctl.tickets import changes
from tktctl.tickets.changes import PRIORITY_NAMES, Selected
from tktctl.tickets.numbering import next_numbers

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


def no_seal() -> None:
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


class Inbox:
    """Messages in: one message, one transaction (see the module's docstring)."""

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
        self, raw: bytes, *, target_queue: str | None = None, untrusted: bool = False, seal: Seal = no_seal
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
        unit.publish("TicketCreate", [ticket_id], articles={ticket_id: article_id}, sender="customer")
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
            unit.publish("ArticleCreate", [row.id], articles={row.id: article_id}, sender="customer")
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

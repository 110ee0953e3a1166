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
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, bindparam, insert, select, update

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.language import header_language
from tktctl.core.lookup import QueueInfo, TicketRow
from tktctl.core.record import Record
from tktctl.core.vocabulary import PENDING_TYPES, TITLE_MAX
from tktctl.db.blobs import insert_rows
from tktctl.db.models import Article, ArticlePlain, Attachment, MailFailed, Ticket
from tktctl.errors import ConflictError, DatabaseError, NotAMessage, TempFail, TktctlError
from tktctl.mail import filters, followups, outbound, xheaders
from tktctl.mail.parse import Inbound, Rejected, clean, parse
from tktctl.sla import deadlines
from tktctl.tickets import changes
from tktctl.tickets import fields as custom_fields
from tktctl.tickets.changes import Selected
from tktctl.tickets.links import insert_link
from tktctl.tickets.numbering import new_ticket

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
        "filters": [],
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
        numbers, settings = self.store.numbers, self.settings
        return followups.hook_pattern(numbers.generator, numbers.system_id, settings.hook, settings.hook_divider)

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
        """Each message in its own transaction; one result each (with ``source``); empty input is ``refused``."""
        for source, raw in messages:
            yield {**self.ingest_one(raw, target_queue=target_queue, untrusted=untrusted), "source": source}

    def ingest_one(self, raw: bytes, **options: Any) -> Record:
        """As :meth:`ingest`, but an empty input is a ``refused`` result instead of an error (batches)."""
        try:
            return self.ingest(raw, **options)
        except NotAMessage as exc:
            return _result("refused", None, reason=exc.message)

    @staticmethod
    def _guarded(call: Callable[[], Record]) -> Record:
        """Whatever escapes here left the message unstored (not even as a dead letter): the MTA must retry."""
        try:
            return call()
        except (TempFail, NotAMessage):
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
        from tktctl.db.blobs import max_stored_bytes

        with self.store.engine.connect() as connection:  # its own connection: the limit is the connection's, kept
            limit = max_stored_bytes(connection)
        if limit is None or len(raw) <= limit:
            return None
        return (
            f"message is {len(raw)} bytes; this MySQL/MariaDB server stores at most {limit} "
            "in one value (raise max_allowed_packet, or lower mail.limits.max_bytes)"
        )

    def _process(self, unit: Unit, inbound: Inbound, options: dict[str, Any], failed_id: int | None) -> Record:
        trusted = self.settings.trusted and not options.get("untrusted")
        # The sender's X-OTRS-* headers count only when trusted; the admin's filters always run.
        params = {k: v for k, v in inbound.params.items() if trusted or not k.startswith(xheaders.PREFIX)}
        fired = filters.run(filters.load(unit), params)
        if xheaders.is_true(params.get("x-otrs-loop")) and inbound.auto_response_block is None:
            inbound.auto_response_block = "X-OTRS-Loop"
        if xheaders.is_true(params.get("x-otrs-ignore")):
            return _result("ignored", inbound, reason="X-Tktctl-Ignore/X-OTRS-Ignore header", filters=fired)
        duplicate = unit.session.execute(_duplicate_statement(), {"sha256": inbound.sha256}).first()
        if duplicate is not None:
            result = _result("duplicate", inbound, ticket=duplicate.tn, article=duplicate.article_id)
        else:
            bounced = followups.bounced(unit, inbound)
            row = bounced or followups.ticket_of(unit, inbound, self.hook)
            if row is None:
                found = xheaders.fields(params, followup=False)
                result = self._new_ticket(
                    unit, inbound, found, options.get("target_queue"), custom=xheaders.custom_fields(found)
                )
            elif bounced is not None:
                result = self._bounce(unit, inbound, row)
            else:
                result = self._followup(unit, inbound, row, params)
        result["filters"] = fired
        if failed_id is not None:
            unit.session.execute(
                update(MailFailed)
                .where(MailFailed.id == failed_id)
                .values(status="done", retried=unit.now, ticket_tn=result["ticket"])
            )
        return result

    def _queue_for(self, unit: Unit, inbound: Inbound, fields: dict[str, str], target: str | None) -> QueueInfo:
        """The first of the message's queues that exists and is enabled (from the cached queues: no query)."""
        names = [fields.get("queue")]
        names += [self.settings.queues.get(address) for address in inbound.recipients]
        for name in [*names, target]:
            if name:
                try:
                    return lookup.writable(lookup.queue_info(unit, name))
                except TktctlError:
                    if name == target:
                        raise
        return lookup.writable(lookup.queue_info(unit, RAW_QUEUE))

    def _new_ticket(
        self,
        unit: Unit,
        inbound: Inbound,
        fields: dict[str, str],
        target: str | None,
        linked_to: TicketRow | None = None,
        custom: dict[str, str] | None = None,
    ) -> Record:
        queue = self._queue_for(unit, inbound, fields, target)
        permissions.require(unit, "create", [queue.group_id])
        values = xheaders.new_ticket_values(unit, fields)
        state = values["state"] or lookup.state(unit, "new")
        priority = values["priority_id"] or 3
        subject = inbound.subject
        if linked_to is not None and subject:  # the old number out of the new ticket's title (OTRS bug#9108)
            subject = " ".join(self.hook.sub("", subject).replace("[]", " ").split()) or subject
        title = values["title"] or clean(subject or NO_SUBJECT, TITLE_MAX) or NO_SUBJECT
        customer = clean(fields.get("customer") or inbound.from_address, 150)
        ticket_id, tn = new_ticket(
            unit,
            title=title,
            queue_id=queue.id,
            state_id=state.id,
            priority_id=priority,
            owner_id=values["owner_id"] or unit.actor.id,
            responsible_id=values["responsible_id"],
            customer=customer,
            type=values["type"],
            pending_until=values["pending_until"],
            external_id=None,
        )
        data = changes.new_ticket_data(tn, queue.name, state.name, priority)
        entries: list[tuple[int, str, int, dict[str, Any]]] = [(ticket_id, "NewTicket", queue.id, data)]
        entries.append((ticket_id, "EmailCustomer", queue.id, {"channel": "email", "from": inbound.from_address}))
        if linked_to is not None:
            insert_link(unit, "normal", linked_to.id, ticket_id)  # a link `ticket links` shows (issue 12)
            entries.append((ticket_id, "TicketLinkAdd", queue.id, {"to": linked_to.tn, "reason": "follow-up"}))
            entries.append((linked_to.id, "TicketLinkAdd", linked_to.queue_id, {"to": tn, "reason": "follow-up"}))
        changes.add_history(unit, entries)
        custom_fields.write(unit, Selected.of([ticket_id]), custom_fields.lenient(unit, custom or {}))
        article_id = self._store(unit, ticket_id, inbound, refresh=False)
        deadlines.refresh_created(unit, ticket_id, queue.id, state.type)  # as `ticket create`: no UPDATE without an SLA
        unit.publish("TicketCreate", [ticket_id], articles={ticket_id: article_id}, sender="customer")
        kind = "auto-reply" if linked_to is None else "auto-reply/new-ticket"
        reason = self._respond(unit, ticket_id, queue.id, kind, inbound)
        return _result("new_ticket", inbound, ticket=tn, article=article_id, auto_response=reason)

    def _followup(self, unit: Unit, inbound: Inbound, row: TicketRow, params: dict[str, str]) -> Record:
        follow_up = followups.policy(unit, row.queue_id)
        state_type = lookup.states(unit)[row.state_id].type
        closed = state_type in ("closed", "removed")  # OTRS treats a removed ticket as a closed one
        if closed and follow_up == "new_ticket":
            permissions.require_visible(unit, [row])  # the old ticket gets a link: it must exist for the agent
            fields = xheaders.fields(params, followup=False)  # a new ticket's values, as OTRS's NewTicket
            return self._new_ticket(unit, inbound, fields, lookup.queues(unit)[row.queue_id].name, linked_to=row)
        rejected = closed and follow_up == "reject"
        groups = lookup.group_ids(unit, [row])
        permissions.require(unit, "note", groups)  # the article, as `ticket note`
        article_id = self._store(unit, row.id, inbound)
        data = {"from": inbound.from_address, "subject": inbound.subject, "rejected": rejected}
        changes.add_history(unit, [(row.id, "FollowUp", row.queue_id, data)])
        changes.apply(unit, Selected.of([row.id]), {}, [])
        if not rejected:
            fields = xheaders.fields(params, followup=True)
            xheaders.apply_followup(unit, row, fields, reopen=closed or state_type in PENDING_TYPES)
            values = custom_fields.lenient(unit, xheaders.custom_fields(fields))
            if values:
                permissions.require(unit, "rw", groups)  # as `ticket set`
                custom_fields.write(unit, Selected.of([row.id]), values)
            unit.publish("ArticleCreate", [row.id], articles={row.id: article_id}, sender="customer")
        kind = "auto-reject" if rejected else "auto-follow-up"
        reason = self._respond(unit, row.id, row.queue_id, kind, inbound)
        action = "follow_up_rejected" if rejected else "follow_up"
        return _result(action, inbound, ticket=row.tn, article=article_id, auto_response=reason)

    def _bounce(self, unit: Unit, inbound: Inbound, row: TicketRow) -> Record:
        """A returned message of the desk's: an article of the system's, hidden from the customer, and
        FollowUp history saying it bounced; the ticket reopens (the customer did not get the answer)."""
        groups = lookup.group_ids(unit, [row])
        permissions.require(unit, "note", groups)
        article_id = self._store(unit, row.id, inbound, sender="system", visible=False)
        data = {
            "from": inbound.from_address,
            "subject": inbound.subject,
            "bounce": True,
            "original_message_id": inbound.bounce_of,
            **inbound.bounce,
        }
        changes.add_history(unit, [(row.id, "FollowUp", row.queue_id, data)])
        changes.apply(unit, Selected.of([row.id]), {}, [])
        state_type = lookup.states(unit)[row.state_id].type
        xheaders.apply_followup(unit, row, {}, reopen=state_type in ("closed", "removed", *PENDING_TYPES))
        unit.publish("ArticleCreate", [row.id], articles={row.id: article_id}, sender="system")
        return _result(
            "bounce",
            inbound,
            ticket=row.tn,
            article=article_id,
            reason="delivery report: " + (inbound.bounce.get("status") or "no status"),
            auto_response="no auto-response to a bounce",
        )

    def _store(
        self,
        unit: Unit,
        ticket_id: int,
        inbound: Inbound,
        *,
        sender: str | None = None,
        visible: bool = True,
        refresh: bool = True,
    ) -> int:
        """The article (with the message's Content-Language, for ticket_language), its attachments and
        the raw message; ``refresh``: the ticket's deadlines too (False: the caller does it)."""
        article_id = changes.add_article(
            unit,
            ticket_id,
            channel="email",
            sender=sender or ("system" if inbound.auto_response_block == "delivery report" else "customer"),
            visible=visible,
            body=_capped(inbound.body, self.store.max_body_bytes),
            subject=inbound.subject,
            from_=inbound.from_,
            to=inbound.to,
            a_cc=inbound.cc,
            message_id=inbound.message_id,
            in_reply_to=clean(inbound.in_reply_to),
            a_references=clean(inbound.references),
            content_language=header_language(inbound.params.get("content-language")),
            refresh=refresh,
        )
        files = [
            {
                "article_id": article_id,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": len(a.content),
                "content": a.content,
            }
            for a in inbound.attachments
        ]
        if files:
            insert_rows(unit.session, Attachment, files, "content")  # a large one in pieces (MySQL's packet)
        plain = {"article_id": article_id, "sha256": inbound.sha256, "content": inbound.raw}
        insert_rows(unit.session, ArticlePlain, [plain], "content")
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


@cache
def _duplicate_statement() -> Select[tuple[str, int]]:
    """The ticket and article already holding a message (by its SHA-256): built once, not per message."""
    return (
        select(Ticket.tn, ArticlePlain.article_id)
        .join(Article, Article.id == ArticlePlain.article_id)
        .join(Ticket, Ticket.id == Article.ticket_id)
        .where(ArticlePlain.sha256 == bindparam("sha256"))
    )


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

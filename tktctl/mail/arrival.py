"""What one parsed message does to the desk, inside its ingest's transaction (Znuny's PostMaster).

The admin's filters and the trusted X-OTRS headers first; then the message is a duplicate (by its
SHA-256), a bounce of the desk's own mail, a follow-up (as its queue's follow-up policy says) or a
new ticket; each with its article, attachments, raw message, history and auto-response. How the
message gets here and what a failure becomes is :mod:`tktctl.mail.ingest`'s.
"""

from __future__ import annotations

import re
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, bindparam, select

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.language import header_language
from tktctl.core.lookup import QueueInfo, TicketRow
from tktctl.core.record import Record
from tktctl.core.vocabulary import PENDING_TYPES, TITLE_MAX
from tktctl.db.blobs import insert_rows
from tktctl.db.models import Article, ArticlePlain, Attachment, Ticket
from tktctl.errors import TktctlError
from tktctl.mail import filters, followups, outbound, xheaders
from tktctl.mail.parse import Inbound, clean
from tktctl.sla import deadlines
from tktctl.tickets import changes
from tktctl.tickets import fields as custom_fields
from tktctl.tickets.changes import Selected
from tktctl.tickets.links import insert_link
from tktctl.tickets.numbering import new_ticket

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

NO_SUBJECT = "(no subject)"
RAW_QUEUE = "Raw"


def outcome(action: str, inbound: Inbound | None, **extra: Any) -> Record:
    """What became of one message (formats.kinds renders it): ``action`` and what ``extra`` sets."""
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


class Arrival:
    """A desk's handling of parsed messages, one unit (transaction) each: see the module's docstring."""

    def __init__(self, store: Store, settings: outbound.MailSettings) -> None:
        self.store = store
        self.settings = settings

    @cached_property
    def hook(self) -> re.Pattern[str]:
        numbers, settings = self.store.numbers, self.settings
        return followups.hook_pattern(numbers.generator, numbers.system_id, settings.hook, settings.hook_divider)

    def process(self, unit: Unit, inbound: Inbound, options: dict[str, Any]) -> Record:
        """What the message does, as an :func:`outcome`; ``options``: ``target_queue``, ``untrusted``."""
        trusted = self.settings.trusted and not options.get("untrusted")
        # The sender's X-OTRS-* headers count only when trusted; the admin's filters always run.
        params = {k: v for k, v in inbound.params.items() if trusted or not k.startswith(xheaders.PREFIX)}
        fired = filters.run(filters.load(unit), params)
        if xheaders.is_true(params.get("x-otrs-loop")) and inbound.auto_response_block is None:
            inbound.auto_response_block = "X-OTRS-Loop"
        if xheaders.is_true(params.get("x-otrs-ignore")):
            return outcome("ignored", inbound, reason="X-Tktctl-Ignore/X-OTRS-Ignore header", filters=fired)
        duplicate = unit.session.execute(_duplicate_statement(), {"sha256": inbound.sha256}).first()
        if duplicate is not None:
            result = outcome("duplicate", inbound, ticket=duplicate.tn, article=duplicate.article_id)
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
        return outcome("new_ticket", inbound, ticket=tn, article=article_id, auto_response=reason)

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
        return outcome(action, inbound, ticket=row.tn, article=article_id, auto_response=reason)

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
        return outcome(
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

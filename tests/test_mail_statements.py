"""What one ingested message costs the database: the configuration (filters, auto-responses, queues and,
on MySQL/MariaDB, ``max_allowed_packet``) is read once per batch, not once per message, and a batch
still sees a configuration change made between two messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from sqlalchemy import event

from tktctl.api import Desk

# Statements that read the configuration (or the server's packet limit) which a second message must not run.
CONFIGURATION = re.compile(r"\bfrom (postmaster_filter|auto_response|queue_auto_response|queue)\b|max_allowed_packet")


def raw(n: int, *, attachment: bool = False, subject: str = "Printer on fire") -> bytes:
    message = EmailMessage()
    message["From"], message["To"] = "Alice <alice@example.com>", "support@example.com"
    message["Subject"], message["Message-ID"] = subject, f"<m{n}@example.com>"
    message.set_content(f"It is really on fire ({n}).")
    if attachment:
        message.add_attachment(b"\x00\x01'\\" * 100, maintype="application", subtype="octet-stream", filename="a.bin")
    return message.as_bytes()


def statements(desk: Desk, work: Callable[[], Any]) -> tuple[Any, list[str]]:
    """``work()``'s result and the SQL statements it ran, whitespace folded, lower case."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()).lower())

    event.listen(desk.engine, "before_cursor_execute", record)
    try:
        return work(), seen
    finally:
        event.remove(desk.engine, "before_cursor_execute", record)


def test_a_second_message_reads_no_configuration(desk: Desk) -> None:
    assert desk.mail.ingest(raw(1, attachment=True))["action"] == "new_ticket"  # the first reads it
    result, seen = statements(desk, lambda: desk.mail.ingest(raw(2, attachment=True)))
    assert result["action"] == "new_ticket"
    assert [s for s in seen if CONFIGURATION.search(s)] == []
    # MySQL/MariaDB: the ticket number counter's new value comes back with its UPDATE, not read after it.
    assert [s for s in seen if s.startswith("select ticket_number_counter")] == []
    # No queue of the default desk has an SLA, and the ticket starts open: no deadline UPDATE (as `ticket create`).
    assert [s for s in seen if s.startswith("update ticket set")] == []
    ticket = desk.tickets.show(result["ticket"])
    assert [(a["filename"], a["size"]) for a in ticket["articles"][0]["attachments"]] == [("a.bin", 400)]
    assert ticket["escalation"] is None


def test_a_batch_sees_filters_and_auto_responses_added_between_messages(desk: Desk) -> None:
    first = desk.mail.ingest(raw(1))
    assert (first["filters"], first["auto_response"]) == ([], "queue has no auto-reply response")
    desk.mail.filters.create("vip", match=[("Subject", "urgent")], set={"X-OTRS-Priority": "5 very high"})
    desk.autoresponses.create("thanks", type="auto-reply", subject="Re: $subject", body="We got it.\n")
    desk.queues.update("Raw", auto_responses=["thanks"])
    second = desk.mail.ingest(raw(2, subject="urgent: printer"))
    assert (second["filters"], second["auto_response"]) == (["vip"], "auto-reply queued")
    assert desk.tickets.show(second["ticket"])["priority"] == 5
    desk.mail.filters.delete("vip")
    desk.queues.update("Raw", no_auto_responses=["auto-reply"])
    third = desk.mail.ingest(raw(3, subject="urgent: again"))
    assert (third["filters"], third["auto_response"]) == ([], "queue has no auto-reply response")


def test_a_batch_sees_a_system_address_added_between_messages(desk: Desk) -> None:
    """Loop protection: no auto-response to the desk's own addresses, one added mid-batch included."""
    desk.autoresponses.create("thanks", type="auto-reply", subject="Re: $subject", body="We got it.\n")
    desk.queues.update("Raw", auto_responses=["thanks"])
    assert desk.mail.ingest(raw(1))["auto_response"] == "auto-reply queued"
    desk.addresses.create("Alice@Example.com")
    assert desk.mail.ingest(raw(2))["auto_response"] == "no auto-response to our own address"


def test_a_batch_sees_a_queue_follow_up_setting_changed_between_messages(desk: Desk) -> None:
    tn = desk.mail.ingest(raw(1))["ticket"]
    desk.tickets.close([tn])
    again = desk.mail.ingest(raw(2, subject=f"[Ticket#{tn}] again"))
    assert again["action"] == "follow_up"  # reopens it
    desk.tickets.close([tn])
    desk.queues.update("Raw", follow_up="reject")
    result, seen = statements(desk, lambda: desk.mail.ingest(raw(3, subject=f"[Ticket#{tn}] and again")))
    assert result["action"] == "follow_up_rejected"
    assert desk.tickets.show(tn)["state"] == "closed successful"
    result, seen = statements(desk, lambda: desk.mail.ingest(raw(4, subject=f"[Ticket#{tn}] still")))
    assert result["action"] == "follow_up_rejected"
    assert [s for s in seen if CONFIGURATION.search(s)] == []


def test_a_mail_ticket_is_numbered_as_create_numbers_one(desk: Desk, backend: str) -> None:
    """One door numbers every new ticket (numbering.new_ticket): where the unique key settles that a
    number is free (SQLite, PostgreSQL), no SELECT of the numbers held runs before the INSERT."""
    desk.mail.ingest(raw(1))  # the configuration read once
    result, seen = statements(desk, lambda: desk.mail.ingest(raw(2)))
    assert result["action"] == "new_ticket"
    held_checks = [s for s in seen if "where ticket.tn between" in s]
    assert len(held_checks) == (0 if backend in ("sqlite", "postgresql") else 1), held_checks

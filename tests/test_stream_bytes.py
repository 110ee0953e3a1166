"""The exact JSONL of `ticket list`, `ticket history` and `ticket export`, pinned byte for byte.

The streamed reads are tuned for speed (issue 14); whatever they do inside, what a script
reads must not move: key order, separators, times (UTC, ``Z``, microseconds only when there
are some), nulls, and non-ASCII text written as it is.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from tests.conftest import Cli
from tktctl.api import Desk, TicketFilter

TITLE = 'Zürich ✓ "quoted" \\ back 日本'
BODY = "Grüße\nline two\ttab"
PAYLOAD = '{"n": null, "to": [1, {"x": 2.5}], "note": "ü ✓"}'
FIELD_PAYLOAD = '{"to": "prød", "from": null, "field": "env"}'


def _desk(desk: Desk) -> tuple[int, int, list[int]]:
    """Two tickets in queue Pin (one with an article and a custom field), their times fixed."""
    desk.queues.create("Pin")
    desk.fields.create("env", type="text")
    first = desk.tickets.create(title=TITLE, queue="Pin", body=BODY, subject="Ünï ✓", fields={"env": "prød"})
    second = desk.tickets.create(title="plain", queue="Pin", customer="c@example.org")
    with desk.engine.begin() as conn:
        for tn, number, created, changed in (
            (first["tn"], "1000000000000001", "2026-11-27 10:00:00.000000", "2026-11-28 11:12:13.045600"),
            (second["tn"], "1000000000000002", "2026-11-29 23:59:59.999999", "2026-11-29 23:59:59.999999"),
        ):
            conn.execute(
                text("UPDATE ticket SET tn = :n, created = :c, changed = :ch, pending_until = NULL WHERE tn = :tn"),
                {"n": number, "c": created, "ch": changed, "tn": tn},
            )
        conn.execute(text("UPDATE ticket_history SET at = '2026-11-27 10:00:00.000001'"))
        # Keys in MySQL's own order (it keeps a JSON value's keys sorted by length).
        conn.execute(text("UPDATE ticket_history SET data = :d WHERE type = 'NewTicket'"), {"d": PAYLOAD})
        conn.execute(text("UPDATE ticket_history SET data = :d WHERE type LIKE '%Field%'"), {"d": FIELD_PAYLOAD})
        conn.execute(text("UPDATE article SET created = '2026-11-27 10:00:00.000000'"))
        history = [row[0] for row in conn.execute(text("SELECT id FROM ticket_history ORDER BY id"))]
        article = conn.execute(text("SELECT id FROM article")).scalar_one()
    return first["id"], article, history


def test_list_history_and_export_jsonl_are_these_bytes(desk: Desk, cli: Cli) -> None:
    first, article, history = _desk(desk)
    second = first + 1
    ticket_1 = (
        f'{{"id": {first}, "tn": "1000000000000001", "title": "Zürich ✓ \\"quoted\\" \\\\ back 日本", "queue": "Pin",'
        ' "state": "new", "state_type": "new", "priority": 3, "priority_name": "3 normal", "lock": "unlocked",'
        ' "owner": "root@localhost", "responsible": null, "customer": null, "type": null,'
        ' "created": "2026-11-27T10:00:00Z", "changed": "2026-11-28T11:12:13.045600Z", "pending_until": null,'
        ' "escalation": null, "external_id": null, "fields": {"env": "prød"}'
    )
    ticket_2 = (
        f'{{"id": {second}, "tn": "1000000000000002", "title": "plain", "queue": "Pin", "state": "new",'
        ' "state_type": "new", "priority": 3, "priority_name": "3 normal", "lock": "unlocked",'
        ' "owner": "root@localhost", "responsible": null, "customer": "c@example.org", "type": null,'
        ' "created": "2026-11-29T23:59:59.999999Z", "changed": "2026-11-29T23:59:59.999999Z",'
        ' "pending_until": null, "escalation": null, "external_id": null, "fields": {}'
    )
    assert cli("ticket", "list", "--queue", "Pin", "-o", "jsonl").stdout == f"{ticket_1}}}\n{ticket_2}}}\n"
    listed = list(desk.tickets.list(TicketFilter(queue="Pin")))  # the API's records keep aware times
    assert [(t["created"], t["changed"], t["pending_until"]) for t in listed] == [
        (datetime(2026, 11, 27, 10, tzinfo=UTC), datetime(2026, 11, 28, 11, 12, 13, 45600, tzinfo=UTC), None),
        (datetime(2026, 11, 29, 23, 59, 59, 999999, tzinfo=UTC),) * 2 + (None,),
    ]

    at = '"actor": "root@localhost", "at": "2026-11-27T10:00:00.000001Z"'
    new_1 = f'{{"id": {history[0]}, "ticket": "1000000000000001", "type": "NewTicket", {at}, "data": '
    new_1 += PAYLOAD
    phone_1 = f'{{"id": {history[1]}, "ticket": "1000000000000001", "type": "PhoneCallCustomer", {at},'
    phone_1 += ' "data": {"channel": "phone"}'
    field_1 = f'{{"id": {history[2]}, "ticket": "1000000000000001", "type": "TicketDynamicFieldUpdate", {at},'
    field_1 += f' "data": {FIELD_PAYLOAD}'
    history_1 = [new_1, phone_1, field_1]
    assert cli("ticket", "history", "1000000000000001", "-o", "jsonl").stdout == "".join(f"{h}}}\n" for h in history_1)

    new_2 = f'{{"id": {history[3]}, "ticket": "1000000000000002", "type": "NewTicket", {at}, "data": '
    new_2 += PAYLOAD
    article_1 = (
        f'{{"id": {article}, "ticket": "1000000000000001", "channel": "phone", "sender": "customer", "from": null,'
        ' "to": null, "cc": null, "subject": "Ünï ✓", "body": "Grüße\\nline two\\ttab", "visible_to_customer": true,'
        ' "created": "2026-11-27T10:00:00Z", "attachments": [], "message_id": null, "in_reply_to": null,'
        ' "references": null}'
    )
    in_export = ", ".join(h + ', "queue": "Pin"}' for h in history_1)
    exported = (
        f'{ticket_1}, "articles": [{article_1}], "history": [{in_export}],'
        f' "links": []}}\n{ticket_2}, "articles": [], "history": [{new_2}, "queue": "Pin"}}], "links": []}}\n'
    )
    assert cli("ticket", "export", "--queue", "Pin", "-o", "jsonl").stdout == exported

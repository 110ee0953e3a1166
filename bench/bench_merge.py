"""Merging an alert storm of 1,000 tickets into one, against the plain SQL that does the same.

The desk holds BACKGROUND tickets with one article each, plus the storm: N tickets of one customer
with three articles each, and the target. tktctl:
``desk.merges.merge(TicketFilter(customer=["storm@example.com"]), into=TARGET)`` (notes, links,
Merged, StateUpdate and AddNote history, deadlines). Floor: the same rows by hand: one ``UPDATE``
of the articles, one ``INSERT … SELECT`` each of the links, the notes and the history rows (Merged on
both sides, AddNote, StateUpdate), and one ``UPDATE`` of the tickets' state, in one transaction,
through the driver. The statements tktctl sends are counted
for N and for N/10: set-based means they grow by the IN-list chunks (500 ids), not per ticket.
Usage: ``python bench/bench_merge.py [N] [BACKGROUND]``.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, event, text

from bench._common import POSTGRES, argument, fresh_desk, timed, write_section
from tktctl.api import Desk, TicketFilter

N = 1_000
BACKGROUND = 50_000
ARTICLES = 3
STORM = "storm@example.com"
TARGET_TN = "9000000000000000"


def populate(url: str, n: int) -> None:
    """The target (id 1), n storm tickets with ARTICLES articles each, BACKGROUND others with one."""
    engine = create_engine(url)
    at = datetime(2026, 1, 1)
    with engine.begin() as conn:
        new_id = conn.execute(text("SELECT id FROM ticket_state WHERE name = 'new'")).scalar()
        total = 1 + n + BACKGROUND
        tickets = [
            {
                "id": i + 1,
                "tn": f"9{i:015d}",
                "title": f"ticket {i}",
                "state": new_id,
                "customer": STORM if 1 <= i <= n else f"c{i}@example.com",
                "at": at,
            }
            for i in range(total)
        ]
        conn.execute(
            text(
                "INSERT INTO ticket (id, tn, title, queue_id, state_id, priority_id, locked, owner_id, customer,"
                " created, changed, created_by, changed_by) VALUES (:id, :tn, :title, 2, :state, 3, false, 1,"
                " :customer, :at, :at, 1, 1)"
            ),
            tickets,
        )
        articles = [
            {"ticket": i + 1, "body": f"article {k} of ticket {i}", "at": at}
            for i in range(total)
            for k in range(ARTICLES if 1 <= i <= n else 1)
        ]
        conn.execute(
            text(
                "INSERT INTO article (ticket_id, channel, sender, subject, body, visible_to_customer, created,"
                " created_by) VALUES (:ticket, 'email', 'customer', 'alert', :body, true, :at, 1)"
            ),
            articles,
        )
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('ticket', 'id'), (SELECT MAX(id) FROM ticket))"))
            conn.execute(text("ANALYZE"))
    engine.dispose()


STORM_IDS = "SELECT id FROM ticket WHERE customer = :storm AND id <> 1"
FLOOR = (
    f"UPDATE article SET ticket_id = 1 WHERE ticket_id IN ({STORM_IDS})",
    "INSERT INTO ticket_link (source_id, target_id, type, created, created_by)"
    " SELECT 1, id, 'parent-child', :now, 1 FROM ticket WHERE customer = :storm AND id <> 1",
    "INSERT INTO ticket_history (ticket_id, type, actor_id, queue_id, at, data)"
    " SELECT id, 'Merged', 1, queue_id, :now, {data} FROM ticket WHERE customer = :storm AND id <> 1",
    "INSERT INTO ticket_history (ticket_id, type, actor_id, queue_id, at, data)"
    " SELECT 1, 'Merged', 1, queue_id, :now, {data} FROM ticket WHERE customer = :storm AND id <> 1",
    "INSERT INTO article (ticket_id, channel, sender, subject, body, visible_to_customer, created, created_by)"
    " SELECT id, 'internal', 'agent', 'Ticket Merged', 'merged', true, :now, 1 FROM ticket"
    " WHERE customer = :storm AND id <> 1",
    "INSERT INTO ticket_history (ticket_id, type, actor_id, queue_id, at, data)"
    " SELECT id, 'AddNote', 1, queue_id, :now, {data} FROM ticket WHERE customer = :storm AND id <> 1",
    "INSERT INTO ticket_history (ticket_id, type, actor_id, queue_id, at, data)"
    " SELECT id, 'StateUpdate', 1, queue_id, :now, {data} FROM ticket WHERE customer = :storm AND id <> 1",
    "UPDATE ticket SET state_id = (SELECT id FROM ticket_state WHERE name = 'merged'), changed = :now,"
    " changed_by = 1 WHERE customer = :storm AND id <> 1",
)
JSON_BUILD = {
    "sqlite": f"json_object('merged', tn, 'into', '{TARGET_TN}')",
    "postgresql": f"json_build_object('merged', tn, 'into', '{TARGET_TN}')",
}


def floor(url: str) -> float:
    engine = create_engine(url)
    params = {"now": datetime.now(timezone.utc).replace(tzinfo=None), "storm": STORM}

    def run() -> None:
        with engine.begin() as conn:
            for statement in FLOOR:
                conn.execute(text(statement.format(data=JSON_BUILD[engine.dialect.name])), params)

    seconds = timed(run)
    engine.dispose()
    return seconds


def ours(url: str, n: int) -> tuple[float, int]:
    """Seconds, and the SQL statements sent, for the merge of the n storm tickets."""
    desk = Desk(url)
    desk.tickets.count()  # engine, schema check and first imports out of the timing
    statements = 0

    def count(*_: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(desk.engine, "before_cursor_execute", count)
    result = None

    def run() -> None:
        nonlocal result
        result = desk.merges.merge(TicketFilter(customer=[STORM]), into=TARGET_TN)
        assert len(list(result)) == n  # the merged tickets, read back as the command prints them

    seconds = timed(run)
    assert result is not None
    assert result.changed == n, result
    assert len(desk.tickets.show(TARGET_TN)["articles"]) == 1 + ARTICLES * n
    desk.close()
    return seconds, statements


def main() -> None:
    rows = [
        "| backend | floor s | tktctl s | ratio (tktctl / floor) | statements for N | for N/10 |",
        "|---|---|---|---|---|---|",
    ]
    backends = ["sqlite", *(["postgresql"] if POSTGRES else [])]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            with fresh_desk(backend, Path(tmp)) as url:
                populate(url, N)
                floor_s = floor(url)
            with fresh_desk(backend, Path(tmp)) as url:
                populate(url, N)
                ours_s, statements = ours(url, N)
            with fresh_desk(backend, Path(tmp)) as url:
                populate(url, N // 10)
                _, tenth = ours(url, N // 10)
            ratio = ours_s / floor_s
            rows.append(f"| {backend} | {floor_s:.3f} | {ours_s:.3f} | {ratio:.2f} | {statements} | {tenth} |")
    body = (
        f"## Merge {N:,} tickets ({ARTICLES} articles each) into one, on a desk of {BACKGROUND:,} more\n\n"
        "tktctl: `merges.merge(TicketFilter(customer=[...]), into=TN)` (articles moved, a note, a link, `Merged`,\n"
        "`StateUpdate` and `AddNote` history per ticket, the whole merge printed back). Floor: the same rows by\n"
        "hand: the article `UPDATE`, `INSERT … SELECT`s of the links, notes and history rows, the state `UPDATE`,\n"
        "one transaction. The statements tktctl sends grow with the 500-id chunks of its IN lists, not per ticket\n"
        "(set-based). The rest of the gap: the row locks and the guards (locks, permissions, already merged), the\n"
        "deadline refresh (it runs even where no queue has an SLA, see issue 14) and the records read back.\n\n"
        + "\n".join(rows)
    )
    write_section("merge", body)


if __name__ == "__main__":  # arguments read here, so that importing the module reads none
    N = argument(1, N)
    BACKGROUND = argument(2, BACKGROUND)
    main()

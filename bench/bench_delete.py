"""`ticket delete` by filter: 100,000 tickets of a desk of 1,000,000, against the plain DELETEs.

The desk (built with set-based SQL) holds TOTAL tickets, each with one article and one history
row; every tenth ticket's customer is 'spam' (N selected). tktctl:
``desk.purge.delete(TicketFilter(customer=["spam"]))``: row locks, the records it prints, every
table referring to tickets (found from the foreign keys), the audit entry. Floor: three plain
DELETEs with the same WHERE (history, articles, tickets), one transaction, through the driver.
Target: tktctl within 3x of the floor. Usage: ``python bench/bench_delete.py [N]`` (TOTAL = 10 N).
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from bench._common import POSTGRES, argument, fresh_desk, timed, write_section
from tktctl.api import Desk, TicketFilter

N = 100_000

SEQUENCE = {
    "sqlite": "(WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :total)"
    " SELECT i FROM seq)",
    "postgresql": "(SELECT generate_series(1, :total) AS i)",
}
NUMBER = {"sqlite": "'9' || printf('%015d', i)", "postgresql": "'9' || lpad(i::text, 15, '0')"}


def populate(url: str, total: int) -> None:
    """``total`` tickets (every tenth a 'spam' customer's), one article and one history row each."""
    engine = create_engine(url)
    dialect = engine.dialect.name
    now = datetime(2026, 6, 1)
    with engine.begin() as conn:
        seq = SEQUENCE[dialect]
        conn.execute(
            text(
                "INSERT INTO ticket (id, tn, title, queue_id, state_id, priority_id, locked, owner_id, customer,"
                f" created, changed, created_by, changed_by) SELECT i, {NUMBER[dialect]}, 'ticket', 2, 2, 3, false,"
                " 1, CASE WHEN i % 10 = 0 THEN 'spam' ELSE 'customer' END, :now, :now, 1, 1"
                f" FROM {seq} AS s"
            ),
            {"total": total, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO article (ticket_id, channel, sender, subject, body, visible_to_customer, created,"
                " created_by) SELECT i, 'email', 'customer', 'subject', 'some body text', true, :now, 1"
                f" FROM {seq} AS s"
            ),
            {"total": total, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO ticket_history (ticket_id, type, actor_id, queue_id, at, data)"
                f" SELECT i, 'NewTicket', 1, 2, :now, '{{}}' FROM {seq} AS s"
            ),
            {"total": total, "now": now},
        )
        if dialect == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('ticket', 'id'), (SELECT MAX(id) FROM ticket))"))
    if dialect == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


SPAM = "(SELECT id FROM ticket WHERE customer = 'spam')"
FLOOR = (
    f"DELETE FROM ticket_history WHERE ticket_id IN {SPAM}",
    f"DELETE FROM article WHERE ticket_id IN {SPAM}",
    "DELETE FROM ticket WHERE customer = 'spam'",
)


def floor(url: str) -> float:
    engine = create_engine(url)

    def run() -> None:
        with engine.begin() as conn:
            for statement in FLOOR:
                conn.execute(text(statement))

    seconds = timed(run)
    engine.dispose()
    return seconds


def ours(url: str) -> float:
    desk = Desk(url)
    result = None

    def run() -> None:
        nonlocal result
        result = desk.purge.delete(TicketFilter(customer=["spam"]))

    seconds = timed(run)
    assert result is not None
    assert result.matched == N, result.matched
    assert desk.tickets.count() == 9 * N
    desk.close()
    return seconds


def main() -> None:
    total = 10 * N
    rows = ["| backend | floor s | tktctl s | ratio (tktctl / floor) | target |", "|---|---|---|---|---|"]
    backends = ["sqlite", *(["postgresql"] if POSTGRES else [])]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            with fresh_desk(backend, Path(tmp)) as url:
                populate(url, total)
                floor_s = floor(url)
            with fresh_desk(backend, Path(tmp)) as url:
                populate(url, total)
                ours_s = ours(url)
            ratio = ours_s / floor_s
            verdict = "met" if ratio <= 3 else "MISSED"
            rows.append(f"| {backend} | {floor_s:.2f} | {ours_s:.2f} | {ratio:.2f} | <= 3 ({verdict}) |")
            print(rows[-1], flush=True)
    body = (
        f"## `ticket delete` by filter: {N:,} tickets of {total:,} (one article and one history row each)\n\n"
        "tktctl: `desk.purge.delete(TicketFilter(customer=['spam']))`: row locks, the printed records, every table\n"
        "referring to tickets (from the foreign keys: attachments, raw mail, outbox, notifications too), the audit\n"
        "entry. Floor: plain `DELETE`s of the history, the articles and the tickets, same WHERE, one transaction.\n\n"
        + "\n".join(rows)
    )
    write_section("delete", body)


if __name__ == "__main__":  # arguments read here, so that importing the module reads none
    N = argument(1, N)
    main()

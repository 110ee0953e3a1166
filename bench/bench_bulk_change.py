"""A filter-selected bulk change of 100,000 tickets against the plain SQL that does the same.

The desk holds 200,000 tickets; half are open and last changed before the cut-off. tktctl:
``desk.tickets.prioritize(TicketFilter(state_type=["open"], changed_before=...), raise_by=1)``.
Floor: one ``INSERT … SELECT`` of the history rows and one ``UPDATE`` with the same WHERE, in
one transaction, through the driver. Target: tktctl within 2x of the floor.
Usage: ``python bench/bench_bulk_change.py [N]``.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, text

from bench._common import POSTGRES, argument, fresh_desk, timed, write_section
from tktctl.api import Desk, TicketFilter

N = 100_000
CUTOFF = datetime(2026, 1, 1)


def populate(url: str) -> None:
    """2N tickets: N open and changed before the cut-off (selected), N new (not selected)."""
    engine = create_engine(url)
    old, recent = CUTOFF - timedelta(days=30), CUTOFF + timedelta(days=30)
    with engine.begin() as conn:
        open_id, new_id = (
            conn.execute(text(f"SELECT id FROM ticket_state WHERE name = '{s}'")).scalar() for s in ("open", "new")
        )
        rows = [
            {
                "id": i + 1,
                "tn": f"9{i:015d}",
                "title": f"ticket {i}",
                "state": open_id if i % 2 else new_id,
                "at": old if i % 2 else recent,
                "priority": 1 + i % 5,
            }
            for i in range(2 * N)
        ]
        conn.execute(
            text(
                "INSERT INTO ticket (id, tn, title, queue_id, state_id, priority_id, locked, owner_id, created,"
                " changed, created_by, changed_by) VALUES (:id, :tn, :title, 2, :state, :priority, false, 1, :at,"
                " :at, 1, 1)"
            ),
            rows,
        )
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('ticket', 'id'), (SELECT MAX(id) FROM ticket))"))
            conn.execute(text("ANALYZE"))
    engine.dispose()


FLOOR_HISTORY = """
INSERT INTO ticket_history (ticket_id, type, actor_id, queue_id, at, data)
SELECT id, 'PriorityUpdate', 1, queue_id, :now, {data}
FROM ticket WHERE state_id = (SELECT id FROM ticket_state WHERE name = 'open') AND changed < :cutoff AND priority_id < 5
"""
FLOOR_UPDATE = """
UPDATE ticket SET priority_id = priority_id + 1, changed = :now, changed_by = 1
WHERE state_id = (SELECT id FROM ticket_state WHERE name = 'open') AND changed < :cutoff AND priority_id < 5
"""
JSON_BUILD = {
    "sqlite": "json_object('from', priority_id, 'to', priority_id + 1)",
    "postgresql": "json_build_object('from', priority_id, 'to', priority_id + 1)",
}


def floor(url: str) -> float:
    engine = create_engine(url)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    params = {"now": now, "cutoff": CUTOFF}

    def run() -> None:
        with engine.begin() as conn:
            conn.execute(text(FLOOR_HISTORY.format(data=JSON_BUILD[engine.dialect.name])), params)
            conn.execute(text(FLOOR_UPDATE), params)

    seconds = timed(run)
    engine.dispose()
    return seconds


def ours(url: str) -> float:
    desk = Desk(url)
    selection = TicketFilter(state_type=["open"], changed_before=CUTOFF.replace(tzinfo=timezone.utc))
    result = None

    def run() -> None:
        nonlocal result
        result = desk.tickets.prioritize(selection, raise_by=1)

    seconds = timed(run)
    assert result is not None
    assert result.matched == N, result.matched
    desk.close()
    return seconds


def main() -> None:
    rows = ["| backend | floor s | tktctl s | ratio (tktctl / floor) | target |", "|---|---|---|---|---|"]
    backends = ["sqlite", *(["postgresql"] if POSTGRES else [])]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            with fresh_desk(backend, Path(tmp)) as url:
                populate(url)
                floor_s = floor(url)
            with fresh_desk(backend, Path(tmp)) as url:
                populate(url)
                ours_s = ours(url)
            ratio = ours_s / floor_s
            verdict = "met" if ratio <= 2 else "MISSED"
            rows.append(f"| {backend} | {floor_s:.2f} | {ours_s:.2f} | {ratio:.2f} | <= 2 ({verdict}) |")
    body = (
        f"## Filter-selected bulk change: raise the priority of {N:,} open tickets (of {2 * N:,})\n\n"
        "tktctl: `prioritize(TicketFilter(state_type=['open'], changed_before=...), raise_by=1)`, history included.\n"
        "Floor: one `INSERT … SELECT` of history rows plus one `UPDATE`, same WHERE, one transaction.\n\n"
        + "\n".join(rows)
    )
    write_section("bulk-change", body)


if __name__ == "__main__":  # arguments read here, so that importing the module reads none
    N = argument(1, N)
    main()

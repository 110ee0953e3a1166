"""The configuration generation's per-row triggers (SQLite, MariaDB) on bulk configuration writes.

Migration 0016's triggers move the one-row counter ``desk_generation`` after every change of a
configuration table: once per statement on PostgreSQL, once per row on SQLite and MariaDB (which
have no statement-level triggers), so a statement writing N configuration rows updates that row N
times. Measured per 1,000 configuration rows on two new desks, one with its triggers dropped
(REPEAT rounds each): (1) one executemany INSERT of 1,000 ticket types, then one UPDATE of all of them, through the
driver; (2) `desk apply` of a document of QUEUES new queues (``Desk.config.apply``). Client statements
are counted (the triggers add none: their UPDATEs run inside the server), the generation's moves
read from the counter. Each time is the best of REPEAT. Usage: ``python bench/bench_generation.py``.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert, update

from bench._common import MYSQL, POSTGRES, fresh_desk, timed, write_section
from tktctl.api import Desk
from tktctl.db import generation
from tktctl.db.models import TicketType

N = 1_000
QUEUES = 200  # `desk apply` sends a few statements per queue: a smaller document
REPEAT = 3


def raw(engine: Engine, round_: int) -> tuple[float, float]:
    """Seconds of one INSERT of N ticket types and of one UPDATE of them, each its own transaction."""
    now = datetime(2026, 6, 1)
    rows = [{"name": f"t{round_}-{i}", "valid": True, "created": now, "changed": now} for i in range(N)]
    with engine.begin() as conn:
        inserting = timed(lambda: conn.execute(insert(TicketType), rows))
    with engine.begin() as conn:
        renamed = update(TicketType).where(TicketType.name.like(f"t{round_}-%")).values(comment="bulk")
        updating = timed(lambda: conn.execute(renamed))
    return inserting, updating


def apply(url: str, round_: int) -> tuple[float, int]:
    """Seconds of `desk apply` of QUEUES new queues, and the statements it sent."""
    desk = Desk(url)
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    event.listen(desk.engine, "before_cursor_execute", count)
    document = {"queues": [{"name": f"q{round_}-{i}", "comment": "bulk"} for i in range(QUEUES)]}
    seconds = timed(lambda: desk.config.apply(document))
    desk.close()
    return seconds, statements[0]


def measure(url: str, triggers: bool) -> dict[str, float]:
    """Best-of-REPEAT figures on a new desk, with its triggers or with them dropped."""
    engine = create_engine(url)
    with engine.begin() as conn:
        if not triggers:
            generation.drop_triggers(conn, generation.CONFIG_TABLES)
        before = generation.read(conn)
    runs = [raw(engine, round_) for round_ in range(REPEAT)]
    with engine.begin() as conn:
        moved = generation.read(conn) - before
    engine.dispose()
    applies = [apply(url, round_) for round_ in range(REPEAT)]
    return {
        "insert": min(r[0] for r in runs),
        "update": min(r[1] for r in runs),
        "apply": min(a[0] for a in applies),
        "statements": applies[0][1],
        "moves": moved / REPEAT,
    }


def main() -> None:
    backends = ["sqlite"] + (["postgresql"] if POSTGRES else []) + (["mysql"] if MYSQL else [])
    rows = [
        f"| backend | generation moves per INSERT + UPDATE of {N:,} rows | INSERT {N:,} (ms) with / without"
        f" triggers | UPDATE {N:,} (ms) with / without | `desk apply` {QUEUES:,} queues (s) with / without |"
        " statements per `desk apply` |",
        "|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            found = {}
            for triggers in (True, False):  # a desk each: `desk apply` reads every queue, the desks grow alike
                with fresh_desk(backend, Path(tmp)) as url:
                    found[triggers] = measure(url, triggers)
            on_, off = found[True], found[False]
            rows.append(
                f"| {backend} | {on_['moves']:,.0f} | {on_['insert'] * 1000:,.0f} / {off['insert'] * 1000:,.0f}"
                f" ({on_['insert'] / off['insert']:.2f}x) | {on_['update'] * 1000:,.0f} / {off['update'] * 1000:,.0f}"
                f" ({on_['update'] / off['update']:.2f}x) | {on_['apply']:.2f} / {off['apply']:.2f}"
                f" ({on_['apply'] / off['apply']:.2f}x) | {on_['statements']:,} / {off['statements']:,} |"
            )
            print(rows[-1], flush=True)
    body = (
        "## Configuration generation: per-row triggers on bulk configuration writes (bench/bench_generation.py)\n\n"
        f"Per {N:,} configuration rows ({QUEUES:,} for `desk apply`), best of {REPEAT}, with the generation's"
        " triggers and on a desk with them dropped. SQLite and MariaDB move the one generation row"
        " once per row written (per-row triggers); PostgreSQL once per statement. Ticket work writes no"
        " configuration table and fires none of them.\n\n" + "\n".join(rows)
    )
    write_section("config-generation", body)


if __name__ == "__main__":
    main()

"""What choosing a language costs a bulk change that mails every ticket's customer.

A desk holds N tickets in Raw, each with its own customer (every second one a customer user with a
language, every third with a mail that said its Content-Language). A notification rule mails the
customer on Move. Timed (CPU time of this process, which the machine's load moves far less than
wall time; SQLite runs in-process): ``desk.tickets.move(all N, to=...)``, back and forth, the median of ROUNDS,
with the rule in one language (the floor: no language is looked up) and with Spanish and German
translations (each ticket's languages are resolved, set-based, and a text chosen per message), in
the same run. The statements sent are counted too: resolving languages adds a fixed number per
chunk of 500 tickets, not per ticket. Usage: ``python bench/bench_languages.py [N] [ROUNDS]``.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, event, insert, select, text

from bench._common import argument, fresh_desk, write_section
from tktctl.api import Desk, TicketFilter
from tktctl.db.models import Article, Customer, Queue, Ticket

RULE = {
    "name": "customer-moves",
    "events": ["Move"],
    "recipients": ["customer"],
    "subject": "Moved: $title",
    "body": "Your ticket is in $queue now.",
}
TRANSLATED = {
    **RULE,
    "language": "en",
    "translations": {
        "es": {"subject": "Movido: $title", "body": "Su ticket está ahora en $queue."},
        "de": {"subject": "Verschoben: $title", "body": "Ihr Ticket ist jetzt in $queue."},
    },
}


def populate(url: str, n: int) -> None:
    engine = create_engine(url)
    at = datetime(2026, 1, 1)
    with engine.begin() as conn:
        state = conn.execute(text("SELECT id FROM ticket_state WHERE name = 'open'")).scalar()
        raw = conn.execute(select(Queue.id).where(Queue.name == "Raw")).scalar()
        admin = conn.execute(text("SELECT id FROM agent WHERE login = 'root@localhost'")).scalar()
        common = {"queue_id": raw, "state_id": state, "priority_id": 3, "locked": False, "owner_id": admin}
        conn.execute(
            insert(Ticket),
            [
                {
                    **common,
                    "id": i + 1,
                    "tn": f"8{i:015d}",
                    "title": f"ticket {i}",
                    "customer": f"c{i}@example.com",
                    "created": at,
                    "changed": at,
                    "created_by": admin,
                    "changed_by": admin,
                }
                for i in range(n)
            ],
        )
        conn.execute(
            insert(Customer),
            [
                {"login": f"c{i}@example.com", "email": f"c{i}@example.com", "language": ("es", "de")[i % 4 // 2]}
                | {"valid": True, "created": at, "changed": at}
                for i in range(0, n, 2)
            ],
        )
        conn.execute(
            insert(Article),
            [
                {"ticket_id": i + 1, "channel": "email", "sender": "customer", "body": "x", "content_language": "de"}
                | {"visible_to_customer": True, "created": at, "created_by": admin}
                for i in range(0, n, 3)
            ],
        )
    engine.dispose()


def run(desk: Desk, rule: dict[str, object], rounds: int, statements: list[int]) -> float:
    """The median seconds of one bulk move of every ticket (and counts the statements of the last)."""
    desk.notifications.apply([rule])
    times = []
    for n in range(rounds):
        target = ("Misc", "Raw")[n % 2]
        source = ("Raw", "Misc")[n % 2]
        statements.clear()
        started = time.process_time()
        desk.tickets.move(TicketFilter(queue=[source]), to=target)
        times.append(time.process_time() - started)
    return statistics.median(times)


def main() -> None:
    n, rounds = argument(1, 2_000), argument(2, 8)
    rounds += rounds % 2  # an even number: each run ends with the tickets back in Raw
    with tempfile.TemporaryDirectory() as work, fresh_desk("sqlite", Path(work)) as url:
        populate(url, n)
        desk = Desk(url)
        statements: list[int] = []
        event.listen(desk.engine, "before_cursor_execute", lambda *args: statements.append(1))
        floor = run(desk, RULE, rounds, statements)
        floor_statements = len(statements)
        translated = run(desk, TRANSLATED, rounds, statements)
        translated_statements = len(statements)
        sent = desk.engine.connect().execute(text("SELECT count(*) FROM mail_outbox")).scalar()
        desk.close()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    body = (
        f"## Languages: a bulk move that mails {n:,} customers (bench/bench_languages.py)\n\n"
        f"| rule | CPU time, median of {rounds} moves | statements | ratio |\n|---|---|---|---|\n"
        f"| one language (floor) | {floor:.3f} s | {floor_statements} | 1.00 |\n"
        f"| en + es + de, each customer's language chosen | {translated:.3f} s | {translated_statements} "
        f"| {translated / floor:.2f} |\n\n"
        f"SQLite; {sent:,} messages queued in all; load average {load} on {os.cpu_count()} CPUs."
    )
    write_section("languages", body)


if __name__ == "__main__":
    main()

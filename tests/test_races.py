"""Races between real processes, settled by the database: exactly one winner, no duplicate numbers.

Each child process imports everything first and then waits at a barrier, so that all of
them hit the database in the same instant (a plain `Popen` fan-out staggers them by their
start-up time and rarely races at all). The e2e tests race the installed executable too.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tktctl.api import Desk

pytestmark = pytest.mark.race
FORK = multiprocessing.get_context("fork")


def _child(barrier: multiprocessing.synchronize.Barrier, argv: list[str], repeat: int) -> None:
    """Run `tktctl ARGV` `repeat` times after the barrier; exit with the first failing code."""
    import tktctl.cli
    import tktctl.tickets.verbs

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    barrier.wait()
    worst = 0
    for _ in range(repeat):
        try:
            tktctl.cli.main(argv)
        except SystemExit as exc:
            worst = worst or int(exc.code or 0)
    os._exit(worst)


def race(argvs: list[list[str]], repeat: int = 1) -> list[int]:
    barrier = FORK.Barrier(len(argvs))
    processes = [FORK.Process(target=_child, args=(barrier, argv, repeat)) for argv in argvs]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=240)
    assert all(p.exitcode is not None for p in processes), "a racer hung"
    return [int(p.exitcode) for p in processes]  # type: ignore[arg-type]


def test_sixteen_agents_lock_the_same_ticket_one_wins(desk: Desk, db_url: str) -> None:
    agents = [f"agent{i}" for i in range(16)]
    for login in agents:
        desk.agents.create(login)
    desk.roles.create("lockers")
    desk.roles.add_agents("lockers", agents)
    desk.acl.grant("ro,owner", group="users", role="lockers")
    tn = desk.tickets.create(title="contested")["tn"]
    desk.close()
    codes = race([["--db", db_url, "--as", login, "ticket", "lock", tn] for login in agents])
    assert sorted(codes) == [0] + [5] * 15, codes
    history = desk.tickets.history(tn)
    locks = [h for h in history if h["type"] == "Lock"]
    assert len(locks) == 1
    winner = agents[codes.index(0)]
    assert locks[0]["actor"] == winner and desk.tickets.show(tn)["owner"] == winner


def test_eight_processes_create_two_hundred_tickets_with_distinct_numbers(desk: Desk, db_url: str) -> None:
    desk.close()
    codes = race([["--db", db_url, "ticket", "create", "--title", f"p{i}", "-q"] for i in range(8)], repeat=25)
    assert codes == [0] * 8
    tickets = list(desk.tickets.list())
    numbers = Counter(t["tn"] for t in tickets)
    assert len(tickets) == 200 and len(numbers) == 200
    counters = sorted(int(tn[10:15]) for tn in numbers)
    assert counters == list(range(1, 201))  # DateChecksum's daily counter: gap-free, no repeats


def test_concurrent_retries_of_one_external_id_create_one_ticket(desk: Desk, db_url: str) -> None:
    desk.close()
    argv = ["--db", db_url, "ticket", "create", "--title", "alert", "--external-id", "alert-7", "-q"]
    codes = race([argv] * 8)
    assert codes == [0] * 8
    assert [t["external_id"] for t in desk.tickets.list()] == ["alert-7"]


def test_four_imports_at_once_give_each_ticket_its_own_article_and_history(
    desk: Desk, db_url: str, tmp_path: Path
) -> None:
    """An import reads its new ids back as ``id > max(id) before``: rows another import commits
    in between must not be taken for its own (each ticket keeps its own article and history).
    The records bring their own numbers, so that no number reservation serialises the batches."""
    from sqlalchemy import func, select

    from tktctl.db.models import Article, History, Ticket
    from tktctl.tickets.numbering import format_number

    def number(process: int, i: int) -> str:  # valid numbers of this desk's generator, distinct per process
        return format_number("DateChecksum", "10", "20260101", 1000 * process + i + 1)

    desk.close()
    argvs = []
    for p in range(4):
        source = tmp_path / f"p{p}.jsonl"
        source.write_text(
            "".join(
                json.dumps({"tn": number(p, i), "title": f"p{p}-{i}", "body": f"of p{p}-{i}"}) + "\n"
                for i in range(300)
            )
        )
        argvs.append(["--db", db_url, "ticket", "import", str(source), "--batch-size", "20", "-q"])
    assert race(argvs) == [0] * 4
    with desk.read() as unit:
        pairs = unit.session.execute(select(Ticket.title, Article.body).join(Article, Article.ticket_id == Ticket.id))
        bodies = Counter((title, body) for title, body in pairs)
        created = unit.session.execute(
            select(History.ticket_id, func.count()).where(History.type == "NewTicket").group_by(History.ticket_id)
        ).all()
        tickets = unit.session.scalar(select(func.count()).select_from(Ticket))
    assert tickets == 1200
    assert all(body == f"of {title}" for title, body in bodies) and len(bodies) == 1200
    assert set(bodies.values()) == {1}
    assert len(created) == 1200 and {n for _, n in created} == {1}


def _seed_due(url: str, count: int) -> None:
    """``count`` tickets whose first response is overdue, inserted in bulk (the bench's seeder)."""
    import importlib.util
    from datetime import datetime, timezone
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "bench" / "escalate.py"
    spec = importlib.util.spec_from_file_location("tktctl_bench_escalate", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.seed(url, count, count, datetime.now(timezone.utc))


@pytest.mark.backends("sqlite", "postgresql")
def test_two_escalate_runs_over_ten_thousand_due_tickets_fire_each_once(desk: Desk, db_url: str) -> None:
    from sqlalchemy import func, select

    from tktctl.db.models import History

    _seed_due(db_url, 10_000)
    desk.close()
    codes = race([["--db", db_url, "escalate", "-o", "jsonl"]] * 2)
    assert codes == [0, 0]
    with desk.read() as unit:
        fired = unit.session.execute(
            select(History.ticket_id, func.count())
            .where(History.type == "EscalationResponseTimeStart")
            .group_by(History.ticket_id)
        ).all()
    assert len(fired) == 10_000
    assert {n for _, n in fired} == {1}


def _hold_and_hang(url: str, held: multiprocessing.synchronize.Event) -> None:
    from tktctl.core import joblock

    with Desk(url).write() as unit:
        joblock.hold(unit, "escalate")
        held.set()
        time.sleep(600)


@pytest.mark.backends("sqlite", "postgresql")
def test_a_killed_run_leaves_nothing_that_blocks_the_next(desk: Desk, db_url: str) -> None:
    from datetime import datetime, timedelta, timezone

    past = Desk(db_url, clock=lambda: datetime.now(timezone.utc) - timedelta(hours=1))
    past.queues.create("Q", first_response_time=1)
    past.tickets.create(queue="Q", title="t", body="b")  # overdue since 59 minutes
    past.close()
    desk.close()
    held = FORK.Event()
    crashed = FORK.Process(target=_hold_and_hang, args=(db_url, held))
    crashed.start()
    assert held.wait(60)
    os.kill(crashed.pid, signal.SIGKILL)  # type: ignore[arg-type]
    crashed.join()
    started = time.monotonic()
    codes = race([["--db", db_url, "escalate", "-q"]])
    assert codes == [0] and time.monotonic() - started < 20
    assert any(
        h["type"] == "EscalationResponseTimeStart" for t in desk.tickets.list() for h in desk.tickets.history(t["tn"])
    )

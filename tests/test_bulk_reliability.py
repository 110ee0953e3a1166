"""Bulk work under crashes and races, with real processes.

The importer is killed with SIGKILL at random moments: only whole batches may exist, the
database stays intact, and a rerun finishes the job exactly. Two bulk changes race over
overlapping filter selections: both finish or one exits 5, and history agrees with rows.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from tests.test_races import race
from tktctl.api import Desk
from tktctl.db.models import Article, History, Ticket

pytestmark = [pytest.mark.race, pytest.mark.e2e]
EXE = str(Path(sys.executable).with_name("tktctl"))
TICKETS = 20_000
BATCH = 500


def counts(url: str) -> tuple[int, int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(  # type: ignore[return-value]
                conn.scalar(select(func.count()).select_from(t)) for t in (Ticket, Article, History)
            )
    finally:
        engine.dispose()


def integrity(url: str) -> None:
    """SQLite's own checks; on a server the foreign keys already guard every row."""
    if not url.startswith("sqlite"):
        return
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    finally:
        engine.dispose()


@pytest.mark.backends("sqlite", "postgresql")
def test_sigkill_during_import_leaves_whole_batches_and_a_rerun_finishes(db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "tickets.jsonl"
    with source.open("w") as out:
        for i in range(TICKETS):
            out.write(json.dumps({"title": f"ticket {i}", "external_id": f"ext-{i}", "body": "text"}) + "\n")
    env = {**os.environ, "TKTCTL_DB": db_url}
    argv = [EXE, "ticket", "import", str(source), "--batch-size", str(BATCH), "-q"]
    rng = random.Random(20261127)
    for _ in range(10):
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 4.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        integrity(db_url)
        tickets, articles, history = counts(db_url)
        assert tickets % BATCH == 0, tickets  # whole batches only
        assert (articles, history) == (tickets, 2 * tickets)
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=600)
    integrity(db_url)
    assert counts(db_url) == (TICKETS, TICKETS, 2 * TICKETS)


@pytest.mark.backends("sqlite", "postgresql")
def test_two_bulk_changes_racing_over_overlapping_filters(desk: Desk, db_url: str) -> None:
    desk.queues.create("Tier 2")
    for i in range(300):
        desk.tickets.create(title=f"t{i}", customer="acme" if i % 2 else "other", priority=2)
    desk.close()
    raise_acme = ["--db", db_url, "ticket", "prioritize", "--raise", "1", "--customer", "acme"]
    raise_all = ["--db", db_url, "ticket", "prioritize", "--raise", "1", "--all"]
    move = ["--db", db_url, "ticket", "move", "--to", "Tier 2", "--priority", "2", "--priority", "3"]
    for _ in range(3):
        codes = race([raise_acme, raise_all, move])
        assert all(code in (0, 5) for code in codes), codes
        assert codes.count(0) >= 1, codes
    for ticket in desk.tickets.list():
        entries = desk.tickets.history(ticket["tn"])
        changes = [h["data"] for h in entries if h["type"] == "PriorityUpdate"]
        chain = [entries[0]["data"]["priority"]] + [c["to"] for c in changes]
        assert all(c["from"] == before for c, before in zip(changes, chain, strict=False)), ticket["tn"]
        assert chain[-1] == ticket["priority_name"], ticket["tn"]
        moves = [h["data"]["to"] for h in entries if h["type"] == "Move"]
        assert (moves[-1] if moves else "Raw") == ticket["queue"], ticket["tn"]

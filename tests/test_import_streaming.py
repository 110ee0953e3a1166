"""Import in bounded chunks (issue 14, section 3): checked and written a batch at a time, still all or
nothing when a record is bad, with SQLite's write-ahead log and the process's memory bounded."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli
from tktctl.api import Desk
from tktctl.errors import NotFoundError, PartialFailure, UsageError

N = 1000
BATCH = 50


def stream(n: int, changed: dict[str, dict[str, Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
    for i in range(1, n + 1):
        yield i, changed.get(str(i), {"title": f"t{i}", "external_id": f"k{i}", "body": "x" * 100})


def records(n: int = N, **changed: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """``n`` good records, line = position; ``changed`` maps str(line) to a replacement record."""
    return list(stream(n, changed))


def test_a_bad_record_late_in_the_input_leaves_nothing_written(desk: Desk) -> None:
    """Regression for the chunked check: 17 batches are checked before line 900, none may be written."""
    before = desk.tickets.count()
    with pytest.raises(NotFoundError, match=r"^line 900: queue 'Nope' not found$"):
        desk.transfer.import_tickets(records(**{"900": {"title": "bad", "queue": "Nope"}}), batch_size=BATCH)
    assert desk.tickets.count() == before


def test_a_key_repeated_chunks_later_leaves_nothing_written(desk: Desk) -> None:
    """The keys met so far outlive their chunk: line 950 repeats line 10's external_id, 18 chunks later."""
    before = desk.tickets.count()
    again = {"950": {"title": "again", "external_id": "k10"}}
    with pytest.raises(UsageError, match=r"^line 950: external_id 'k10' repeats line 10$"):
        desk.transfer.import_tickets(records(**again), batch_size=BATCH)
    assert desk.tickets.count() == before


def test_a_repeat_before_a_bad_record_of_the_same_chunk_is_the_error_named(desk: Desk) -> None:
    bad = {"903": {"title": "again", "external_id": "k1"}, "905": {"title": "bad", "queue": "Nope"}}
    with pytest.raises(UsageError, match=r"^line 903: external_id 'k1' repeats line 1$"):
        desk.transfer.import_tickets(records(**bad), batch_size=BATCH)


def test_continue_on_error_reports_every_bad_record_in_line_order(desk: Desk) -> None:
    bad = {
        "3": {"title": "bad", "queue": "Nope"},
        "120": {"title": "again", "external_id": "k7"},
        "121": {"title": "bad", "state": "Nope"},
        "999": {"title": "again", "external_id": "k998"},
    }
    before = desk.tickets.count()
    with pytest.raises(PartialFailure) as failure:
        desk.transfer.import_tickets(records(**bad), batch_size=BATCH, continue_on_error=True)
    outcomes = list(failure.value.results)
    assert [o["line"] for o in outcomes] == list(range(1, N + 1))
    assert [o["line"] for o in outcomes if not o["ok"]] == [3, 120, 121, 999]
    assert outcomes[119]["error"]["message"] == "line 120: external_id 'k7' repeats line 7"
    assert desk.tickets.count() == before + N - 4
    # The outcomes are read again from their spool as often as asked (the CLI renders, then counts).
    assert list(failure.value.results) == outcomes


def test_an_import_in_chunks_creates_everything_once(desk: Desk) -> None:
    result = desk.transfer.import_tickets(records(), batch_size=BATCH)
    assert result.totals == {"created": N, "updated": 0, "skipped": 0, "failed": 0}
    assert len(result.outcomes) == N
    assert [o["line"] for o in result] == list(range(1, N + 1))
    again = desk.transfer.import_tickets(records(), batch_size=7)  # the rerun after a crash skips them
    assert again.totals["skipped"] == N


def test_cli_import_fails_whole_on_a_late_bad_line(cli: Cli, desk: Desk) -> None:
    lines = [json.dumps(record) for _, record in records(**{"900": {"title": "bad", "priority": 9}})]
    before = desk.tickets.count()
    result = cli("ticket", "import", "-", "--format", "jsonl", "--batch-size", "50", input="\n".join(lines), expect=2)
    assert "line 900" in result.stderr
    assert desk.tickets.count() == before


@pytest.mark.backends("sqlite")
def test_the_log_stays_bounded_during_a_large_sqlite_import(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between batches the import checkpoints once the log passes its bound; it grew with the import before."""
    import tktctl.db.engine

    monkeypatch.setattr(tktctl.db.engine, "WAL_SIZE_LIMIT", 64 * 1024)
    monkeypatch.setattr(tktctl.db.engine, "BULK_LOG_BYTES", 128 * 1024)
    desk = Desk(db_url)  # connections made after the patch
    log = Path(db_url.removeprefix("sqlite:///") + "-wal")
    sizes: list[int] = []
    desk.transfer.import_tickets(records(3000), batch_size=BATCH, progress=lambda _: sizes.append(log.stat().st_size))
    database = Path(db_url.removeprefix("sqlite:///")).stat().st_size
    assert database > 1_500_000  # what the import wrote: a dozen times the log's bound
    assert max(sizes) < 512 * 1024  # the bound, one batch and the journal limit's slack
    desk.close()


@pytest.mark.backends("sqlite")
def test_memory_does_not_grow_with_the_input(desk: Desk) -> None:
    """Peak Python memory of an import of 4,000 records is that of 1,000 (it was ~2 KB a record)."""

    def peak(n: int) -> int:
        tracemalloc.start()
        try:
            desk.transfer.import_tickets(stream(n, {}), batch_size=100)  # read as it goes, as from a file
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(100)  # caches of the first import (compiled statements, lookups) are not the import's growth
    small = peak(1000)
    large = peak(4000)  # also meets the 1,000 of before: skipped, as a rerun
    assert large < small * 1.5 + 200_000, (small, large)


def test_times_read_back_as_their_instants_in_every_table_and_batch(desk: Desk) -> None:
    """One instant in three spellings, across batches: the ticket, its article and its history keep
    that instant, and the change time its own (a batch's inserts share their time conversions)."""
    created = datetime(2024, 3, 1, 10, tzinfo=timezone.utc)
    changed = datetime(2024, 3, 1, 14, 30, 0, 250000, tzinfo=timezone.utc)
    spellings = ("2024-03-01T10:00:00Z", "2024-03-01T11:00:00+01:00", "2024-03-01 05:00-05:00")
    batch = [
        (i, {"title": f"t{i}", "body": "b", "created": spellings[i % 3], "changed": "2024-03-01T12:30:00.25-02:00"})
        for i in range(1, 8)
    ]
    desk.transfer.import_tickets(batch, batch_size=3)

    def instant(value: Any) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value

    exported = list(desk.transfer.export_tickets())
    assert len(exported) == 7
    for ticket in exported:
        assert instant(ticket["created"]) == created
        assert instant(ticket["changed"]) == changed
        assert [instant(a["created"]) for a in ticket["articles"]] == [created]
        assert [instant(h["at"]) for h in ticket["history"]] == [created, created]

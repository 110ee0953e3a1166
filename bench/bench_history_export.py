"""`tktctl history export -o jsonl` of 1,000,000 history rows: rate and peak memory of the process.

Target: at least 100,000 rows/s and a peak resident set under 100 MB, measured with
``os.wait4`` (the child's ``getrusage``) around the installed ``tktctl`` writing to
/dev/null. Floor for the ratio: the stdlib sqlite3 reading the same rows and writing them
with ``json.dumps``. Seconds are the median of RUNS runs of each, interleaved; the peak is the largest.
Usage: ``python bench/bench_history_export.py [ROWS] [RUNS]``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from bench._common import argument, fresh_desk, timed, write_section
from bench.bench_bulk_change import populate

ROWS = 1_000_000
RUNS = 3
TICKETS = 10_000
EXE = str(Path(sys.executable).with_name("tktctl"))


def fill(path: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO ticket_history (ticket_id, type, actor_id, queue_id, at, data)"
            " SELECT i % ? + 1, 'PriorityUpdate', 1, 2, '2026-11-27 10:00:00.000000',"
            ' \'{"from": "3 normal", "to": "4 high"}\' FROM n',
            (ROWS - 1, TICKETS),
        )
    conn.close()


def floor(path: str) -> float:
    conn = sqlite3.connect(path)

    def run() -> None:
        with open(os.devnull, "w") as out:
            query = (
                "SELECT h.id, t.tn, h.type, a.login, h.at, h.data FROM ticket_history h"
                " JOIN ticket t ON t.id = h.ticket_id JOIN agent a ON a.id = h.actor_id ORDER BY h.id"
            )
            for row in conn.execute(query):
                out.write(json.dumps([*row[:5], json.loads(row[5])]) + "\n")

    seconds = timed(run)
    conn.close()
    return seconds


def export(url: str) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one `tktctl history export -o jsonl` process."""
    started = time.perf_counter()
    with open(os.devnull, "w") as out:
        process = subprocess.Popen([EXE, "--db", url, "history", "export", "-o", "jsonl"], stdout=out)
        _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def main() -> None:
    import bench.bench_bulk_change as change

    change.N = TICKETS // 2
    with tempfile.TemporaryDirectory() as tmp, fresh_desk("sqlite", Path(tmp)) as url:
        populate(url)
        path = make_url(url).database
        fill(path)
        floors: list[float] = []
        runs: list[tuple[float, float]] = []
        for _ in range(RUNS):  # interleaved, so that a noisy moment hits both sides alike
            floors.append(floor(path))
            runs.append(export(url))
        floor_s = statistics.median(floors)
        seconds = statistics.median(s for s, _ in runs)
        peak = max(p for _, p in runs)
    rate = ROWS / seconds
    verdict = "met" if rate >= 100_000 and peak < 100 else "MISSED"
    body = (
        f"## `history export -o jsonl` of {ROWS:,} rows (SQLite)\n\n"
        f"Seconds are the median of {RUNS} runs of each, floor and tktctl interleaved; peak RSS is the largest.\n\n"
        "| floor (sqlite3 + json.dumps) s | tktctl s | rows/s | ratio (floor / tktctl) | peak RSS MB | target |\n"
        "|---|---|---|---|---|---|\n"
        f"| {floor_s:.2f} | {seconds:.2f} | {rate:,.0f} | {floor_s / seconds:.2f} | {peak:.0f} |"
        f" >= 100,000 rows/s, < 100 MB ({verdict}) |"
    )
    write_section("history-export", body)


if __name__ == "__main__":  # arguments read here, so that importing the module reads none
    ROWS, RUNS = argument(1, ROWS), argument(2, RUNS)
    main()

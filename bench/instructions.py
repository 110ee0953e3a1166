"""Instructions per imported ticket and per exported history row, tktctl against its floor (callgrind).

Wall times on a shared machine move with its load; counted instructions do not (nor do they
count waits for the disk). Each figure is the difference between a run over SMALL and a run
over LARGE items, divided by LARGE - SMALL, so that start-up and set-up cancel out. The import
floor (``bench_import.floor_sqlite``) builds its parameter rows in the run, so they are counted
with it. Needs valgrind. Usage: ``python -m bench.instructions``; ``python -m bench.instructions creates``
counts a `ticket create` (a batch line and the API); ``python -m bench.instructions counts`` a
`ticket count` (against its floor ``count-txn``); ``python -m bench.instructions streams [DESK]`` counts a
record of `ticket list` and `ticket history` in jsonl (bench/bench_streams.py's desk and floors).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SMALL, LARGE = 1_000, 6_000
CREATES_SMALL, CREATES_LARGE = 50, 250
COUNTS_SMALL, COUNTS_LARGE = 100, 500


def child(work: str, path: str, arg: str) -> None:
    """The work that is counted, in a process of its own."""
    from tktctl.api import Desk

    if work == "import":
        from tktctl.tickets.importcheck import read_records

        desk = Desk(f"sqlite:///{path}")
        desk.init()
        with open(arg) as stream:
            desk.transfer.import_tickets(read_records(stream, "jsonl"), batch_size=5000)
    elif work == "import-floor":
        import bench.bench_import as floor

        floor.N = int(arg)
        Desk(f"sqlite:///{path}").init()
        floor.floor_sqlite(f"sqlite:///{path}")
    elif work == "export":
        from tktctl.formats import render
        from tktctl.formats.kinds import HISTORY

        with open(os.devnull, "w") as out:
            render(Desk(f"sqlite:///{path}").history.export(), kind=HISTORY, fmt="jsonl", out=out)
    elif work == "export-floor":
        from bench.bench_history_export import floor

        floor(path)
    elif work in ("list", "history"):  # arg: records; path: the desk of bench/bench_streams.py
        from itertools import islice

        from bench.bench_streams import LONG
        from tktctl.api import TicketFilter
        from tktctl.formats import kinds, render

        desk, n = Desk(f"sqlite:///{path}"), int(arg)
        with open(os.devnull, "w") as out:
            if work == "list":
                render(
                    desk.tickets.list(TicketFilter(queue=["Small"]), limit=n), kind=kinds.TICKET, fmt="jsonl", out=out
                )
            else:
                render(
                    islice(desk.tickets.history_stream(f"9{LONG:015d}"), n), kind=kinds.HISTORY, fmt="jsonl", out=out
                )
    elif work in ("list-floor", "history-floor"):
        import bench.bench_streams as streams

        if work == "list-floor":
            streams.floor(Path(path), streams.ticket_sql("WHERE q.name = 'Small'") + f" LIMIT {int(arg)}")
        else:
            streams.floor(Path(path), streams.HISTORY_SQL + f" LIMIT {int(arg)}", streams.LONG)
    elif work == "create-api":
        desk = Desk(f"sqlite:///{path}")
        for i in range(int(arg)):
            desk.tickets.create(title=f"ticket {i}", body=f"text {i}")
    elif work in ("count", "count-floor"):  # arg: calls; path: bench/bench_bulk_stats.py's desk
        from sqlalchemy import create_engine, text

        from bench.bench_bulk_stats import COUNTED, _in_own_transaction, count_where
        from tktctl.api import TicketFilter

        if work == "count":
            desk = Desk(f"sqlite:///{path}")
            for _ in range(int(arg)):
                desk.tickets.count(TicketFilter(**COUNTED))
        else:
            engine = create_engine(f"sqlite:///{path}")
            sql = text(f"SELECT count(*) FROM ticket WHERE {count_where(engine)}")
            for _ in range(int(arg)):
                _in_own_transaction(engine, sql)
    elif work == "create-batch":
        import io

        from tktctl.cli import run

        sys.stdin = io.StringIO(
            "".join(f'ticket create --title "ticket {i}" --body "text {i}"\n' for i in range(int(arg)))
        )
        sys.stdout = io.StringIO()
        assert run(["--db", f"sqlite:///{path}", "batch"]) == 0


def counted(work: str, path: Path, arg: str) -> int:
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    argv += ["-m", "bench.instructions", work, str(path), arg]
    report = subprocess.run(argv, capture_output=True, text=True, check=True).stderr
    found = re.search(r"Collected : (\d+)", report)
    assert found, report
    return int(found.group(1))


def creates() -> None:
    """Instructions per `ticket create`: a `tktctl batch` line against the `Desk` API (section
    instructions-batch). Each count is a run over CREATES_LARGE tickets minus one over CREATES_SMALL."""
    from bench._common import write_section
    from tktctl.api import Desk

    per_item: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for work in ("create-api", "create-batch"):
            counts = []
            for n in (CREATES_SMALL, CREATES_LARGE):
                path = Path(tmp) / f"{work}-{n}.db"
                Desk(f"sqlite:///{path}").init()
                counts.append(counted(work, path, str(n)))
            per_item[work] = (counts[1] - counts[0]) / (CREATES_LARGE - CREATES_SMALL)
    api, batch = per_item["create-api"], per_item["create-batch"]
    body = (
        "## Instructions per `ticket create` (callgrind): a `tktctl batch` line against the `Desk` API\n\n"
        f"Runs over {CREATES_LARGE:,} creates minus runs over {CREATES_SMALL:,}, SQLite, one transaction each"
        " (title and body: the ticket, its article, two history rows).\n\n"
        "| work | instructions per ticket | ratio to the API |\n|---|---|---|\n"
        f"| `Desk.tickets.create` | {api:,.0f} | 1.00x |\n"
        f"| `tktctl batch` line `ticket create --title T --body B` (JSON result) | {batch:,.0f} | {batch / api:.2f}x |"
    )
    write_section("instructions-batch", body)


def counts() -> None:
    """Instructions per `ticket count --queue Q0 --state-type open` (the API) against its floor
    `count-txn` (bench/bench_bulk_stats.py, on its 100,000-ticket desk); printed, not written."""
    from bench.bench_bulk_stats import cached_desk

    desk = cached_desk(100_000)
    per_call = {}
    for work in ("count", "count-floor"):
        small, large = (counted(work, desk, str(n)) for n in (COUNTS_SMALL, COUNTS_LARGE))
        per_call[work] = (large - small) / (COUNTS_LARGE - COUNTS_SMALL)
        print(f"{work}: {per_call[work]:,.0f} instructions per call", flush=True)
    print(f"ratio: {per_call['count'] / per_call['count-floor']:.2f}x")


def streams(desk: Path) -> None:
    """Instructions per record of `ticket list -o jsonl` and `ticket history TN -o jsonl` (the API and the
    renderer, in-process) against bench/bench_streams.py's floors, on its desk (built there if missing);
    printed, not written to docs/benchmarks.md (its streams section quotes them)."""
    import bench.bench_streams as bench

    if not desk.exists():
        bench.build(desk)
    for work in ("list", "list-floor", "history", "history-floor"):
        small, large = (counted(work, desk, str(n)) for n in (SMALL, LARGE))
        print(f"{work}: {(large - small) / (LARGE - SMALL):,.0f} instructions per record", flush=True)


def history_desk(path: Path, rows: int) -> None:
    import bench.bench_bulk_change as change
    import bench.bench_history_export as export
    from tktctl.api import Desk

    change.N, export.ROWS = export.TICKETS // 2, rows  # every row's ticket exists, as in the export bench
    Desk(f"sqlite:///{path}").init()
    export.populate(f"sqlite:///{path}")
    export.fill(str(path))


def main() -> None:
    import bench.bench_import as importing
    from bench._common import write_section

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        per_item: dict[str, float] = {}
        inputs = {}
        for n in (SMALL, LARGE):
            importing.N = n
            inputs[n] = work / f"tickets-{n}.jsonl"
            importing.write_input(inputs[n])
            history_desk(work / f"history-{n}.db", n)
        cases = {
            "import": lambda n: ("import", work / f"import-{n}.db", str(inputs[n])),
            "import-floor": lambda n: ("import-floor", work / f"floor-{n}.db", str(n)),
            "export": lambda n: ("export", work / f"history-{n}.db", ""),
            "export-floor": lambda n: ("export-floor", work / f"history-{n}.db", ""),
        }
        for name, case in cases.items():
            small, large = (counted(*case(n)) for n in (SMALL, LARGE))
            per_item[name] = (large - small) / (LARGE - SMALL)
    rows = [
        "| work | tktctl instructions | floor instructions | ratio (floor / tktctl) |",
        "|---|---|---|---|",
        f"| import, per ticket (1 article, 2 history rows) | {per_item['import']:,.0f} |"
        f" {per_item['import-floor']:,.0f} | {per_item['import-floor'] / per_item['import']:.2f} |",
        f"| history export to jsonl, per row | {per_item['export']:,.0f} |"
        f" {per_item['export-floor']:,.0f} | {per_item['export-floor'] / per_item['export']:.2f} |",
    ]
    body = (
        "## Instructions per item (callgrind), independent of the machine's load\n\n"
        f"Runs over {LARGE:,} items minus runs over {SMALL:,}, SQLite; the floors are those of the"
        " import and history-export sections (the import floor's count includes building its rows).\n\n"
        + "\n".join(rows)
    )
    write_section("instructions", body)


if __name__ == "__main__":
    if len(sys.argv) == 4:
        child(*sys.argv[1:])
    elif sys.argv[1:] == ["creates"]:
        creates()
    elif sys.argv[1:] == ["counts"]:
        counts()
    elif sys.argv[1:2] == ["streams"]:
        streams(Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/bench-stream/streams.db"))
    else:
        main()

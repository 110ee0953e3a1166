"""`ticket create` lines through one `tktctl batch`, against the Python API and separate processes.

The batch (default 5,000 lines, SQLite) is timed as a whole process, and its CPU time too (wall time on
a shared machine moves with the load). The floor is the ``Desk`` API creating the same tickets in one
process (start-up included, as the batch's is). Separate processes are timed for a sample (default 20)
and scaled. Usage: ``python -m bench.bench_batch [LINES] [PROCESS_SAMPLE]``.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._common import argument, fresh_desk, timed, write_section

LINES = 5_000
SAMPLE = 20
EXE = str(Path(sys.executable).with_name("tktctl"))
API = (
    "import sys\nfrom tktctl.api import Desk\nd = Desk(sys.argv[1])\n"
    "for i in range(int(sys.argv[2])):\n    d.tickets.create(title=f'ticket {i}', body=f'text {i}')\n"
)


def cpu_of(work: object) -> tuple[float, float]:
    """Wall seconds and the children's CPU seconds (user + system) of ``work``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = timed(work)  # type: ignore[arg-type]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    script = "".join(f'ticket create --title "ticket {i}" --body "text {i}"\n' for i in range(LINES))
    with tempfile.TemporaryDirectory() as tmp:
        with fresh_desk("sqlite", Path(tmp)) as url:
            env = {**os.environ, "TKTCTL_DB": url}
            batch_s, batch_cpu = cpu_of(
                lambda: subprocess.run(
                    [EXE, "batch"], input=script, text=True, env=env, check=True, capture_output=True
                )
            )
        with fresh_desk("sqlite", Path(tmp)) as url:
            api_s, api_cpu = cpu_of(lambda: subprocess.run([sys.executable, "-c", API, url, str(LINES)], check=True))
        with fresh_desk("sqlite", Path(tmp)) as url:
            env = {**os.environ, "TKTCTL_DB": url}

            def separate() -> None:
                for i in range(SAMPLE):
                    argv = [EXE, "ticket", "create", "--title", f"ticket {i}", "--body", f"text {i}", "-q"]
                    subprocess.run(argv, env=env, check=True, capture_output=True)

            sample_s, _ = cpu_of(separate)
    scaled = sample_s * LINES / SAMPLE
    body = (
        f"## {LINES:,} `ticket create` lines: one `tktctl batch`, the `Desk` API, separate processes (SQLite)\n\n"
        "Whole processes, start-up included. CPU is user + system time of the process; on a shared machine\n"
        "wall time includes waiting for a CPU, so creates per CPU second is the figure that repeats.\n\n"
        "| | wall s | creates/s (wall) | CPU s | creates per CPU s | ratio to the API (CPU) |\n"
        "|---|---|---|---|---|---|\n"
        f"| `tktctl batch` | {batch_s:.2f} | {LINES / batch_s:,.0f} | {batch_cpu:.2f} | {LINES / batch_cpu:,.0f} |"
        f" {batch_cpu / api_cpu:.2f}x |\n"
        f"| `Desk.tickets.create` in one process (floor) | {api_s:.2f} | {LINES / api_s:,.0f} | {api_cpu:.2f} |"
        f" {LINES / api_cpu:,.0f} | 1.00x |\n"
        f"| separate `tktctl ticket create` processes (scaled from {SAMPLE}) | {scaled:.1f} |"
        f" {LINES / scaled:,.1f} | | | |"
    )
    write_section("batch", body)


if __name__ == "__main__":  # arguments read here, so that importing the module reads none
    LINES, SAMPLE = argument(1, LINES), argument(2, SAMPLE)
    main()

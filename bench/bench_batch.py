"""1,000 `ticket create` lines through one `tktctl batch` against separate `tktctl` processes.

Separate processes are timed for a sample (default 100) and scaled to 1,000, since each
one costs an interpreter start-up; the table says so. Usage:
``python bench/bench_batch.py [LINES] [PROCESS_SAMPLE]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._common import argument, fresh_desk, timed, write_section

LINES = 1_000
SAMPLE = 100
EXE = str(Path(sys.executable).with_name("tktctl"))


def main() -> None:
    script = "".join(f'ticket create --title "ticket {i}" --body "text {i}"\n' for i in range(LINES))
    with tempfile.TemporaryDirectory() as tmp:
        with fresh_desk("sqlite", Path(tmp)) as url:
            env = {**os.environ, "TKTCTL_DB": url}
            batch_s = timed(
                lambda: subprocess.run(
                    [EXE, "batch"], input=script, text=True, env=env, check=True, capture_output=True
                )
            )
        with fresh_desk("sqlite", Path(tmp)) as url:
            env = {**os.environ, "TKTCTL_DB": url}

            def separate() -> None:
                for i in range(SAMPLE):
                    argv = [EXE, "ticket", "create", "--title", f"ticket {i}", "--body", f"text {i}", "-q"]
                    subprocess.run(argv, env=env, check=True, capture_output=True)

            sample_s = timed(separate)
    scaled = sample_s * LINES / SAMPLE
    body = (
        f"## {LINES:,} `ticket create` lines: one `tktctl batch` against separate processes (SQLite)\n\n"
        "| batch s | per line ms | separate processes s (scaled from a sample) | per process ms | speed-up |\n"
        "|---|---|---|---|---|\n"
        f"| {batch_s:.2f} | {batch_s / LINES * 1000:.1f} | {scaled:.1f} ({SAMPLE} measured: {sample_s:.1f} s) |"
        f" {sample_s / SAMPLE * 1000:.0f} | {scaled / batch_s:.0f}x |"
    )
    write_section("batch", body)


if __name__ == "__main__":  # arguments read here, so that importing the module reads none
    LINES, SAMPLE = argument(1, LINES), argument(2, SAMPLE)
    main()

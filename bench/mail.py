"""Mail ingest throughput: one `tktctl mail ingest` process per message vs one `--batch` process.

Messages are the real-world corpus (../shared/corpus/mail), repeated with an `X-Bench-Seq`
header so that each is unique (a repeated message would be recognised as a redelivery).
Floors measured in the same run: for the per-process mode, `tktctl --version` (the cost
of starting the program); for the batch mode, parsing the same messages without a
database. Writes its section of docs/benchmarks.md.

    python bench/mail.py [--messages 10000] [--per-process 300]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "mail"
EXE = str(Path(sys.executable).with_name("tktctl"))
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench/mail.py -->", "<!-- /bench/mail.py -->"


def messages(count: int) -> list[bytes]:
    corpus = sorted(CORPUS.rglob("*.eml"))
    if not corpus:
        sys.exit(f"no corpus at {CORPUS}")
    seeds = [p.read_bytes() for p in corpus]
    return [b"X-Bench-Seq: %d\r\n" % n + seeds[n % len(seeds)] for n in range(count)]


def init(url: str) -> None:
    subprocess.run([EXE, "--db", url, "init"], check=True, capture_output=True)


def per_process(url: str, items: list[bytes]) -> float:
    started = time.perf_counter()
    for raw in items:
        done = subprocess.run([EXE, "--db", url, "mail", "ingest", "-"], input=raw, capture_output=True)
        if done.returncode != 0:
            sys.exit(f"ingest failed with {done.returncode}: {done.stderr.decode()}")
    return time.perf_counter() - started


def start_floor(count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        subprocess.run([EXE, "--version"], check=True, capture_output=True)
    return time.perf_counter() - started


def batch(url: str, folder: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [EXE, "--db", url, "mail", "ingest", "--batch", str(folder), "-o", "jsonl"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def parse_floor(items: list[bytes]) -> float:
    from tktctl.mail.parse import Limits, Rejected, parse

    started = time.perf_counter()
    for raw in items:
        with contextlib.suppress(Rejected):
            parse(raw, Limits())
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000, help="messages for the --batch run")
    parser.add_argument(
        "--per-process", type=int, default=300, help="messages for the one-process-each run (scaled down: slow)"
    )
    args = parser.parse_args()
    items = messages(args.messages)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for n, raw in enumerate(items):
            (folder / f"{n:06d}.eml").write_bytes(raw)
        batch_url = f"sqlite:///{tmp}/batch.db"
        init(batch_url)
        batch_s = batch(batch_url, folder)
        parse_s = parse_floor(items)
        single_url = f"sqlite:///{tmp}/single.db"
        init(single_url)
        single = items[: args.per_process]
        single_s = per_process(single_url, single)
        floor_s = start_floor(min(len(single), 100)) * len(single) / min(len(single), 100)
    rows = [
        ("`mail ingest --batch DIR` (one process)", len(items), batch_s, parse_s, "parsing alone, no database"),
        ("`mail ingest -` (one process each)", len(single), single_s, floor_s, "`tktctl --version` per message"),
    ]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN,
        "## Mail ingest (bench/mail.py)",
        "",
        f"{stamp}; {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}, SQLite; messages are the {len(list(CORPUS.rglob('*.eml')))} corpus "
        "messages repeated (each made unique by a header). Other work may have shared the machine.",
        "",
        "| mode | messages | seconds | messages/s | floor | floor messages/s | ratio to floor |",
        "|---|---:|---:|---:|---|---:|---:|",
    ]
    for (
        name,
        count,
        seconds,
        floor,
        floor_name,
    ) in rows:
        lines.append(
            f"| {name} | {count} | {seconds:.1f} | {count / seconds:.1f} | {floor_name} | "
            f"{count / floor:.1f} | {seconds / floor:.2f}x |"
        )
    lines += [
        "",
        f"The one-process-each run was scaled down to {len(single)} messages (at this speed 10,000 would take "
        f"about {10_000 * single_s / len(single) / 60:.0f} minutes); its rate does not depend on the count.",
        f"Batch is {(len(items) / batch_s) / (len(single) / single_s):.0f}x the rate of one process per message.",
        END,
    ]
    section = "\n".join(lines) + "\n"
    text = (
        DOC.read_text(encoding="utf-8")
        if DOC.exists()
        else "# Benchmarks\n\nScripts in bench/ write their sections.\n\n"
    )
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END) + "\n?", lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text, encoding="utf-8")
    print(section)


if __name__ == "__main__":
    main()

"""Mail ingest throughput: one `tktctl mail ingest` process per message vs one `--batch` process.

Messages are the real-world corpus (../shared/corpus/mail), repeated with an `X-Bench-Seq`
header so that each is unique (a repeated message would be recognised as a redelivery).
Floors measured in the same run: for the per-process mode, `tktctl --version` (the cost
of starting the program); for the batch mode, two, each reading the same files in a process
of its own: tktctl's parser alone (no database), and the standard library alone
(``BytesParser(policy=default)``, every header and every leaf part decoded once). The batch
runs in ``--rounds`` slices, each slice's batch process interleaved with its floors, so the
machine's load falls on all three alike; wall and CPU time (user+sys of the child) are summed,
and the slices' rates show whether throughput stays level as the desk grows. ``--backends``
adds PostgreSQL and MariaDB batch lines (servers from TKTCTL_TEST_*_URL). Each backend's note counts
the SQL statements per message (on the servers, each is a round trip), ingesting the first messages
again in this process, on a desk of their own. Writes its section of docs/benchmarks.md.

A second section: one message with a 10 MB attachment, ingested on each backend in a process of
its own (after a small warm-up message), for its time and its peak memory (the growth of the
process's maximum resident set); the floor is Python's email parser reading the same message and
decoding the attachment, in the same run. Medians of ``--repeat`` runs.

    python bench/mail.py [--messages 10000] [--rounds 5] [--per-process 300] [--large-only] [--repeat 3]
                         [--batch-only] [--backends sqlite,postgresql,mysql]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "mail"
EXE = str(Path(sys.executable).with_name("tktctl"))
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench/mail.py -->", "<!-- /bench/mail.py -->"
LARGE_BEGIN, LARGE_END = "<!-- bench/mail.py large -->", "<!-- /bench/mail.py large -->"
# Messages whose statements are counted, per backend (in the bench's own process, a desk of their own).
STATEMENT_SAMPLE = 200
SERVERS = {"postgresql": "TKTCTL_TEST_POSTGRES_URL", "mysql": "TKTCTL_TEST_MYSQL_URL"}
# One measurement in a fresh process: time and peak-memory growth of ingesting (or, as the floor,
# of parsing with the email package) the message at argv[2], after a small warm-up message.
CHILD = """
import json, resource, sys, time
url, path, mode, seq = sys.argv[1:5]
raw = b"X-Bench-Seq: %s\\r\\n" % seq.encode() + open(path, "rb").read()
warm = b"From: a@example.com\\r\\nSubject: warm %s\\r\\n\\r\\nhi\\r\\n" % seq.encode()
if mode == "ingest":
    from tktctl.api import Desk
    desk = Desk(url)
    def work(data):
        result = desk.mail.ingest(data)
        assert result["action"] == "new_ticket", result
else:
    from email import policy
    from email.parser import BytesParser
    def work(data):
        return [p.get_content() for p in BytesParser(policy=policy.default).parsebytes(data).iter_attachments()]
work(warm)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
work(raw)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "peak": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024}))
"""

# A batch floor over the files of a folder, in a process of its own (as the batch is).
FLOOR = """
import contextlib, sys
from pathlib import Path
files = sorted(Path(sys.argv[2]).iterdir())
if sys.argv[1] == "tktctl":
    from tktctl.mail.parse import Limits, Rejected, parse
    for path in files:
        with contextlib.suppress(Rejected):
            parse(path.read_bytes(), Limits())
else:
    from email import policy
    from email.parser import BytesParser
    def read(raw, chosen):
        for part in BytesParser(policy=chosen).parsebytes(raw).walk():
            [str(value) for value in part.values()]
            if not part.is_multipart():
                with contextlib.suppress(Exception):
                    part.get_content() if chosen is policy.default else part.get_payload(decode=True)
    for path in files:
        raw = path.read_bytes()
        try:
            read(raw, policy.default)
        except Exception:  # as a desk must: malformed headers read again with compat32
            read(raw, policy.compat32)
"""


def messages(count: int) -> list[bytes]:
    corpus = sorted(CORPUS.rglob("*.eml"))
    if not corpus:
        sys.exit(f"no corpus at {CORPUS}")
    seeds = [p.read_bytes() for p in corpus]
    return [b"X-Bench-Seq: %d\r\n" % n + seeds[n % len(seeds)] for n in range(count)]


def init(url: str) -> None:
    subprocess.run([EXE, "--db", url, "init"], check=True, capture_output=True)


def per_process_run(url: str, items: list[bytes]) -> float:
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


def timed(command: list[str], stdout: int | None = None) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user+sys) and peak resident bytes of one child process."""
    started = time.perf_counter()
    with subprocess.Popen(command, stdout=stdout) as child:
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        sys.exit(f"{command[:4]} failed with {child.returncode}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def batch_rounds(url: str, folders: list[Path]) -> dict[str, list[tuple[float, float, int]]]:
    """Each slice: the batch, then both floors, over the same files; (wall, cpu, peak) per slice and mode."""
    runs: dict[str, list[tuple[float, float, int]]] = {"batch": [], "tktctl": [], "stdlib": []}
    for folder in folders:
        command = [EXE, "--db", url, "mail", "ingest", "--batch", str(folder), "-o", "jsonl"]
        runs["batch"].append(timed(command, stdout=subprocess.DEVNULL))
        for floor in ("tktctl", "stdlib"):
            runs[floor].append(timed([sys.executable, "-c", FLOOR, floor, str(folder)]))
    return runs


def large_message(path: Path, megabytes: int) -> int:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Alice <alice@example.com>", "support@example.com", "scan"
    message.set_content("The scan is attached.")
    content = os.urandom(megabytes * 1024 * 1024)
    message.add_attachment(content, maintype="application", subtype="octet-stream", filename="scan.bin")
    path.write_bytes(message.as_bytes())
    return path.stat().st_size


@contextlib.contextmanager
def database(backend: str, tmp: str) -> Iterator[str]:
    """A fresh initialised desk on ``backend`` (a server database is dropped afterwards)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp}/large.db"
        init(url)
        yield url
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(os.environ[SERVERS[backend]])
    name = f"tktctl_bench_mail_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        init(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name}"))
        admin.dispose()


def statements(url: str, items: list[bytes]) -> str:
    """Statements per message (commits counted) when ``items`` are ingested in this process, by outcome."""
    from sqlalchemy import event

    from tktctl.api import Desk

    desk = Desk(url)
    count = [0]

    def seen(*_: object) -> None:
        count[0] += 1

    event.listen(desk.engine, "before_cursor_execute", seen)
    event.listen(desk.engine, "commit", seen)
    by_action: dict[str, list[int]] = {}
    for raw in items:
        before = count[0]
        action = desk.mail.ingest_one(raw)["action"]
        by_action.setdefault(action, []).append(count[0] - before)
    desk.close()
    return ", ".join(f"{a} {statistics.mean(c):.1f} ({len(c)})" for a, c in sorted(by_action.items()))


def measure(url: str, path: Path, mode: str, repeat: int) -> tuple[float, float, str]:
    """Median seconds and peak bytes of ``repeat`` fresh processes, or the error that stopped them."""
    runs = []
    for seq in range(repeat):
        done = subprocess.run(
            [sys.executable, "-c", CHILD, url, str(path), mode, str(seq)], capture_output=True, text=True
        )
        if done.returncode != 0:
            return 0.0, 0.0, done.stderr.strip().splitlines()[-1][:200]
        runs.append(json.loads(done.stdout))
    return statistics.median(r["seconds"] for r in runs), statistics.median(r["peak"] for r in runs), ""


def large(repeat: int, megabytes: int = 10) -> None:
    """The 10 MB attachment section of docs/benchmarks.md."""
    backends = ["sqlite", *(b for b, env in SERVERS.items() if os.environ.get(env))]
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.eml"
        size = large_message(path, megabytes)
        floor_s, floor_peak, _ = measure("", path, "parse", repeat)
        rows = []
        for backend in backends:
            with database(backend, tmp) as url:
                rows.append((backend, *measure(url, path, "ingest", repeat)))
    mb = 1024 * 1024
    lines = [
        LARGE_BEGIN,
        "### One message with a 10 MB attachment",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; the message is {size / mb:.1f} MiB "
        f"({megabytes} MiB of random bytes, base64). Medians of {repeat} fresh processes. Floor: Python's "
        f"email parser reading the same message and decoding the attachment: {floor_s:.2f} s, "
        f"peak +{floor_peak / mb:.0f} MiB.",
        "",
        "| backend | ingest seconds | ratio to floor | peak memory | peak / message size | ratio to floor |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for backend, seconds, peak, error in rows:
        if error:
            lines.append(f"| {backend} | failed: {error} | | | | |")
            continue
        lines.append(
            f"| {backend} | {seconds:.2f} | {seconds / floor_s:.2f}x | +{peak / mb:.0f} MiB | "
            f"{peak / size:.1f}x | {peak / floor_peak:.2f}x |"
        )
    lines += [
        "",
        "Where the memory goes (tracemalloc, SQLite): the peak is inside the email parser itself, which holds "
        "the message as text lines (about 7x the message at its peak, the same with or without tktctl); "
        "after it, tktctl keeps the raw message and the decoded file once each, and the database "
        "driver copies each while binding it. On MySQL/MariaDB a value larger than one statement "
        "takes is written in pieces (INSERT, then UPDATE … CONCAT), up to `max_allowed_packet`.",
        LARGE_END,
    ]
    replace_section(LARGE_BEGIN, LARGE_END, "\n".join(lines) + "\n")


def replace_section(begin: str, end: str, section: str) -> None:
    text = (
        DOC.read_text(encoding="utf-8")
        if DOC.exists()
        else "# Benchmarks\n\nScripts in bench/ write their sections.\n\n"
    )
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end) + "\n?", lambda _: section, text, flags=re.S)
    elif begin != BEGIN and END in text:  # the 10 MB section goes right after the throughput one
        text = text.replace(END + "\n", END + "\n\n" + section + "\n", 1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text, encoding="utf-8")
    print(section)


def throughput(items: list[bytes], backends: list[str], rounds: int, per_process: int) -> None:
    """The throughput section of docs/benchmarks.md: batch per backend, one process per message on SQLite."""
    load = os.getloadavg()
    size = -(-len(items) // rounds)
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for start in range(0, len(items), size):
            folder = Path(tmp) / f"in{start:06d}"
            folder.mkdir()
            for n, raw in enumerate(items[start : start + size], start):
                (folder / f"{n:06d}.eml").write_bytes(raw)
            folders.append(folder)
        for backend in backends:
            with database(backend, tmp) as url:
                runs = batch_rounds(url, folders)
            wall, cpu = ({m: sum(r[i] for r in rs) for m, rs in runs.items()} for i in (0, 1))
            rates = [len(list(f.iterdir())) / r[0] for f, r in zip(folders, runs["batch"], strict=True)]
            peak = max(r[2] for r in runs["batch"]) / 1024 / 1024
            with database(backend, tmp) as url:
                counted = statements(url, [b"X-Bench-Count: 1\r\n" + raw for raw in items[:STATEMENT_SAMPLE]])
            rows.append(
                f"| `mail ingest --batch DIR` ({backend}) | {len(items)} | {wall['batch']:.1f} | "
                f"{len(items) / wall['batch']:.1f} | {wall['batch'] / wall['tktctl']:.2f}x | "
                f"{cpu['batch'] / cpu['tktctl']:.2f}x | {wall['batch'] / wall['stdlib']:.2f}x | "
                f"{cpu['batch'] / cpu['stdlib']:.2f}x |"
            )
            notes.append(
                f"{backend}: slices of {size} ran at {', '.join(f'{r:.0f}' for r in rates)} messages/s "
                f"(first to last); the batch process peaked at {peak:.0f} MiB resident; SQL statements per "
                f"message (commit included; by outcome, messages in brackets; the first {STATEMENT_SAMPLE}): {counted}."
            )
        floors = {m: (sum(r[0] for r in rs), sum(r[1] for r in rs)) for m, rs in runs.items() if m != "batch"}
        single_url = f"sqlite:///{tmp}/single.db"
        init(single_url)
        single = items[:per_process]
        single_s = per_process_run(single_url, single)
        floor_s = start_floor(min(len(single), 100)) * len(single) / min(len(single), 100)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN,
        "## Mail ingest (bench/mail.py)",
        "",
        f"{stamp}; {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start; "
        f"messages are the {len(list(CORPUS.rglob('*.eml')))} corpus messages repeated (each made unique by a "
        f"header), in {len(folders)} slices: each slice's batch process ran between its two floors' processes, "
        "each reading the same files. Floors: **tktctl parse**, tktctl's parser alone, no database "
        f"({len(items) / floors['tktctl'][0]:.1f} messages/s, {floors['tktctl'][1]:.1f} s CPU); **stdlib**, "
        "`BytesParser(policy=default)` with every header and every leaf part decoded once "
        f"({len(items) / floors['stdlib'][0]:.1f} messages/s, {floors['stdlib'][1]:.1f} s CPU). CPU is user+sys "
        "of the process.",
        "",
        "| mode | messages | seconds | messages/s | wall / tktctl parse | CPU / tktctl parse "
        "| wall / stdlib | CPU / stdlib |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        *notes,
        "",
        "| mode | messages | seconds | messages/s | floor | floor messages/s | ratio to floor |",
        "|---|---:|---:|---:|---|---:|---:|",
        f"| `mail ingest -` (one process each, sqlite) | {len(single)} | {single_s:.1f} | "
        f"{len(single) / single_s:.1f} | `tktctl --version` per message | {len(single) / floor_s:.1f} | "
        f"{single_s / floor_s:.2f}x |",
        "",
        f"The one-process-each run was scaled down to {len(single)} messages (at this speed 10,000 would take "
        f"about {10_000 * single_s / len(single) / 60:.0f} minutes); its rate does not depend on the count.",
        END,
    ]
    replace_section(BEGIN, END, "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000, help="messages for the --batch run")
    parser.add_argument("--rounds", type=int, default=5, help="slices of the batch, each interleaved with its floors")
    parser.add_argument(
        "--per-process", type=int, default=300, help="messages for the one-process-each run (scaled down: slow)"
    )
    parser.add_argument("--backends", default="sqlite", help="comma-separated: sqlite,postgresql,mysql")
    parser.add_argument("--large-only", action="store_true", help="only the 10 MB attachment section")
    parser.add_argument("--batch-only", action="store_true", help="only the throughput section")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each 10 MB measurement (the median counts)")
    args = parser.parse_args()
    if not args.batch_only:
        large(args.repeat)
    if args.large_only:
        return
    throughput(messages(args.messages), args.backends.split(","), args.rounds, args.per_process)


if __name__ == "__main__":
    main()

"""Start-up benchmark: wall time of whole ``tktctl`` processes against the import floor of their stack.

Other programs call ``tktctl ticket create`` once per event, so what counts is the time from
exec to exit. This script (a benchmark, not a timed test) measures, on one machine in one run:

* ``tktctl --help`` against ``python -c "import typer"`` (target: at most 1.5x),
* ``tktctl ticket create`` against ``python -c "import typer, sqlalchemy, sqlite3"`` (1.5x),
* ``tktctl ticket list --limit 50 -o json`` on 100,000 tickets against ``ticket create`` (2x),

and writes the table to ``docs/benchmarks.md``, replacing only its own section::

    python bench/startup.py [--tickets 100000] [--runs 15] [--doc docs/benchmarks.md]

Runs are interleaved (one of each command per round, after a warm-up round) so that load from
other processes spreads over all commands alike; the median decides, the minimum is shown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "## Start-up and single-ticket commands (bench/startup.py)"
PYTHON = Path(sys.executable)
TKTCTL = PYTHON.parent / "tktctl"  # the console script of this environment, as other programs run it
BATCH = 10_000


@dataclass
class Probe:
    """One command to time; ``check`` validates its output once, so a failing command is never timed."""

    label: str
    argv: list[str]
    check: str = "rc"  # "rc", "tn" (prints one ticket number) or "json50" (a JSON list of 50)
    env: dict[str, str] = field(default_factory=dict)  # added to the run's environment (the warm server's)
    stdin: bytes | None = None
    times: list[float] = field(default_factory=list)  # wall seconds
    cpu: list[float] = field(default_factory=list)  # user + system seconds of the process

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


@dataclass(frozen=True)
class Target:
    """``probe`` must take at most ``limit`` times as long as ``floor`` (medians)."""

    probe: str
    floor: str
    limit: float


def child_env(db_url: str, home: Path) -> dict[str, str]:
    """This environment, minus anything that would make runs differ from an installed tktctl.

    No TKTCTL_* settings and an empty config dir (a user's YAML config would add PyYAML to every
    start); bytecode caching on, as after ``pip install``, even if PYTHONDONTWRITEBYTECODE is set.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TKTCTL_", "PYTHONPROFILEIMPORTTIME"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(TKTCTL_DB=db_url, XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
    return env


def tktctl(*args: str, check: str = "rc", served: bool = False, stdin: bytes | None = None) -> Probe:
    """A tktctl command; ``served`` runs it through the warm server (started before the rounds)."""
    label = shlex.join(["tktctl", *args]) + (" (warm server)" if served else "")
    return Probe(label, [str(TKTCTL), *args], check, {"TKTCTL_SERVER": "auto" if served else "off"}, stdin)


def corpus_message() -> bytes:
    """A message of the mail corpus (bench/mail.py's), without its Message-ID: each run stores a new ticket."""
    corpus = sorted((ROOT.parent / "shared" / "corpus" / "mail").rglob("*.eml"))
    if not corpus:
        raise SystemExit("no mail corpus at ../shared/corpus/mail")
    raw = corpus[0].read_bytes()
    return re.sub(rb"(?im)^message-id:.*\r?\n", b"", raw)


def shell_loop(count: int, env: dict[str, str]) -> float:
    """Seconds for a shell loop of ``count`` `ticket create` processes."""
    script = f'for i in $(seq {count}); do "{TKTCTL}" ticket create --title "loop $i" -q >/dev/null || exit 1; done'
    start = time.perf_counter()
    subprocess.run(["sh", "-c", script], env=env, check=True)
    return time.perf_counter() - start


def run(argv: Sequence[str], env: dict[str, str], stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(argv), env=env, input=stdin, capture_output=True, check=False)
    result.stdout, result.stderr = result.stdout.decode(), result.stderr.decode()
    if result.returncode != 0:
        raise SystemExit(f"`{shlex.join(argv)}` exited {result.returncode}:\n{result.stderr}")
    return result


def fill(db_url: str, count: int) -> None:
    """Add ``count`` tickets with their NewTicket history rows, in bulk: setup, not measurement.

    Numbers are what ``ticket create`` would have made (DateChecksum, system id 10, one counter per
    day), one ticket a minute up to now; the counter row is left at today's last number so that the
    creates timed afterwards continue the sequence instead of colliding with it.
    """
    from sqlalchemy import func, insert, select, update

    from tktctl.config import ADMIN_LOGIN
    from tktctl.core.vocabulary import PRIORITY_WORDS
    from tktctl.db.engine import make_engine
    from tktctl.db.models import Agent, Counter, History, Queue, State, Ticket
    from tktctl.tickets.numbering import format_number

    engine = make_engine(db_url)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with engine.begin() as conn:
        queue_id = conn.scalar(select(Queue.id).where(Queue.name == "Raw"))
        state_id = conn.scalar(select(State.id).where(State.name == "new"))
        agent_id = conn.scalar(select(Agent.id).where(Agent.login == ADMIN_LOGIN))
        first_id = (conn.scalar(select(func.max(Ticket.id))) or 0) + 1
        if not (queue_id and state_id and agent_id):
            raise SystemExit("tktctl init did not create the default queue, state and agent")
        data = {"queue": "Raw", "state": "new", "priority": f"3 {PRIORITY_WORDS[3]}"}
        counters: dict[str, int] = {}
        for start in range(0, count, BATCH):
            tickets, history = [], []
            for i in range(start, min(start + BATCH, count)):
                created = now - timedelta(minutes=count - i)
                day = created.strftime("%Y%m%d")
                counters[day] = counters.get(day, 0) + 1
                tn = format_number("DateChecksum", "10", day, counters[day])
                ticket_id = first_id + i
                tickets.append(
                    {
                        "id": ticket_id,
                        "tn": tn,
                        "title": f"Benchmark ticket {i + 1}",
                        "queue_id": queue_id,
                        "state_id": state_id,
                        "priority_id": 3,
                        "locked": False,
                        "owner_id": agent_id,
                        "customer": f"customer{i % 1000}@example.com",
                        "created": created,
                        "changed": created,
                        "created_by": agent_id,
                        "changed_by": agent_id,
                    }
                )
                history.append(
                    {
                        "ticket_id": ticket_id,
                        "type": "NewTicket",
                        "actor_id": agent_id,
                        "queue_id": queue_id,
                        "at": created,
                        "data": {"tn": tn, **data},
                    }
                )
            conn.execute(insert(Ticket), tickets)
            conn.execute(insert(History), history)
        today = now.strftime("%Y%m%d")
        conn.execute(update(Counter).where(Counter.name == "ticket").values(day=today, value=counters.get(today, 0)))
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # no WAL left for the first timed command
    engine.dispose()


def validate(probe: Probe, result: subprocess.CompletedProcess[str]) -> None:
    if probe.check == "tn" and not re.fullmatch(r"\d+\n", result.stdout):
        raise SystemExit(f"{probe.label}: expected one ticket number, got {result.stdout[:200]!r}")
    if probe.check == "json50" and len(json.loads(result.stdout)) != 50:
        raise SystemExit(f"{probe.label}: expected 50 tickets")


def measure(probes: Sequence[Probe], env: dict[str, str], runs: int) -> None:
    """One warm-up round (writes bytecode, fills the page cache), then ``runs`` interleaved rounds."""
    for probe in probes:
        validate(probe, run(probe.argv, {**env, **probe.env}, probe.stdin))
    for _ in range(runs):
        for probe in probes:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            result = subprocess.run(
                probe.argv, env={**env, **probe.env}, input=probe.stdin, capture_output=True, check=False
            )
            probe.times.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            probe.cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if result.returncode != 0:
                raise SystemExit(f"{probe.label} exited {result.returncode}:\n{result.stderr}")


def import_report(argv: Sequence[str], env: dict[str, str]) -> tuple[float, set[str]]:
    """Total import time (ms, as -X importtime counts it) and the modules imported by ``argv``."""
    result = run(argv, {**env, "PYTHONPROFILEIMPORTTIME": "1"})
    total, names = 0, set()
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \| ( *)(\S+)$", line)
        if match:
            total += int(match.group(1))
            names.add(match.group(3))
    return total / 1000, names


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def render(
    probes: dict[str, Probe],
    targets: Sequence[Target],
    imports: list[str],
    context: dict[str, str],
) -> str:
    """The markdown section: context, the table, the import-time findings."""
    lines = [HEADING, "", *(f"- {key}: {value}" for key, value in context.items()), ""]
    lines += [
        "Wall time of whole processes, exec to exit, output read through a pipe, over the interleaved rounds. "
        "A target compares wall-time medians. Beside it: the ratio of wall-time minima (the runs least "
        "disturbed by other processes) and of CPU-time medians (user + system, which other load barely "
        "changes); on a busy machine these two are the steadier figures.",
        "",
        "| Command | Wall median ms | Wall min ms | CPU median ms | Compared with | Ratio | Ratio of minima "
        "| Ratio of CPU | Target | Result |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for probe in probes.values():
        cells = f"| `{probe.label}` | {ms(probe.median)} | {ms(probe.best)} | {ms(probe.cpu_median)} "
        mine = [t for t in targets if t.probe.strip() == probe.label]
        if not mine:
            lines.append(cells + "| (floor) | | | | | |")
        for target in mine:
            floor = probes[target.floor]
            ratio = probe.median / floor.median
            verdict = "pass" if ratio <= target.limit else "**FAIL**"
            lines.append(
                cells + f"| `{floor.label}` | {ratio:.2f}x | {probe.best / floor.best:.2f}x "
                f"| {probe.cpu_median / floor.cpu_median:.2f}x | ≤ {target.limit:g}x | {verdict} |"
            )
    lines += [
        "",
        "A `(warm server)` row's CPU time is the client's alone: the child that runs the command is the "
        "server's, not the caller's, and is not counted; compare its wall times.",
        "",
        "Import time (`python -X importtime`; its own overhead inflates the figures):",
        "",
        *imports,
        "",
    ]
    return "\n".join(lines)


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def write_doc(path: Path, section: str) -> None:
    """Replace this script's section of the file (up to the next ``## `` heading), keep the rest."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\nWritten by the scripts in bench/.\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", flags=re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets in the database (default 100000)")
    parser.add_argument("--runs", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--doc", type=Path, default=DOC, help="markdown file to update (default docs/benchmarks.md)")
    parser.add_argument("--loop", type=int, default=300, help="ticket creates in the shell loop (default 300)")
    options = parser.parse_args(argv)
    if not TKTCTL.exists():
        raise SystemExit(f"no tktctl script next to {PYTHON}: run `pip install -e .` in this environment")
    command = shlex.join(["python", "bench/startup.py", *(sys.argv[1:] if argv is None else argv)])

    with tempfile.TemporaryDirectory(prefix="tktctl-bench-") as tmp:
        home = Path(tmp)
        db_url = f"sqlite:///{home / 'desk.db'}"
        env = child_env(db_url, home)
        run([str(TKTCTL), "init", "-o", "json"], env)
        started = time.perf_counter()
        fill(db_url, options.tickets)
        print(f"filled {options.tickets:,} tickets in {time.perf_counter() - started:.1f} s", file=sys.stderr)

        help_floor = Probe('python -c "import typer"', [str(PYTHON), "-c", "import typer"])
        create_floor = Probe(
            'python -c "import typer, sqlalchemy, sqlite3"', [str(PYTHON), "-c", "import typer, sqlalchemy, sqlite3"]
        )
        show_help = tktctl("--help")
        create = tktctl("ticket", "create", "--queue", "Raw", "--title", "x", "-q", check="tn")
        listing = tktctl("ticket", "list", "--limit", "50", "-o", "json", check="json50")
        pass_floor = Probe('python -c "pass"', [str(PYTHON), "-c", "pass"])
        message = corpus_message()
        served_create = tktctl("ticket", "create", "--queue", "Raw", "--title", "x", "-q", check="tn", served=True)
        ingest = tktctl("mail", "ingest", "-", stdin=message)
        served_ingest = tktctl("mail", "ingest", "-", stdin=message, served=True)
        served_help = tktctl("--help", served=True)
        probes = {
            p.label: p
            for p in (
                help_floor,
                show_help,
                served_help,
                create_floor,
                create,
                listing,
                pass_floor,
                served_create,
                ingest,
                served_ingest,
            )
        }
        targets = [
            Target(show_help.label, help_floor.label, 1.5),
            Target(served_help.label, show_help.label, 1.1),
            Target(create.label, create_floor.label, 1.5),
            Target(listing.label, create.label, 2.0),
            Target(served_create.label, pass_floor.label, 3.0),
            Target(served_create.label + " ", create.label, 0.25),
            Target(served_ingest.label, pass_floor.label, 3.0),
            Target(served_ingest.label + " ", ingest.label, 0.25),
        ]
        load_before = load_average()
        served_env = {**env, "TKTCTL_SERVER": "auto"}
        run([str(TKTCTL), "server", "start", "--idle-timeout", "3600", "-q"], served_env)
        measure(list(probes.values()), env, options.runs)
        loop_served = shell_loop(options.loop, served_env)
        # Stopped before the direct loop, which may outlast the server's idle timeout on a busy machine.
        run([str(TKTCTL), "server", "stop", "-q"], served_env)
        loop_direct = shell_loop(options.loop, {**env, "TKTCTL_SERVER": "off"})

        cli_ms, _ = import_report([str(PYTHON), "-c", "import tktctl.cli"], env)
        help_ms, help_modules = import_report(show_help.argv, env)
        create_ms, create_modules = import_report(create.argv, {**env, **create.env})
        heavy = ("sqlalchemy", "alembic", "yaml", "tabulate", "dateutil")

        def yes(modules: set[str], name: str) -> str:
            return "yes" if name in modules else "no"

        def which(modules: set[str]) -> str:
            return ", ".join(name for name in heavy if name in modules) or "none"

        imports = [
            f"- Shell loop of {options.loop} `tktctl ticket create` processes: {loop_direct:.1f} s directly, "
            f"{loop_served:.1f} s through the warm server: {loop_direct / loop_served:.1f}x faster (target ≥ 5x: "
            f"{'pass' if loop_direct / loop_served >= 5 else '**FAIL**'}).",
            f"- Cold `tktctl ticket create` imports tktctl.server: {yes(create_modules, 'tktctl.server')} "
            "(the warm server's client is imported only when the server is enabled).",
            f"- `import tktctl.cli`: {cli_ms:.1f} ms in total.",
            f"- `tktctl --help`: {help_ms:.1f} ms; imports sqlalchemy: "
            f"{'yes' if 'sqlalchemy' in help_modules else 'no'} (of {', '.join(heavy)}: {which(help_modules)}).",
            f"- `tktctl ticket create`: {create_ms:.1f} ms; of {', '.join(heavy)} it imports {which(create_modules)}.",
        ]

    uname = platform.uname()
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("typer", "SQLAlchemy"))
    context = {
        "Date": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "Machine": f"`{uname.system} {uname.release} {uname.machine}`, {cpu_model()}, {os.cpu_count()} CPUs; "
        f"load average {load_before} before, {load_average()} after",
        "Software": f"Python {platform.python_version()}, {versions}, SQLite {sqlite3.sqlite_version}",
        "Command": f"`{command}`",
        "Setup": f"SQLite database with {options.tickets:,} tickets and their history rows; no config file; "
        f"bytecode cached (as after `pip install`); one warm-up round, then {options.runs} interleaved rounds",
    }
    section = render(probes, targets, imports, context)
    print(section)
    write_doc(options.doc, section)
    print(f"wrote {options.doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

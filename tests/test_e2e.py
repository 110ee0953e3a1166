"""The user stories of the foundation, run through the installed `tktctl` executable."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Launch
from tktctl.db import SCHEMA_HEAD

pytestmark = pytest.mark.e2e
EXE = str(Path(sys.executable).with_name("tktctl"))


class Run:
    def __init__(self, db_url: str, launch: Launch) -> None:
        self.env = {**os.environ, **launch.env, "TKTCTL_DB": db_url}
        self.launch = launch
        self.calls = 0

    def __call__(
        self, *args: str, input: str | None = None, expect: int = 0, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        self.calls += 1
        done = subprocess.run(
            [EXE, *args], input=input, capture_output=True, text=True, env={**self.env, **(env or {})}, timeout=60
        )
        assert done.returncode == expect, f"tktctl {' '.join(args)} -> {done.returncode}\n{done.stderr}"
        return done

    def json(self, *args: str, **kw: Any) -> Any:
        return json.loads(self(*args, "-o", "json", **kw).stdout)


@pytest.fixture
def run(empty_db_url: str, launch: Launch) -> Iterator[Run]:
    """The executable, run directly and through the warm server (conftest's ``launch``)."""
    runner = Run(empty_db_url, launch)
    yield runner
    if launch.mode == "server":
        assert launch.served() >= runner.calls, "some calls ran in-process instead of through the server"


def test_the_foundation_user_stories(run: Run, tmp_path: Path) -> None:
    assert run.json("init")["up_to_date"] is True
    assert run.json("init")["created"] == []
    assert run.json("db", "status") == {
        **run.json("db", "status"),
        "revision": SCHEMA_HEAD,
        "head": SCHEMA_HEAD,
        "up_to_date": True,
        "initialised": True,
    }

    queue = run.json(
        "queue",
        "create",
        "Tier 1",
        "--group",
        "users",
        "--unlock-timeout",
        "30",
        "--first-response-time",
        "60",
        "--solution-time",
        "480",
    )
    assert (queue["name"], queue["group"], queue["unlock_timeout"], queue["solution_time"]) == (
        "Tier 1",
        "users",
        30,
        480,
    )
    run("queue", "create", "Tier 2")
    names = [q["name"] for q in run.json("queue", "list")]
    assert {"Tier 1", "Tier 2", "Raw", "Postmaster", "Junk", "Misc"} <= set(names)
    assert run.json("queue", "update", "Tier 2", "--update-time", "90")["update_time"] == 90
    assert run.json("queue", "rename", "Tier 2", "Second Level")["name"] == "Second Level"
    run("queue", "rename", "Second Level", "Tier 2")

    bob = run.json("agent", "create", "bob", "--name", "Bob Ruiz", "--email", "bob@example.com")
    assert (bob["login"], bob["name"]) == ("bob", "Bob Ruiz")
    assert "bob" in run("agent", "list", "-q").stdout.split()
    run("acl", "grant", "ro,owner", "--group", "users", "--agent", "bob")

    message = tmp_path / "message.txt"
    message.write_text("The printer is on fire.\nPlease help.\n")
    ticket = json.loads(
        run(
            "ticket",
            "create",
            "--queue",
            "Tier 1",
            "--title",
            "Printer on fire",
            "--customer",
            "alice@example.com",
            "--priority",
            "high",
            "--channel",
            "phone",
            "--body",
            "-",
            "-o",
            "json",
            input=message.read_text(),
        ).stdout
    )
    tn = ticket["tn"]
    assert (ticket["priority"], ticket["queue"], ticket["created_now"]) == (4, "Tier 1", True)

    shown = yaml.safe_load(run("ticket", "show", tn, "-o", "yaml").stdout)
    assert shown["articles"][0]["body"] == message.read_text()
    listed = run.json(
        "ticket",
        "list",
        "--queue",
        "Tier 1",
        "--state-type",
        "new",
        "--priority",
        "4",
        "--changed-before",
        "+1d",
        "--sort",
        "-priority",
        "--limit",
        "50",
    )
    assert [t["tn"] for t in listed] == [tn]

    assert run.json("ticket", "move", tn, "--to", "Tier 2")[0]["queue"] == "Tier 2"
    assert run.json("--as", "bob", "ticket", "lock", tn)[0]["owner"] == "bob"
    run("ticket", "lock", tn, expect=5)
    assert run.json("ticket", "lock", tn, "--steal")[0]["owner"] == "root@localhost"
    assert run.json("ticket", "unlock", tn)[0]["lock"] == "unlocked"
    assert run.json("ticket", "prioritize", tn, "--to", "very high")[0]["priority"] == 5
    assert run.json("ticket", "prioritize", tn, "--raise", "1")[0]["priority"] == 5
    assert run.json("ticket", "prioritize", tn, "--lower", "1")[0]["priority"] == 4
    assert run.json("ticket", "close", tn, "--to", "closed unsuccessful", "--note", "why")[0]["state_type"] == "closed"
    assert run.json("ticket", "reopen", tn)[0]["state"] == "open"
    pending = run.json("ticket", "state", tn, "--to", "pending reminder", "--pending-until", "+2d")[0]
    assert pending["pending_until"].endswith("Z")
    assert run.json("ticket", "assign", tn, "--to", "bob")[0]["owner"] == "bob"
    assert run.json("ticket", "assign", tn, "--to", "bob", "--responsible")[0]["responsible"] == "bob"
    run("ticket", "note", tn, "--body", "checked the toner", "--internal")

    history = run.json("ticket", "history", tn)
    assert [h["type"] for h in history] == [
        "NewTicket",
        "PhoneCallCustomer",
        "Move",
        "Lock",
        "OwnerUpdate",
        "Lock",
        "OwnerUpdate",
        "Unlock",
        "PriorityUpdate",
        "PriorityUpdate",
        "AddNote",
        "StateUpdate",
        "StateUpdate",
        "StateUpdate",
        "SetPendingTime",
        "OwnerUpdate",
        "ResponsibleUpdate",
        "AddNote",
    ]
    assert history[2]["data"] == {"from": "Tier 1", "to": "Tier 2"}
    assert [h["actor"] for h in history[3:5]] == ["bob", "bob"]

    audit = run("history", "export", "--since", "1h", "--type", "Move,Lock", "-o", "jsonl").stdout
    entries = [json.loads(line) for line in audit.splitlines()]
    assert [e["type"] for e in entries] == ["Move", "Lock", "Lock"]
    assert run("history", "export", "--queue", "Tier 1", "-q").stdout.split() == [
        str(history[0]["id"]),
        str(history[1]["id"]),
    ]

    run("queue", "delete", "Tier 1", expect=5)
    assert run.json("queue", "disable", "Tier 1")["valid"] is False
    run("ticket", "create", "--queue", "Tier 1", "--title", "late", expect=5)


def test_machine_formats_parse_back_from_the_executable(run: Run) -> None:
    run("init")
    tns = [run("ticket", "create", "--title", f"t{i}", "--customer", "a@b.c", "-q").stdout.strip() for i in range(3)]
    reference = run.json("ticket", "list")
    assert [t["tn"] for t in reference] == tns
    assert [json.loads(line) for line in run("ticket", "list", "-o", "jsonl").stdout.splitlines()] == reference
    assert yaml.safe_load(run("ticket", "list", "-o", "yaml").stdout) == reference
    for fmt, delimiter in (("csv", ","), ("tsv", "\t")):
        rows = list(csv.DictReader(io.StringIO(run("ticket", "list", "-o", fmt).stdout), delimiter=delimiter))
        assert [(r["tn"], r["title"], r["priority"]) for r in rows] == [(t["tn"], t["title"], "3") for t in reference]
    assert run("ticket", "list", "-o", "ids").stdout.split() == tns
    assert run("ticket", "list", "--fields", "tn,title", "-o", "csv").stdout.splitlines()[0] == "tn,title"


def test_pipeline_list_into_close(run: Run) -> None:
    run("init")
    for i in range(3):
        run("ticket", "create", "--title", f"t{i}")
    listing = run("ticket", "list", "-o", "jsonl").stdout
    closed = json.loads(run("ticket", "close", "-", "-o", "json", input=listing).stdout)
    assert {t["state"] for t in closed} == {"closed successful"} and len(closed) == 3


def test_errors_from_the_executable(run: Run) -> None:
    failed = run("ticket", "list", expect=6)
    assert failed.stderr.startswith("tktctl: error: ") and "tktctl init" in failed.stderr
    run("init")
    structured = run("ticket", "show", "2000010110000001", "-o", "json", expect=3)
    assert json.loads(structured.stderr)["error"]["code"] == "not_found" and structured.stdout == ""
    assert run("ticket", "list", "--nope", expect=2).stderr.count("\n") == 1


def test_python_dash_m_is_the_same_program(run: Run) -> None:
    run("init")
    done = subprocess.run(
        [sys.executable, "-m", "tktctl", "queue", "list", "-q"], capture_output=True, text=True, env=run.env, check=True
    )
    assert "Raw" in done.stdout.split()


def test_sixteen_lock_processes_from_the_executable(run: Run) -> None:
    run("init")
    tn = run("ticket", "create", "--title", "contested", "-q").stdout.strip()
    run("role", "create", "lockers")
    run("acl", "grant", "ro,owner", "--group", "users", "--role", "lockers")
    for i in range(16):
        run("agent", "create", f"a{i}")
    run("role", "add-agent", "lockers", *[f"a{i}" for i in range(16)])
    processes = [
        subprocess.Popen(
            [EXE, "--as", f"a{i}", "ticket", "lock", tn], env=run.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for i in range(16)
    ]
    codes = sorted(p.wait(timeout=120) for p in processes)
    assert codes == [0] + [5] * 15
    assert [h["type"] for h in run.json("ticket", "history", tn)].count("Lock") == 1


def test_access_control_user_stories(run: Run, tmp_path: Path) -> None:
    run("init")
    run("agent", "create", "bob", "--name", "Bob Ruiz", "--password-stdin", input="hunter2 but longer\n")
    run("group", "create", "support", "--comment", "First line")
    run("queue", "create", "Support", "--group", "support")
    run("role", "create", "l1-agents")
    run("role", "add-agent", "l1-agents", "bob")
    run("acl", "grant", "ro,note", "--group", "support", "--role", "l1-agents")
    tn = run("ticket", "create", "--queue", "Support", "--title", "Printer", "-q").stdout.strip()
    hidden = run("ticket", "create", "--queue", "Raw", "--title", "Secret", "-q").stdout.strip()

    as_bob = {"TKTCTL_AGENT": "bob"}
    assert run("ticket", "list", "-q", env=as_bob).stdout.split() == [tn]
    run("ticket", "note", tn, "--body", "on it", env=as_bob)
    denied = run("ticket", "close", tn, env=as_bob, expect=4)
    assert denied.stderr == "tktctl: error: permission denied: agent 'bob' needs 'rw' on group 'support'\n"
    run("ticket", "show", hidden, env=as_bob, expect=3)
    check = run("acl", "check", "--ticket", tn, "--perm", "rw", "-o", "json", env=as_bob, expect=4)
    assert json.loads(check.stdout)["allowed"] is False

    dumped = run("acl", "dump", "-o", "yaml").stdout
    again = run("acl", "apply", "-f", "-", "--dry-run", input=dumped)
    assert (again.stdout, again.stderr) == ("", "nothing to do\n")

    run("customer", "create", "alice@example.com", "--company", "ACME", "--password-stdin", input="s3cret pass\n")
    run("customer", "auth", "alice@example.com", "--password-stdin", input="s3cret pass\n")
    wrong = run("customer", "auth", "alice@example.com", "--password-stdin", input="guess\n", expect=4)
    unknown = run("customer", "auth", "mallory@example.com", "--password-stdin", input="guess\n", expect=4)
    assert wrong.stderr == unknown.stderr == "tktctl: error: authentication failed\n"

    audit = [json.loads(line) for line in run("audit", "list", "-o", "jsonl").stdout.splitlines()]
    assert {"create", "add-agent", "grant"} <= {e["action"] for e in audit}
    assert all(e["actor"] == "root@localhost" for e in audit)
    everything = run("audit", "list", "-o", "json").stdout + run("acl", "dump", "-o", "json").stdout
    assert "hunter2" not in everything and "s3cret" not in everything


def _on_a_terminal(args: list[str], env: dict[str, str], answer: bytes) -> tuple[int, str]:
    """Run tktctl with stdin, stdout and stderr on a pseudo-terminal; answer its question."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: its streams are the terminal
        os.execve(EXE, [EXE, *args], env)
    seen = b""
    while b"?" not in seen and select.select([fd], [], [], 60)[0]:
        seen += os.read(fd, 1024)
    os.write(fd, answer)
    with contextlib.suppress(OSError):  # EIO once the child has exited
        while chunk := os.read(fd, 1024):
            seen += chunk
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), seen.decode()


@pytest.mark.backends("sqlite")
def test_declining_the_confirmation_exits_130_and_changes_nothing(run: Run) -> None:
    run("init")
    run("batch", input="ticket create --title t\n" * 21)
    tns = run("ticket", "list", "-q").stdout.split()
    code, screen = _on_a_terminal(["ticket", "close", *tns], run.env, b"n\n")
    assert code == 130 and "change 21 tickets? [y/N]" in screen, screen
    assert {t["state"] for t in run.json("ticket", "list")} == {"new"}
    code, _ = _on_a_terminal(["ticket", "close", "--all"], run.env, b"y\n")
    assert code == 0 and {t["state"] for t in run.json("ticket", "list")} == {"closed successful"}

"""The output contract at its seams: what reaches stdout and stderr, and when (issue 10, items 13-16, 20)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from tests.conftest import Cli, dump
from tests.test_docs import _load_generator
from tktctl.text import CONTROLS

EXE = str(Path(sys.executable).with_name("tktctl"))
# Clears the screen, sets the window title, rings the bell, then a lone C1 CSI and DEL.
HOSTILE = "a\x1b[2J\x1b]0;pwned\x07b\x9bc\x7fd"
RAW = {chr(code) for code in CONTROLS}
RECORD = '{"title": "x"}\n'


def create(cli: Cli, *args: str) -> str:
    return cli("ticket", "create", "--title", "t", *args, "-q").stdout.strip()


def one_line_without_controls(text: str) -> str:
    """The one line of ``text``; fails if it holds a control character other than its end."""
    assert text.endswith("\n") and text.count("\n") == 1, text
    assert not RAW & set(text[:-1]), repr(text)
    return text[:-1]


# --- 13: control characters from data --------------------------------------------------------


def test_tables_show_control_characters_escaped_machine_formats_keep_them(cli: Cli) -> None:
    tn = create(cli, "--title", HOSTILE)
    for args in (("ticket", "list"), ("ticket", "show", tn), ("ticket", "history", tn)):
        table = cli(*args).stdout
        assert not RAW & set(table.replace("\n", "")), repr(table)
    assert "a\\x1b[2J\\x1b]0;pwned\\x07b\\x9bc\\x7fd" in cli("ticket", "list").stdout
    assert cli("ticket", "show", tn, "-o", "json").json["title"] == HOSTILE
    assert cli("ticket", "list", "-o", "jsonl").jsonl[0]["title"] == HOSTILE
    assert yaml.safe_load(cli("ticket", "list", "-o", "yaml").stdout)[0]["title"] == HOSTILE
    assert HOSTILE in cli("ticket", "list", "-o", "csv", "--fields", "title").stdout


def test_error_lines_escape_control_characters(cli: Cli) -> None:
    plain = cli("ticket", "lock", "X\x1b[2J", expect=3)
    assert "X\\x1b[2J" in one_line_without_controls(plain.stderr)
    plain = cli("ticket", "list", "--fields", "x\x1b[2J", expect=2)
    assert "x\\x1b[2J" in one_line_without_controls(plain.stderr)
    structured = cli("ticket", "list", "--fields", "x\x9b\x1b", "-o", "json", expect=2)
    # The same message for a JSON reader, with nothing a terminal would act on.
    assert "x\x9b\x1b" in json.loads(one_line_without_controls(structured.stderr))["error"]["message"]


# --- 14: output options are checked before anything is written --------------------------------


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (("ticket", "create", "--title", "x", "--fields", "nope"), None),
        (("--fields", "nope", "ticket", "create", "--title", "x"), None),
        (("ticket", "create", "--title", "x", "-o", "bogus"), None),
        (("ticket", "import", "-", "--format", "jsonl", "--fields", "nope"), RECORD),
        (
            ("ticket", "create", "--from", "-", "--format", "jsonl", "-o", "csv", "--fields", "tn,title"),
            '{"title": "x"}\n',
        ),
        (("ticket", "prioritize", "TN", "--to", "5", "--fields", "nope"), None),
        (("ticket", "close", "TN", "--continue-on-error", "--fields", "tn,title"), None),
        (("queue", "create", "New", "--fields", "nope"), None),
    ],
    ids=["create", "create-global", "create-format", "import", "create-from", "prioritize", "outcomes", "queue"],
)
def test_bad_output_options_fail_before_any_write(cli: Cli, args: tuple[str, ...], stdin: str | None) -> None:
    tn = create(cli)
    args = tuple(tn if arg == "TN" else arg for arg in args)
    before = dump(cli.db_url)
    result = cli(*args, input=stdin, expect=2)
    assert result.stdout == ""
    assert "tktctl: error: unknown" in one_line_without_controls(result.stderr)
    assert dump(cli.db_url) == before


def test_every_command_with_output_options_names_its_record_kind() -> None:
    """A bare @with_output could check --fields only after the command wrote: every command says what it prints."""
    commands = [(path, command) for path, command in _load_generator().command_tree() if path]
    with_fields = [(path, command) for path, command in commands if any(p.name == "fields" for p in command.params)]
    assert len(with_fields) > 90
    offenders = [" ".join(path) for path, command in with_fields if command.callback.output_kind is None]
    assert not offenders, f"use @with_output(kinds.X) in: {', '.join(offenders)}"


def test_output_fields_follow_the_record_the_options_choose(cli: Cli) -> None:
    tn = create(cli)
    outcome = cli("ticket", "close", tn, "--continue-on-error", "--fields", "tn,ok", "-o", "json").json
    assert outcome == [{"tn": tn, "ok": True}]
    made = cli("ticket", "create", "--from", "-", "--fields", "line,action", "-o", "json", input='{"title": "x"}\n')
    assert made.json == [{"line": 1, "action": "created"}]
    stats = cli("stats", "--by", "queue,state", "--fields", "state,count", "-o", "json").json
    assert stats == [{"state": "closed successful", "count": 1}, {"state": "new", "count": 1}]
    cli("stats", "--by", "queue", "--fields", "state", expect=2)


# --- 16: nothing on stdout before the command knows it can succeed -------------------------


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv", "tsv", "table", "jsonl", "ids"])
def test_a_failing_query_prints_nothing(cli: Cli, fmt: str) -> None:
    create(cli)
    assert cli("ticket", "list", "--queue", "Nope", "-o", fmt, expect=3).stdout == ""
    assert cli("ticket", "export", "--queue", "Nope", "-o", fmt, expect=3).stdout == ""


@pytest.mark.parametrize("fmt", ["json", "csv", "tsv"])
def test_an_uninitialised_database_prints_nothing(empty_db_url: str, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    result = Cli(empty_db_url, monkeypatch)("ticket", "list", "-o", fmt, expect=6)
    assert result.stdout == ""
    assert "tktctl init" in result.stderr


# --- 15: a reader that stops early ------------------------------------------------------------


@pytest.fixture
def busy_desk(cli: Cli) -> str:
    """A desk with 2,000 tickets: more output than a pipe holds."""
    records = "".join(json.dumps({"title": f"ticket {n}", "body": "x" * 50}) + "\n" for n in range(2000))
    cli("ticket", "import", "-", "--format", "jsonl", "-q", input=records)
    return cli.db_url


@pytest.mark.e2e
@pytest.mark.parametrize("launcher", [[EXE], [sys.executable, "-m", "tktctl"]], ids=["tktctl", "python-m"])
@pytest.mark.parametrize("args", ["ticket list -q", "ticket list -o jsonl", "history export -o jsonl"])
def test_a_reader_closing_the_pipe_is_exit_0_and_silence(busy_desk: str, launcher: list[str], args: str) -> None:
    command = " ".join(launcher) + f" {args} | head -1 >/dev/null"
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command}"],
        capture_output=True,
        text=True,
        env={**os.environ, "TKTCTL_DB": busy_desk},
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (0, "")


# --- 20: the smaller ones ---------------------------------------------------------------------


def test_one_ticket_is_singular(cli: Cli) -> None:
    tn = create(cli)
    assert cli("ticket", "close", tn).stderr == "1 ticket matched, 1 changed\n"
    failed = cli("ticket", "reopen", "2000010110000001", "--continue-on-error", expect=7)
    assert failed.stderr.splitlines() == [
        "1 ticket matched, 0 changed, 1 failed",
        "tktctl: error: 1 of 1 ticket failed",
    ]
    assert "has 1 ticket;" in cli("queue", "delete", "Raw", expect=5).stderr


@pytest.mark.parametrize(
    "args",
    [
        ("ticket", "list", "--bogus", "-o", "json"),
        ("ticket", "list", "-o", "json", "--limit", "many"),
        ("ticket", "show", "-o", "json"),
        ("ticket", "list", "--output=jsonl", "--sort"),
    ],
)
def test_output_options_after_the_verb_style_parse_errors(cli: Cli, args: tuple[str, ...]) -> None:
    result = cli(*args, expect=2)
    assert result.stdout == ""
    assert json.loads(one_line_without_controls(result.stderr))["error"]["code"] == "usage"


@pytest.mark.parametrize("fmt", ["json", "jsonl", "yaml", "table", "csv"])
def test_continue_on_error_ends_with_the_summary(cli: Cli, fmt: str) -> None:
    tns = [create(cli), create(cli)]
    ok = cli("ticket", "close", *tns, "--continue-on-error", "-o", fmt)
    failed = cli("ticket", "reopen", tns[0], "2000010110000001", "--continue-on-error", "-o", fmt, expect=7)
    feed = '{"title": "x"}\n{"queue": "Nope"}\n'
    imported = cli("ticket", "import", "-", "--format", "jsonl", "--continue-on-error", "-o", fmt, input=feed, expect=7)
    if fmt in ("json", "jsonl", "yaml"):
        assert json.loads(ok.stderr) == {"summary": {"matched": 2, "changed": 2, "failed": 0, "dry_run": False}}
        summary, error = (json.loads(line) for line in failed.stderr.splitlines())
        assert summary == {"summary": {"matched": 2, "changed": 1, "failed": 1, "dry_run": False}}
        assert error["error"]["code"] == "partial"
        summary, error = (json.loads(line) for line in imported.stderr.splitlines())
        totals = {"created": 1, "updated": 0, "skipped": 0, "failed": 1, "dry_run": False}
        assert (summary, error["error"]["code"]) == ({"summary": totals}, "partial")
    else:
        assert ok.stderr == "2 tickets matched, 2 changed\n"
        assert failed.stderr.splitlines()[0] == "2 tickets matched, 1 changed, 1 failed"
        assert imported.stderr.splitlines()[0] == "1 created, 0 updated, 0 skipped, 1 failed"


def test_tables_show_times_in_the_configured_zone(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"profiles": {"default": {"timezone": "Asia/Kolkata"}}}))
    monkeypatch.setenv("TKTCTL_CONFIG", str(config))  # the machine's zone is UTC (conftest)
    tn = create(cli)
    changed = cli("ticket", "show", tn, "-o", "json").json["changed"]
    assert changed.endswith("Z")
    local = datetime.fromisoformat(changed.replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Kolkata"))
    assert local.strftime("%Y-%m-%d %H:%M") in cli("ticket", "list", "--fields", "tn,changed").stdout
    assert cli("ticket", "list", "-o", "csv", "--fields", "changed").stdout.splitlines()[1] == changed

"""`tktctl batch`: each line runs as a fresh command would (its own global options, errors, exit codes),
through one command tree built once per process."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli
from tktctl import cli as cli_module
from tktctl.api import Desk


def _batch(monkeypatch: pytest.MonkeyPatch, args: list[str], lines: str) -> tuple[int, list[dict[str, Any]]]:
    """Run ``tktctl ARGS batch`` in this process with ``lines`` on stdin (no --db added)."""
    out, err = io.StringIO(), io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(lines.encode()), encoding="utf-8"))
        patch.setattr(sys, "stdout", out)
        patch.setattr(sys, "stderr", err)
        code = cli_module.run([*args, "batch"])
    return code, [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_click_app_is_built_once_and_reused() -> None:
    """Both `batch` and the warm command server run every command through one tree (cli.click_app)."""
    first = cli_module.click_app()
    assert cli_module.click_app() is first
    assert first.commands["ticket"] is first.commands["ticket"]  # a noun is built once, then kept


def test_lines_honour_their_own_config_and_profile(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, desk: Desk
) -> None:
    """Regression: every line got the batch's resolved --db and --as as flags, so a line's --config or
    --profile (its own database and agent) was ignored and the line ran on the batch's desk."""
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    Desk(other_url).init()
    Desk(other_url).agents.create("bot", email="bot@example.com")
    Desk(other_url).acl.grant("rw", group="users", agent="bot")
    config = tmp_path / "config.yaml"
    config.write_text(f"profiles:\n  other:\n    db: {other_url}\n    agent: bot\n  mine:\n    db: {db_url}\n")
    monkeypatch.setenv("TKTCTL_CONFIG", str(config))
    lines = (
        "--profile mine ticket create --title here\n"
        "--profile other ticket create --title there\n"
        f"--config {config} --profile other ticket count\n"
        "--profile other --as root@localhost ticket create --title root-there\n"
    )
    code, results = _batch(monkeypatch, ["--profile", "mine"], lines)
    assert code == 0, results
    assert [r["exit"] for r in results] == [0, 0, 0, 0]
    assert results[0]["result"]["owner"] == "root@localhost"
    assert results[1]["result"]["owner"] == "bot"  # the profile's agent
    assert results[2]["result"] == {"count": 1}
    assert results[3]["result"]["owner"] == "root@localhost"  # the line's --as wins over its profile
    assert [t["title"] for t in desk.tickets.list()] == ["here"]
    assert sorted(t["title"] for t in Desk(other_url).tickets.list()) == ["root-there", "there"]


def test_the_batch_flags_reach_every_line_and_the_line_flags_win(cli: Cli, desk: Desk) -> None:
    desk.agents.create("ann", email="ann@example.com")
    desk.acl.grant("rw", group="users", agent="ann")
    lines = "ticket create --title a\n--as root@localhost ticket create --title b\n"
    out = cli("--as", "ann", "batch", input=lines).jsonl
    assert [o["result"]["owner"] for o in out] == ["ann", "root@localhost"]


def test_a_failing_line_in_text_output_keeps_its_error_code(cli: Cli) -> None:
    """Regression: a line that asked for a text format (table, ids, csv) and failed was reported
    with code 'internal' (its error was a text line on stderr, not JSON)."""
    lines = (
        "ticket show 2000010110000001 -o table\n"
        "-o csv ticket create --title x --queue Nowhere\n"
        "ticket create --title y -q --priority 9\n"
        "ticket list -o table --bogus\n"
    )
    out = cli("batch", input=lines, expect=7).jsonl
    assert [(o["exit"], o["error"]["code"]) for o in out] == [
        (3, "not_found"),
        (3, "not_found"),
        (2, "usage"),
        (2, "usage"),
    ]
    assert out[0]["error"]["message"] == "ticket 2000010110000001 not found"
    assert out[1]["error"]["ref"] == "Nowhere"


def test_each_line_is_its_own_transaction_and_lines_keep_their_order(cli: Cli, desk: Desk) -> None:
    lines = "".join(f"ticket create --title t{i} --body b{i} -q\n" for i in range(30))
    lines += "ticket create --title bad --priority 0\n" + "ticket create --title last -q\n"
    out = cli("batch", input=lines, expect=7).jsonl
    assert [o["exit"] for o in out] == [0] * 30 + [2, 0]
    numbers = [o["result"].strip() for o in out if o["exit"] == 0]
    assert len(set(numbers)) == 31
    titles = {t["tn"]: t["title"] for t in desk.tickets.list()}
    assert [titles[n] for n in numbers] == [f"t{i}" for i in range(30)] + ["last"]
    history = desk.tickets.history(numbers[0])
    assert [h["type"] for h in history] == ["NewTicket", "PhoneCallCustomer"]
    assert desk.tickets.show(numbers[0])["articles"][0]["body"] == "b0"


def test_a_created_ticket_in_a_closed_state_is_first_closed_and_gets_no_deadline(cli: Cli, desk: Desk) -> None:
    """ticket create refreshes the deadlines once (after its article), as before: closed counts."""
    out = cli("batch", input="ticket create --title done --state 'closed successful' --body b\n").jsonl
    assert out[0]["result"]["state_type"] == "closed" and out[0]["result"]["escalation"] is None
    with desk.read() as unit:
        from sqlalchemy import select

        from tktctl.db.models import Ticket

        first_closed = unit.session.scalar(select(Ticket.first_closed_at))
    assert first_closed is not None

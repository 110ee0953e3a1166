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


def test_a_line_record_is_its_result_as_data_not_json_text_parsed_back(
    cli: Cli, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Speed (issue 14): a line's single JSON record was rendered (indented) and parsed back into its result;
    the batch takes the record as data. The result is what `-o json` prints; other formats are text."""
    import tktctl.formats as formats

    rendered: list[str] = []
    real = formats.render
    monkeypatch.setattr(formats, "render", lambda data, **kw: (rendered.append(kw["fmt"]), real(data, **kw))[1])
    lines = 'ticket create --title "é x" --fields tn,title,created\nticket create --title y -o yaml\n'
    out = cli("batch", input=lines).jsonl
    tn = out[0]["result"]["tn"]
    shown = json.loads(cli("ticket", "show", tn, "-o", "json", "--fields", "tn,title,created").stdout)
    assert out[0]["result"] == shown == {"tn": tn, "title": "é x", "created": shown["created"]}
    assert out[1]["result"].startswith("id: ") and "title: y\n" in out[1]["result"]
    assert rendered == ["yaml", "json"]  # the yaml line, then `ticket show`: never the batch's json line


def test_a_held_record_with_more_output_after_it_and_one_json_cannot_hold() -> None:
    """A line that prints more after its held record gets its whole output, in order, as the text path
    would; a record JSON cannot hold fails its line as `-o json` would (exit 1, internal), not the batch."""
    from decimal import Decimal

    from tktctl.commands.batch import _line, _result
    from tktctl.formats import json_text

    record, more = {"tn": "1", "n": 2}, "extra\n"
    assert _result(4, 0, more, "", held=[record]) == _result(4, 0, json_text(record) + more, "")
    failed = json.loads(_line(_result(5, 0, "", "", held=[{"tn": "1", "cost": Decimal("1.5")}])))
    assert (failed["line"], failed["exit"], failed["result"], failed["error"]["code"]) == (5, 1, None, "internal")
    assert failed["error"]["message"].startswith("internal error: TypeError: cannot serialise Decimal")


def test_the_config_file_is_read_once_per_set_of_global_options(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Speed (issue 14): every line resolved its settings again, reading the config file; now once per
    set of global options in the batch, and a line with its own options still gets them."""
    import tktctl.config as config_module

    config = tmp_path / "config.yaml"
    config.write_text(f"profiles:\n  mine:\n    db: {db_url}\n")
    monkeypatch.setenv("TKTCTL_CONFIG", str(config))
    reads: list[str] = []
    real = config_module.load_profile
    monkeypatch.setattr(config_module, "load_profile", lambda *a, **k: (reads.append(a[1]), real(*a, **k))[1])
    lines = "ticket create --title a\n" * 3 + "--as nobody ticket count\n" + "ticket count\n"
    code, results = _batch(monkeypatch, ["--profile", "mine"], lines)
    assert code == 7
    assert [r["exit"] for r in results] == [0, 0, 0, 3, 0]
    assert results[4]["result"] == {"count": 3}
    assert reads == ["mine"] * 3  # the batch's own options, its lines', and the line with --as

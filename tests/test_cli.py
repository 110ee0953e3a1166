"""The command line's contract, in-process: output options, exit codes, errors, stdin, config."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from tests.conftest import Cli, dump


def create(cli: Cli, *args: str) -> str:
    return cli("ticket", "create", "--title", "t", *args, "-q").stdout.strip()


def test_output_options_work_before_and_after_the_verb(cli: Cli) -> None:
    tn = create(cli)
    before = cli("-o", "json", "ticket", "show", tn).json
    after = cli("ticket", "show", tn, "-o", "json").json
    assert before == after and before["tn"] == tn
    assert cli("--fields", "tn,state", "-o", "json", "ticket", "list").json == [{"tn": tn, "state": "new"}]
    assert cli("ticket", "list", "-q").stdout == f"{tn}\n"


def test_every_machine_format_parses_back(cli: Cli) -> None:
    tns = [create(cli, "--customer", f"c{i}@example.com") for i in range(3)]
    as_json = cli("ticket", "list", "-o", "json").json
    assert [t["tn"] for t in as_json] == tns
    assert cli("ticket", "list", "-o", "jsonl").jsonl == as_json
    assert yaml.safe_load(cli("ticket", "list", "-o", "yaml").stdout) == as_json
    for fmt, delimiter in (("csv", ","), ("tsv", "\t")):
        rows = list(csv.DictReader(io.StringIO(cli("ticket", "list", "-o", fmt).stdout), delimiter=delimiter))
        assert [r["tn"] for r in rows] == tns
        assert rows[0]["customer"] == "c0@example.com" and rows[0]["escalation"] == ""
    assert cli("ticket", "list", "-o", "ids").stdout.split() == tns
    table = cli("ticket", "list").stdout
    assert all(tn in table for tn in tns) and table.splitlines()[0].split()[0] == "tn"


def test_times_are_utc_with_z(cli: Cli) -> None:
    ticket = cli("ticket", "show", create(cli), "-o", "json").json
    assert ticket["created"].endswith("Z") and "+" not in ticket["created"]


def test_history_export_exact_text(cli: Cli) -> None:
    """A history record's spelling, byte for byte: key order, UTC times with Z, ``data`` as nested JSON."""
    from sqlalchemy import insert, select

    from tktctl.api import Desk
    from tktctl.db.models import Agent, History, Ticket

    tn = create(cli)
    desk = Desk(cli.db_url)
    at = datetime(2026, 11, 27, 9, 30, 0, 250000, tzinfo=timezone.utc)
    # Keys in the order MySQL keeps them (by length, then bytes), so every backend reads them back alike.
    data = {"n": 2, "ok": True, "to": 'Tier 2 "ü"\n', "from": None, "none": [1.5, {}]}
    with desk.engine.begin() as conn:
        ticket_id, queue_id = conn.execute(select(Ticket.id, Ticket.queue_id).where(Ticket.tn == tn)).one()
        actor_id = conn.scalar(select(Agent.id).where(Agent.login == "root@localhost"))
        history_id = conn.execute(
            insert(History).values(
                ticket_id=ticket_id, type="Pinned", actor_id=actor_id, queue_id=queue_id, at=at, data=data
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(History).values(
                ticket_id=ticket_id,
                type="Pinned",
                actor_id=actor_id,
                queue_id=queue_id,
                at=at.replace(microsecond=0),
                data={},
            )
        )
    line = (
        f'{{"id": {history_id}, "ticket": "{tn}", "type": "Pinned", "actor": "root@localhost",'
        ' "at": "2026-11-27T09:30:00.250000Z",'
        ' "data": {"n": 2, "ok": true, "to": "Tier 2 \\"ü\\"\\n", "from": null, "none": [1.5, {}]}}'
    )
    second = (
        f'{{"id": {history_id + 1}, "ticket": "{tn}", "type": "Pinned", "actor": "root@localhost",'
        ' "at": "2026-11-27T09:30:00Z", "data": {}}'
    )
    assert cli("history", "export", "--type", "Pinned", "-o", "jsonl").stdout == f"{line}\n{second}\n"
    assert cli("history", "export", "--type", "Pinned", "-o", "json").stdout == f"[\n  {line},\n  {second}\n]\n"
    assert cli("history", "export", "--type", "Pinned", "--fields", "at,id", "-o", "jsonl").stdout == (
        f'{{"at": "2026-11-27T09:30:00.250000Z", "id": {history_id}}}\n'
        f'{{"at": "2026-11-27T09:30:00Z", "id": {history_id + 1}}}\n'
    )
    assert cli("history", "export", "--type", "Pinned", "-o", "csv").stdout == (
        "id,ticket,type,actor,at,data\n"
        f"{history_id},{tn},Pinned,root@localhost,2026-11-27T09:30:00.250000Z,"
        '"{""n"":2,""ok"":true,""to"":""Tier 2 \\""ü\\""\\n"",""from"":null,""none"":[1.5,{}]}"\n'
        f"{history_id + 1},{tn},Pinned,root@localhost,2026-11-27T09:30:00Z,{{}}\n"
    )


def test_json_single_record_and_list_shapes(cli: Cli) -> None:
    tn = create(cli)
    assert isinstance(cli("ticket", "show", tn, "-o", "json").json, dict)
    assert isinstance(cli("ticket", "move", tn, "--to", "Misc", "-o", "json").json, list)


def test_unknown_field_lists_the_valid_ones(cli: Cli) -> None:
    result = cli("ticket", "list", "--fields", "tn,bogus", expect=2)
    assert "valid fields: id,tn,title" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "kind"),
    [
        (("ticket", "show", "2000010110000001"), 3, "not_found"),
        (("ticket", "create", "--title", "t", "--queue", "Nope"), 3, "not_found"),
        (("ticket", "create", "--title", "t", "--priority", "urgent"), 2, "usage"),
        (("ticket", "list", "--created-before", "the day after"), 2, "usage"),
        (("ticket", "list", "--bogus"), 2, "usage"),
        (("--as", "ghost", "ticket", "list"), 3, "not_found"),
        (("queue", "create", "Raw"), 5, "conflict"),
    ],
)
def test_errors_exit_with_the_contract_code_and_json_on_stderr(
    cli: Cli, args: tuple[str, ...], code: int, kind: str
) -> None:
    plain = cli(*args, expect=code)
    assert plain.stdout == ""
    lines = plain.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tktctl: error: ")
    structured = cli("-o", "json", *args, expect=code)
    assert structured.error["code"] == kind and structured.error["message"]


def test_conflict_on_a_ticket_names_it_in_ref(cli: Cli) -> None:
    tn = create(cli)
    cli("agent", "create", "bob")
    cli("acl", "grant", "ro,owner", "--group", "users", "--agent", "bob")
    cli("--as", "bob", "ticket", "lock", tn)
    error = cli("ticket", "lock", tn, "-o", "json", expect=5).error
    assert error == {"code": "conflict", "message": error["message"], "ref": tn}
    assert "locked by bob" in error["message"]


def test_tickets_from_stdin_as_numbers_or_json_lines(cli: Cli) -> None:
    tns = [create(cli) for _ in range(3)]
    listing = cli("ticket", "list", "-o", "jsonl").stdout
    moved = cli("ticket", "move", "-", "--to", "Misc", "-o", "json", input=listing).json
    assert [t["tn"] for t in moved] == tns and {t["queue"] for t in moved} == {"Misc"}
    closed = cli("ticket", "close", "-", "-q", input=f"\n{tns[0]}\n\n{tns[1]}\n").stdout.split()
    assert closed == tns[:2]


def test_continue_on_error_prints_every_outcome_and_exits_7(cli: Cli) -> None:
    tn = create(cli)
    result = cli("ticket", "close", tn, "2000010110000001", "--continue-on-error", "-o", "json", expect=7)
    outcomes = {o["tn"]: o for o in result.json}
    assert outcomes[tn]["ok"] is True and outcomes[tn]["ticket"]["state"] == "closed successful"
    assert outcomes["2000010110000001"]["error"]["code"] == "not_found"
    summary, error = (json.loads(line) for line in result.stderr.splitlines())
    assert summary == {"summary": {"matched": 2, "changed": 1, "failed": 1, "dry_run": False}}
    assert error["error"]["code"] == "partial"


def test_dry_run_writes_nothing(cli: Cli) -> None:
    tn = create(cli)
    before = dump(cli.db_url)
    preview = cli("ticket", "close", tn, "--dry-run", "-o", "json").json
    assert preview[0]["state"] == "closed successful"
    assert dump(cli.db_url) == before


def test_body_from_stdin(cli: Cli) -> None:
    tn = cli("ticket", "create", "--title", "t", "--body", "-", "-q", input="line one\nline two\n").stdout.strip()
    assert cli("ticket", "show", tn, "-o", "json").json["articles"][0]["body"] == "line one\nline two\n"


def test_stdin_takes_what_list_prints_in_json_and_yaml_and_hints_at_csv(cli: Cli) -> None:
    tns = [create(cli), create(cli)]
    for fmt in ("json", "yaml", "jsonl", "ids"):
        listed = cli("ticket", "list", "-o", fmt).stdout
        assert cli("ticket", "note", "-", "--body", fmt, "-q", input=listed).stdout.split() == tns, fmt
    for one in ("json", "yaml"):  # a single record, as show prints it (JSON over several lines)
        shown = cli("ticket", "show", tns[0], "-o", one).stdout
        assert cli("ticket", "note", "-", "--body", one, "-q", input=shown).stdout.split() == tns[:1]
    before = dump(cli.db_url)
    for fmt in ("csv", "tsv", "table"):
        listed = cli("ticket", "list", "-o", fmt).stdout
        result = cli("ticket", "close", "-", input=listed, expect=2)
        assert result.stderr == "tktctl: error: stdin line 1 looks like csv/table output; pipe -o jsonl or -q\n"
    cli("ticket", "close", "-", input='[{"tn": ["nested"]}]', expect=2)
    assert dump(cli.db_url) == before


def test_vocabulary_filters_take_comma_lists_and_names_are_never_split(cli: Cli) -> None:
    cli("queue", "create", "East,West")
    new, opened, high = create(cli, "--queue", "East,West"), create(cli), create(cli, "--priority", "5")
    cli("ticket", "state", opened, "--to", "open")
    cli("ticket", "lock", high)
    ids = lambda *a: sorted(cli("ticket", "list", *a, "-q").stdout.split())  # noqa: E731
    assert (
        ids("--state-type", "new,open")
        == ids("--state-type", "new", "--state-type", "open")
        == sorted([new, opened, high])
    )
    assert ids("--state-type", "open") == [opened]
    assert ids("--state", "open, new") == sorted([new, opened, high])
    assert ids("--priority", "3,4") == sorted([new, opened])
    assert ids("--lock", "locked,unlocked") == sorted([new, opened, high])
    assert ids("--lock", "locked") == [high]
    assert ids("--queue", "East,West") == [new]  # a name: one queue
    assert cli("ticket", "list", "--queue", "East", expect=3).stderr.count("\n") == 1


def test_profile_env_and_flag_precedence(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for login in ("bob", "carol"):
        cli("agent", "create", login)
        cli("acl", "grant", "create,ro", "--group", "users", "--agent", login)
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump({"profiles": {"default": {"agent": "bob", "output": "json"}, "other": {"output": "yaml"}}})
    )
    monkeypatch.setenv("TKTCTL_CONFIG", str(config))
    tn = create(cli)
    owner = lambda *a: cli(*a, "ticket", "show", tn, "--fields", "owner", "-o", "json").json["owner"]  # noqa: E731
    assert cli("ticket", "show", tn).json["owner"] == "bob"  # profile: agent and output
    monkeypatch.setenv("TKTCTL_AGENT", "carol")
    assert create(cli) and owner() == "bob"  # the first ticket keeps its owner
    assert cli("ticket", "show", create(cli), "-o", "json").json["owner"] == "carol"  # env beats profile
    assert cli("--as", "bob", "ticket", "show", create(cli, "--owner", "bob"), "-o", "json").json["owner"] == "bob"
    assert yaml.safe_load(cli("--profile", "other", "ticket", "show", tn).stdout)["tn"] == tn
    cli("--profile", "missing", "ticket", "list", expect=2)


def test_uninitialised_database_exits_6_with_the_fix(empty_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = Cli(empty_db_url, monkeypatch)
    result = cli("ticket", "list", expect=6)
    assert "tktctl init" in result.stderr
    assert cli("init", "-o", "json").json["up_to_date"] is True
    assert cli("init", "-o", "json").json["created"] == []  # rerunnable
    assert cli("ticket", "list", "-o", "json").json == []


def test_unreachable_database_exits_6_without_password(monkeypatch: pytest.MonkeyPatch) -> None:
    cli = Cli("postgresql+psycopg://user:s3cret@127.0.0.1:1/nowhere", monkeypatch)
    result = cli("ticket", "list", expect=6)
    assert "s3cret" not in result.stderr and "***" in result.stderr


def test_version_and_help(cli: Cli) -> None:
    assert cli("--version").stdout.startswith("tktctl ")
    assert "move" in cli("ticket", "--help").stdout

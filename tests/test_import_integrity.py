"""Import at its seams (issue 10, items 1, 2, 5, 17, 19): an import that meets existing tickets changes
them only as the verbs would, keys of invisible tickets leak nothing, what a record asks to keep is
validated and kept for admins only, bad values are usage errors, and imported tickets get deadlines."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Cli, dump
from tktctl.api import Desk


def jsonl(*records: dict[str, Any]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


@pytest.fixture
def bob(cli: Cli, desk: Desk) -> Cli:
    """bob holds ro,note,owner,create on group support (queue Support) and nothing on secret (queue Secret)."""
    for name in ("support", "secret"):
        desk.groups.create(name)
        desk.queues.create(name.capitalize(), group=name)
    desk.agents.create("bob")
    desk.agents.create("carol")
    desk.acl.grant("ro,note,owner,create", group="support", agent="bob")
    return cli


def secret(desk: Desk, **extra: Any) -> dict[str, Any]:
    return desk.tickets.create(title="secret", queue="Secret", customer="vip@example.com", **extra)


def as_bob(cli: Cli, records: str, *args: str, expect: int) -> Any:
    return cli(
        "--as", "bob", "ticket", "import", "-", "--format", "jsonl", *args, "-o", "json", input=records, expect=expect
    )


# 1. --if-exists update ---------------------------------------------------------------------


@pytest.mark.parametrize("key", ["tn", "external_id"])
def test_update_of_a_ticket_bob_may_not_see_is_a_taken_key(bob: Cli, desk: Desk, key: str) -> None:
    ticket = secret(desk, external_id="s-1")
    record = {key: ticket[key], "title": "x", "queue": "Support", "owner": "bob", "state": "open"}
    before = dump(bob.db_url)
    failed = as_bob(bob, jsonl(record), "--if-exists", "update", expect=5)
    assert failed.stdout == ""
    assert failed.error["message"] == f"line 1: {key.replace('_', ' ')} {ticket[key]!r} is taken"
    assert len(failed.stderr.strip().splitlines()) == 1
    assert dump(bob.db_url) == before


def test_update_needs_the_permission_of_each_change_like_its_verb(bob: Cli, desk: Desk) -> None:
    tn = desk.tickets.create(title="mine", queue="Support", external_id="k1")["tn"]
    before = dump(bob.db_url)
    needs = [
        ({"state": "open"}, "'rw' on group 'support'"),  # as `ticket state`
        ({"title": "renamed"}, "'rw' on group 'support'"),
        ({"priority": 5}, "'priority' on group 'support'"),  # as `ticket prioritize`
        ({"queue": "Secret"}, "'move_into' on group 'secret'"),  # as `ticket move`
    ]
    for change, need in needs:
        record = jsonl({"external_id": "k1", "title": "mine", **change})
        failed = as_bob(bob, record, "--if-exists", "update", expect=4)
        assert failed.error["message"] == f"line 1: permission denied: agent 'bob' needs {need}"
        assert dump(bob.db_url) == before
    # owner is what bob holds: `ticket assign` would do it, so the import does, with its history.
    done = as_bob(bob, jsonl({"external_id": "k1", "title": "mine", "owner": "bob"}), "--if-exists", "update", expect=0)
    assert done.json[0]["action"] == "updated" and done.json[0]["tn"] == tn
    history = desk.tickets.history(tn)
    assert (history[-1]["type"], history[-1]["actor"], history[-1]["data"]) == (
        "OwnerUpdate",
        "bob",
        {"from": "root@localhost", "to": "bob"},
    )
    # Matching by a visible ticket's number is not keeping it: a non-admin may.
    again = as_bob(bob, jsonl({"tn": tn, "title": "mine", "owner": "bob"}), "--if-exists", "update", expect=0)
    assert again.json[0]["action"] == "updated"


def test_update_respects_the_lock_of_another_agent(bob: Cli, desk: Desk) -> None:
    desk.acl.grant("rw", group="support", agent="bob")
    desk.acl.grant("ro,owner", group="support", agent="carol")
    tn = desk.tickets.create(title="held", queue="Support", external_id="k1")["tn"]
    Desk(desk.url, actor="carol").tickets.lock([tn])
    before = dump(bob.db_url)
    failed = as_bob(bob, jsonl({"external_id": "k1", "title": "taken over"}), "--if-exists", "update", expect=5)
    assert "locked by carol" in failed.error["message"]
    assert dump(bob.db_url) == before


def test_update_writes_otrs_history_for_every_change_and_refreshes_deadlines(bob: Cli, desk: Desk) -> None:
    desk.queues.create("Timed", first_response_time=60)
    desk.types.create("Incident")  # a record's type must be a managed one (issue 12)
    tn = desk.tickets.create(title="old", queue="Support", external_id="k1", customer="a@example.com")["tn"]
    record = {
        "external_id": "k1",
        "title": "new",
        "customer": "b@example.com",
        "type": "Incident",
        "priority": 5,
        "state": "open",
        "queue": "Timed",
        "owner": "bob",
        "responsible": "carol",
    }
    result = bob("ticket", "import", "-", "--if-exists", "update", "-o", "json", input=jsonl(record))
    assert result.json[0]["action"] == "updated"
    entries = {h["type"]: h["data"] for h in desk.tickets.history(tn)}
    assert entries["TitleUpdate"] == {"from": "old", "to": "new"}
    assert entries["CustomerUpdate"] == {"from": "a@example.com", "to": "b@example.com"}
    assert entries["TypeUpdate"] == {"from": None, "to": "Incident"}
    assert entries["PriorityUpdate"] == {"from": "3 normal", "to": "5 very high"}
    assert entries["StateUpdate"] == {"from": "new", "to": "open"}
    assert entries["Move"] == {"from": "Support", "to": "Timed"}
    assert entries["OwnerUpdate"] == {"from": "root@localhost", "to": "bob"}
    assert entries["ResponsibleUpdate"] == {"from": None, "to": "carol"}
    shown = desk.tickets.show(tn)
    assert (shown["title"], shown["queue"], shown["owner"], shown["state"]) == ("new", "Timed", "bob", "open")
    assert shown["escalation"] is not None and shown["escalation"]["response"] is not None
    # The same record again changes nothing and writes no history.
    count = len(desk.tickets.history(tn))
    bob("ticket", "import", "-", "--if-exists", "update", "-q", input=jsonl(record))
    assert len(desk.tickets.history(tn)) == count


def test_update_failures_are_per_record_with_continue_on_error(bob: Cli, desk: Desk) -> None:
    desk.tickets.create(title="one", queue="Support", external_id="k1")
    desk.tickets.create(title="two", queue="Support", external_id="k2")
    records = jsonl(
        {"external_id": "k1", "title": "one", "owner": "bob"},
        {"external_id": "k2", "title": "two", "responsible": "carol", "state": "open"},  # state needs rw
    )
    before = dump(bob.db_url)
    as_bob(bob, records, "--if-exists", "update", expect=4)  # atomic: none of them
    assert dump(bob.db_url) == before
    result = as_bob(bob, records, "--if-exists", "update", "--continue-on-error", expect=7)
    assert [(o["line"], o["ok"]) for o in result.json] == [(1, True), (2, False)]
    after = {t["external_id"]: (t["owner"], t["responsible"], t["state"]) for t in desk.tickets.list()}
    # k2's responsible change (bob may) went back with its refused state change.
    assert after == {"k1": ("bob", None, "new"), "k2": ("root@localhost", None, "new")}


# 2. keys of invisible tickets ---------------------------------------------------------------


def test_create_with_the_key_of_an_invisible_ticket_shows_nothing_of_it(bob: Cli, desk: Desk) -> None:
    ticket = secret(desk, external_id="s-1")
    before = dump(bob.db_url)
    args = ("--as", "bob", "ticket", "create", "--queue", "Support", "--title", "x", "--external-id", "s-1")
    failed = bob(*args, "-o", "json", expect=5)
    assert failed.stdout == "" and failed.error["message"] == "external id 's-1' is taken"
    plain = bob(*args, expect=5)
    assert plain.stdout == "" and plain.stderr.strip() == "tktctl: error: external id 's-1' is taken"
    for mode, code in (("skip", 5), ("fail", 5)):
        out = as_bob(
            bob, jsonl({"title": "x", "queue": "Support", "external_id": "s-1"}), "--if-exists", mode, expect=code
        )
        assert ticket["tn"] not in out.stdout + out.stderr and "is taken" in out.stderr
    assert dump(bob.db_url) == before
    # A visible ticket's key still prints that ticket (idempotent retries).
    desk.tickets.create(title="seen", queue="Support", external_id="v-1")
    shown = bob(
        "--as", "bob", "ticket", "create", "--queue", "Support", "--title", "x", "--external-id", "v-1", "-o", "json"
    )
    assert shown.json["title"] == "seen" and shown.json["created_now"] is False


# 5. what an import keeps ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "tn",
    [
        "2026120310000333\n2026120310000011",
        "x../../etc/passwd",
        "2026120310000334",  # wrong check digit
        "2026133110000013",  # no such day
        "2026120399000013",  # another system id
        "12345",
    ],
)
def test_an_admins_ticket_numbers_must_have_the_generators_format(cli: Cli, tn: str) -> None:
    before = dump(cli.db_url)
    failed = cli(
        "ticket", "import", "-", "-o", "json", input=jsonl({"title": "ok"}, {"title": "t", "tn": tn}), expect=2
    )
    assert failed.error["message"].startswith("line 2: tn ")
    assert any(word in failed.error["message"] for word in ("DateChecksum", "control characters"))
    assert len(failed.stderr.strip().splitlines()) == 1
    assert dump(cli.db_url) == before


def test_an_admin_keeps_a_valid_number(cli: Cli) -> None:
    from tktctl.tickets.numbering import format_number

    tn = format_number("DateChecksum", "10", "20260101", 77)
    cli("ticket", "import", "-", "-q", input=jsonl({"title": "t", "tn": tn}))
    assert cli("ticket", "list", "-q").stdout.split() == [tn]


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"tn": "2026112710000013"}, "tn"),
        ({"created": "2020-01-01T00:00:00Z"}, "created"),
        ({"changed": "2020-01-01T00:00:00Z"}, "changed"),
        ({"history": [{"type": "Move", "actor": "root@localhost", "data": {}}]}, "history"),
        ({"articles": [{"body": "b", "created": "2020-01-01T00:00:00Z"}]}, "articles' created"),
    ],
)
def test_a_non_admin_may_not_keep_numbers_times_or_history(bob: Cli, extra: dict[str, Any], key: str) -> None:
    before = dump(bob.db_url)
    failed = as_bob(bob, jsonl({"title": "t", "queue": "Support", **extra}), expect=4)
    assert failed.error["message"].startswith(f"line 1: permission denied: keeping {key} ")
    assert failed.error["ref"] == key
    assert dump(bob.db_url) == before


def test_a_non_admins_update_key_that_matches_nothing_creates_nothing(bob: Cli, desk: Desk) -> None:
    before = dump(bob.db_url)
    failed = as_bob(
        bob, jsonl({"title": "t", "queue": "Support", "tn": "2026112710000013"}), "--if-exists", "update", expect=4
    )
    assert "matches no ticket" in failed.error["message"]
    assert dump(bob.db_url) == before
    # Without kept keys a non-admin's record gets its own number and its own NewTicket history.
    created = as_bob(bob, jsonl({"title": "t", "queue": "Support"}), expect=0).json[0]["tn"]
    assert [h["type"] for h in desk.tickets.history(created)] == ["NewTicket"]


@pytest.mark.parametrize(
    ("entry", "code", "text"),
    [
        ({"type": "Forged"}, 2, "not an OTRS history type"),
        ({"type": "X" * 5000}, 2, "5000 characters long"),
        ({"type": 5}, 2, "must be a string"),
        ({"type": "Move", "actor": "nobody"}, 3, "agent 'nobody' not found"),
        ({"type": "Move", "actor": ["root@localhost"]}, 2, "must be a string"),
        ({"type": "Move", "at": "not a time"}, 2, ""),
        ({"type": "Move", "data": [1]}, 2, "must be an object"),
    ],
)
def test_imported_history_rows_are_validated(cli: Cli, entry: dict[str, Any], code: int, text: str) -> None:
    before = dump(cli.db_url)
    failed = cli("ticket", "import", "-", "-o", "json", input=jsonl({"title": "t", "history": [entry]}), expect=code)
    assert failed.error["message"].startswith("line 1: ") and text in failed.error["message"]
    assert dump(cli.db_url) == before


# 17. bad values are usage errors ------------------------------------------------------------


@pytest.mark.parametrize("size", ['"abc"', "null", "1e400", "-1", "true", "99999999999999999999"])
def test_bad_attachment_sizes_are_usage_errors(cli: Cli, size: str) -> None:
    attachment = '{"filename": "f", "size": ' + size + "}"
    record = '{"title": "t", "articles": [{"body": "b", "attachments": [' + attachment + "]}]}\n"
    before = dump(cli.db_url)
    failed = cli("ticket", "import", "-", "-o", "json", input=record, expect=2)
    assert failed.error["message"].startswith("line 1: attachment size")
    assert dump(cli.db_url) == before


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_deeply_nested_input_is_a_usage_error(cli: Cli, fmt: str) -> None:
    deep = '{"title": "t", "history": ' + "[" * 100_000 + "]" * 100_000 + "}"
    before = dump(cli.db_url)
    failed = cli("ticket", "import", "-", "--format", fmt, "-o", "json", input=deep + "\n", expect=2)
    assert "nested too deeply" in failed.error["message"]
    assert dump(cli.db_url) == before


@pytest.mark.parametrize(
    ("key", "length"),
    [("title", 256), ("customer", 151), ("type", 101), ("external_id", 201), ("tn", 51)],
)
@pytest.mark.parametrize("verb", [("ticket", "import", "-"), ("ticket", "create", "--from", "-")])
def test_over_long_text_is_a_usage_error_on_every_backend(
    cli: Cli, key: str, length: int, verb: tuple[str, ...]
) -> None:
    before = dump(cli.db_url)
    record = {"title": "t", key: "1" * length}
    failed = cli(*verb, "--format", "jsonl", "-o", "json", input=jsonl(record), expect=2)
    assert failed.error["message"] == (
        f"line 1: {key.replace('_', ' ')} is {length} characters long; at most {length - 1} are allowed"
    )
    assert dump(cli.db_url) == before


@pytest.mark.parametrize("key", ["", "  "])
@pytest.mark.parametrize("verb", [("ticket", "import", "-"), ("ticket", "create", "--from", "-")])
def test_a_blank_external_id_is_refused_by_import_as_by_create(cli: Cli, key: str, verb: tuple[str, ...]) -> None:
    """An external id is a key: one that says nothing is a usage error on every path (import took it)."""
    before = dump(cli.db_url)
    failed = cli(*verb, "--format", "jsonl", "-o", "json", input=jsonl({"title": "t", "external_id": key}), expect=2)
    assert failed.error["message"] == "line 1: external id must not be empty"
    assert dump(cli.db_url) == before
    assert cli("ticket", "create", "--title", "t", "--external-id", key, expect=2).stdout == ""


def test_create_checks_lengths_by_the_same_columns(cli: Cli) -> None:
    failed = cli("ticket", "create", "--title", "t", "--type", "x" * 101, "-o", "json", expect=2)
    assert failed.error["message"] == "type is 101 characters long; at most 100 are allowed"


# 19. imported tickets escalate ----------------------------------------------------------------


@pytest.mark.parametrize("verb", [("ticket", "import", "-"), ("ticket", "create", "--from", "-")])
def test_imported_tickets_get_their_deadlines(cli: Cli, desk: Desk, verb: tuple[str, ...]) -> None:
    desk.queues.create("Timed", first_response_time=60, solution_time=480)
    cli(*verb, "--format", "jsonl", "-q", input=jsonl({"title": "a", "queue": "Timed"}, {"title": "b"}))
    tickets = {t["title"]: t for t in desk.tickets.list()}
    timed = tickets["a"]["escalation"]
    assert timed is not None and timed["response"] is not None and timed["solution"] is not None
    assert tickets["b"]["escalation"] is None  # Raw has no SLA
    assert desk.tickets.count() == 2

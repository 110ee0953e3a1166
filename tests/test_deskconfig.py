"""The desk's configuration as one document: `desk dump`, `desk apply`, and each object's `apply -f`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import Cli, Server, _server_or_skip, dump
from tktctl.api import Desk

# Every configuration object with a `list` and an `apply -f`.
NOUNS = ("group", "agent", "role", "calendar", "queue", "autoresponse", "job")
RULE = """
name: tier1-escalations
events: [EscalationWarning, EscalationBreach]
filter: {queue: [Tier 1], state_type: [new, open]}
recipients: [owner, watchers]
agents: [bob]
groups: [support]
roles: [l1]
include_article: true
subject: "Escalated: <OTRS_TICKET_Title>"
"""
JOB = 'name: stale\nfilter: {queue: "Tier 1", changed-before: 3d}\nactions: {priority: "+1", note: "stale"}\n'


def populate(cli: Cli) -> None:
    """One of every kind of configuration object, with references between them."""
    cli("calendar", "create", "support", "--timezone", "Europe/Berlin", "--hours", "mon-fri 08:00-18:00")
    cli("calendar", "update", "support", "--holiday", "12-25")
    cli("group", "create", "support", "--comment", "Support")
    cli("agent", "create", "bob", "--name", "Bob", "--email", "bob@example.com", "--password-stdin", input="s3cret\n")
    cli("agent", "create", "carol")
    cli("agent", "disable", "carol")
    cli("role", "create", "l1")
    cli("role", "add-agent", "l1", "bob", "carol")
    cli("acl", "grant", "ro,note", "--group", "support", "--role", "l1")
    cli("acl", "grant", "rw", "--group", "users", "--agent", "bob")
    cli("queue", "create", "Tier 2", "--group", "support")
    cli("queue", "create", "Tier 1", "--group", "support", "--calendar", "support", "--first-response-time", "60")
    cli("queue", "update", "Tier 1", "--escalate-to", "Tier 2", "--escalate-notify")
    cli("queue", "disable", "Junk")
    cli("autoresponse", "create", "hello", "--type", "auto-reply", "--subject", "Re: $subject", "--body", "Thanks")
    cli("queue", "update", "Tier 1", "--auto-response", "hello")
    cli("job", "apply", "-f", "-", input=JOB)
    cli("mail", "filter", "create", "spam", "--match", "X-Spam-Flag=yes", "--set", "X-OTRS-Queue=Tier 2", "--stop")
    cli("address", "create", "tier1@example.com", "--name", "Tier 1")
    cli("salutation", "create", "formal", "--body", "Dear <OTRS_CUSTOMER_REALNAME>,")
    cli("salutation", "create", "formal", "--language", "de", "--body", "Hallo <OTRS_CUSTOMER_REALNAME>,")
    cli("signature", "create", "team", "--body", "-- \nTier 1")
    cli("queue", "update", "Tier 1", "--address", "tier1@example.com", "--salutation", "formal", "--signature", "team")
    cli("template", "create", "thanks", "--body", "Thanks", "--queue", "Tier 1", "--queue", "Tier 2")
    cli("template", "create", "thanks", "--language", "de", "--body", "Danke", "--subject", "Re: <OTRS_TICKET_Title>")
    cli("notification", "apply", "-f", "-", input=RULE)


@pytest.fixture
def other_url(backend: str, servers: dict[str, Server], tmp_path: Path) -> Iterator[str]:
    """A second initialised database on the same backend (the first is `cli`'s)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'other.db'}"
        server = None
    else:
        server = _server_or_skip(servers, backend)
        url = server.create()
    desk = Desk(url)
    desk.init()
    desk.close()
    yield url
    if server is not None:
        server.drop(url)


def test_dump_of_a_fresh_desk_applies_back_with_no_change(cli: Cli) -> None:
    dumped = cli("desk", "dump").stdout
    assert set(yaml.safe_load(dumped)) == {
        "settings",
        "groups",
        "agents",
        "roles",
        "calendars",
        "queues",
        "types",
        "autoresponses",
        "grants",
        "fields",
        "jobs",
        "mail_filters",
        "addresses",
        "salutations",
        "signatures",
        "templates",
        "notifications",
    }
    before = dump(cli.db_url)
    applied = cli("desk", "apply", "-f", "-", "-o", "json", input=dumped)
    assert (applied.json, applied.stderr.strip()) == ([], "nothing to do")
    assert dump(cli.db_url) == before
    assert cli("desk", "dump").stdout == dumped


def test_dump_of_a_populated_desk_rebuilds_it_in_a_new_database(cli: Cli, other_url: str, monkeypatch) -> None:
    populate(cli)
    dumped = cli("desk", "dump").stdout
    document = yaml.safe_load(dumped)
    assert "password" not in dumped and "s3cret" not in dumped  # no secret, not even whether one is set
    assert {"login": "carol", "name": None, "email": None, "language": None, "valid": False} in document["agents"]
    other = Cli(other_url, monkeypatch)
    created = other("desk", "apply", "-f", "-", "-o", "json", input=dumped).json
    assert {(c["kind"], c["name"], c["action"]) for c in created} >= {
        ("group", "support", "create"),
        ("queue", "Junk", "update"),
        ("queue", "Tier 1", "create"),
        ("grant", "role l1 on support", "create"),
        ("job", "stale", "create"),
        ("mail_filter", "spam", "create"),
        ("notification", "tier1-escalations", "create"),
    }
    assert other("desk", "dump").stdout == dumped
    assert other("notification", "dump").stdout == cli("notification", "dump").stdout
    assert other("queue", "show", "Tier 1", "-o", "json").json["escalate_to"] == "Tier 2"
    assert other("autoresponse", "show", "hello", "-o", "json").json["queues"] == ["Tier 1"]
    tier1 = other("queue", "show", "Tier 1", "-o", "json").json
    assert (tier1["address"], tier1["salutation"], tier1["signature"]) == ("tier1@example.com", "formal", "team")
    german = other("template", "show", "thanks", "--language", "de", "-o", "json").json
    assert (german["body"], german["queues"]) == ("Danke", ["Tier 1", "Tier 2"])
    # The audit trail has the entries the setup commands write.
    audited = {(e["action"], e["object"], e["name"]) for e in other("audit", "list", "-o", "json").json}
    assert {("create", "group", "support"), ("create", "queue", "Tier 1"), ("disable", "queue", "Junk")} <= audited


def test_every_list_and_show_applies_back_to_its_own_apply(cli: Cli) -> None:
    populate(cli)
    before = dump(cli.db_url)
    for noun in NOUNS:
        for fmt in ("yaml", "json"):
            listed = cli(noun, "list", "-o", fmt).stdout
            dry = cli(noun, "apply", "-f", "-", "--dry-run", "-o", "json", input=listed)
            assert (dry.json, dry.stderr.strip()) == ([], "nothing to do"), noun
            applied = cli(noun, "apply", "-f", "-", "-o", fmt, input=listed).stdout
            assert yaml.safe_load(applied) == yaml.safe_load(listed), noun
        first = yaml.safe_load(cli(noun, "list", "-o", "json").stdout)[0]
        key = "login" if noun == "agent" else "name"
        shown = cli(noun, "show", first[key], "-o", "yaml").stdout
        cli(noun, "apply", "-f", "-", input=shown)
    assert dump(cli.db_url) == before


def test_apply_dry_run_prints_the_diff_writes_nothing_and_exits_as_the_real_run(cli: Cli) -> None:
    populate(cli)
    queues = yaml.safe_load(cli("queue", "list", "-o", "yaml").stdout)
    tier1 = next(q for q in queues if q["name"] == "Tier 1")
    tier1.update(unlock_timeout=30, calendar=None)
    before = dump(cli.db_url)
    dry = cli("queue", "apply", "-f", "-", "--dry-run", "-o", "json", input=yaml.safe_dump(tier1))
    assert dry.json == [
        {
            "kind": "queue",
            "name": "Tier 1",
            "action": "update",
            "changes": {"unlock_timeout": {"from": None, "to": 30}, "calendar": {"from": "support", "to": None}},
        }
    ]
    assert "nothing was written" in dry.stderr
    assert dump(cli.db_url) == before
    for bad, code in (({"name": "X", "colour": "red"}, 2), ({"name": "X", "group": "nope"}, 3)):
        for dry_run in ((), ("--dry-run",)):
            result = cli("queue", "apply", "-f", "-", *dry_run, "-o", "json", input=yaml.safe_dump(bad), expect=code)
            assert result.stdout == ""
    error = cli("queue", "apply", "-f", "-", input="name: X\ncolour: red\n", expect=2).stderr
    assert error.count("\n") == 1 and "unknown queue key colour; known: name, group, valid" in error
    assert dump(cli.db_url) == before
    cli("queue", "apply", "-f", "-", input=yaml.safe_dump(tier1))
    assert cli("queue", "show", "Tier 1", "-o", "json").json["unlock_timeout"] == 30


def test_desk_apply_is_one_transaction(cli: Cli) -> None:
    before = dump(cli.db_url)
    document = {
        "groups": [{"name": "support"}],
        "queues": [{"name": "Tier 1", "group": "support", "calendar": "missing"}],
    }
    error = cli("desk", "apply", "-f", "-", "-o", "json", input=yaml.safe_dump(document), expect=3).error
    assert error["code"] == "not_found" and "missing" in error["message"]
    assert dump(cli.db_url) == before
    cli("desk", "apply", "-f", "-", input="queues: [{name: Q}]\nlabels: []\n", expect=2)
    cli("desk", "apply", "-f", "-", input="queues: [{name: Q}, {name: Q}]\n", expect=2)
    assert dump(cli.db_url) == before


def test_prune_removes_or_disables_what_the_document_leaves_out(cli: Cli) -> None:
    populate(cli)
    document = yaml.safe_load(cli("desk", "dump").stdout)
    document["queues"] = [q for q in document["queues"] if q["name"] != "Tier 2" and q["name"] != "Misc"]
    document["jobs"] = []
    document["notifications"] = [n for n in document["notifications"] if n["name"] != "lock-timeout"]
    document["grants"] = [g for g in document["grants"] if g.get("agent") != "bob"]
    document["agents"] = [a for a in document["agents"] if a["login"] != "carol"]
    document["salutations"] = [t for t in document["salutations"] if t["language"] != "de"]
    del document["calendars"]  # a section left out is left alone, even with --prune
    text = yaml.safe_dump(document, sort_keys=False)
    before = dump(cli.db_url)
    assert cli("desk", "apply", "-f", "-", "-o", "json", input=text).json == []  # without --prune: nothing removed
    assert dump(cli.db_url) == before
    dry = cli("desk", "apply", "-f", "-", "--prune", "--dry-run", "-o", "json", input=text).json
    assert dump(cli.db_url) == before
    pruned = cli("desk", "apply", "-f", "-", "--prune", "-o", "json", input=text).json
    assert pruned == dry
    assert {(c["kind"], c["name"], c["action"]) for c in pruned} == {
        ("queue", "Misc", "update"),
        ("queue", "Tier 2", "update"),
        ("grant", "agent bob on users", "remove"),
        ("job", "stale", "remove"),
        ("salutation", "formal (de)", "update"),
        ("notification", "lock-timeout", "remove"),
    }  # carol was disabled already; an agent, group, role or queue is disabled, never deleted
    assert cli("queue", "show", "Tier 2", "-o", "json").json["valid"] is False
    assert cli("job", "list", "-o", "json").json == []
    assert cli("salutation", "show", "formal", "--language", "de", "-o", "json").json["valid"] is False
    assert "lock-timeout" not in cli("notification", "list", "-q").stdout.split()
    assert cli("calendar", "list", "-q").stdout == "support\n"
    assert cli("desk", "apply", "-f", "-", "--prune", "-o", "json", input=text).json == []


def test_desk_dump_and_apply_need_admin(cli: Cli) -> None:
    cli("agent", "create", "bob")
    cli("acl", "grant", "rw", "--group", "users", "--agent", "bob")
    dumped = cli("desk", "dump").stdout
    before = dump(cli.db_url)
    cli("--as", "bob", "desk", "dump", expect=4)
    cli("--as", "bob", "desk", "apply", "-f", "-", "--dry-run", input=dumped, expect=4)
    cli("--as", "bob", "queue", "apply", "-f", "-", input="name: Q\n", expect=4)
    assert dump(cli.db_url) == before

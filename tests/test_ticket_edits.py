"""Issue 12, part A: ticket types, `ticket update`, `ticket delete` and the new filters, on every backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from email.message import EmailMessage

import pytest
import yaml

from tests.conftest import Cli, dump
from tktctl.api import Desk, TicketFilter


def create(cli: Cli, *args: str) -> str:
    return cli("ticket", "create", "--title", "t", *args, "-q").stdout.strip()


def summary(result: object) -> dict[str, object]:
    return json.loads(result.stderr.strip().splitlines()[-1])["summary"]  # type: ignore[attr-defined]


def history(desk: Desk, tn: str, *types: str) -> list[tuple[str, dict[str, object]]]:
    return [(h["type"], h["data"]) for h in desk.tickets.history(tn) if h["type"] in types]


# Ticket types ------------------------------------------------------------------------------


def test_types_are_managed_objects_and_type_is_validated(cli: Cli, desk: Desk) -> None:
    assert [t["name"] for t in cli("type", "list", "-o", "json").json] == ["Unclassified"]  # OTRS's default
    made = cli("type", "create", "Incident", "--comment", "Something broke", "-o", "json").json
    assert (made["name"], made["comment"], made["valid"]) == ("Incident", "Something broke", True)
    cli("type", "create", "Incident", expect=5)
    assert cli("type", "create", "Incident", "--if-not-exists", "-o", "json").json["id"] == made["id"]

    unknown = cli("ticket", "create", "--title", "t", "--type", "Nope", "-o", "json", expect=2)
    assert unknown.error["code"] == "usage"
    assert "'Nope'" in unknown.error["message"] and "Incident, Unclassified" in unknown.error["message"]
    tn = create(cli, "--type", "Incident")
    assert cli("ticket", "show", tn, "-o", "json").json["type"] == "Incident"

    # A rename follows onto the tickets; the id stays; the audit says so.
    renamed = cli("type", "update", "Incident", "--rename", "Problem", "-o", "json").json
    assert (renamed["id"], renamed["name"], renamed["comment"]) == (made["id"], "Problem", "Something broke")
    assert desk.tickets.show(tn)["type"] == "Problem"
    entry = [a for a in desk.audit.list(objects=["type"]) if a["action"] == "update"][-1]
    assert entry["data"] == {"name": {"from": "Incident", "to": "Problem"}, "tickets": 1}

    # Disabled: the tickets keep it, no ticket is given it.
    cli("type", "disable", "Problem")
    assert desk.tickets.show(tn)["type"] == "Problem"
    refused = cli("ticket", "create", "--title", "t", "--type", "Problem", "-o", "json", expect=2)
    assert "valid types: Unclassified" in refused.error["message"]
    cli("ticket", "update", tn, "--type", "Problem", "--title", "x", expect=2)
    cli("type", "enable", "Problem")
    cli("ticket", "create", "--title", "t", "--type", "Problem")
    cli("type", "create", "x" * 101, expect=2)


def test_types_travel_in_desk_dump_and_export_import(cli: Cli, desk: Desk) -> None:
    cli("type", "create", "Incident")
    document = yaml.safe_load(cli("desk", "dump").stdout)
    assert [t["name"] for t in document["types"]] == ["Incident", "Unclassified"]
    applied = cli("desk", "apply", "-f", "-", "-o", "json", input="types:\n- name: Request\n  comment: asked\n").json
    assert [(c["action"], c["kind"], c["name"]) for c in applied] == [("create", "type", "Request")]
    assert desk.types.show("Request")["comment"] == "asked"

    tn = create(cli, "--type", "Incident")
    (record,) = cli("ticket", "export", "--type", "Incident", "-o", "jsonl").jsonl
    assert record["tn"] == tn
    assert record["type"] == "Incident"
    imported = {"title": "again", "type": record["type"]}
    (outcome,) = cli("ticket", "import", "-", "-o", "json", input=json.dumps(imported)).json
    assert desk.tickets.show(outcome["tn"])["type"] == "Incident"
    bad = cli("ticket", "import", "-", "-o", "json", input=json.dumps({"title": "x", "type": "Nope"}), expect=2)
    assert "unknown ticket type 'Nope'" in bad.stderr


# ticket update -------------------------------------------------------------------------------


def test_update_sets_each_field_with_its_otrs_history(cli: Cli, desk: Desk) -> None:
    desk.agents.create("bob")
    cli("type", "create", "Incident")
    tns = [create(cli, "--customer", "old") for _ in range(3)]
    result = cli(
        "ticket", "update", tns[0], "-", "--title", "New title", "--customer", "acme", "--type", "Incident",
        "--responsible", "bob", "-o", "json", input=f"{tns[1]}\n",
    )  # fmt: skip
    assert [(t["tn"], t["title"], t["customer"], t["type"], t["responsible"]) for t in result.json] == [
        (tn, "New title", "acme", "Incident", "bob") for tn in tns[:2]
    ]
    assert summary(result) == {"matched": 2, "changed": 2, "failed": 0, "dry_run": False}
    types = ("TitleUpdate", "CustomerUpdate", "TypeUpdate", "ResponsibleUpdate", "ExternalIdUpdate")
    assert history(desk, tns[0], *types) == [
        ("TitleUpdate", {"from": "t", "to": "New title"}),
        ("CustomerUpdate", {"from": "old", "to": "acme"}),
        ("TypeUpdate", {"from": None, "to": "Incident"}),
        ("ResponsibleUpdate", {"from": None, "to": "bob"}),
    ]
    assert desk.tickets.show(tns[2])["title"] == "t"  # not named, not changed

    # The same values again: nothing changes, no history.
    again = cli("ticket", "update", tns[0], "--title", "New title", "--type", "Incident", "-o", "json")
    assert summary(again)["changed"] == 0
    assert len(history(desk, tns[0], *types)) == 4

    # External id: one ticket, unique; --clear empties fields.
    cli("ticket", "update", tns[0], "--external-id", "K-1")
    assert history(desk, tns[0], "ExternalIdUpdate") == [("ExternalIdUpdate", {"from": None, "to": "K-1"})]
    assert cli("ticket", "update", tns[1], "--external-id", "K-1", "-o", "json", expect=5).error["code"] == "conflict"
    cli("ticket", "update", tns[1], tns[2], "--external-id", "K-2", expect=2)
    cleared = cli("ticket", "update", tns[0], "--clear", "type", "--clear", "responsible", "--clear", "external-id")
    assert cleared.exit_code == 0
    shown = desk.tickets.show(tns[0])
    assert (shown["type"], shown["responsible"], shown["external_id"]) == (None, None, None)
    assert history(desk, tns[0], "ResponsibleUpdate")[-1] == ("ResponsibleUpdate", {"from": "bob", "to": None})
    cli("ticket", "update", tns[0], "--clear", "title", expect=2)
    cli("ticket", "update", tns[0], "--title", "x", "--clear", "title", expect=2)
    cli("ticket", "update", tns[0], "--type", "t", "--clear", "type", expect=2)
    cli("ticket", "update", tns[0], expect=2)  # nothing to change
    cli("ticket", "update", tns[0], "--responsible", "ghost", expect=3)
    for flag in ("--title", "--customer", "--type", "--responsible", "--external-id"):
        cli("ticket", "update", tns[0], flag, " ", expect=2)  # empty: --clear says so


def test_update_takes_filters_but_not_those_named_like_its_flags(cli: Cli, desk: Desk) -> None:
    desk.queues.create("Tier 2")
    moved = [create(cli, "--queue", "Tier 2") for _ in range(2)]
    other = create(cli)
    result = cli("ticket", "update", "--queue", "Tier 2", "--customer", "acme", "-o", "json")
    assert sorted(t["tn"] for t in result.json) == sorted(moved)
    assert desk.tickets.show(other)["customer"] is None
    # --customer sets: it is not a filter here (pipe `ticket list --customer` in instead).
    assert cli("ticket", "update", "--customer", "x", expect=2).exit_code == 2  # no tickets given
    piped = cli("ticket", "list", "--customer", "acme", "-o", "jsonl").stdout
    cli("ticket", "update", "-", "--title", "Piped", input=piped)
    assert {desk.tickets.show(tn)["title"] for tn in moved} == {"Piped"}
    help_text = cli("ticket", "update", "--help").stdout
    assert "--queue" in help_text and "Customer (repeatable)" not in help_text


def test_update_dry_run_writes_nothing_and_runs_are_atomic(cli: Cli, desk: Desk) -> None:
    desk.agents.create("bob")
    desk.acl.grant("rw", group="users", agent="bob")
    tns = [create(cli) for _ in range(3)]
    before = dump(cli.db_url)
    dry = cli("ticket", "update", *tns, "--title", "Dry", "--dry-run", "-o", "json")
    assert [t["title"] for t in dry.json] == ["Dry"] * 3
    assert summary(dry) == {"matched": 3, "changed": 3, "failed": 0, "dry_run": True}
    assert dump(cli.db_url) == before

    # The last ticket is locked by root: bob's run over all three changes none of them.
    desk.tickets.lock([tns[2]])
    bob = ("--as", "bob")
    failed = cli(*bob, "ticket", "update", *tns, "--title", "Bob", "-o", "json", expect=5)
    assert failed.stdout == "" and tns[2] in failed.error["message"]
    assert {desk.tickets.show(tn)["title"] for tn in tns} == {"t"}
    # One transaction each: the two others change, exit 7.
    partial = cli(*bob, "ticket", "update", *tns, "--title", "Bob", "--continue-on-error", "-o", "json", expect=7)
    assert [(o["tn"], o["ok"]) for o in partial.json] == [(tns[0], True), (tns[1], True), (tns[2], False)]
    assert [desk.tickets.show(tn)["title"] for tn in tns] == ["Bob", "Bob", "t"]


def test_update_permissions(cli: Cli, desk: Desk) -> None:
    desk.agents.create("bob")
    desk.acl.grant("ro", group="users", agent="bob")
    desk.acl.grant("owner", group="users", agent="bob")
    tn = create(cli)
    bob = ("--as", "bob")
    denied = cli(*bob, "ticket", "update", tn, "--title", "x", "-o", "json", expect=4)
    assert "'rw'" in denied.error["message"]
    cli(*bob, "ticket", "update", tn, "--responsible", "bob")  # as `ticket assign --responsible`: owner
    assert desk.tickets.show(tn)["responsible"] == "bob"
    desk.groups.create("secret")
    desk.queues.create("Secret", group="secret")
    hidden = create(cli, "--queue", "Secret")
    cli(*bob, "ticket", "update", hidden, "--responsible", "bob", expect=3)


# ticket delete -------------------------------------------------------------------------------


def _mail_with_attachment(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "alice@example.com"
    message["To"] = "support@example.com"
    message["Subject"] = subject
    message.set_content("see attached")
    message.add_attachment(b"\x00\x01 log", maintype="application", subtype="octet-stream", filename="log.bin")
    return message.as_bytes()


def test_delete_removes_everything_of_the_tickets_and_audits_it(cli: Cli, desk: Desk) -> None:
    from sqlalchemy import create_engine, func, select

    from tktctl.db.models import Article, ArticlePlain, Attachment, History, Ticket

    gone = desk.mail.ingest(_mail_with_attachment("gone"))["ticket"]
    cli("ticket", "note", gone, "--body", "a note")
    kept = desk.mail.ingest(_mail_with_attachment("kept"))["ticket"]
    before = dump(cli.db_url)
    dry = cli("ticket", "delete", gone, "--dry-run", "-o", "json")
    assert [(t["tn"], t["articles"]) for t in dry.json] == [(gone, 2)]
    assert dump(cli.db_url) == before

    result = cli("ticket", "delete", gone, "--yes", "-o", "json")
    assert [(t["tn"], t["title"], t["articles"]) for t in result.json] == [(gone, "gone", 2)]
    cli("ticket", "show", gone, expect=3)
    engine = create_engine(desk.engine.url)
    try:
        with engine.connect() as conn:
            counts = {
                model.__name__: conn.scalar(select(func.count()).select_from(model))
                for model in (Ticket, Article, Attachment, ArticlePlain)
            }
            left = conn.scalar(select(func.count()).select_from(History).where(History.ticket_id != None))  # noqa: E711
    finally:
        engine.dispose()
    assert counts == {"Ticket": 1, "Article": 1, "Attachment": 1, "ArticlePlain": 1}  # the kept ticket's
    assert left == len(desk.tickets.history(kept))
    (entry,) = [a for a in desk.audit.list(objects=["ticket"]) if a["action"] == "delete"]
    assert (entry["actor"], entry["name"]) == ("root@localhost", gone)
    assert entry["data"] == {"count": 1, "tickets": [gone], "articles": 2}


def test_delete_off_a_terminal_needs_yes_and_filters_select(cli: Cli, desk: Desk) -> None:
    tns = [create(cli, "--customer", "spam") for _ in range(3)]
    keep = create(cli)
    before = dump(cli.db_url)
    refused = cli("ticket", "delete", tns[0], "-o", "json", expect=2)
    assert "--yes" in refused.error["message"] and refused.stdout == ""
    cli("ticket", "delete", "-", input=f"{tns[0]}\n", expect=2)
    assert dump(cli.db_url) == before
    result = cli("ticket", "delete", "--customer", "spam", "--yes", "-q")
    assert sorted(result.stdout.split()) == sorted(tns)
    assert [t["tn"] for t in desk.tickets.list()] == [keep]
    entry = [a for a in desk.audit.list(objects=["ticket"]) if a["action"] == "delete"][-1]
    assert (entry["name"], sorted(entry["data"]["tickets"]), entry["data"]["count"]) == ("3 tickets", sorted(tns), 3)
    cli("ticket", "delete", tns[0], "--yes", expect=3)
    # Atomic: one missing ticket deletes none; --continue-on-error deletes the rest, exit 7.
    cli("ticket", "delete", keep, tns[0], "--yes", expect=3)
    assert desk.tickets.show(keep)
    partial = cli("ticket", "delete", keep, tns[0], "--yes", "--continue-on-error", "-o", "json", expect=7)
    assert [(o["tn"], o["ok"]) for o in partial.json] == [(keep, True), (tns[0], False)]
    assert desk.tickets.count() == 0


def test_delete_needs_rw_and_hides_invisible_tickets(cli: Cli, desk: Desk) -> None:
    desk.agents.create("bob")
    for permission in ("ro", "move_into", "create", "note", "owner", "priority"):
        desk.acl.grant(permission, group="users", agent="bob")
    tn = create(cli)
    denied = cli("--as", "bob", "ticket", "delete", tn, "--yes", "-o", "json", expect=4)
    assert "'rw'" in denied.error["message"]
    desk.groups.create("secret")
    desk.queues.create("Secret", group="secret")
    hidden = create(cli, "--queue", "Secret")
    cli("--as", "bob", "ticket", "delete", hidden, "--yes", expect=3)
    assert desk.tickets.count() == 2
    assert desk.audit.list(objects=["ticket"]) is not None
    assert not [a for a in desk.audit.list(objects=["ticket"]) if a["action"] == "delete"]


@pytest.mark.parametrize(("answer", "code"), [("n\n", 130), ("y\n", 0)])
def test_delete_asks_on_a_terminal(db_url: str, desk: Desk, answer: str, code: int) -> None:
    """Through the installed program, with a terminal as stdin: the question, then the answer's effect."""
    tn = desk.tickets.create(title="asked", body="b")["tn"]
    main, side = os.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "tktctl", "--db", db_url, "ticket", "delete", tn],
            stdin=side,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        os.write(main, answer.encode())
        _out, err = process.communicate(timeout=60)
    finally:
        os.close(main)
        os.close(side)
    assert process.returncode == code, err
    assert b"delete 1 ticket and 1 article?" in err
    assert desk.tickets.count(TicketFilter(title="asked")) == (1 if code else 0)


# Filters -------------------------------------------------------------------------------------


def test_new_filters_work_in_list_count_stats_export_and_bulk_verbs(cli: Cli, desk: Desk) -> None:
    desk.agents.create("bob")
    cli("type", "create", "Incident")
    cli("queue", "update", "Misc", "--first-response-time", "60")
    typed = create(cli, "--type", "Incident", "--responsible", "bob")
    keyed = create(cli, "--external-id", "ALERT-1")
    pending = create(cli, "--state", "pending reminder", "--pending-until", "+2d")
    escalating = create(cli, "--queue", "Misc")
    plain = create(cli)

    def listed(*flags: str) -> list[str]:
        return cli("ticket", "list", *flags, "-q").stdout.split()

    assert listed("--type", "Incident") == [typed]
    assert listed("--type", "Incident", "--type", "Unclassified") == [typed]
    cli("ticket", "list", "--type", "Nope", expect=2)
    assert listed("--responsible", "bob") == [typed]
    cli("ticket", "list", "--responsible", "ghost", expect=3)
    assert listed("--external-id", "ALERT-1") == [keyed]
    assert listed("--pending-before", "+3d") == [pending]
    assert listed("--pending-after", "+1d") == [pending]
    assert listed("--pending-before", "+1d") == []
    assert listed("--escalation-before", "+2h") == [escalating]
    assert listed("--escalation-before", "+30m") == []
    assert listed("--breached") == []
    assert escalating in listed("--not-breached") and plain in listed("--not-breached")
    # Past its deadline: a desk whose clock is two hours on.
    from datetime import datetime, timedelta, timezone

    later = Desk(cli.db_url, clock=lambda: datetime.now(timezone.utc) + timedelta(hours=2))
    try:
        assert [t["tn"] for t in later.tickets.list(TicketFilter(breached=True))] == [escalating]
        assert later.tickets.count(TicketFilter(breached=False)) == 4
    finally:
        later.close()

    assert cli("ticket", "count", "--type", "Incident", "-o", "json").json == {"count": 1}
    stats = cli("stats", "--responsible", "bob", "--by", "queue", "-o", "json").json
    assert stats == [{"queue": "Raw", "count": 1, "time_units": 0.0}]
    assert [t["tn"] for t in cli("ticket", "export", "--external-id", "ALERT-1", "-o", "jsonl").jsonl] == [keyed]
    moved = cli("ticket", "move", "--escalation-before", "+2h", "--to", "Junk", "-q").stdout.split()
    assert moved == [escalating]
    # A saved job's filter takes them too.
    job = "name: pend\nfilter: {pending-before: +3d}\nactions: {priority: '5'}\n"
    cli("job", "apply", "-f", "-", input=job)
    cli("job", "run", "pend")
    assert desk.tickets.show(pending)["priority"] == 5


# Migration 0007 ------------------------------------------------------------------------------


def test_migration_keeps_the_types_tickets_carry(empty_db_url: str) -> None:
    """Down to 0006 (a free-text type), a type no one created, up again: it becomes a managed type."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from tktctl.db.migrate import MIGRATIONS

    desk = Desk(empty_db_url)
    desk.init()
    tn = desk.tickets.create(title="old", type="Unclassified")["tn"]
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with desk.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")
    with desk.engine.begin() as conn:
        conn.execute(text("UPDATE ticket SET type = 'Legacy, old'"))
    desk.upgrade()
    assert desk.tickets.show(tn)["type"] == "Legacy, old"
    assert [(t["name"], t["valid"]) for t in desk.types.list()] == [("Legacy, old", True), ("Unclassified", True)]
    assert desk.types.show("Unclassified")["comment"] == "Default ticket type."
    with pytest.raises(Exception, match=r"(?i)foreign key"), desk.engine.begin() as conn:
        conn.execute(text("UPDATE ticket SET type = 'Nope'"))
    desk.close()

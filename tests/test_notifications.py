"""Notification rules, watchers, muted events and attachments out, end to end through the outbox to a
real SMTP server (aiosmtpd), on every backend; recipients are checked against permissions."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Cli
from tests.mailservers import SmtpSink
from tests.test_mail import message, smtp  # noqa: F401  (the SMTP server fixture)
from tktctl.api import Desk

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # in the past: `mail send` finds the mail due


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def people(desk: Desk) -> None:
    """bob and dave may read `users` (Raw, Misc); carol may read nothing; erin is in role oncall."""
    for login in ("bob", "carol", "dave", "erin"):
        desk.agents.create(login, name=login.title(), email=f"{login}@example.com")
    desk.acl.grant("ro", group="users", agent="bob")
    desk.acl.grant("ro,note", group="users", agent="dave")
    desk.roles.create("oncall")
    desk.roles.add_agents("oncall", ["erin", "carol"])
    desk.acl.grant("ro", group="users", role="oncall")
    desk.groups.create("secret")
    desk.queues.create("Vault", group="secret")


def rules(cli: Cli, tmp_path: Path, *documents: dict[str, Any], expect: int = 0, prune: bool = False) -> Any:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(list(documents)))
    return cli("notification", "apply", "-f", str(path), "-o", "json", *(["--prune"] if prune else []), expect=expect)


def sent(cli: Cli, smtp: SmtpSink) -> list[tuple[str, str]]:  # noqa: F811
    cli("mail", "send")
    got = sorted((r.rcpt_tos[0], str(r.message["Subject"])) for r in smtp.received)
    smtp.received.clear()
    return got


def test_rules_apply_list_dump_and_prune(cli: Cli, tmp_path: Path, desk: Desk) -> None:
    defaults = [r["name"] for r in cli("notification", "list", "-o", "json").json]
    assert defaults == ["escalation", "follow-up", "lock-timeout", "new-ticket", "pending-reminder"]
    rule = {"name": "moves", "events": ["Move"], "recipients": ["watchers"], "filter": {"queue": ["Misc"]}}
    assert rules(cli, tmp_path, rule).json == [{"action": "created", "name": "moves"}]
    assert rules(cli, tmp_path, rule).json == [{"action": "unchanged", "name": "moves"}]
    listed = {r["name"]: r for r in cli("notification", "list", "-o", "json").json}
    assert listed["moves"]["filter"] == {"queue": ["Misc"]} and listed["moves"]["valid"] is True
    # dump -> apply is a fixed point
    dumped = yaml.safe_load(cli("notification", "dump").stdout)["rules"]
    (tmp_path / "dump.yaml").write_text(yaml.safe_dump({"rules": dumped}))
    again = cli("notification", "apply", "-f", str(tmp_path / "dump.yaml"), "-o", "json").json
    assert {c["action"] for c in again} == {"unchanged"}
    dry = rules(cli, tmp_path, {**rule, "events": ["Move", "StateUpdate"]}, prune=True)
    assert dry.json[0] == {"action": "updated", "name": "moves"}
    assert sorted(c["name"] for c in dry.json if c["action"] == "deleted") == defaults
    assert [r["name"] for r in cli("notification", "list", "-o", "json").json] == ["moves"]
    audit = [(e["action"], e["name"]) for e in desk.audit.list(objects=["notification"])]
    assert ("create", "moves") in audit and ("delete", "new-ticket") in audit


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ({"name": "x", "events": ["Nope"], "recipients": ["owner"]}, 2),
        ({"name": "x", "events": ["Move"]}, 2),
        ({"name": "x", "events": ["Move"], "recipients": ["everyone"]}, 2),
        ({"name": "x", "events": ["Move"], "recipients": ["owner"], "colour": "red"}, 2),
        ({"name": "x", "events": ["Move"], "recipients": ["owner"], "filter": {"colour": "red"}}, 2),
        ({"name": "x", "events": ["Move"], "agents": ["nobody"]}, 3),
        ({"name": "x", "events": ["Move"], "roles": ["nobody"]}, 3),
        ({"name": "x", "events": ["Move"], "recipients": ["owner"], "filter": {"queue": ["Nowhere"]}}, 3),
    ],
)
def test_bad_rules_are_refused_and_change_nothing(cli: Cli, tmp_path: Path, rule: dict[str, Any], code: int) -> None:
    rules(cli, tmp_path, rule, expect=code)
    assert "x" not in [r["name"] for r in cli("notification", "list", "-o", "json").json]


def test_only_admins_apply_rules(cli: Cli, tmp_path: Path, desk: Desk) -> None:
    desk.agents.create("bob")
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump([{"name": "x", "events": ["Move"], "recipients": ["owner"]}]))
    cli("--as", "bob", "notification", "apply", "-f", str(path), expect=4)


def test_move_rule_mails_watchers_named_agents_groups_roles_and_the_customer_who_may_read(
    cli: Cli,
    tmp_path: Path,
    desk: Desk,
    smtp: SmtpSink,  # noqa: F811
) -> None:
    people(desk)
    rules(
        cli,
        tmp_path,
        {
            "name": "moves",
            "events": ["Move"],
            "filter": {"queue": ["Misc", "Vault"]},
            "recipients": ["watchers", "customer"],
            "agents": ["carol"],  # carol may read only through the role
            "roles": ["oncall"],
            "subject": "Moved <OTRS_TICKET_TicketNumber> to $queue",
            "body": "Hello <OTRS_NOTIFICATION_RECIPIENT_UserFullname>: $title is in $queue now.",
        },
    )
    tn = cli("ticket", "create", "--title", "Printer", "--customer", "cust@example.com", "-q").stdout.strip()
    cli("--as", "bob", "ticket", "watch", tn)
    cli("ticket", "watch", tn, "--agent", "dave")
    assert desk.tickets.show(tn)["watchers"] == ["bob", "dave"]
    cli("agent", "update", "dave", "--mute", "Move")
    desk.roles.set_valid("oncall", False)  # erin and carol lose their read right: not told
    sent(cli, smtp)
    cli("ticket", "move", tn, "--to", "Misc")
    assert sent(cli, smtp) == [
        ("bob@example.com", f"[Ticket#{tn}] Moved {tn} to Misc"),
        ("cust@example.com", f"[Ticket#{tn}] Moved {tn} to Misc"),
    ]
    desk.roles.set_valid("oncall", True)
    cli("ticket", "move", tn, "--to", "Raw")  # outside the filter: nobody
    assert sent(cli, smtp) == []
    cli("agent", "update", "dave", "--unmute", "Move")
    cli("--as", "bob", "ticket", "unwatch", tn)
    cli("ticket", "move", tn, "--to", "Misc")
    got = sent(cli, smtp)
    assert [r for r, _ in got] == [
        "carol@example.com",
        "cust@example.com",
        "dave@example.com",
        "erin@example.com",
    ]
    cli("ticket", "move", tn, "--to", "Vault")  # the agents may not read Vault: only the customer
    assert [r for r, _ in sent(cli, smtp)] == ["cust@example.com"]
    history = [h for h in desk.tickets.history(tn) if h["type"] == "SendAgentNotification"]
    assert {"to": "erin", "event": "Move"} in [h["data"] for h in history]
    assert [h["type"] for h in desk.tickets.history(tn)].count("Subscribe") == 2


def test_watching_for_another_agent_needs_rw_and_a_reader(cli: Cli, desk: Desk) -> None:
    people(desk)
    tn = desk.tickets.create(title="t", queue="Raw")["tn"]
    desk.roles.set_valid("oncall", False)
    cli("ticket", "watch", tn, "--agent", "carol", expect=4)  # carol may not read Raw (only through oncall)
    cli("--as", "dave", "ticket", "watch", tn, "--agent", "bob", expect=4)  # dave has no rw
    vault = desk.tickets.create(title="v", queue="Vault")["tn"]
    cli("--as", "bob", "ticket", "watch", vault, expect=3)  # cannot see it: not found
    cli("--as", "bob", "ticket", "watch", tn, "--dry-run")
    assert desk.tickets.show(tn)["watchers"] == []
    cli("ticket", "watch", tn, "--agent", "nobody", expect=3)
    cli("agent", "update", "bob", "--mute", "Nope", expect=2)
    cli("--as", "bob", "agent", "update", "dave", "--mute", "Move", expect=4)
    assert cli("--as", "bob", "agent", "update", "bob", "--mute", "Move", "-o", "json").json["muted"] == ["Move"]


def test_bulk_state_change_resolves_recipients_in_one_pass(cli: Cli, tmp_path: Path, desk: Desk) -> None:
    people(desk)
    rules(cli, tmp_path, {"name": "states", "events": ["StateUpdate"], "recipients": ["owner"], "groups": ["users"]})
    tns = [desk.tickets.create(title=f"t{n}", queue="Raw", owner="bob")["tn"] for n in range(30)]
    desk.tickets.create(title="vault", queue="Vault", owner="bob")
    cli("ticket", "close", "--queue", "Raw", "--queue", "Vault")
    outbox = desk.mail.outbox()
    # Raw: bob (owner and member), dave, carol and erin (ro through oncall); Vault: bob as its owner only.
    assert len(outbox) == 30 * 4 + 1
    assert {m["ticket"] for m in outbox} >= set(tns)


def test_pending_reminders_and_lock_timeouts_are_mailed_to_the_owner(
    db_url: str,
    cli: Cli,
    smtp: SmtpSink,  # noqa: F811
) -> None:
    clock = Clock()
    desk = Desk(db_url, clock=clock)
    people(desk)
    desk.queues.update("Misc", unlock_timeout=30)
    reminded = desk.tickets.create(title="call back", queue="Raw", owner="bob")["tn"]
    desk.tickets.set_state([reminded], to="pending reminder", pending_until=T0 + timedelta(hours=1))
    desk.acl.grant("owner", group="users", agent="dave")
    locked = desk.tickets.create(title="held", queue="Misc")["tn"]
    Desk(db_url, actor="dave", clock=clock).tickets.lock([locked])
    clock.now = T0 + timedelta(days=3)
    assert [r["action"] for r in desk.maint.pending()] == ["reminder"]
    assert desk.maint.pending() == []  # once per pending time
    assert [r["tn"] for r in desk.maint.unlock_timeout()] == [locked]
    cli("mail", "send")
    got = sorted((r.rcpt_tos[0], str(r.message["Subject"])) for r in smtp.received)
    assert got == [
        ("bob@example.com", f"[Ticket#{reminded}] PendingReminder: call back"),
        ("dave@example.com", f"[Ticket#{locked}] LockTimeout: held"),
    ]
    desk.close()


def test_attachments_round_trip_through_smtp_and_back_in(
    cli: Cli,
    tmp_path: Path,
    desk: Desk,
    smtp: SmtpSink,  # noqa: F811
) -> None:
    payload = os.urandom(50_000) + b"\x00\r\n.\r\nend"
    (tmp_path / "scan.pdf").write_bytes(payload)
    tn = desk.mail.ingest(message())["ticket"]
    created = cli(
        "ticket", "reply", tn, "--body", "See the file.", "--attach", str(tmp_path / "scan.pdf"),
        "--attach", "-", "--attach-name", "notes.txt", "--attach-type", "application/pdf",
        "--attach-type", "text/x-log", "-o", "json", input=b"line one\n",
    ).json  # fmt: skip
    assert [(a["filename"], a["content_type"], a["size"]) for a in created["attachments"]] == [
        ("scan.pdf", "application/pdf", len(payload)),
        ("notes.txt", "text/x-log", 9),
    ]
    cli("mail", "send")
    (answer,) = [r for r in smtp.received if r.rcpt_tos == ["alice@example.com"]]
    files = {p.get_filename(): p.get_content() for p in answer.message.iter_attachments()}
    assert files["scan.pdf"] == payload
    # The customer's mail client answers with the same files: ingest that back, compare bytes.
    raw = answer.message.as_bytes().replace(b"From: tktctl@localhost", b"From: alice@example.com", 1)
    back = desk.mail.ingest(raw)
    assert (back["action"], back["ticket"]) == ("follow_up", tn)
    article = next(a for a in desk.tickets.show(tn)["articles"] if a["id"] == back["article"])
    ids = {a["filename"]: a["id"] for a in article["attachments"]}
    assert desk.mail.attachment(tn, ids["scan.pdf"])[1] == payload
    assert desk.mail.attachment(tn, ids["notes.txt"])[1] == b"line one\n"


def test_notifications_including_the_article_carry_its_attachments(
    cli: Cli,
    tmp_path: Path,
    desk: Desk,
    smtp: SmtpSink,  # noqa: F811
) -> None:
    people(desk)
    rules(
        cli,
        tmp_path,
        {"name": "notes", "events": ["ArticleCreate"], "recipients": ["owner"], "include_article": True},
    )
    tn = desk.tickets.create(title="t", queue="Raw", owner="bob")["tn"]
    (tmp_path / "log.bin").write_bytes(b"\x00\x01binary")
    cli("--as", "dave", "ticket", "note", tn, "--body", "Found it.", "--attach", str(tmp_path / "log.bin"))
    cli("mail", "send")
    (note,) = smtp.received
    assert note.rcpt_tos == ["bob@example.com"]
    assert "Found it." in note.message.get_body(("plain",)).get_content()
    assert [(p.get_filename(), p.get_content()) for p in note.message.iter_attachments()] == [
        ("log.bin", b"\x00\x01binary")
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["--attach", "/nonexistent/file"],
        ["--attach", "-"],  # no --attach-name
        ["--attach-name", "x.txt"],  # no --attach -
        ["--attach", "-", "--attach-name", "x", "--attach-type", "not a type"],
        ["--attach-type", "text/plain"],
    ],
)
def test_bad_attachments_are_usage_errors(cli: Cli, desk: Desk, args: list[str]) -> None:
    tn = desk.tickets.create(title="t")["tn"]
    cli("ticket", "note", tn, "--body", "x", *args, input=b"data", expect=2)
    assert len(desk.tickets.show(tn)["articles"]) == 0


def test_attachments_over_the_mail_limit_are_refused(db_url: str, tmp_path: Path) -> None:
    from tktctl.api import UsageError
    from tktctl.tickets.attach import File

    desk = Desk(db_url, mail={"limits": {"max_bytes": 1000}})
    tn = desk.tickets.create(title="t")["tn"]
    with pytest.raises(UsageError, match="mail size limit"):
        desk.tickets.note([tn], body="x", attachments=[File("a.bin", "application/octet-stream", b"x" * 1001)])
    with pytest.raises(UsageError, match="give --body"):
        desk.tickets.create(title="t", attachments=[File("a.bin", "application/octet-stream", b"x")])
    desk.close()


def test_any_rule_document_is_checked_or_refused_as_bad_input() -> None:
    """The rule parser: whatever YAML gives it, a normalised rule or a usage error (exit 2), never a crash."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from tktctl.api import UsageError
    from tktctl.mail.rules import KEYS, check

    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=6,
    )
    keys = st.sampled_from([*KEYS, "colour"])
    names = st.sampled_from(["TicketCreate", "Move", "owner", "watchers", "customer", "queue", "x"])

    @settings(max_examples=200, deadline=None)
    @given(st.dictionaries(keys, st.one_of(values, names, st.lists(names, max_size=3)), max_size=8))
    def run(document: dict[str, Any]) -> None:
        try:
            rule = check(document)
        except UsageError:
            return
        assert rule["events"] and set(rule) == set(KEYS)
        assert check(rule) == rule  # normalised: a fixed point

    run()


def test_recipients_are_looked_for_only_when_someone_but_the_actor_has_an_address(desk: Desk) -> None:
    """Speed (issue 14): the new-ticket rule's recipient query ran on every create, also on a desk where no
    agent but the actor could be mailed; the agents with an address are read once per configuration
    generation, and an address given later counts at once."""
    from sqlalchemy import event

    desk.agents.create("ann", name="Ann")
    desk.acl.grant("ro", group="users", agent="ann")
    desk.agents.subscribe("ann", ["Raw"])
    desk.tickets.create(title="warm")  # the rules and the agents read
    statements: list[str] = []
    event.listen(desk.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    desk.tickets.create(title="nobody to tell")
    assert not [s for s in statements if "queue_subscription" in s]
    assert desk.mail.outbox() == []
    desk.agents.update("ann", email="ann@example.com")
    tn = desk.tickets.create(title="ann is told")["tn"]
    assert [(m["ticket"], m["recipient"]) for m in desk.mail.outbox()] == [(tn, "ann@example.com")]

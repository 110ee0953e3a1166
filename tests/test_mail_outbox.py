"""The outbox holds drafts, composed when `mail send` sends them: every article announces ArticleCreate
(replies, notes, auto-responses), a notification to an agent who lost access is dropped at send,
the raw message of a sent answer is the bytes on the wire, and a ticket change never loads ``email``.
On every backend, through the real SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from tests.conftest import TKTCTL_EXE, Cli
from tests.mailservers import SmtpSink
from tests.test_mail import message, setup_responses, smtp  # noqa: F401  (the SMTP server fixture)
from tests.test_notifications import Clock, people, rules, sent
from tktctl.api import Desk


def test_every_article_announces_article_create_with_its_sender(
    cli: Cli,
    tmp_path: Path,
    desk: Desk,
    smtp: SmtpSink,  # noqa: F811
) -> None:
    people(desk)
    setup_responses(desk)
    rules(
        cli,
        tmp_path,
        *(
            {"name": who, "events": ["ArticleCreate"], "article_sender": [who], "recipients": ["watchers"],
             "subject": f"{who} wrote on $tn"}
            for who in ("agent", "customer", "system")
        ),
    )  # fmt: skip
    tn = desk.mail.ingest(message())["ticket"]
    cli("ticket", "watch", tn, "--agent", "bob")
    sent(cli, smtp)  # the auto-reply
    cli("ticket", "reply", tn, "--body", "On it.")
    assert sent(cli, smtp) == [("alice@example.com", f"[Ticket#{tn}] Re: Printer on fire"),
                               ("bob@example.com", f"[Ticket#{tn}] agent wrote on {tn}")]  # fmt: skip
    cli("ticket", "note", tn, "--body", "Internal.", "--internal")
    assert sent(cli, smtp) == [("bob@example.com", f"[Ticket#{tn}] agent wrote on {tn}")]
    # A follow-up: the customer's article, then the desk's auto-response (a system article).
    desk.mail.ingest(message(subject=f"Re: [Ticket#{tn}] Printer on fire", body="Still burning."))
    got = sent(cli, smtp)
    assert ("bob@example.com", f"[Ticket#{tn}] customer wrote on {tn}") in got
    assert ("bob@example.com", f"[Ticket#{tn}] system wrote on {tn}") in got
    cli("ticket", "close", tn, "--note", "Fixed.")
    assert sent(cli, smtp) == [("bob@example.com", f"[Ticket#{tn}] agent wrote on {tn}")]
    history = [h["data"]["to"] for h in desk.tickets.history(tn) if h["type"] == "SendAgentNotification"]
    assert history == ["bob"] * 5


def test_raw_of_a_sent_answer_is_the_bytes_on_the_wire(
    cli: Cli,
    db_url: str,
    tmp_path: Path,
    desk: Desk,
    smtp: SmtpSink,  # noqa: F811
) -> None:
    (tmp_path / "a.bin").write_bytes(bytes(range(256)) * 40)
    tn = desk.mail.ingest(message())["ticket"]
    answer = cli("ticket", "reply", tn, "--body", "Here: ünïcode.", "--attach", str(tmp_path / "a.bin"), "-o", "json")
    article = answer.json["id"]
    not_yet = cli("ticket", "article", tn, str(article), "--raw", expect=3)  # drafted, not sent yet
    assert "no stored message" in not_yet.stderr
    cli("mail", "send")
    (wire,) = smtp.received
    assert desk.articles.raw(tn, article) == wire.raw
    command = [TKTCTL_EXE, "--db", db_url, "ticket", "article", tn, str(article), "--raw"]
    printed = subprocess.run(command, capture_output=True, check=True, env={**os.environ, "TKTCTL_SERVER": "off"})
    assert printed.stdout == wire.raw
    assert wire.message["Message-ID"] == answer.json["message_id"]
    assert wire.message["From"] == "tktctl@localhost" and "\u00fcn\u00efcode" in wire.message.get_body().get_content()
    assert [p.get_content() for p in wire.message.iter_attachments()] == [bytes(range(256)) * 40]
    assert json.loads(cli("mail", "outbox", "--status", "sent", "-o", "json").stdout)[0]["status"] == "sent"


def test_a_notification_to_an_agent_who_lost_access_is_dropped_at_send(
    cli: Cli,
    tmp_path: Path,
    desk: Desk,
    smtp: SmtpSink,  # noqa: F811
) -> None:
    people(desk)
    rules(cli, tmp_path, {"name": "moves", "events": ["Move"], "recipients": ["watchers"]})
    tn = desk.tickets.create(title="Printer", queue="Raw")["tn"]
    for login in ("bob", "dave"):
        cli("ticket", "watch", tn, "--agent", login)
    cli("ticket", "move", tn, "--to", "Misc")
    desk.acl.revoke("ro", group="users", agent="bob")  # after the change, before the mail goes
    report = cli("mail", "send", "-o", "json").json
    assert sorted((r["recipient"], r["status"]) for r in report) == [
        ("bob@example.com", "dropped"),
        ("dave@example.com", "sent"),
    ]
    dropped = next(r for r in report if r["status"] == "dropped")
    assert dropped["last_error"] == f"not sent: bob may no longer read ticket {tn}"
    assert [r.rcpt_tos for r in smtp.received] == [["dave@example.com"]]
    assert cli("mail", "send", "-o", "json").json == []  # dropped stays dropped
    assert [r["status"] for r in cli("mail", "outbox", "--status", "dropped", "-o", "json").json] == ["dropped"]


PROBE = """
import json, sys
from tktctl.api import Desk

def loaded():
    return sorted(m for m in sys.modules if m == "email" or m.startswith("email."))

desk = Desk(sys.argv[1])
before = loaded()  # SQLAlchemy's importlib.metadata loads email.message and email.utils at import
tn = desk.tickets.create(title="quiet", queue="Raw", customer="c@example.com", body="hello")["tn"]
desk.tickets.move([tn], to="Misc")
print(json.dumps([m for m in loaded() if m not in before]))
"""


# What building a message loads (before drafts, a create loaded all of it). A driver may load others
# on its own (psycopg's connect reads package metadata: email.parser, email.feedparser).
BUILDER = {
    "email.policy",
    "email.headerregistry",
    "email._header_value_parser",
    "email.contentmanager",
    "email.generator",
}


def test_ticket_changes_do_not_load_the_mail_builder(cli: Cli, db_url: str, desk: Desk) -> None:
    """Issue 14: a create and a move, whether they notify nobody or queue notifications, load none of
    ``email``'s MIME machinery (policy, header registry, generator: ~26 ms); `mail send` composes."""

    def probe() -> list[str]:
        done = subprocess.run([sys.executable, "-c", PROBE, db_url], capture_output=True, text=True, check=True)
        return list(json.loads(done.stdout))

    assert not set(probe()) & BUILDER  # the default rules, nobody subscribed
    desk.agents.create("bob", email="bob@example.com")
    desk.acl.grant("ro", group="users", agent="bob")
    cli("agent", "subscribe", "bob", "--queue", "Raw")
    assert not set(probe()) & BUILDER
    assert [r["kind"] for r in cli("mail", "outbox", "-o", "json").json] == ["notification"]


EVENTS = ("TicketCreate", "EscalationBreach", "ArticleCreate", "Move")
EVENTS += ("StateUpdate", "OwnerUpdate", "ResponsibleUpdate")


def test_each_ticket_event_is_mailed_through_smtp_to_readers_only(
    db_url: str,
    cli: Cli,
    tmp_path: Path,
    smtp: SmtpSink,  # noqa: F811
) -> None:
    """Issue 13's Proof: every event a change publishes reaches the real SMTP server, for the agents
    who may read the ticket (bob), never for one who may not (zed)."""
    clock = Clock()
    desk = Desk(db_url, clock=clock)
    people(desk)
    desk.agents.create("zed", email="zed@example.com")
    desk.acl.grant("rw,owner", group="users", agent="dave")
    desk.queues.create("Tier 1", first_response_time=30, escalate_notify=True)
    documents = ({"name": e, "events": [e], "agents": ["bob", "zed"], "subject": f"{e} $tn"} for e in EVENTS)
    rules(cli, tmp_path, *documents)
    changes = {
        "EscalationBreach": lambda tn: desk.escalations.run(),
        "ArticleCreate": lambda tn: desk.tickets.note(tn, body="Looking."),
        "Move": lambda tn: desk.tickets.move([tn], to="Misc"),
        "StateUpdate": lambda tn: desk.tickets.set_state([tn], to="open"),
        "OwnerUpdate": lambda tn: desk.tickets.assign([tn], to="dave"),
        "ResponsibleUpdate": lambda tn: desk.tickets.assign([tn], to="dave", responsible=True),
    }
    tn = desk.tickets.create(title="Printer", queue="Tier 1")["tn"]
    assert sent(cli, smtp) == [("bob@example.com", f"[Ticket#{tn}] TicketCreate {tn}")]
    clock.now += timedelta(minutes=31)  # past the first response time
    for event, change in changes.items():
        change(tn)
        assert sent(cli, smtp) == [("bob@example.com", f"[Ticket#{tn}] {event} {tn}")], event
    desk.close()


def test_a_10_mb_attachment_ingests_whole_on_every_backend(
    cli: Cli,
    desk: Desk,
    tmp_path: Path,
    smtp: SmtpSink,  # noqa: F811
) -> None:
    """On MariaDB with its default 16 MiB max_allowed_packet too: the 14 MB message and its 10 MB file
    go in in pieces (bench/mail.py measures it)."""
    content = os.urandom(10 * 1024 * 1024)
    (tmp_path / "scan.bin").write_bytes(content)
    tn = desk.tickets.create(title="t", queue="Raw", customer="alice@example.com")["tn"]
    article = cli("ticket", "reply", tn, "--body", "Scan.", "--attach", str(tmp_path / "scan.bin"), "-o", "json").json
    cli("mail", "send")
    raw = desk.articles.raw(tn, article["id"])  # the mail sent: 14 MB, itself stored in pieces on MariaDB
    back = desk.mail.ingest(raw.replace(b"From: tktctl@localhost", b"From: alice@example.com", 1))
    assert back["action"] == "follow_up", back
    assert desk.articles.raw(tn, back["article"]) == raw.replace(b"tktctl@localhost", b"alice@example.com", 1)
    (file,) = desk.mail.attachments(tn)[1:]
    assert (file["filename"], file["size"]) == ("scan.bin", len(content))
    assert desk.mail.attachment(tn, file["id"])[1] == content

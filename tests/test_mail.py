"""The mail interface: ingest, follow-ups, limits, dead letters, outbox over real SMTP, IMAP fetch."""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REQUIRE_SERVERS, Cli, dump
from tests.mailservers import Dovecot, SmtpSink, free_port, start_dovecot
from tktctl.api import Desk
from tktctl.errors import TempFail

CORPUS = Path(__file__).parents[2] / "shared" / "corpus" / "mail"
ACTIONS = {"new_ticket", "follow_up", "follow_up_rejected", "failed", "duplicate", "ignored", "bounce", "refused"}


def corpus_or_skip() -> Path:
    if not (CORPUS / "index.csv").exists():
        reason = f"mail corpus not found at {CORPUS}"
        if REQUIRE_SERVERS:
            pytest.fail(reason)
        pytest.skip(reason)
    return CORPUS


def message(
    subject: str = "Printer on fire",
    sender: str = "alice@example.com",
    to: str = "support@example.com",
    body: str = "It is really on fire.",
    **headers: str,
) -> bytes:
    lines = [f"From: Alice <{sender}>", f"To: {to}", f"Subject: {subject}", "Date: Fri, 27 Nov 2026 10:00:00 +0000"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("TKTCTL_SMTP_URL", f"smtp://127.0.0.1:{port}")
    yield sink
    controller.stop()


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = start_dovecot()
    yield server
    server.stop()


def mail_desk(db_url: str, **mail: Any) -> Desk:
    return Desk(db_url, mail=mail or None)


def setup_responses(desk: Desk, queue: str = "Raw") -> None:
    for kind in ("auto-reply", "auto-follow-up", "auto-reject", "auto-reply/new-ticket"):
        desk.autoresponses.create(
            kind, type=kind, subject=f"{kind}: $subject", body="Dear $customer, $kind ticket $tn in $queue.\n"
        )
    desk.queues.update(queue, auto_responses=["auto-reply", "auto-follow-up", "auto-reject", "auto-reply/new-ticket"])


# Inbound ------------------------------------------------------------------------------------


def test_new_message_opens_ticket_with_headers_raw_and_history(desk: Desk) -> None:
    raw = message(Message_ID="<m1@example.com>", Cc="bob@example.com")
    result = desk.mail.ingest(raw)
    assert result["action"] == "new_ticket"
    ticket = desk.tickets.show(result["ticket"])
    assert (ticket["queue"], ticket["title"], ticket["customer"]) == ("Raw", "Printer on fire", "alice@example.com")
    (article,) = ticket["articles"]
    assert (article["channel"], article["sender"], article["body"]) == ("email", "customer", "It is really on fire.")
    assert article["from"] == "Alice <alice@example.com>" and article["to"] == "support@example.com"
    history = [h["type"] for h in desk.tickets.history(result["ticket"])]
    assert history == ["NewTicket", "EmailCustomer"]
    from sqlalchemy import select

    from tktctl.db.models import Article, ArticlePlain

    with desk.read() as unit:
        stored = unit.session.execute(
            select(ArticlePlain.content, Article.a_cc, Article.message_id).join(Article)
        ).one()
    assert stored == (raw, "bob@example.com", "<m1@example.com>")


def test_redelivery_of_the_same_message_is_a_no_op(desk: Desk, db_url: str) -> None:
    first = desk.mail.ingest(message())
    before = dump(db_url)
    again = desk.mail.ingest(message())
    assert (again["action"], again["ticket"]) == ("duplicate", first["ticket"])
    assert dump(db_url) == before


def test_follow_up_by_subject_hook_and_by_references(desk: Desk) -> None:
    first = desk.mail.ingest(message(Message_ID="<a@example.com>"))
    tn = first["ticket"]
    by_hook = desk.mail.ingest(message(subject=f"Re: [Ticket#{tn}] Printer on fire", body="still burning"))
    assert (by_hook["action"], by_hook["ticket"]) == ("follow_up", tn)
    by_reference = desk.mail.ingest(message(subject="Re: something else", body="3", References="<x@y> <a@example.com>"))
    assert (by_reference["action"], by_reference["ticket"]) == ("follow_up", tn)
    # A number of another system id or a non-existent ticket is not a follow-up.
    other = desk.mail.ingest(message(subject=f"[Ticket#{tn[:8]}99{tn[10:]}] hi", body="4"))
    assert other["action"] == "new_ticket"
    assert "FollowUp" in [h["type"] for h in desk.tickets.history(tn)]


def test_follow_up_to_a_pending_ticket_reopens_it(desk: Desk) -> None:
    tn = desk.mail.ingest(message())["ticket"]
    desk.tickets.set_state([tn], to="pending reminder", pending_until="+2h")
    desk.mail.ingest(message(subject=f"[Ticket#{tn}]", body="again"))
    assert desk.tickets.show(tn)["state"] == "open"


def test_html_only_body_becomes_text_and_attachments_are_stored(desk: Desk, cli: Cli, tmp_path: Path) -> None:
    raw = (
        b"From: a@example.com\r\nSubject: html\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"<html><head><style>p{}</style></head><body><p>Gr=FC=DFe</p><p>line&nbsp;2 <a href=3D'https://x.org'>x</a>"
        b"</p><script>alert(1)</script></body></html>\r\n--b\r\n"
        b'Content-Type: application/pdf; name="../../etc/passwd.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        b"JVBERi0xLjQK\r\n--b--\r\n"
    )
    tn = desk.mail.ingest(raw)["ticket"]
    article = desk.tickets.show(tn)["articles"][0]
    assert article["body"] == "Grüße\n\nline 2 x <https://x.org>"
    assert article["attachments"] == [{"id": 1, "filename": "passwd.pdf", "content_type": "application/pdf", "size": 9}]
    listed = cli("ticket", "attachments", tn, "-o", "json").json
    assert [a["filename"] for a in listed] == ["passwd.pdf"]
    target = tmp_path / "out.pdf"
    written = cli("ticket", "attachment", tn, str(listed[0]["id"]), "--to-file", str(target), "-o", "json").json
    assert target.read_bytes() == b"%PDF-1.4\n" and written["file"] == str(target)
    assert cli("ticket", "attachment", tn, "99", "--to-file", str(target), expect=3)


def test_trusted_headers_set_fields_unless_untrusted(desk: Desk) -> None:
    headers = {"X_OTRS_Queue": "Misc", "X_Tktctl_Priority": "5 very high", "X_OTRS_Title": "From a rule"}
    trusted = desk.tickets.show(desk.mail.ingest(message(**headers))["ticket"])
    assert (trusted["queue"], trusted["priority"], trusted["title"]) == ("Misc", 5, "From a rule")
    untrusted = desk.mail.ingest(message(body="other", **headers), untrusted=True)
    shown = desk.tickets.show(untrusted["ticket"])
    assert (shown["queue"], shown["priority"], shown["title"]) == ("Raw", 3, "Printer on fire")
    ignored = desk.mail.ingest(message(body="spam", X_OTRS_Ignore="yes"))
    assert ignored["action"] == "ignored" and ignored["ticket"] is None
    # An unknown queue in a header is ignored, as in OTRS.
    fallback = desk.mail.ingest(message(body="x", X_Tktctl_Queue="Nope"))
    assert desk.tickets.show(fallback["ticket"])["queue"] == "Raw"
    tn = trusted["tn"]
    desk.mail.ingest(message(subject=f"[Ticket#{tn}]", body="f", X_OTRS_FollowUp_Priority="1", X_OTRS_Priority="5"))
    assert desk.tickets.show(tn)["priority"] == 1


def test_recipient_address_mapping_then_target_queue(db_url: str) -> None:
    desk = mail_desk(db_url, queues={"misc@example.com": "Misc"})
    mapped = desk.mail.ingest(message(to="Misc Desk <MISC@example.com>"))
    assert desk.tickets.show(mapped["ticket"])["queue"] == "Misc"
    targeted = desk.mail.ingest(message(body="2"), target_queue="Junk")
    assert desk.tickets.show(targeted["ticket"])["queue"] == "Junk"


def test_over_a_limit_is_a_dead_letter_with_reason_then_retry(db_url: str, cli: Cli) -> None:
    desk = mail_desk(db_url, limits={"max_bytes": 100})
    raw = message(body="x" * 200)
    before = dump(db_url)
    result = desk.mail.ingest(raw)
    assert result["action"] == "failed" and "limit is 100" in result["reason"]
    after = dump(db_url)
    assert {k for k in after if after[k] != before[k]} == {"mail_failed"}  # never half-stored
    failed = cli("mail", "failed", "-o", "json").json
    assert [f["id"] for f in failed] == [result["failed_id"]] and "max_bytes" in failed[0]["reason"]
    # Retrying under the default limits succeeds; the dead letter is marked done.
    retried = cli("mail", "retry", "-o", "json").json
    assert retried[0]["action"] == "new_ticket"
    assert cli("mail", "failed", "-o", "json").json == []
    assert cli("mail", "failed", "--all", "-o", "json").json[0]["ticket"] == retried[0]["ticket"]


@pytest.mark.parametrize(
    ("limits", "raw", "words"),
    [
        (
            {"max_parts": 3},
            b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + b"--b\r\n\r\nx\r\n" * 5 + b"--b--",
            "parts",
        ),
        ({"max_depth": 2}, None, "deeper"),
        ({"max_header_length": 50}, message(subject="s" * 60), "longer"),
    ],
)
def test_structure_limits(db_url: str, limits: dict[str, int], raw: bytes | None, words: str) -> None:
    if raw is None:
        raw = b""
        for depth in range(5):
            raw += f'Content-Type: multipart/mixed; boundary="b{depth}"\r\n\r\n--b{depth}\r\n'.encode()
        raw += b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    result = mail_desk(db_url, limits=limits).mail.ingest(raw)
    assert result["action"] == "failed" and words in result["reason"]


def test_database_unreachable_is_exit_75(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = Cli(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none", monkeypatch)
    result = cli("mail", "ingest", "-", input=message(), expect=75)
    assert "temporary failure" in result.stderr


def test_a_message_that_cannot_even_be_dead_lettered_is_exit_75(cli: Cli, db_url: str) -> None:
    before = dump(db_url)
    result = cli("--as", "ghost", "mail", "ingest", "-", "-o", "json", input=message(), expect=75)
    assert result.error["code"] == "temporary" and "ghost" in result.error["message"]
    assert dump(db_url) == before


def test_batch_directory_and_mbox(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "maildir"
    folder.mkdir()
    for n in range(3):
        (folder / f"{n}.eml").write_bytes(message(body=f"body {n}"))
    results = cli("mail", "ingest", "--batch", str(folder), "-o", "jsonl").jsonl
    assert [r["action"] for r in results] == ["new_ticket"] * 3
    mbox = tmp_path / "box.mbox"
    mbox.write_bytes(
        b"".join(b"From alice@example.com Fri Nov 27 10:00:00 2026\n" + message(body=f"m{n}") + b"\n" for n in range(2))
    )
    results = cli("mail", "ingest", "--batch", str(mbox), "-o", "jsonl").jsonl
    assert [r["action"] for r in results] == ["new_ticket"] * 2 and results[0]["source"].endswith(":0")
    again = cli("mail", "ingest", "--batch", str(folder), "-o", "jsonl").jsonl
    assert [r["action"] for r in again] == ["duplicate"] * 3


# Outbound over a real SMTP server -------------------------------------------------------------


def test_follow_up_thread_end_to_end(desk: Desk, cli: Cli, smtp: SmtpSink) -> None:
    setup_responses(desk)
    desk.queues.update("Raw", follow_up="new_ticket")
    first = desk.mail.ingest(message(Message_ID="<c1@example.com>"))
    tn = first["ticket"]
    assert first["auto_response"] == "auto-reply queued"
    cli("mail", "send")
    (auto,) = smtp.received
    assert auto.message["Subject"] == f"[Ticket#{tn}] auto-reply: Printer on fire"
    assert auto.message["Auto-Submitted"] == "auto-replied" and auto.message["In-Reply-To"] == "<c1@example.com>"
    assert auto.mail_from == "<>" and auto.rcpt_tos == ["alice@example.com"]
    assert f"ticket {tn} in Raw" in auto.message.get_content()

    answer = cli("ticket", "reply", tn, "--body", "-", "-o", "json", input="We sent the fire brigade.").json
    assert (answer["channel"], answer["sender"]) == ("email", "agent")
    sent = cli("mail", "send", "-o", "json").json
    assert [s["status"] for s in sent] == ["sent"]
    reply = smtp.received[-1].message
    assert reply["Subject"] == f"[Ticket#{tn}] Re: Printer on fire" and reply["In-Reply-To"] == "<c1@example.com>"
    assert reply["Auto-Submitted"] is None and reply.get_content().strip() == "We sent the fire brigade."
    assert "SendAnswer" in [h["type"] for h in desk.tickets.history(tn)]

    # The customer answers the agent's mail: no hook in the subject, only In-Reply-To.
    followup = desk.mail.ingest(
        message(subject="Re: thanks", body="It is out.", In_Reply_To=reply["Message-ID"], Message_ID="<c2@example.com>")
    )
    assert (followup["action"], followup["ticket"]) == ("follow_up", tn)
    cli("mail", "send")
    assert smtp.received[-1].message["Subject"].startswith(f"[Ticket#{tn}] auto-follow-up")

    desk.tickets.close([tn])
    late = desk.mail.ingest(message(subject=f"Re: [Ticket#{tn}] thanks", body="It burns again."))
    assert late["action"] == "new_ticket" and late["ticket"] != tn
    history = [h for h in desk.tickets.history(late["ticket"]) if h["type"] == "TicketLinkAdd"]
    assert history[0]["data"]["to"] == tn
    assert desk.tickets.show(tn)["state"] == "closed successful"
    cli("mail", "send")
    assert smtp.received[-1].message["Subject"].startswith(f"[Ticket#{late['ticket']}] auto-reply/new-ticket")


@pytest.mark.parametrize(
    ("setting", "action", "state"),
    [("possible", "follow_up", "open"), ("reject", "follow_up_rejected", "closed successful")],
)
def test_follow_up_to_closed_ticket_follows_queue_setting(
    desk: Desk, cli: Cli, smtp: SmtpSink, setting: str, action: str, state: str
) -> None:
    setup_responses(desk)
    desk.queues.update("Raw", follow_up=setting)
    tn = desk.mail.ingest(message())["ticket"]
    desk.tickets.close([tn])
    result = desk.mail.ingest(message(subject=f"[Ticket#{tn}] again", body="again"))
    assert (result["action"], result["ticket"]) == (action, tn)
    assert desk.tickets.show(tn)["state"] == state
    cli("mail", "send")
    expected = "auto-reject" if setting == "reject" else "auto-follow-up"
    assert smtp.received[-1].message["Subject"].startswith(f"[Ticket#{tn}] {expected}")
    assert ("SendAutoReject" in [h["type"] for h in desk.tickets.history(tn)]) == (setting == "reject")


def test_agent_notifications_go_to_subscribers_with_email(desk: Desk, cli: Cli, smtp: SmtpSink) -> None:
    desk.agents.create("bob", name="Bob", email="bob@example.com")
    desk.agents.create("carol", email="carol@example.com")
    desk.agents.create("dave", email="dave@example.com")
    desk.acl.grant("ro,create", group="users", agent="bob")
    desk.acl.grant("ro", group="users", agent="carol")
    desk.roles.create("watchers")
    desk.roles.add_agents("watchers", ["dave"])
    desk.acl.grant("ro", group="users", role="watchers")
    cli("agent", "subscribe", "bob", "--queue", "Raw", "--queue", "Misc")
    cli("agent", "subscribe", "carol", "--queue", "Misc")
    cli("agent", "subscribe", "dave", "--queue", "Raw")
    desk.roles.set_valid("watchers", False)  # dave is subscribed but may no longer read Raw: not told
    tn = desk.mail.ingest(message())["ticket"]
    desk.mail.ingest(message(subject=f"[Ticket#{tn}]", body="more"))
    Desk(desk.url, actor="bob").tickets.create(title="by bob", queue="Raw")  # bob acting: not told
    cli("mail", "send")
    got = [(r.rcpt_tos, r.message["Subject"]) for r in smtp.received]
    assert got == [
        (["bob@example.com"], f"[Ticket#{tn}] NewTicket: Printer on fire"),
        (["bob@example.com"], f"[Ticket#{tn}] FollowUp: Printer on fire"),
    ]
    assert smtp.received[0].message["Auto-Submitted"] == "auto-generated"
    assert "SendAgentNotification" in [h["type"] for h in desk.tickets.history(tn)]
    cli("agent", "unsubscribe", "bob", "--queue", "Raw")
    assert [s["queue"] for s in cli("agent", "subscriptions", "bob", "-o", "json").json] == ["Misc"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"X_Loop": "yes"},
    ],
)
def test_loop_safety_no_auto_response(desk: Desk, headers: dict[str, str]) -> None:
    setup_responses(desk)
    result = desk.mail.ingest(message(**headers))
    assert result["action"] == "new_ticket" and result["auto_response"].startswith("no auto-response")
    assert desk.mail.outbox() == []


def test_no_auto_response_to_mailer_daemon_and_daily_limit(db_url: str) -> None:
    desk = mail_desk(db_url, auto_response_limit=2)
    setup_responses(desk)
    assert "no auto-response" in desk.mail.ingest(message(sender="MAILER-DAEMON@example.com"))["auto_response"]
    own = desk.mail.ingest(message(sender="tktctl@localhost", body="ours"))["auto_response"]
    assert own == "no auto-response to our own address"
    answered = [desk.mail.ingest(message(body=f"n{n}"))["auto_response"] for n in range(3)]
    assert answered[:2] == ["auto-reply queued"] * 2 and "last 24 hours" in answered[2]


def test_smtp_outage_loses_nothing_and_backs_off(
    desk: Desk, cli: Cli, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_responses(desk)
    desk.mail.ingest(message())
    real = os.environ["TKTCTL_SMTP_URL"]
    monkeypatch.setenv("TKTCTL_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    outcome = cli("mail", "send", "-o", "json").json
    assert (
        outcome[0]["status"] == "pending" and outcome[0]["attempts"] == 1 and "cannot reach" in outcome[0]["last_error"]
    )
    assert cli("mail", "send", "-o", "json").json == []  # backing off: not due yet
    monkeypatch.setenv("TKTCTL_SMTP_URL", real)
    from datetime import datetime

    due = datetime.fromisoformat(outcome[0]["next_attempt"].replace("Z", "+00:00"))
    later = Desk(desk.url, clock=lambda: due)
    assert [r["status"] for r in later.mail.send()] == ["sent"]
    assert len(smtp.received) == 1
    assert cli("mail", "outbox", "--status", "sent", "-o", "json").json[0]["attempts"] == 2


def test_permanent_smtp_refusal_fails_the_message(desk: Desk, cli: Cli, smtp: SmtpSink) -> None:
    setup_responses(desk)
    desk.mail.ingest(message())
    smtp.refuse = 550
    outcome = cli("mail", "send", "-o", "json").json
    assert outcome[0]["status"] == "failed" and outcome[0]["last_error"].startswith("550")
    assert cli("mail", "outbox", "-o", "json").json[0]["status"] == "failed"


def test_autoresponse_commands_and_queue_assignment(cli: Cli, tmp_path: Path) -> None:
    body = tmp_path / "body.txt"
    body.write_text("Hello $customer\n")
    made = cli(
        "autoresponse",
        "create",
        "hi",
        "--type",
        "auto-reply",
        "--subject",
        "Got it",
        "--body-file",
        str(body),
        "-o",
        "json",
    ).json
    assert made["body"] == "Hello $customer\n"
    cli("autoresponse", "create", "hi", "--type", "auto-reply", "--subject", "x", "--body", "y", expect=5)
    cli("autoresponse", "create", "bad", "--type", "nope", "--subject", "x", "--body", "y", expect=2)
    cli("queue", "update", "Misc", "--auto-response", "hi")
    assert cli("autoresponse", "show", "hi", "-o", "json").json["queues"] == ["Misc"]
    cli("queue", "update", "Misc", "--no-auto-response", "auto-reply")
    assert cli("autoresponse", "list", "-o", "json").json[0]["queues"] == []


def test_reply_needs_an_address(desk: Desk, cli: Cli) -> None:
    tn = desk.tickets.create(title="phone call")["tn"]
    assert "--to" in cli("ticket", "reply", tn, "--body", "x", expect=2).stderr
    cli("ticket", "reply", tn, "--body", "x", "--to", "c@example.com")
    assert cli("mail", "outbox", "-o", "json").json[0]["recipient"] == "c@example.com"


# Fetching from a real IMAP server ---------------------------------------------------------------


@pytest.mark.backends("sqlite")
def test_imap_fetch_flags_or_deletes_only_after_commit(
    db_url: str, dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = dovecot.client()
    for n in range(3):
        client.append("INBOX", None, None, message(body=f"imap {n}", Message_ID=f"<imap{n}@example.com>"))
    config = tmp_path / "config.yaml"
    profiles = {"default": {"mail": {"accounts": {"box": dovecot.account(), "gone": dovecot.account(delete=True)}}}}
    config.write_text(yaml.safe_dump({"profiles": profiles}))
    cli = Cli(db_url, monkeypatch)
    results = cli("--config", str(config), "mail", "fetch", "--account", "box", "-o", "json").json
    assert [r["action"] for r in results] == ["new_ticket"] * 3 and results[0]["source"] == "box:1"
    client.select("INBOX")
    assert client.uid("SEARCH", None, "UNSEEN")[1] == [b""]  # all flagged \Seen
    assert cli("--config", str(config), "mail", "fetch", "--account", "box", "-o", "json").json == []
    # The deleting account takes them off the server; they are already stored (duplicates).
    results = cli("--config", str(config), "mail", "fetch", "--account", "gone", "-o", "json").json
    assert [r["action"] for r in results] == ["duplicate"] * 3
    client.select("INBOX")
    assert client.uid("SEARCH", None, "ALL")[1] == [b""]
    client.logout()


@pytest.mark.backends("sqlite")
def test_imap_fetch_keeps_message_on_temporary_failure(
    db_url: str, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = dovecot.client()
    client.append("INBOX", None, None, message())
    desk = Desk(db_url, mail={"accounts": {"box": dovecot.account()}})

    def broken(*_: Any, **__: Any) -> Any:
        raise TempFail("database down")

    monkeypatch.setattr(desk.mail, "ingest", broken)
    with pytest.raises(TempFail):
        desk.mail.fetch()
    client.select("INBOX")
    assert client.uid("SEARCH", None, "UNSEEN")[1] == [b"1"]
    client.logout()


# The real-world corpus and random mutations ------------------------------------------------------


def test_every_corpus_message_is_stored_or_rejected_with_a_reason(desk: Desk) -> None:
    root = corpus_or_skip()
    with (root / "index.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 278
    outcomes: dict[str, int] = {}
    for row in rows:
        raw = (root / row["path"]).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == row["sha256"], f"{row['path']} was changed"
        result = desk.mail.ingest(raw)
        assert result["action"] in ACTIONS, row["path"]
        if result["action"] == "failed":
            assert result["reason"] and "internal error" not in result["reason"], (row["path"], result["reason"])
        else:
            assert result["ticket"], row["path"]
        outcomes[result["action"]] = outcomes.get(result["action"], 0) + 1
    assert outcomes.get("new_ticket", 0) > 200 and outcomes.get("failed", 0) <= 5, outcomes
    tickets = list(desk.tickets.list())
    assert len(tickets) == outcomes["new_ticket"]


def test_attachment_name_with_a_broken_encoded_word_is_kept_as_written(desk: Desk) -> None:
    """Regression (found by the mutation test): bad base64 in an encoded-word file name raised out of the
    parser; the message is a ticket and the attachment keeps its name as written."""
    name = "=?UT=?utf-8?B?F-8?b?S29udG91dHNrcmlmdCBmb3IgMTUwNi4xNC45MDQ2NgpCZWRyaWZ0c2tvbnRvLnBkZg==?="
    raw = (
        b"From: a@example.com\r\nSubject: scan\r\nMIME-Version: 1.0\r\nContent-Type: image/png\r\n"
        b'Content-Disposition: attachment; filename="%s"; size=2\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\naGk=\r\n" % name.encode()
    )
    result = desk.mail.ingest(raw)
    assert result["action"] == "new_ticket"
    article = desk.tickets.show(result["ticket"])["articles"][0]
    assert article["attachments"] == [{"id": 1, "filename": name, "content_type": "image/png", "size": 2}]


@pytest.mark.backends("sqlite")
def test_randomly_mutated_messages_never_crash(db_url: str) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    root = corpus_or_skip()
    samples = sorted(root.rglob("*.eml"), key=lambda p: p.stat().st_size)[:60]
    seeds = [p.read_bytes() for p in samples]
    desk = Desk(db_url)

    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(1, 8))):
            operation = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]))
            at = draw(st.integers(0, max(len(data) - 1, 0)))
            if operation == "flip" and data:
                data[at] = draw(st.integers(0, 255))
            elif operation == "insert":
                data[at:at] = draw(st.sampled_from([b"\r\n", b"\n\n", b"--", b"=?utf-8?B?", b"\x00", b"\xff", b":"]))
            elif operation == "delete":
                del data[at : at + draw(st.integers(1, 50))]
            elif operation == "truncate":
                del data[at:]
            else:
                data[at:at] = data[at : at + draw(st.integers(1, 200))]
        return bytes(data)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(mutated())
    def check(raw: bytes) -> None:
        result = desk.mail.ingest_one(raw)  # an input cut to nothing is refused, not stored
        assert result["action"] in ACTIONS
        assert result["ticket"] or result["reason"]
        assert "internal error" not in (result["reason"] or "")

    check()
    desk.close()


@pytest.mark.backends("sqlite")
def test_pop3_deletes_only_what_was_stored(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """POP3 has no flags: a message is deleted after its commit; QUIT commits the deletions so far."""
    import poplib

    calls: list[tuple[str, Any]] = []
    mailbox = [message(body="one").split(b"\r\n"), b"Subject: two\r\nX-Tktctl-Queue: Misc\r\n\r\n2".split(b"\r\n")]

    class FakePop3:
        def __init__(self, host: str, port: int, timeout: float) -> None:
            calls.append(("connect", (host, port)))

        def user(self, name: str) -> None:
            calls.append(("user", name))

        def pass_(self, password: str) -> None:
            calls.append(("pass", password))

        def stat(self) -> tuple[int, int]:
            return len(mailbox), 0

        def retr(self, number: int) -> tuple[bytes, list[bytes], int]:
            return b"+OK", mailbox[number - 1], 0

        def dele(self, number: int) -> None:
            calls.append(("dele", number))

        def quit(self) -> None:
            calls.append(("quit", None))

    monkeypatch.setattr(poplib, "POP3", FakePop3)
    (tmp_path / "pw").write_text("secret\n")
    account = {"type": "pop3", "host": "pop.example.com", "user": "u", "password_file": str(tmp_path / "pw")}
    desk = Desk(db_url, mail={"accounts": {"pop": account}})
    real = desk.mail.ingest
    seen: list[bytes] = []

    def flaky(raw: bytes, **options: Any) -> dict[str, Any]:
        seen.append(raw)
        if len(seen) == 2:
            raise TempFail("database down")
        return real(raw, **options)

    monkeypatch.setattr(desk.mail, "ingest", flaky)
    with pytest.raises(TempFail):
        desk.mail.fetch("pop")
    assert [c for c in calls if c[0] in ("pass", "dele", "quit")] == [("pass", "secret"), ("dele", 1), ("quit", None)]
    assert [t["title"] for t in desk.tickets.list()] == ["Printer on fire"]

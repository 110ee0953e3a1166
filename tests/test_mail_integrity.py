"""Mail integrity: who mail acts as, admin-only mail administration, bad recipients, size limits,
SMTP credentials, and exit 75 for every failure that is not the message's own fault; on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests import test_mail
from tests.conftest import Cli, dump
from tests.mailservers import SmtpSink, free_port
from tests.test_mail import message
from tktctl.api import Desk

smtp = test_mail.smtp  # the SMTP server fixture (aiosmtpd), shared with the mail tests


@pytest.fixture
def desk_with_secret(cli: Cli) -> tuple[Cli, str]:
    """bob holds ro,note,owner,create on `support`, nothing on `secret`; returns a closed Secret ticket."""
    cli("group", "create", "support")
    cli("group", "create", "secret")
    cli("queue", "create", "Support", "--group", "support")
    cli("queue", "create", "Secret", "--group", "secret")
    cli("agent", "create", "bob", "--email", "bob@example.com")
    cli("acl", "grant", "ro,note,owner,create", "--group", "support", "--agent", "bob")
    secret = cli("ticket", "create", "--queue", "Secret", "--title", "classified", "-q").stdout.strip()
    cli("ticket", "close", secret)
    return cli, secret


def ingest(cli: Cli, raw: bytes, *args: str, agent: str = "bob", expect: int = 0) -> dict:
    return cli("--as", agent, "mail", "ingest", "-", *args, "-o", "json", input=raw, expect=expect).json


def test_follow_up_to_a_ticket_the_agent_may_not_change_is_dead_lettered(desk_with_secret: tuple[Cli, str]) -> None:
    cli, secret = desk_with_secret
    before = cli("ticket", "show", secret, "-o", "json").json
    raw = message(subject=f"Re: [Ticket#{secret}] hello", X_Tktctl_FollowUp_Priority="5")
    result = ingest(cli, raw)
    assert result["action"] == "failed"
    assert "agent 'bob' needs 'note' on group 'secret'" in result["reason"]
    after = cli("ticket", "show", secret, "-o", "json").json
    assert (after["state"], after["priority"], len(after["articles"])) == ("closed successful", 3, 0)
    assert after == before
    (letter,) = cli("mail", "failed", "-o", "json").json
    assert (letter["actor"], letter["reason"]) == ("bob", result["reason"])


def test_each_follow_up_change_needs_the_verbs_permission(desk_with_secret: tuple[Cli, str]) -> None:
    cli, _ = desk_with_secret
    tn = cli("ticket", "create", "--queue", "Support", "--title", "t", "-q").stdout.strip()
    # note: the article alone is allowed
    assert ingest(cli, message(subject=f"[Ticket#{tn}] one"))["action"] == "follow_up"
    # priority needs `priority`
    raw = message(subject=f"[Ticket#{tn}] two", X_Tktctl_FollowUp_Priority="5")
    assert "needs 'priority' on group 'support'" in ingest(cli, raw)["reason"]
    # a header state (and the reopen of a closed ticket) needs `rw`
    raw = message(subject=f"[Ticket#{tn}] three", X_OTRS_FollowUp_State="closed successful")
    assert "needs 'rw' on group 'support'" in ingest(cli, raw)["reason"]
    cli("ticket", "close", tn)
    assert "needs 'rw' on group 'support'" in ingest(cli, message(subject=f"[Ticket#{tn}] 4"))["reason"]
    ticket = cli("ticket", "show", tn, "-o", "json").json
    assert (ticket["state"], ticket["priority"], len(ticket["articles"])) == ("closed successful", 3, 1)
    # granted, the same messages apply, retried as bob
    cli("acl", "grant", "rw", "--group", "support", "--agent", "bob")
    results = cli("mail", "retry", "-o", "json").json
    assert [r["action"] for r in results] == ["follow_up"] * 3
    ticket = cli("ticket", "show", tn, "-o", "json").json
    assert ticket["state"] == "open" and ticket["priority"] == 5


def test_new_ticket_needs_create_on_the_target_queue(desk_with_secret: tuple[Cli, str]) -> None:
    cli, _ = desk_with_secret
    result = ingest(cli, message(X_Tktctl_Queue="Secret"), "--target-queue", "Support")
    assert result["action"] == "failed" and "needs 'create' on group 'secret'" in result["reason"]
    created = ingest(cli, message(subject="other"), "--target-queue", "Support")
    assert cli("ticket", "show", created["ticket"], "-o", "json").json["queue"] == "Support"


def test_mail_administration_needs_admin(desk_with_secret: tuple[Cli, str], db_url: str) -> None:
    cli, _ = desk_with_secret
    before = dump(db_url)
    for args in (("outbox",), ("failed",), ("retry",), ("send",), ("fetch",)):
        result = cli("--as", "bob", "mail", *args, expect=4)
        assert result.stderr.strip() == "tktctl: error: permission denied: agent 'bob' needs 'rw' on group 'admin'"
    assert dump(db_url) == before


def test_dead_letter_is_retried_as_the_agent_who_ingested_it(desk_with_secret: tuple[Cli, str]) -> None:
    cli, _ = desk_with_secret
    result = ingest(cli, message(X_Tktctl_Queue="Secret"), "--target-queue", "Support")
    assert result["action"] == "failed"
    (retried,) = cli("mail", "retry", "-o", "json").json  # by root, who may create in Secret
    assert retried["action"] == "failed"
    assert "agent 'bob' needs 'create' on group 'secret'" in retried["reason"]
    assert cli("ticket", "count", "--queue", "Secret", "-q").stdout.strip() == "1"  # only the closed one
    cli("acl", "grant", "create", "--group", "secret", "--agent", "bob")
    (retried,) = cli("mail", "retry", "-o", "json").json
    assert retried["action"] == "new_ticket"
    created = cli("ticket", "show", retried["ticket"], "-o", "json").json
    assert (created["queue"], created["owner"]) == ("Secret", "bob")


# One bad recipient never fails the change that triggered the mail ----------------------------


def _store_bad_name(db_url: str, login: str) -> None:
    """An agent name with CR/LF, as a desk from before input validation may hold."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.begin() as conn:
        bad = "Carol\r\nBcc: spy@evil.example"
        conn.execute(text("UPDATE agent SET name = :n WHERE login = :l"), {"n": bad, "l": login})
    engine.dispose()


def test_bad_stored_agent_name_fails_only_its_notification(cli: Cli, db_url: str, smtp: SmtpSink) -> None:
    cli("agent", "create", "carol", "--email", "carol@example.com")
    cli("agent", "create", "dave", "--email", "dave@example.com")
    for login in ("carol", "dave"):
        cli("acl", "grant", "ro", "--group", "users", "--agent", login)
        cli("agent", "subscribe", login, "--queue", "Raw")
    _store_bad_name(db_url, "carol")
    tn = cli("ticket", "create", "--title", "t", "-q").stdout.strip()
    assert ingest(cli, message(), agent="root@localhost")["action"] == "new_ticket"
    outbox = cli("mail", "outbox", "--status", "pending", "--status", "failed", "-o", "json").json
    failed = [m for m in outbox if m["status"] == "failed"]
    assert {m["recipient"] for m in failed} == {"carol@example.com"} and len(failed) == 2
    assert all("linefeed or carriage return" in m["last_error"] for m in failed)
    assert {m["recipient"] for m in outbox if m["status"] == "pending"} == {"dave@example.com"}
    assert tn in {m["ticket"] for m in failed}
    sent = cli("mail", "send", "-o", "json").json
    assert [m["status"] for m in sent] == ["sent", "sent"]
    assert [r.rcpt_tos for r in smtp.received] == [["dave@example.com"]] * 2


def test_bad_recipient_in_the_outbox_fails_only_that_row(cli: Cli, db_url: str, smtp: SmtpSink) -> None:
    from sqlalchemy import create_engine, text

    tn = cli("ticket", "create", "--title", "t", "--customer", "alice@example.com", "-q").stdout.strip()
    cli("ticket", "reply", tn, "--body", "one")
    cli("ticket", "reply", tn, "--body", "two")
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE mail_outbox SET recipient = :r WHERE id = 1"), {"r": "a@b\r\nRCPT TO:<x@y>"})
    engine.dispose()
    sent = cli("mail", "send", "-o", "json").json
    assert [m["status"] for m in sent] == ["failed", "sent"]
    assert sent[0]["last_error"].startswith("bad address")
    assert [r.rcpt_tos for r in smtp.received] == [["alice@example.com"]]


def test_reply_to_with_a_line_break_is_a_usage_error(cli: Cli, db_url: str) -> None:
    tn = cli("ticket", "create", "--title", "t", "-q").stdout.strip()
    before = dump(db_url)
    result = cli("ticket", "reply", tn, "--body", "hi", "--to", "a@b\r\nBcc: x@evil.example", expect=2)
    assert result.stderr.strip() == "tktctl: error: to must not contain control characters (found '\\r')"
    assert dump(db_url) == before


# SMTP credentials: used for AUTH, never shown ------------------------------------------------

PASSWORD = "s3cr:t@pw"


@pytest.fixture
def smtp_auth(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SmtpSink, int]]:
    """aiosmtpd requiring AUTH (without TLS on loopback) as helpdesk / PASSWORD."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (data.login, data.password) == (b"helpdesk", PASSWORD.encode())
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    sink = SmtpSink()
    port = free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_required=True, auth_require_tls=False
    )
    controller.start()
    yield sink, port
    controller.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # loopback only
@pytest.mark.parametrize("password", [PASSWORD, "wrong-pw"])
def test_smtp_url_password_logs_in_and_is_never_shown(
    cli: Cli, smtp_auth: tuple[SmtpSink, int], monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    sink, port = smtp_auth
    monkeypatch.setenv("TKTCTL_SMTP_URL", f"smtp://helpdesk:{quote(password, safe='')}@127.0.0.1:{port}")
    tn = cli("ticket", "create", "--title", "t", "--customer", "alice@example.com", "-q").stdout.strip()
    cli("ticket", "reply", tn, "--body", "fixed")
    result = cli("mail", "send", "-o", "json")
    (row,) = result.json
    shown = result.stdout + result.stderr + cli("mail", "outbox", "--status", "pending", "-o", "json").stdout
    assert password not in shown and quote(password, safe="") not in shown
    if password == PASSWORD:
        assert row["status"] == "sent" and [r.rcpt_tos for r in sink.received] == [["alice@example.com"]]
    else:  # not the message's fault: it waits for the next run, with the masked error
        assert (row["status"], sink.received) == ("pending", [])
        assert row["last_error"].startswith(f"cannot reach smtp://helpdesk:***@127.0.0.1:{port}: (535")


def test_bad_smtp_url_is_shown_masked(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    for url in (f"smpt://helpdesk:{PASSWORD}@localhost", f"smtp://helpdesk:{PASSWORD}@localhost:abc"):
        monkeypatch.setenv("TKTCTL_SMTP_URL", url)
        result = cli("mail", "send", expect=2)
        assert PASSWORD not in result.stderr
        assert "***" in result.stderr or "(invalid URL)" in result.stderr


# Exit 75 for every failure that is not the message's own fault --------------------------------

SIGNAL_DURING_IMPORTS = """
import os, signal, sys
from importlib.metadata import entry_points

class Stop:
    '''Deliver SIGTERM while the command line is being imported (as an MTA's timeout might).'''
    def find_spec(self, name, path=None, target=None):
        if name == "typer":
            os.kill(os.getpid(), signal.SIGTERM)
        return None

sys.meta_path.insert(0, Stop())
sys.argv = ["tktctl", "--db", sys.argv[1], "mail", "ingest", "-"]
(script,) = [e for e in entry_points(group="console_scripts") if e.name == "tktctl"]
script.load()()
"""


@pytest.mark.backends("sqlite")
def test_sigterm_while_the_command_line_is_imported_exits_75(db_url: str, desk: Desk) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", SIGNAL_DURING_IMPORTS, db_url], input=message(), capture_output=True, timeout=60
    )
    assert done.returncode == 75, done.stderr
    assert done.stderr.decode().startswith("tktctl: error: interrupted by SIGTERM")
    assert desk.tickets.count() == 0


def test_ingest_failures_not_the_messages_fault_exit_75(cli: Cli, db_url: str, tmp_path: Path) -> None:
    before = dump(db_url)
    raw = message()
    for args in (
        ("--config", str(tmp_path / "missing.yaml")),
        ("--as", "nobody"),
        ("--profile", "nope", "--config", str(tmp_path / "missing.yaml")),
    ):
        cli(*args, "mail", "ingest", "-", input=raw, expect=75)
    cli("mail", "ingest", "-", "--target-quue", "Raw", input=raw, expect=75)  # the MTA's typo keeps the mail
    assert dump(db_url) == before


@pytest.mark.parametrize(
    "url", ["foo://x", "postgresql+psycopg://u:pw@127.0.0.1:abc/db", "sqlite:////nonexistent/x.db"]
)
def test_ingest_with_a_bad_database_url_exits_75(cli: Cli, url: str) -> None:
    result = cli("--db", url, "mail", "ingest", "-", input=message(), expect=75)
    assert "pw" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_mail_ingest_stdin_inside_batch_is_refused(cli: Cli, db_url: str, tmp_path: Path) -> None:
    eml = tmp_path / "m.eml"
    eml.write_bytes(message())
    lines = cli("batch", input=f"mail ingest -\nmail ingest {eml}\n", expect=7).jsonl
    assert [line["exit"] for line in lines] == [2, 0]
    assert "give a FILE" in lines[0]["error"]["message"]
    assert lines[1]["result"]["action"] == "new_ticket"


# Size limits -----------------------------------------------------------------------------------


def big_message(size: int) -> bytes:
    """A plain message of about ``size`` bytes, in ordinary 74-byte lines."""
    line = "The printer is on fire again and the toner smells of burnt toast today.\r\n"
    return message(subject="huge", body=line * (size // len(line)))


def _kept(db_url: str) -> list[tuple[int, int]]:
    from sqlalchemy import create_engine, func, select

    from tktctl.db.models import MailFailed

    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(select(MailFailed.size, func.length(MailFailed.content)).order_by(MailFailed.id)).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_message_over_the_limit_keeps_only_headers_and_a_prefix(db_url: str) -> None:
    from tests.test_mail import mail_desk
    from tktctl.api import ConflictError

    desk = mail_desk(db_url, limits={"max_bytes": 500_000})
    raw = big_message(3_000_000)
    result = desk.mail.ingest(raw)
    assert result["action"] == "failed" and "mail.limits.max_bytes" in result["reason"]
    ((size, kept),) = _kept(db_url)
    assert size == len(raw) and 64 * 1024 < kept <= 64 * 1024 + 200
    with pytest.raises(ConflictError, match="cannot be reprocessed"):
        desk.mail.retry([result["failed_id"]])
    assert desk.mail.retry() == []
    assert desk.tickets.count() == 0


@pytest.mark.backends("sqlite")
def test_a_70_mb_message_does_not_grow_the_database(cli: Cli, db_url: str) -> None:
    path = Path(db_url.removeprefix("sqlite:///"))
    wal = Path(f"{path}-wal")

    def size() -> int:
        return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)

    before = size()
    result = ingest(cli, big_message(70_000_000), agent="root@localhost")
    assert result["action"] == "failed"
    grown = size()
    assert grown - before < 2_000_000


@pytest.mark.backends("mysql")
def test_message_over_max_allowed_packet_is_a_dead_letter_not_a_retry_forever(cli: Cli, db_url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(db_url)
    with engine.connect() as conn:
        packet = int(conn.exec_driver_sql("SELECT @@max_allowed_packet").scalar_one())
    engine.dispose()
    fits = ingest(cli, big_message(packet // 3), agent="root@localhost")
    assert fits["action"] == "new_ticket"
    raw = big_message(packet + 1_000_000)
    assert len(raw) < 25 * 1024 * 1024  # within mail.limits.max_bytes: only the database is too small
    result = ingest(cli, raw, agent="root@localhost")
    assert result["action"] == "failed" and "max_allowed_packet" in result["reason"]
    # Over one statement's share of the packet (escaped, it would not fit) goes in in pieces.
    half = big_message(packet // 2 + 100_000).replace(b"huge", b"half")
    stored = ingest(cli, half, agent="root@localhost")
    assert stored["action"] == "new_ticket"
    assert Desk(db_url).articles.raw(stored["ticket"], stored["article"]) == half
    ((size, kept),) = _kept(db_url)  # the one over the packet
    assert (size, kept < 100_000) == (len(raw), True)
    assert ingest(cli, raw, agent="root@localhost")["failed_id"] == result["failed_id"]  # redelivery: same row


def test_body_over_the_cap_is_a_usage_error_and_writes_nothing(cli: Cli, db_url: str, tmp_path: Path) -> None:
    tn = cli("ticket", "create", "--title", "t", "--customer", "alice@example.com", "-q").stdout.strip()
    before = dump(db_url)
    huge = "x" * (1024 * 1024 + 1)
    for args in (
        ("ticket", "create", "--title", "t", "--body", "-"),
        ("ticket", "note", tn, "--body", "-"),
        ("ticket", "close", tn, "--note", huge),
        ("ticket", "reply", tn, "--body", "-"),
    ):
        result = cli(*args, input=huge, expect=2)
        assert "is 1048577 bytes; at most 1048576 are allowed (profile key max_body_bytes)" in result.stderr
    config = tmp_path / "config.yaml"
    config.write_text("profiles:\n  default:\n    max_body_bytes: 10\n")
    cli("--config", str(config), "ticket", "note", tn, "--body", "0123456789")
    cli("--config", str(config), "ticket", "note", tn, "--body", "é" * 6, expect=2)  # 12 bytes
    assert len(dump(db_url)["article"]) == len(before["article"]) + 1


def test_mail_body_over_the_cap_is_truncated_and_the_raw_message_kept(db_url: str) -> None:
    from tktctl.api import Desk

    desk = Desk(db_url, max_body_bytes=1000)
    raw = big_message(50_000)
    result = desk.mail.ingest(raw)
    (article,) = desk.tickets.show(result["ticket"])["articles"]
    assert article["body"].startswith("The printer is on fire")
    assert article["body"].endswith(" bytes (max_body_bytes); the raw message is whole]\n")
    assert "[tktctl: body truncated at 1000 of " in article["body"]
    assert len(article["body"]) < 1200
    assert _kept(db_url) == []  # not a dead letter

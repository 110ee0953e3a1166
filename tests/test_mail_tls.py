"""Fetching over TLS from a real dovecot: IMAPS, IMAP with STARTTLS, POP3S and POP3 with STLS.

The server's certificate is made for the run by trustme and names ``localhost`` only. A
fetch verifies it by default: without the account's ``ca_file`` the CA is unknown, and
through ``127.0.0.1`` the name does not match; either way the run exits 75 and the message
stays on the server. ``--insecure`` (or ``insecure: true``) fetches anyway, with a warning.
The transport matrix runs on SQLite; the fetch-to-ticket path on every backend.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import TKTCTL_EXE, Cli, Launch
from tests.mailservers import Dovecot, start_dovecot
from tktctl.api import Desk
from tktctl.errors import TempFail

# Each transport as an account: (type, extra keys).
TRANSPORTS: dict[str, tuple[str, dict[str, Any]]] = {
    "imaps": ("imaps", {"delete": True}),
    "imap+starttls": ("imap", {"starttls": True, "delete": True}),
    "pop3s": ("pop3s", {}),
    "pop3+stls": ("pop3", {"starttls": True}),
}


@pytest.fixture(scope="module")
def server() -> Iterator[Dovecot]:
    """One dovecot for the module (its listeners serve every transport); each test empties its mailbox."""
    started = start_dovecot()
    yield started
    started.stop()


@pytest.fixture
def dovecot(server: Dovecot) -> Dovecot:
    client = server.client()
    uids = client.uid("SEARCH", None, "ALL")[1][0].split()
    if uids:
        client.uid("STORE", b",".join(uids), "+FLAGS", "(\\Deleted)")
        client.expunge()
    client.logout()
    return server


@pytest.fixture(params=list(TRANSPORTS))
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def deliver(dovecot: Dovecot, subject: str) -> None:
    raw = f"From: alice@example.com\r\nTo: support@example.com\r\nSubject: {subject}\r\n\r\nover TLS\r\n"
    client = dovecot.client()
    client.append("INBOX", None, None, raw.encode())
    client.logout()


def waiting(dovecot: Dovecot) -> int:
    """Messages still on the server, neither deleted nor flagged as read."""
    client = dovecot.client()
    found = client.uid("SEARCH", None, "UNSEEN UNDELETED")[1][0].split()
    client.logout()
    return len(found)


def account(dovecot: Dovecot, transport: str, **override: Any) -> dict[str, Any]:
    kind, extra = TRANSPORTS[transport]
    entry = dovecot.account(kind, **extra)
    for key, value in override.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return entry


def configure(tmp_path: Path, **accounts: dict[str, Any]) -> str:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"profiles": {"default": {"mail": {"accounts": accounts}}}}))
    return str(config)


def logins(dovecot: Dovecot, since: int = 0) -> list[str]:
    """The server's login lines after the first ``since`` characters of its log."""
    return [line for line in dovecot.log()[since:].splitlines() if "Login: user=<desk>" in line]


# The transport matrix (SQLite) -------------------------------------------------------------------


@pytest.mark.backends("sqlite")
def test_a_fetched_message_becomes_a_ticket_and_leaves_the_server(
    db_url: str, dovecot: Dovecot, transport: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(dovecot, f"Printer on fire via {transport}")
    config = configure(tmp_path, box=account(dovecot, transport))
    mark = len(dovecot.log())
    done = Cli(db_url, monkeypatch)("--config", config, "mail", "fetch", "-o", "json")
    # The login went over TLS (for imap and pop3: upgraded by STARTTLS/STLS before it).
    login = logins(dovecot, mark)[0]
    assert f"{transport[:4]}-login" in login and ", TLS," in login, login
    assert [(r["action"], r["source"].split(":")[0]) for r in done.json] == [("new_ticket", "box")]
    assert done.stderr == ""  # verified: no warning
    ticket = Desk(db_url).tickets.show(done.json[0]["ticket"])
    assert ticket["title"] == f"Printer on fire via {transport}"
    assert waiting(dovecot) == 0
    client = dovecot.client()
    assert client.uid("SEARCH", None, "ALL")[1] == [b""]  # deleted, not only flagged
    client.logout()


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize(
    ("case", "override", "reason"),
    [
        ("untrusted", {"ca_file": None}, "unable to get local issuer certificate"),
        ("wrong host", {"host": "127.0.0.1"}, "IP address mismatch"),
    ],
)
def test_a_refused_certificate_exits_75_and_the_message_stays(
    db_url: str,
    dovecot: Dovecot,
    transport: str,
    case: str,
    override: dict[str, Any],
    reason: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deliver(dovecot, f"{case} via {transport}")
    config = configure(tmp_path, box=account(dovecot, transport, **override))
    cli = Cli(db_url, monkeypatch)
    failed = cli("--config", config, "mail", "fetch", expect=75)
    assert "TLS certificate refused" in failed.stderr and reason in failed.stderr, failed.stderr
    assert "ca_file" in failed.stderr and "--insecure" in failed.stderr  # the way out is named
    assert waiting(dovecot) == 1
    assert list(Desk(db_url).tickets.list()) == []
    # Machine formats carry it as the documented error object.
    error = cli("--config", config, "mail", "fetch", "-o", "json", expect=75).stderr
    assert '"code": "temporary"' in error


@pytest.mark.backends("sqlite")
def test_insecure_fetches_from_an_unverifiable_server_with_a_warning(
    db_url: str, dovecot: Dovecot, transport: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(dovecot, f"insecure via {transport}")
    # Neither the CA nor the name would pass.
    config = configure(tmp_path, box=account(dovecot, transport, ca_file=None, host="127.0.0.1"))
    mark = len(dovecot.log())
    done = Cli(db_url, monkeypatch)("--config", config, "mail", "fetch", "--insecure", "-o", "json")
    assert ", TLS," in logins(dovecot, mark)[0]  # still encrypted, only not verified
    assert [r["action"] for r in done.json] == ["new_ticket"]
    assert done.stderr == (
        "tktctl: warning: mail account 'box': the TLS certificate of 127.0.0.1 is not verified (insecure)\n"
    )
    assert waiting(dovecot) == 0


@pytest.mark.backends("sqlite")
def test_insecure_through_the_api_without_a_channel_is_a_python_warning(db_url: str, dovecot: Dovecot) -> None:
    """A Python caller that passes no ``warn`` still hears of an unverified server (it used to be dropped)."""
    deliver(dovecot, "insecure via the API")
    lax = account(dovecot, "imaps", ca_file=None, host="127.0.0.1")
    desk = Desk(db_url, mail={"accounts": {"lax": lax}})
    try:
        with pytest.warns(UserWarning, match=r"the TLS certificate of 127\.0\.0\.1 is not verified"):
            done = desk.mail.fetch(insecure=True)
    finally:
        desk.close()
    assert [r["action"] for r in done] == ["new_ticket"]
    assert waiting(dovecot) == 0


@pytest.mark.backends("sqlite")
def test_insecure_per_account_warns_for_that_account_only(
    db_url: str, dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(dovecot, "per account")
    lax = account(dovecot, "imaps", ca_file=None, insecure=True, delete=False)
    config = configure(tmp_path, lax=lax, strict=account(dovecot, "pop3s"))
    done = Cli(db_url, monkeypatch)("--config", config, "mail", "fetch", "-o", "json")
    # The IMAP account flags it \Seen; the POP3 one then finds it too (a duplicate) and deletes it.
    sources = [(r["action"], r["source"].split(":")[0]) for r in done.json]
    assert sources == [("new_ticket", "lax"), ("duplicate", "strict")]
    assert done.stderr.splitlines() == [
        "tktctl: warning: mail account 'lax': the TLS certificate of localhost is not verified (insecure)"
    ]


@pytest.mark.backends("sqlite")
def test_tls_to_a_plain_port_is_a_temporary_failure(
    db_url: str, dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(dovecot, "wrong port")
    config = configure(tmp_path, box=account(dovecot, "imaps", port=dovecot.ports["imap"]))
    failed = Cli(db_url, monkeypatch)("--config", config, "mail", "fetch", expect=75)
    assert f"localhost:{dovecot.ports['imap']}: TLS failed: WRONG_VERSION_NUMBER" in failed.stderr, failed.stderr
    assert waiting(dovecot) == 1


# Configuration errors: exit 2 before any connection ----------------------------------------------


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"type": "imaps", "starttls": True}, "starttls is for imap and pop3"),
        ({"type": "imap", "ca_file": "/etc/ssl/certs/ca-certificates.crt"}, "ca_file and insecure need TLS"),
        ({"type": "pop3", "insecure": True}, "ca_file and insecure need TLS"),
        ({"type": "imaps", "ca_file": "/nonexistent/ca.pem"}, "cannot load ca_file /nonexistent/ca.pem"),
        ({"type": "pop3", "starttls": True, "ca_file": "CA"}, "cannot load ca_file CA"),
    ],
)
def test_tls_settings_are_checked_before_connecting(
    db_url: str, entry: dict[str, Any], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pw").write_text("secret\n")
    (tmp_path / "CA").write_text("not a certificate\n")
    monkeypatch.chdir(tmp_path)
    # An unroutable port: had it connected, the failure would be 75, not 2.
    box = {"host": "localhost", "port": 9, "user": "u", "password_file": str(tmp_path / "pw"), **entry}
    failed = Cli(db_url, monkeypatch)("--config", configure(tmp_path, box=box), "mail", "fetch", expect=2)
    assert message in failed.stderr, failed.stderr


# The fetch-to-ticket path on every backend -------------------------------------------------------


def test_imaps_fetch_makes_a_ticket_on_every_backend(db_url: str, dovecot: Dovecot) -> None:
    deliver(dovecot, "Printer on fire over IMAPS")
    desk = Desk(db_url, mail={"accounts": {"box": account(dovecot, "imaps")}})
    results = desk.mail.fetch()
    assert [r["action"] for r in results] == ["new_ticket"]
    ticket = desk.tickets.show(results[0]["ticket"])
    assert ticket["title"] == "Printer on fire over IMAPS"
    assert ticket["articles"][0]["body"].strip() == "over TLS"
    assert waiting(dovecot) == 0


def test_pop3_stls_refusal_leaves_the_database_and_server_as_they_were(db_url: str, dovecot: Dovecot) -> None:
    deliver(dovecot, "stays")
    desk = Desk(db_url, mail={"accounts": {"box": account(dovecot, "pop3+stls", ca_file=None)}})
    before = list(desk.tickets.list())
    with pytest.raises(TempFail, match="TLS certificate refused"):
        desk.mail.fetch()
    assert list(desk.tickets.list()) == before and waiting(dovecot) == 1


# Through the installed executable, direct and through the warm server ----------------------------


@pytest.mark.backends("sqlite")
def test_insecure_through_the_installed_tktctl(db_url: str, dovecot: Dovecot, launch: Launch, tmp_path: Path) -> None:
    deliver(dovecot, "e2e")
    config = configure(tmp_path, box=account(dovecot, "imap+starttls", ca_file=None))
    launch.use_config(config)
    env = {**os.environ, **launch.env, "TKTCTL_DB": db_url}

    def fetch(*extra: str) -> subprocess.CompletedProcess[str]:
        argv = [TKTCTL_EXE, "--config", config, "mail", "fetch", *extra, "-o", "json"]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)

    refused = fetch()
    assert refused.returncode == 75 and refused.stdout == "" and "TLS certificate refused" in refused.stderr
    done = fetch("--insecure")
    assert done.returncode == 0, done.stderr
    assert [r["action"] for r in yaml.safe_load(done.stdout)] == ["new_ticket"]
    assert "warning: mail account 'box': the TLS certificate of localhost is not verified" in done.stderr
    assert waiting(dovecot) == 0

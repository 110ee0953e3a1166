"""File names the OS cannot take (a NUL byte) are bad input: exit 2, one line, nothing written.

Found by tests/test_fuzz_cli.py: open() raises ValueError, not OSError, for such a name, and
every command that read or wrote a named file exited 1 (internal error) on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import Cli, dump
from tktctl.api import Desk

NUL = "a\x00b.yaml"
SHOWN = NUL.replace("\x00", "\\x00")  # as error lines print it


@pytest.mark.parametrize(
    "args",
    [
        ["queue", "apply", "-f", NUL],
        ["calendar", "apply", "-f", NUL],
        ["job", "apply", "-f", NUL],
        ["acl", "apply", "-f", NUL],
        ["desk", "apply", "-f", NUL, "--dry-run"],
        ["agent", "apply", "-f", NUL],
        ["ticket", "import", NUL],
        ["mail", "ingest", NUL],
        ["autoresponse", "create", "thanks", "--type", "auto-reply", "--subject", "s", "--body-file", NUL],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_a_nul_in_an_input_file_name_is_a_usage_error(args: list[str], cli: Cli, db_url: str) -> None:
    """Exit 2 (mail ingest: 75, as for every failure that is not the message's own), one line, the
    NUL shown escaped as error lines show control characters."""
    before = dump(db_url)
    result = cli(*args, expect=75 if args[0] == "mail" else 2)
    assert result.stderr.splitlines() == [f"tktctl: error: cannot read {SHOWN}: embedded null byte"]
    assert dump(db_url) == before


def test_a_nul_in_an_attachment_target_is_a_usage_error(cli: Cli, db_url: str, desk: Desk) -> None:
    raw = (
        b"From: alice@example.com\nTo: desk@example.com\nSubject: plan\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsee plan\n"
        b"--b\nContent-Type: application/pdf; name=plan.pdf\nContent-Transfer-Encoding: base64\n\n"
        b"JVBERi0xLjQK\n--b--\n"
    )
    tn = desk.mail.ingest(raw)["ticket"]
    (attachment,) = desk.mail.attachments(tn)
    before = dump(db_url)
    result = cli("ticket", "attachment", tn, str(attachment["id"]), "--to-file", NUL, expect=2)
    assert result.stderr.splitlines() == [f"tktctl: error: cannot write {SHOWN}: embedded null byte"]
    assert dump(db_url) == before


def test_a_nul_in_a_database_url_is_a_usage_error(cli: Cli, db_url: str, tmp_path: Path) -> None:
    """SQLite raised ValueError (exit 1); PostgreSQL connected to the database named up to the NUL."""
    url = make_url(db_url)
    bad = [
        ["--db", f"sqlite:///{tmp_path / 'new'}\x00.db", "ticket", "count"],
        ["db", "copy", "--to", f"sqlite:///{tmp_path / 'copy'}\x00.db"],
        ["--db", url.set(database=f"{url.database}\x00x").render_as_string(hide_password=False), "ticket", "count"],
        ["--db", url.render_as_string(hide_password=False) + "%00x", "ticket", "count"],
    ]
    before = dump(db_url)
    for args in bad:
        result = cli(*args, expect=2)
        assert result.stderr.splitlines() == ["tktctl: error: invalid database URL: it contains a NUL character"]
    assert dump(db_url) == before
    assert not (tmp_path / "new").exists() and not (tmp_path / "copy").exists()


def test_a_driver_option_the_driver_cannot_read_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    """Regression (found by the CLI fuzz): SQLite's ``?timeout=abc`` was a ValueError, exit 1 (internal)."""
    result = cli("--db", f"sqlite:///{tmp_path / 'x.db'}?timeout=abc", "ticket", "count", expect=2)
    assert result.stderr.splitlines() == [
        "tktctl: error: invalid database URL: could not convert string to float: 'abc'"
    ]

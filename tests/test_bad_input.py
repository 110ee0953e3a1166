"""Bad input gets the contract's exit code, one line on stderr, and changes nothing at all."""

from __future__ import annotations

import pytest

from tests.conftest import Cli, dump

NOWHERE = "2000010110000001"
# Quotes, comments, statement separators, LIKE wildcards, backslashes: all must be plain text.
NASTY = "x'); DROP TABLE ticket; -- \" % _ \\ `ticket` /* */"


@pytest.fixture
def tn(cli: Cli) -> str:
    cli("queue", "create", "Tier 1")
    cli("agent", "create", "bob")
    return cli("ticket", "create", "--title", "existing", "--queue", "Tier 1", "-q").stdout.strip()


CASES = [
    ("unknown queue", ["ticket", "create", "--title", "t", "--queue", "Nope"], 3),
    ("unknown queue on move", ["ticket", "move", "{tn}", "--to", "Nope"], 3),
    ("unknown state", ["ticket", "state", "{tn}", "--to", "half done"], 3),
    ("unknown priority", ["ticket", "prioritize", "{tn}", "--to", "urgent"], 2),
    ("priority out of range", ["ticket", "create", "--title", "t", "--priority", "6"], 2),
    ("unknown agent", ["ticket", "assign", "{tn}", "--to", "ghost"], 3),
    ("unknown owner", ["ticket", "create", "--title", "t", "--owner", "ghost"], 3),
    ("unknown ticket", ["ticket", "close", "{tn}", NOWHERE], 3),
    ("malformed date", ["ticket", "state", "{tn}", "--to", "pending reminder", "--pending-until", "31/31/2026"], 2),
    ("malformed duration", ["ticket", "list", "--changed-before", "3 fortnights"], 2),
    ("empty title", ["ticket", "create", "--title", ""], 2),
    ("blank title", ["ticket", "create", "--title", "   "], 2),
    ("title of 10,000 characters", ["ticket", "create", "--title", "x" * 10_000], 2),
    ("NUL in title", ["ticket", "create", "--title", "a\x00b"], 2),
    ("unknown channel", ["ticket", "create", "--title", "t", "--channel", "pigeon"], 2),
    ("closing into an open state", ["ticket", "close", "{tn}", "--to", "open"], 2),
    ("two priority changes at once", ["ticket", "prioritize", "{tn}", "--to", "2", "--raise", "1"], 2),
    ("negative minutes", ["queue", "create", "Q", "--unlock-timeout", "-5"], 2),
    ("duplicate queue", ["queue", "create", "Tier 1"], 5),
    ("duplicate agent", ["agent", "create", "bob"], 5),
    ("unknown output format", ["ticket", "list", "-o", "xml"], 2),
    ("unknown sort key", ["ticket", "list", "--sort", "colour"], 2),
    ("no tickets given", ["ticket", "close", "-"], 2),
]


@pytest.mark.parametrize(("label", "args", "code"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_changes_nothing(cli: Cli, tn: str, label: str, args: list[str], code: int) -> None:
    before = dump(cli.db_url)
    result = cli(*[a.replace("{tn}", tn) for a in args], expect=code)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tktctl: error: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert dump(cli.db_url) == before


def test_invalid_utf8_on_stdin_changes_nothing(cli: Cli, tn: str) -> None:
    before = dump(cli.db_url)
    result = cli("ticket", "create", "--title", "t", "--body", "-", input=b"caf\xe9 \xff\n", expect=2)
    assert "not valid UTF-8" in result.stderr
    cli("ticket", "close", "-", input=tn.encode() + b"\n\xff\n", expect=2)
    cli("ticket", "close", "-", input=b'{"tn": \n', expect=2)
    assert dump(cli.db_url) == before


def test_sql_metacharacters_are_stored_verbatim_in_every_text_field(cli: Cli, tn: str) -> None:
    created = cli(
        "ticket",
        "create",
        "--title",
        NASTY,
        "--customer",
        NASTY[:150],
        "--type",
        NASTY[:100],
        "--body",
        NASTY,
        "--subject",
        NASTY,
        "--external-id",
        NASTY,
        "-o",
        "json",
    ).json
    assert (created["title"], created["customer"], created["type"], created["external_id"]) == (
        NASTY,
        NASTY[:150],
        NASTY[:100],
        NASTY,
    )
    cli("ticket", "note", created["tn"], "--body", NASTY, "--subject", NASTY)
    cli("queue", "create", NASTY[:200], "--comment", NASTY[:250])
    cli("agent", "create", "mallory", "--name", NASTY, "--email", NASTY)
    shown = cli("ticket", "show", created["tn"], "-o", "json").json
    assert {a["body"] for a in shown["articles"]} == {NASTY}
    assert {a["subject"] for a in shown["articles"]} == {NASTY}
    listed = cli("ticket", "list", "--title", NASTY, "--customer", NASTY[:150], "-q").stdout.split()
    assert listed == [created["tn"]]
    assert cli("queue", "show", NASTY[:200], "-o", "json").json["comment"] == NASTY[:250]
    assert len(cli("ticket", "list", "-q").stdout.split()) == 2  # nothing dropped, nothing leaked

"""Bad input gets the contract's exit code, one line on stderr, and changes nothing at all."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import typer
from typer._click import Command
from typer._click.types import IntParamType

from tests.conftest import Cli, dump
from tktctl.api import Desk, UsageError
from tktctl.cli import DatabaseInt, app

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
    # Python keeps argv bytes that are not UTF-8 as lone surrogates ($'\xff' in a shell).
    ("argv not UTF-8", ["ticket", "create", "--title", "ab\udcff"], 2),
    ("raise beyond any integer", ["ticket", "prioritize", "{tn}", "--raise", "99999999999999999999"], 2),
    ("limit beyond any integer", ["ticket", "list", "--limit", "99999999999999999999"], 2),
    ("minutes beyond the database's integer", ["queue", "create", "Q", "--solution-time", "2147483648"], 2),
    ("dead letter id beyond any integer", ["mail", "retry", "99999999999999999999"], 2),
    ("empty item in a comma list", ["ticket", "close", "--state-type", "open,"], 2),
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


@pytest.mark.parametrize(
    "stdin",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"tn": ' * 100_000 + "1" + "}" * 100_000,
        "- " * 5_000 + "x",
    ],
    ids=["JSON array", "JSON object", "YAML list"],
)
def test_deeply_nested_stdin_is_a_usage_error(cli: Cli, tn: str, stdin: str) -> None:
    before = dump(cli.db_url)
    result = cli("ticket", "close", "-", input=stdin + "\n", expect=2)
    assert result.stderr.count("\n") == 1 and "nested too deeply" in result.stderr
    assert dump(cli.db_url) == before


FILES = [
    ("queue", "[{name: Q, comment: 5}]"),
    ("queue", "[{name: Q, calendar: [1]}]"),
    ("calendar", "[{name: C, hours: 5}]"),
    ("calendar", "[{name: C, hours: [5]}]"),
    ("calendar", "[{name: C, hours: {mon: [5]}}]"),
]


@pytest.mark.parametrize(("noun", "document"), FILES, ids=[f"{n} {d}" for n, d in FILES])
def test_apply_file_of_the_wrong_shape_is_a_usage_error(cli: Cli, noun: str, document: str) -> None:
    before = dump(cli.db_url)
    result = cli(noun, "apply", "-f", "-", input=document, expect=2)
    assert result.stderr.count("\n") == 1 and "internal error" not in result.stderr
    assert dump(cli.db_url) == before


def _commands(command: Command) -> list[Command]:
    return [command, *(c for sub in getattr(command, "commands", {}).values() for c in _commands(sub))]


def test_every_int_parameter_is_bounded_to_the_database() -> None:
    """Built from the command tree: a new int option cannot pass 99999999999999999999 to a driver."""
    root = typer.main.get_group(app)
    ints = [
        (command.name, param.name)
        for name in root.list_commands(None)  # type: ignore[arg-type]
        for command in _commands(root.commands[name])
        for param in command.params
        if isinstance(param.type, IntParamType)
    ]
    assert len(ints) > 15
    assert all(
        isinstance(param.type, DatabaseInt)
        for name in root.list_commands(None)  # type: ignore[arg-type]
        for command in _commands(root.commands[name])
        for param in command.params
        if isinstance(param.type, IntParamType)
    ), ints


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://user:s3cret@db.example:abc/desk",
        "postgresql://user:s3cret@[::1/desk",
        "mysql+pymysql://user@db:99999999999/desk",
        "foo://user:s3cret@db/desk",
        "oracle://user@db/desk",
    ],
)
def test_malformed_database_url_is_a_usage_error(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for args in (["ticket", "count"], ["db", "copy", "--to", url]):
        db = url if args[0] == "ticket" else "sqlite:////nonexistent-dir/desk.db"
        result = Cli(db, monkeypatch)(*args, expect=2)
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("tktctl: error: ")
        assert "s3cret" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize("url", ["smtp://mail.example:abc", "smtp://[::1", "smtp://mail.example:99999"])
def test_malformed_smtp_url_is_a_usage_error(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TKTCTL_SMTP_URL", url)
    result = Cli(f"sqlite:///{tmp_path / 'desk.db'}", monkeypatch)("mail", "send", expect=2)
    assert result.stderr.count("\n") == 1 and "TKTCTL_SMTP_URL" in result.stderr


DRIVERS = [("postgresql", "psycopg", "postgresql+psycopg"), ("mysql", "pymysql", "mysql+pymysql")]


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize(("extra", "module", "scheme"), DRIVERS, ids=[d[0] for d in DRIVERS])
def test_missing_driver_names_the_extra_to_install(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, extra: str, module: str, scheme: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if the extra were not installed
    before = dump(cli.db_url)
    for result in (
        Cli(f"{scheme}://tktctl@127.0.0.1/desk", monkeypatch)("ticket", "count", expect=6),
        cli("db", "copy", "--to", f"{scheme}://tktctl@127.0.0.1/desk", expect=6),
    ):
        assert result.stderr.count("\n") == 1 and f"pip install 'tktctl[{extra}]'" in result.stderr
        assert "internal error" not in result.stderr
    assert dump(cli.db_url) == before


CONFIGS = [
    ("5", "not a number"),
    ("[default]", "not a list"),
    ("profile: {default: {agent: bob}}", "unknown key profile; known: profiles"),
    ("profiles: {default: 5}", "profile 'default'"),
    ("profiles: {default: [db, agent]}", "not a list"),
    ("profiles: {default: {agent: [1]}}", "'agent' must be a string, not a list"),
    ("profiles: {default: {agnet: bob}}", "unknown key agnet; known: db, agent"),
    ("profiles: {default: {}, other: {output: {json: 1}}}", "profile 'other'"),  # every profile is checked
    ("profiles: {default: {ticket_number: {generater: Date}}}", "unknown key generater; known: generator"),
    ("profiles: {default: {ticket_number: 10}}", "'ticket_number' must be a mapping"),
    ("profiles: {default: {db: 'sqlite:///x.db'", "config.yaml: line 2: while parsing"),  # YAML's report: one line
]


@pytest.mark.parametrize(("document", "message"), CONFIGS, ids=[c[0] for c in CONFIGS])
def test_config_of_the_wrong_shape_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document: str, message: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(document + "\n")
    db = tmp_path / "desk.db"
    result = Cli(f"sqlite:///{db}", monkeypatch)("--config", str(config), "ticket", "count", expect=2)
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not db.exists()


def test_sql_metacharacters_are_stored_verbatim_in_every_text_field(cli: Cli, tn: str) -> None:
    cli("type", "create", NASTY[:100])  # types are managed objects (`--type` takes the desk's own)
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


# "Billion laughs": 342 bytes whose nested aliases expand to 9^9 strings.
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]\n" for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)
YAML_READERS = [
    ("job run", ["job", "run", "{file}", "--dry-run"]),
    ("job apply", ["job", "apply", "-f", "{file}"]),
    ("queue apply", ["queue", "apply", "-f", "{file}"]),
    ("calendar apply", ["calendar", "apply", "-f", "{file}"]),
    ("acl apply", ["acl", "apply", "-f", "{file}"]),
    ("acl apply stdin", ["acl", "apply", "-f", "-"]),
    ("ticket import", ["ticket", "import", "{file}", "--format", "yaml"]),
    ("ticket import stdin", ["ticket", "import", "-", "--format", "yaml"]),
    ("ticket create --from", ["ticket", "create", "--from", "-", "--format", "yaml"]),
    ("config", ["--config", "{file}", "ticket", "count"]),
]


@pytest.mark.parametrize(("label", "args"), YAML_READERS, ids=[r[0] for r in YAML_READERS])
def test_yaml_alias_bomb_fails_fast_in_every_reader(cli: Cli, tmp_path: Path, label: str, args: list[str]) -> None:
    """Every YAML the tool reads goes through the one loader, which refuses alias expansion
    beyond a small budget: exit 2 in well under a second, one line, nothing written."""
    assert len(BOMB) == 342 and "*h" in BOMB
    file = tmp_path / "bomb.yaml"
    file.write_text(BOMB)
    before = dump(cli.db_url)
    argv = [a.replace("{file}", str(file)) for a in args]
    cli(*argv, input=BOMB, expect=2)  # untimed: the first run pays the command's imports and the driver's set-up
    # CPU time, not wall time: a loaded CI machine must not fail it; the expansion took 19 s of CPU.
    start = time.process_time()
    result = cli(*argv, input=BOMB, expect=2)
    assert time.process_time() - start < 1.0
    source = "stdin" if "-" in args else str(file)
    assert result.stderr == f"tktctl: error: {source}: line 4: too many aliases (more than 10000 nodes expanded)\n"
    assert dump(cli.db_url) == before


@pytest.mark.parametrize(("label", "args"), YAML_READERS, ids=[r[0] for r in YAML_READERS])
def test_yaml_syntax_error_is_one_line_with_file_and_line(
    cli: Cli, tmp_path: Path, label: str, args: list[str]
) -> None:
    document = "name: x\nfilter: {queue: [Raw\n"
    file = tmp_path / "bad.yaml"
    file.write_text(document)
    before = dump(cli.db_url)
    result = cli(*[a.replace("{file}", str(file)) for a in args], input=document, expect=2)
    source = "stdin" if "-" in args else str(file)
    assert result.stderr.startswith(f"tktctl: error: {source}: line 3: ")
    assert result.stderr.count("\n") == 1
    assert dump(cli.db_url) == before


def test_yaml_aliases_within_the_budget_are_read() -> None:
    from tktctl import yamlload

    document = (
        "base: &base {calendar: office, escalate-raise: 1}\nqueues:\n- {<<: *base, name: A}\n- {<<: *base, name: B}\n"
    )
    assert yamlload.load(document, "q.yaml")["queues"] == [
        {"calendar": "office", "escalate-raise": 1, "name": "A"},
        {"calendar": "office", "escalate-raise": 1, "name": "B"},
    ]


INJECTION = "Carol\r\nBcc: spy@evil.example"
BCC = "a@example.com\r\nBcc: x@evil.example"
# Control characters in names, logins and addresses (C0 with TAB/CR/LF, DEL, C1): each would end
# up in a mail header or a terminal. (label, argv, stdin)
CONTROL_CASES = [
    ("agent name CR/LF", ["agent", "create", "carol", "--name", INJECTION], None),
    ("agent login ESC", ["agent", "create", "ca\x1brol"], None),
    ("agent email on update", ["agent", "update", "bob", "--email", "bob@example.com\nBcc: spy@evil.example"], None),
    ("customer login", ["customer", "create", "alice@example.com\r\nBcc: x@evil.example"], None),
    ("customer email C1", ["customer", "create", "alice", "--email", "a@example.com\x85Bcc: x"], None),
    ("customer company TAB", ["customer", "create", "alice", "--company", "AC\tME"], None),
    ("queue name TAB", ["queue", "create", "Tier\t2"], None),
    ("queue rename DEL", ["queue", "rename", "Tier 1", "Tier\x7f2"], None),
    ("group name LF", ["group", "create", "sup\nport"], None),
    ("role name C1 CSI", ["role", "create", "l1\x9b2J"], None),
    (
        "ticket customer",
        ["ticket", "create", "--title", "t", "--customer", "a@example.com\r\nBcc: x@evil.example"],
        None,
    ),
    ("reply to", ["ticket", "reply", "{tn}", "--body", "hi", "--to", BCC], None),
    ("acl apply group", ["acl", "apply", "-f", "-"], 'groups: {"sup\\r\\nport": {}}\n'),
    (
        "import customer",
        ["ticket", "import", "-", "--format", "jsonl"],
        '{"title": "t", "customer": "a@b\\r\\nBcc: x"}\n',
    ),
    (
        "job name",
        ["job", "apply", "-f", "-"],
        'name: "nightly\\nBcc: x"\nfilter: {queue: Raw}\nactions: {priority: "+1"}\n',
    ),
]


@pytest.mark.parametrize(("label", "args", "stdin"), CONTROL_CASES, ids=[c[0] for c in CONTROL_CASES])
def test_control_characters_in_names_and_addresses_are_refused(
    cli: Cli, tn: str, label: str, args: list[str], stdin: str | None
) -> None:
    """`agent create carol --name $'Carol\\r\\nBcc: ...'` and the like: exit 2, one line, nothing written."""
    before = dump(cli.db_url)
    result = cli(*[a.replace("{tn}", tn) for a in args], input=stdin, expect=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "must not contain control characters" in lines[0], result.stderr
    assert dump(cli.db_url) == before


def test_control_characters_are_refused_by_the_python_api_and_in_mail_settings(desk: Desk) -> None:
    from tktctl.mail.outbound import MailSettings

    with pytest.raises(UsageError, match="control characters"):
        desk.agents.create("carol", name=INJECTION)
    with pytest.raises(UsageError, match="control characters"):
        desk.customers.update("nobody", email="a@b\r\nBcc: x")  # checked before the lookup
    with pytest.raises(UsageError, match="control characters"):
        MailSettings.from_config({"address": "desk@example.com\r\nBcc: x@evil.example"})
    assert desk.agents.list()[-1]["login"] != "carol"
    desk.agents.create("carol", name="Carol Dìaz-O'Neil", email="carol@example.com")  # printable Unicode is fine

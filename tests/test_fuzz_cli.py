"""Bad input is fuzzed: generated argv and stdin for every command of the real app.

For each leaf command (walked from the command tree, so a new command is fuzzed without
anyone adding it) hypothesis builds command lines from the command's own options, with edge
values (huge integers, empty strings, control characters, undecodable bytes as argv carries
them, very long strings, odd dates, unknown names, the number of a real ticket), and stdin
(random bytes, deep JSON, YAML with aliases, CSV, import records). Required options are always
given and values follow the option's type most of the time, so that every command gets past
parsing into its own code (checked: a command no example gets past parsing fails). The global
options are drawn too: `--as` an existing, disabled or unknown agent, `--profile`, `--config`
naming a generated YAML file (bad types, aliases, tags, broken syntax), `--db` with malformed
URLs, and `-o`/`--fields`/`-q` before the noun or after the verb.

The exit code must be one of the contract's (never 1, never a traceback, no internal error in
a batch's output), and a command that failed leaves the database as it was. Known holes that
colleagues own are recognised by signature (``HOLES``), each with an exact strict-xfail case.

SQLite only, a fixed number of examples per command, derandomized and without shrinking:
deterministic and about four minutes in CI on 2 CPUs; a failure prints the command line to
paste into a shell. ``TKTCTL_FUZZ_EXAMPLES=60`` runs deeper.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import Cli, Result, dump
from tests.test_permission_matrix_cli import leaf_commands
from tktctl.setup import deskconfig, queues
from tktctl.sla import calendars

EXAMPLES = int(os.environ.get("TKTCTL_FUZZ_EXAMPLES", "8"))  # ~4 min for every command here
CONTRACT = {0, 2, 3, 4, 5, 6, 7}
# Commands with documented codes of their own: the MTA's 75, and the Nagios plugin's 0-3.
OWN_CODES = {"mail ingest": {75}, "mail fetch": {75}, "mail retry": {75}, "check escalations": {1}}

EDGE = st.sampled_from(
    [
        "",
        " ",
        "-",
        "0",
        "-1",
        "99999999999999999999",
        "1e400",
        "nan",
        "\x00",
        "\r\nBcc: x@example.com",
        "\x1b[2J",
        "\udcff\udcfe",  # argv bytes that are not UTF-8, as Python's surrogateescape hands them over
        "x" * 5000,
        "2026-02-30",
        "9999-12-31T23:59:59Z",
        "0000-01-01",
        "+99999999d",
        "Nope",
        "root@localhost",
        "Raw",
        "open,new",
        "table",
        "../../etc/passwd",
        "sqlite:////nonexistent/dir/x.db",
    ]
)
VALUE = st.one_of(EDGE, st.text(max_size=30), st.integers().map(str))

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
RECORD = st.fixed_dictionaries(
    {},
    optional={
        key: VALUE | _json
        for key in ("title", "queue", "tn", "state", "priority", "owner", "created", "external_id", "body", "history")
    },
)
# Configuration records as `apply -f -` and `desk apply` read them: the keys of every kind, any values.
CONFIG_KEYS = (
    *queues.YAML_KEYS,
    *calendars.YAML_KEYS,
    *("login", "email", "agents", "type", "subject", "body", "queues", "filter", "actions", "permissions", "role"),
)
CONFIG_RECORD = st.fixed_dictionaries(
    {"name": st.one_of(VALUE, st.sampled_from(["Raw", "Q", "office", "users", "bob"]))},
    optional={key: VALUE | _json | st.lists(VALUE, max_size=2) for key in sorted(set(CONFIG_KEYS) - {"name"})},
)
CONFIG_DOCUMENT = st.one_of(
    CONFIG_RECORD,
    st.lists(CONFIG_RECORD, max_size=2),
    st.dictionaries(st.sampled_from(sorted(deskconfig.BY_NAME)), st.lists(CONFIG_RECORD, max_size=2), max_size=2),
)
STDIN = st.one_of(
    st.none(),
    st.binary(max_size=200),
    VALUE,
    st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
    _json.map(json.dumps),
    CONFIG_DOCUMENT.map(json.dumps),  # JSON is YAML too
    st.lists(RECORD, max_size=3).map(lambda rs: "\n".join(json.dumps(r) for r in rs)),
    st.just("a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c]\n"),
    st.just('title,queue\nx,Raw\n"unterminated,\n'),
    st.just("ticket create --title x\nticket close -\nmail ingest -\n"),
)


def _params(command: str) -> list[Any]:
    """The click parameters of a command, looked up in the real app."""
    import typer

    import tktctl.cli

    node: Any = typer.main.get_command(tktctl.cli.app)
    for name in command.split():
        node = node.get_command(typer.Context(node), name)
    return list(node.params)


INT = st.one_of(st.sampled_from(["0", "1", "-1", "5", "20", "99999999999999999999", "x"]), st.integers().map(str))
TN = "@TN"  # stands for the provisioned ticket's number, so that ticket verbs reach a real ticket


def _value(param: Any) -> st.SearchStrategy[str]:
    """Values of the parameter's own type most of the time, so that examples get past parsing."""
    type_name = type(param.type).__name__
    if type_name in ("IntParamType", "IntRange"):
        return st.one_of(INT, INT, VALUE)
    return st.one_of(VALUE, st.just(TN)) if param.param_type_name == "argument" else VALUE


# Global options (contract section 1), drawn for every command. The acting agents exist in the
# provisioned desk (bob: ro on users; gone: disabled); config files are written per example.
AGENT = st.sampled_from(["root@localhost", "bob", "gone", "Nope", "", "\x00", "\udcff"])
FORMAT = st.sampled_from(["table", "json", "jsonl", "yaml", "csv", "tsv", "ids", "", "bogus", "JSON"])
FIELDS = st.sampled_from(["tn,title", "name", "id", "nope", "", ",", "tn,tn", "x" * 300])
PROFILE = st.sampled_from(["default", "other", "missing", "", "\x00"])
CONFIG = st.one_of(
    st.sampled_from(
        [
            "profiles: {default: {agent: bob, output: json}, other: {agent: gone, timezone: Europe/Berlin}}\n",
            "profiles: {default: {output: 5}}\n",
            "profiles: {default: {output: {}}}\n",
            "profiles: {default: {timezone: Nowhere/Else}}\n",
            "profiles: {default: {ticket_number: 5}}\n",
            "profiles: {default: {ticket_number: {generator: Nope, system_id: x}}}\n",
            "profiles: {default: {mail: 5, smtp: [1]}}\n",
            "profiles: {default: {agent: gone}}\n",
            "profiles: {default: {nope: 1}}\n",
            "profiles: 5\n",
            "profiles: {default: 5}\n",
            "profiles: {default: [1]}\n",
            "profiles: {default: {agent: [1]}}\n",
            "profiles: {default: {timezone: 5}}\n",
            "5\n",
            "profiles: {default: {agent: &a bob}, other: {agent: *a}}\n",
            "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nprofiles: {default: {}}\n",
            "profiles: {default: !!python/object/apply:os.system [true]}\n",
            "profiles: {default: {agent: bob}\n",  # unterminated flow mapping
            "\x00\xff",
        ]
    ),
    _json.map(json.dumps),  # JSON is YAML too
)
DB = st.sampled_from(
    [
        "x",
        "sqlite://",
        "sqlite:///",
        "oracle://u@h/x",
        "foo://",
        "postgresql+psycopg://u@h:abc/x",
        "postgresql+psycopg://[::1/x",
        "postgresql://u@127.0.0.1:1/x",
        "mysql://u@127.0.0.1:1/x",
        "sqlite:///x.db?timeout=abc",
        "sqlite:///x\x00.db",
    ]
)


@st.composite
def argv(draw: st.DrawFn, command: str) -> list[str]:
    """Global options, the command's path, its positional arguments, its required options and a
    random subset of the others; output options before the noun or after the verb."""
    before: list[str] = []
    after: list[str] = []
    for flag, values in (("--as", AGENT), ("--profile", PROFILE), ("--db", DB)):
        if draw(st.integers(0, 5)) == 0:
            before += [flag, draw(values)]
    if draw(st.integers(0, 3)) == 0:
        before += ["--config", draw(CONFIG)]  # the test writes the text to a file and passes its path
    for flag, values in (("-o", FORMAT), ("--fields", FIELDS), ("-q", None)):
        if draw(st.integers(0, 4)) == 0:
            option = [flag] if values is None else [flag, draw(values)]
            (before if draw(st.booleans()) else after).extend(option)
    args = [*before, *command.split()]
    for param in _params(command):
        if param.param_type_name == "argument":
            count = 1 if param.nargs == 1 else draw(st.integers(0, 3))
            args += [draw(_value(param)) for _ in range(count)]
        elif param.required or draw(st.booleans()):
            args.append(param.opts[0])
            if not param.is_flag:
                args.append(draw(_value(param)))
    return args + after


@dataclass(frozen=True)
class Hole:
    """A known hole a colleague owns (issue 10): the fuzz recognises its failures by their
    signature and goes on fuzzing the command; ``case`` reproduces it exactly (strict xfail), so
    that the fix turns the case into an XPASS, and whoever fixes it deletes the entry."""

    name: str
    reason: str
    signature: Callable[[str, list[str], Result], bool]  # (command, argv, result) of a failed example
    case: list[str]  # argv; "@TN" is the provisioned ticket
    stdin: str | None = None
    config: str | None = None  # written to the file that --config names in the case


def _error(result: Result) -> str:
    return result.stderr + result.stdout  # batch reports each line's error on stdout


HOLES: list[Hole] = []  # every hole the fuzz found is closed; a new one goes here with its exact argv


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> tuple[Path, str]:
    """A desk with something to act on: a ticket, bob (ro on users) and gone (disabled)."""
    from tktctl.api import Desk

    path = tmp_path_factory.mktemp("fuzz") / "desk.db"
    shutil.copyfile(sqlite_template, path)
    desk = Desk(f"sqlite:///{path}")
    try:
        desk.agents.create("bob")
        desk.acl.grant("ro", group="users", agent="bob")
        desk.agents.create("gone")
        desk.agents.set_valid("gone", False)
        tn = desk.tickets.create(queue="Raw", title="fuzzed", customer="alice@example.com")["tn"]
    finally:
        desk.close()
    return path, tn


@pytest.fixture
def db_url(provisioned: tuple[Path, str], tmp_path: Path) -> str:
    """Each command's run starts from a copy of the provisioned desk (overrides conftest's)."""
    path = tmp_path / "desk.db"
    shutil.copyfile(provisioned[0], path)
    return f"sqlite:///{path}"


def _materialise(args: list[str], tn: str, config_path: Path) -> list[str]:
    """The runnable argv: the ticket placeholder filled in, a --config text written to its file."""
    result = [tn if arg == TN else arg for arg in args]
    for i, arg in enumerate(result[:-1]):
        if arg == "--config":
            config_path.write_bytes(result[i + 1].encode("utf-8", "surrogateescape"))
            result[i + 1] = str(config_path)
            break
    return result


def _shell(args: list[str]) -> str:
    """The command line to paste into bash: $'...' for arguments with unprintable characters."""

    def quote(arg: str) -> str:
        if arg.isprintable():
            return shlex.quote(arg)
        raw = arg.encode("utf-8", "surrogateescape")  # as argv carries undecodable bytes
        return "$'" + "".join(chr(b) if 32 <= b < 127 and chr(b) not in "\\'" else f"\\x{b:02x}" for b in raw) + "'"

    return " ".join(["tktctl", *map(quote, args)])


def _parsed(stderr: str) -> bool:
    """Whether the command line got past click's parsing (its errors end with a --help hint)."""
    return "--help`)" not in stderr


# Commands that no example gets past parsing, with the reason (none today).
PARSE_ONLY: dict[str, str] = {}


@pytest.mark.parametrize("command", leaf_commands())
def test_fuzz(
    command: str,
    cli: Cli,
    db_url: str,
    provisioned: tuple[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # files a command may write (`--to-file`, `db copy --to sqlite:///x`)
    allowed = CONTRACT | OWN_CODES.get(command, set())
    parsed: list[bool] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: it can take minutes on a CLI run
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(args=argv(command), stdin=STDIN)
    def run(args: list[str], stdin: str | bytes | None) -> None:
        runnable = _materialise(args, provisioned[1], tmp_path / "config.yaml")
        result, problem = _check(cli, db_url, runnable, stdin, allowed, command == "batch")
        parsed.append(_parsed(result.stderr))
        if problem is None or any(hole.signature(command, runnable, result) for hole in HOLES):
            return
        config = f"\n--config file: {args[args.index('--config') + 1]!r}" if "--config" in args else ""
        raise AssertionError(f"{problem}: {_shell(runnable)} <<< {stdin!r:.300}{config}\n{result.stderr[-800:]}")

    run()
    if command not in PARSE_ONLY:
        assert any(parsed), f"no example of {command!r} got past parsing: its values need a strategy"


def _check(
    cli: Cli, db_url: str, args: list[str], stdin: str | bytes | None, allowed: set[int], keeps_done_lines: bool
) -> tuple[Result, str | None]:
    """Run one command line; what breaks the contract, if anything."""
    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8", "surrogateescape")  # as a pipe would carry it
    before = dump(db_url)
    result = cli(*args, input=stdin, expect=None)
    if result.exit_code not in allowed:
        return result, f"exit {result.exit_code}"
    if "Traceback" in result.stderr:
        return result, "a traceback"
    if '"code": "internal"' in result.stdout:
        return result, "an internal error reported on stdout (a batch line)"
    # batch runs each line as its own command: lines before a failing one stay done (README: batch).
    if result.exit_code != 0 and not keeps_done_lines and dump(db_url) != before:
        return result, f"exit {result.exit_code} but the database changed"
    return result, None


@pytest.mark.parametrize(
    "hole",
    [pytest.param(hole, marks=pytest.mark.xfail(strict=True, reason=hole.reason), id=hole.name) for hole in HOLES],
)
def test_known_hole(hole: Hole, cli: Cli, db_url: str, provisioned: tuple[Path, str], tmp_path: Path) -> None:
    """Each known hole, exactly: it fails until its owner's fix lands (then remove it from HOLES)."""
    config = tmp_path / "config.yaml"
    config.write_text(hole.config or "")
    args = [provisioned[1] if arg == TN else str(config) if arg == "CONFIG" else arg for arg in hole.case]
    result, problem = _check(cli, db_url, args, hole.stdin, CONTRACT, hole.case == ["batch"])
    assert problem is None, f"{problem}: {result.stderr}"

"""`tktctl batch`: many commands, one process: one line in, one JSON result out.

An application that creates tickets all day keeps one `tktctl batch` open as a coprocess
instead of paying interpreter start-up per command. Each line runs through the same entry
point as the command line (so the same exit codes), in its own transaction; the lines
share one desk, and so one engine and connection pool.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import sys
from typing import Annotated, Any

import typer

from tktctl.commands._common import Invocation, invocation, settings
from tktctl.errors import ExitCode, UsageError

INTERRUPTED = 130  # a line interrupted (Ctrl-C) or a declined confirmation: the batch stops there
CODES = {INTERRUPTED: "aborted"}
StopOpt = Annotated[
    bool, typer.Option("--stop-on-error", help="Stop at the first line that fails (exit with its code).")
]


def batch(ctx: typer.Context, stop_on_error: StopOpt = False) -> None:
    """Run one tktctl command per stdin line (shell quoting, # comments); print one JSON result per line.

    Each result is {"line": N, "exit": CODE, "result": OUTPUT} (plus "error" when it failed);
    the output is JSON unless the line asks for another format. Exit 0 when every line
    succeeded, else 7 (or the failing line's code with --stop-on-error).
    """
    from tktctl.cli import run

    settings(ctx)
    shared = Invocation(desks={}, resolved={})
    base = [*_inherited(ctx), "--output", "json"]
    worst = 0
    for number, text in enumerate(iter(sys.stdin.readline, ""), start=1):
        try:
            argv = split(text)
        except ValueError as exc:
            result = _result(number, ExitCode.USAGE, "", json.dumps(UsageError(f"line {number}: {exc}").to_dict()))
        else:
            if not argv:
                continue
            if argv[0] == "batch":
                result = _result(number, ExitCode.USAGE, "", json.dumps(UsageError("batch cannot nest").to_dict()))
            else:
                shared.settings, shared.desk, shared.error, shared.held = None, None, None, []
                out, err = io.StringIO(), io.StringIO()
                with _streams(out, err):
                    code = run([*base, *argv], shared)
                result = _result(number, code, out.getvalue(), err.getvalue(), shared.error, shared.held)
        typer.echo(_line(result))
        sys.stdout.flush()
        if result["exit"]:
            worst = worst or result["exit"]
            if stop_on_error or result["exit"] == INTERRUPTED:
                break
    for desk in (shared.desks or {}).values():
        desk.close()
    invocation(ctx).desk = None
    if worst:
        raise typer.Exit(worst if stop_on_error or worst == INTERRUPTED else ExitCode.PARTIAL)


# A line of plain words and double-quoted strings (no backslash, single quote or #): what shlex makes of
# it (tests/test_batch_split.py holds them equal), found by two regular expressions instead of shlex's
# character-by-character reading (~5% of a `ticket create` line). shlex's whitespace is these four.
# Each character has one reading (no nested repetition of the same characters: no backtracking blow-up).
_PLAIN_WORD = r'(?:[^ \t\r\n"\'\\#]|"[^"\\]*")+'
_PLAIN_LINE = re.compile(rf"[ \t\r\n]*(?:{_PLAIN_WORD}(?:[ \t\r\n]+{_PLAIN_WORD})*[ \t\r\n]*)?")
_WORD = re.compile(_PLAIN_WORD)


def split(text: str) -> list[str]:
    """A line's words as ``shlex.split(text, comments=True)`` gives them."""
    if _PLAIN_LINE.fullmatch(text):
        return [word.replace('"', "") for word in _WORD.findall(text)]
    return shlex.split(text, comments=True)


# The batch's own global options given as flags, passed on to every line as if written before it:
# the line's own flags come after and win. Settings that came from the environment reach the line
# through the same environment, and those from the batch's profile through its --config/--profile
# (never as resolved values, which would override a --config or --profile the line names).
GLOBAL_FLAGS = (("db_url", "--db"), ("config_file", "--config"), ("profile", "--profile"), ("agent_login", "--as"))


def _inherited(ctx: typer.Context) -> list[str]:
    from typer._click.core import ParameterSource

    root = ctx.find_root()
    flags: list[str] = []
    for name, flag in GLOBAL_FLAGS:
        if root.get_parameter_source(name) is ParameterSource.COMMANDLINE:
            flags += [flag, root.params[name]]
    if root.params.get("debug") and root.get_parameter_source("debug") is ParameterSource.COMMANDLINE:
        flags.append("--debug")
    return flags


@contextlib.contextmanager
def _streams(out: io.StringIO, err: io.StringIO) -> Any:
    """The line's stdout and stderr captured; its stdin empty (stdin carries the batch itself)."""
    saved = sys.stdin, sys.stdout, sys.stderr
    # Empty, with a byte buffer beneath like a real stdin (`ticket close -` reads bytes).
    sys.stdin, sys.stdout, sys.stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), out, err
    try:
        yield
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved


def _line(result: dict[str, Any]) -> str:
    """The result as one JSON line."""
    from tktctl.formats import json_line

    try:
        return json_line(result)
    except (TypeError, ValueError) as exc:
        return json_line(_unwritable(result["line"], exc))


def _unwritable(number: int, exc: Exception) -> dict[str, Any]:
    """A line whose record JSON cannot hold: failed as its `-o json` would have failed (exit 1)."""
    from tktctl.cli import internal_error

    return {"line": number, "exit": ExitCode.INTERNAL, "result": None, **internal_error(exc).to_dict()}


def _result(
    number: int,
    code: int,
    stdout: str,
    stderr: str,
    error: dict[str, Any] | None = None,
    held: list[Any] | None = None,
) -> dict[str, Any]:
    """The line's result: its record held as data (:func:`~tktctl.commands._common.emit`), else its
    output parsed as JSON (or JSON lines), else the text; with the error the line reported (whatever
    its output format). A line that exits non-zero without reporting an error (`check escalations`:
    Nagios's codes) carries its stderr, if any, as the message."""
    try:
        output = held[0] if held and not stdout else _parse(_text(held) + stdout)
    except (TypeError, ValueError) as exc:
        return _unwritable(number, exc)
    result: dict[str, Any] = {"line": number, "exit": int(code), "result": output}
    if code and error is not None:
        result["error"] = error
    elif code:
        lines = stderr.strip().splitlines()
        try:
            result["error"] = json.loads(lines[-1])["error"]
        except (IndexError, ValueError, KeyError, TypeError):
            result["error"] = {"code": CODES.get(code, "exit"), "message": stderr.strip()}
    return result


def _text(held: list[Any] | None) -> str:
    """The held record as text, when the line printed more after it (its output as a whole, in order)."""
    from tktctl.formats import json_text

    return json_text(held[0]) if held else ""


def _parse(stdout: str) -> Any:
    """JSON output as data; anything else (ids, tables, csv) as the text it is."""
    text = stdout.strip()
    if not text:
        return None
    if text[0] not in "[{":
        return stdout
    try:
        return json.loads(stdout)
    except ValueError:
        pass
    try:
        return [json.loads(line) for line in stdout.splitlines() if line.strip()]
    except ValueError:
        return stdout

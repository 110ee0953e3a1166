"""What commands read besides their flags: ticket numbers from stdin or documents, text and
passwords from stdin, files (`-` is stdin) and YAML, each failure a usage error naming its source."""

from __future__ import annotations

import json
import re
import sys
import typing
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tktctl.errors import UsageError

if TYPE_CHECKING:
    pass


def _stdin_text() -> str:
    try:
        return sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"standard input is not valid UTF-8 (byte {exc.start})") from exc


def read_refs(refs: Iterable[str]) -> list[str]:
    """Ticket numbers from arguments; ``-`` reads them from stdin (see :func:`refs_in`)."""
    result: list[str] = []
    for ref in refs:
        result.extend(refs_in(_stdin_text()) if ref == "-" else [ref])
    return result


# Output that is not a list of tickets: a table's or csv's header, a tsv row. No ticket number has these.
_NOT_A_NUMBER = re.compile(r"[\s,|]")


def refs_in(text: str) -> list[str]:
    """The ticket numbers in what a pipeline feeds stdin: what ``-o jsonl``, ``-q``, ``-o json`` or ``-o yaml`` print.

    One number or JSON object with ``tn`` per line (blank lines skipped); or one JSON array or object;
    or a YAML list or mapping. Anything else is a usage error, with a hint for csv or table output.
    """
    start = text.lstrip()[:1]
    first = next((line for line in text.splitlines() if line.strip()), "")
    if start == "[" or (start == "{" and first.strip() == "{"):
        return _tns(_json(text, "stdin"), "stdin")
    if first.startswith(("- ", "---")) or first.rstrip() == "-" or re.match(r"\w+:(\s|$)", first):
        return _tns(parse_yaml(text, "stdin"), "stdin")
    result: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        where = f"stdin line {number}"
        if line.startswith("{"):
            result.extend(_tns(_json(line, where), where))
        elif _NOT_A_NUMBER.search(line):
            raise UsageError(f"{where} looks like csv/table output; pipe -o jsonl or -q")
        elif line:
            result.append(line)
    return result


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: invalid JSON: {exc}") from exc
    except RecursionError as exc:
        raise UsageError(f"{where}: JSON nested too deeply") from exc


def _tns(document: Any, where: str) -> list[str]:
    """Ticket numbers of one record (a mapping with ``tn``) or of a list of records or numbers."""
    items = document if isinstance(document, list) else [document]
    result = []
    for item in items:
        tn = item.get("tn") if isinstance(item, dict) else item
        if isinstance(item, dict) and tn is None:
            raise UsageError(f"{where}: a record without 'tn'")
        if isinstance(tn, bool) or not isinstance(tn, (str, int)):
            raise UsageError(f"{where}: {str(tn)[:40]!r} is not a ticket number")
        result.append(str(tn))
    return result


def read_text(value: str | None) -> str | None:
    """An option's text, where ``-`` means standard input."""
    return _stdin_text() if value == "-" else value


def body_or_file(body: str | None, body_file: str | None) -> str | None:
    """A text given as ``--body`` (``-`` = stdin) or ``--body-file``, not both; None if neither."""
    if body is not None and body_file is not None:
        raise UsageError("give --body or --body-file, not both")
    if body_file is None:
        return read_text(body)
    return read_file(body_file)


PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input (first line).")
]


def read_password(from_stdin: bool) -> str | None:
    """The password on stdin's first line, when asked for: never on the command line, where ps shows it."""
    if not from_stdin:
        return None
    lines = _stdin_text().splitlines()
    if not lines or not lines[0]:
        raise UsageError("--password-stdin: standard input holds no password")
    return lines[0]


def required_password(from_stdin: bool) -> str:
    """For commands whose whole point is a password (passwd, auth)."""
    password = read_password(from_stdin)
    if password is None:
        raise UsageError("the password is read from standard input: pass --password-stdin")
    return password


def open_input(path: str) -> typing.TextIO:
    """A named input file, or stdin for ``-``. A path that cannot be opened is bad input (exit 2),
    including one the OS cannot even name (a NUL byte, undecodable bytes): open() raises ValueError."""
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc


def read_file(path: str) -> str:
    """A named input file's whole text (``-`` = stdin); unreadable or not UTF-8 is a usage error."""
    if path == "-":
        return _stdin_text()
    with open_input(path) as stream:
        try:
            return stream.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {path}: {exc}") from exc


def read_yaml(path: str) -> Any:
    """A YAML document from a file (``-`` = stdin); unreadable or malformed input is a usage error."""
    return parse_yaml(read_file(path), path)


def parse_yaml(text: str, source: str) -> Any:
    """A YAML document through the one safe loader (alias budget, depth); errors name the source."""
    from tktctl import yamlload

    return yamlload.load(text, source)


FileOpt = Annotated[str, typer.Option("--file", "-f", help="YAML file; - reads stdin.")]

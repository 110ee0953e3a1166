"""`--attach FILE` (repeatable; ``-`` reads stdin, named by ``--attach-name``) and ``--attach-type``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from tktctl.commands._common import load_database_layer
from tktctl.errors import UsageError

if TYPE_CHECKING:
    from tktctl.tickets.attach import File

AttachOpt = Annotated[
    list[str] | None,
    typer.Option("--attach", help="Attach this file (repeatable); - reads stdin (name it with --attach-name)."),
]
AttachNameOpt = Annotated[str | None, typer.Option("--attach-name", help="File name of the attachment read from -.")]
AttachTypeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--attach-type", help="MIME type of the --attach of the same position [default: guessed from the name]."
    ),
]


def read_attachments(
    paths: list[str] | None, name: str | None, types: list[str] | None, body: str | None = None
) -> list[File]:
    """The files named, read whole; a type given by position wins over the one guessed by ``mimetypes``."""
    paths, types = paths or [], types or []
    if len(types) > len(paths):
        raise UsageError("more --attach-type than --attach")
    if "-" in paths and body == "-":
        raise UsageError("stdin holds one thing: --body - and --attach - cannot both read it")
    if paths.count("-") > 1:
        raise UsageError("--attach - (stdin) may be given once")
    if name is not None and "-" not in paths:
        raise UsageError("--attach-name names the attachment read from stdin (--attach -)")
    if not paths:
        return []  # without importing the database layer here, before the desk pauses the collector for it
    import mimetypes
    from pathlib import Path

    load_database_layer()
    from tktctl.tickets.attach import File

    files = []
    for index, path in enumerate(paths):
        if path == "-":
            if name is None:
                raise UsageError("--attach - needs --attach-name")
            filename, content = name, sys.stdin.buffer.read()
        else:
            try:
                content = Path(path).read_bytes()
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc
            filename = Path(path).name
        guessed = mimetypes.guess_type(filename, strict=False)[0] or "application/octet-stream"
        files.append(File(filename, types[index] if index < len(types) else guessed, content))
    return files

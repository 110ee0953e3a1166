"""What every command shares: its settings, the output options, reading stdin, rendering.

Commands stay thin: parse, call one service method, hand the result to :func:`emit`.
Nothing here imports the database layer at module level, so ``--help`` stays fast.
"""

from __future__ import annotations

import functools
import gc
import inspect
import json
import sys
import typing
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from tktctl.config import Settings
from tktctl.errors import PartialFailure, UsageError
from tktctl.formats import kinds

if TYPE_CHECKING:
    from tktctl.formats.kinds import Kind
    from tktctl.services.desk import Desk

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Invocation:
    """Per-run state on ``ctx.obj``: the resolved settings (set by the root callback)."""

    settings: Settings | None = None
    desk: Desk | None = None


OutputOpt = Annotated[
    str | None,
    typer.Option("--output", "-o", help="table, json, jsonl, yaml, csv, tsv or ids.", show_default=False),
]
FieldsOpt = Annotated[str | None, typer.Option("--fields", help="Comma-separated keys/columns to emit, in that order.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print identifiers only (same as -o ids).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Check and show what would change; write nothing.")]
ContinueOpt = Annotated[
    bool,
    typer.Option("--continue-on-error", help="One transaction per ticket; report each; exit 7 if any failed."),
]
TicketRefs = Annotated[
    list[str], typer.Argument(help="Ticket numbers; - reads them from stdin (one per line, or JSON with tn).")
]
TicketRef = Annotated[str, typer.Argument(help="Ticket number.")]
TimeHelp = "A time: 2026-11-27, '2026-11-27 14:00', 3d (ago), +2h (from now), now, today, yesterday."


def invocation(ctx: typer.Context) -> Invocation:
    root = ctx.find_root()
    if not isinstance(root.obj, Invocation):
        root.obj = Invocation()
    return root.obj


def settings(ctx: typer.Context) -> Settings:
    current = invocation(ctx).settings
    assert current is not None, "the root callback resolves settings before any command runs"
    return current


def with_output(function: F) -> F:
    """Add ``-o/--output``, ``--fields`` and ``-q`` after the verb, as kubectl and gh accept them."""
    hints = typing.get_type_hints(function, include_extras=True)
    signature = inspect.signature(function)
    params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()]
    extra = [
        inspect.Parameter("output", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=OutputOpt),
        inspect.Parameter("fields", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=FieldsOpt),
        inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=QuietOpt),
    ]

    @functools.wraps(function)
    def wrapper(
        *args: Any, output: str | None = None, fields: str | None = None, quiet: bool = False, **kwargs: Any
    ) -> Any:
        ctx = kwargs.get("ctx")  # every command names its context `ctx`
        if ctx is not None and (output or fields or quiet):
            state = invocation(ctx)
            assert state.settings is not None
            state.settings = state.settings.with_output(output, fields, quiet)
        return function(*args, **kwargs)

    # Resolved annotations: Typer reads them through the wrapper, whose globals are this module's.
    wrapper.__signature__ = signature.replace(parameters=[*params, *extra])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**hints, **{p.name: p.annotation for p in extra}}
    return wrapper  # type: ignore[return-value]


@contextmanager
def _quiet_gc() -> Iterator[None]:
    """Pause the cyclic GC while the database layer is first imported, then freeze what it made.

    The import leaves ~40,000 long-lived objects that the collector would scan ~140 times on the
    way (~30 ms) and again at interpreter exit, freeing nothing; frozen, they are never scanned
    again. Together ~130 ms of ``tktctl ticket create`` (docs/benchmarks.md). Only when this call
    does the import: a process that already has the database layer (tests, a library caller)
    keeps its collector as it is.
    """
    first = "tktctl.services.desk" not in sys.modules
    enabled = gc.isenabled()
    if first:
        gc.disable()
    try:
        yield
    finally:
        if first:
            gc.freeze()
        if enabled:
            gc.enable()


def desk(ctx: typer.Context) -> Desk:
    """The desk for this run, built once from the settings."""
    state = invocation(ctx)
    if state.desk is None:
        with _quiet_gc():
            from tktctl.services.desk import Desk, NumberSettings

        current = settings(ctx)
        numbering = current.profile.get("ticket_number") or {}
        if not isinstance(numbering, dict):
            raise UsageError("profile key 'ticket_number' must be a mapping (generator, system_id)")
        state.desk = Desk(
            current.db,
            actor=current.agent,
            numbers=NumberSettings(
                generator=str(numbering.get("generator", "DateChecksum")),
                system_id=str(numbering.get("system_id", "10")),
            ),
            timezone_name=current.profile.get("timezone"),
        )
    return state.desk


def emit(ctx: typer.Context, data: Any, kind: Kind) -> None:
    """Render records on stdout in the chosen format."""
    from tktctl.formats import render

    current = settings(ctx)
    render(data, kind=kind, fmt=current.output, fields=current.fields, out=sys.stdout)
    sys.stdout.flush()


def _stdin_text() -> str:
    try:
        return sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"standard input is not valid UTF-8 (byte {exc.start})") from exc


def read_refs(refs: Iterable[str]) -> list[str]:
    """Ticket numbers from arguments; ``-`` reads lines of numbers or JSON objects with ``tn``."""
    result: list[str] = []
    for ref in refs:
        if ref != "-":
            result.append(ref)
            continue
        for number, line in enumerate(_stdin_text().splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            if line.startswith("{"):
                try:
                    tn = json.loads(line).get("tn")
                except (json.JSONDecodeError, AttributeError) as exc:
                    raise UsageError(f"stdin line {number}: invalid JSON: {exc}") from exc
                if tn is None:
                    raise UsageError(f"stdin line {number}: JSON object has no 'tn'")
                line = str(tn)
            result.append(line)
    return result


def read_text(value: str | None) -> str | None:
    """An option's text, where ``-`` means standard input."""
    return _stdin_text() if value == "-" else value


def run_bulk(
    ctx: typer.Context, call: Callable[..., Any], *args: Any, dry_run: bool, continue_on_error: bool, **kwargs: Any
) -> None:
    """Run a bulk change and print the tickets, or each ticket's outcome with --continue-on-error."""
    try:
        result = call(*args, dry_run=dry_run, continue_on_error=continue_on_error, **kwargs)
    except PartialFailure as failure:
        emit(ctx, failure.results, kinds.OUTCOME)
        raise
    emit(ctx, result, kinds.OUTCOME if continue_on_error else kinds.TICKET)
    if dry_run:
        typer.echo("dry run: nothing was written", err=True)

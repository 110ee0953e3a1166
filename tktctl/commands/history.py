"""`tktctl history ...`: the audit trail across tickets."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import TimeHelp, desk, emit, with_output
from tktctl.formats import kinds

app = typer.Typer(help="Export ticket history.", no_args_is_help=True)


@app.command("export")
@with_output(kinds.HISTORY)
def export(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", help="From this time on. " + TimeHelp)] = None,
    until: Annotated[str | None, typer.Option("--until", help="Before this time.")] = None,
    queue: Annotated[list[str] | None, typer.Option("--queue", help="Queue at the time (repeatable).")] = None,
    types: Annotated[str | None, typer.Option("--type", help="History types, comma-separated: Move,Lock.")] = None,
) -> None:
    """Stream history entries, oldest first (use -o jsonl for large exports)."""
    wanted = [t.strip() for t in (types or "").split(",") if t.strip()]
    emit(ctx, desk(ctx).history.export(since=since, until=until, queues=queue or (), types=wanted), kinds.HISTORY)

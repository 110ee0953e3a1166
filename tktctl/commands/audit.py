"""`tktctl audit ...`: the trail of administrative changes."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import TimeHelp, desk, emit, with_output
from tktctl.formats import kinds

app = typer.Typer(
    help="List administrative changes: grants, revokes, creations, disables, passwords.", no_args_is_help=True
)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@app.command("list")
@with_output(kinds.AUDIT)
def list_(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", help="From this time on. " + TimeHelp)] = None,
    until: Annotated[str | None, typer.Option("--until", help="Before this time.")] = None,
    actor: Annotated[list[str] | None, typer.Option("--actor", help="Agent who made the change (repeatable).")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Actions, comma-separated: grant,revoke.")] = None,
    object_: Annotated[str | None, typer.Option("--object", help="Object kinds, comma-separated: agent,role.")] = None,
) -> None:
    """Stream audit entries, oldest first (use -o jsonl for large exports); admins only."""
    entries = desk(ctx).audit.list(
        since=since, until=until, actors=actor or (), actions=_split(action), objects=_split(object_)
    )
    emit(ctx, entries, kinds.AUDIT)

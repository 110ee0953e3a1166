"""`tktctl notification ...`: ticket notification rules (which events mail whom), as YAML."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tktctl.commands._common import DryRunOpt, desk, emit, report_changes, settings, with_output
from tktctl.commands._input import FileOpt, read_yaml
from tktctl.errors import UsageError
from tktctl.formats import kinds

app = typer.Typer(help="Notification rules: which ticket events mail whom.", no_args_is_help=True)


@app.command("list")
@with_output(kinds.NOTIFICATION_RULE)
def list_(ctx: typer.Context) -> None:
    """List the notification rules (events, recipients, template)."""

    emit(ctx, desk(ctx).notifications.list(), kinds.NOTIFICATION_RULE)


@app.command("dump")
@with_output(kinds.NOTIFICATION_DOCUMENT)
def dump(ctx: typer.Context) -> None:
    """Print the rules as `notification apply` reads them: YAML (the default), or JSON with -o json."""
    from tktctl.formats import render

    fmt = settings(ctx).output
    if fmt not in ("table", "yaml", "json"):
        raise UsageError(f"notification dump writes yaml or json, not {fmt}")
    document = {"rules": desk(ctx).notifications.dump()}
    kind = kinds.NOTIFICATION_DOCUMENT
    render(document, kind=kind, fmt="json" if fmt == "json" else "yaml", out=sys.stdout, fields=settings(ctx).fields)
    sys.stdout.flush()


@app.command("apply")
@with_output(kinds.NOTIFICATION_CHANGE)
def apply(
    ctx: typer.Context,
    file: FileOpt,
    dry_run: DryRunOpt = False,
    prune: Annotated[bool, typer.Option("--prune", help="Delete the rules the file leaves out.")] = False,
) -> None:
    """Create or replace rules by name from YAML (as `notification dump` prints it), in one transaction; admin only."""
    changes = desk(ctx).notifications.apply(read_yaml(file), dry_run=dry_run, prune=prune)
    report_changes(ctx, changes, kinds.NOTIFICATION_CHANGE, dry_run)

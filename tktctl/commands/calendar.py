"""`tktctl calendar ...`: business calendars for SLA deadlines and unlock timeouts."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import DryRunOpt, apply_kind, apply_records, desk, emit, with_output
from tktctl.commands._input import FileOpt
from tktctl.formats import kinds

app = typer.Typer(help="Manage business calendars (working hours, holidays).", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="Calendar name.")]
Hours = Annotated[
    list[str] | None,
    typer.Option(
        "--hours",
        help="Working hours 'DAYS RANGES', e.g. 'mon-fri 09:00-12:00,13:00-17:00' (repeatable; local time).",
    ),
]
Zone = "IANA time zone of the working hours, e.g. Europe/Berlin."
Holiday = "Holiday: MM-DD every year or YYYY-MM-DD once (repeatable)."
Comment = Annotated[str | None, typer.Option("--comment", help="Free text for admins.")]


@app.command("create")
@with_output(kinds.CALENDAR)
def create(
    ctx: typer.Context,
    name: Name,
    timezone: Annotated[str, typer.Option("--timezone", help=Zone)] = "UTC",
    hours: Hours = None,
    holiday: Annotated[list[str] | None, typer.Option("--holiday", help=Holiday)] = None,
    comment: Comment = None,
    if_not_exists: Annotated[
        bool, typer.Option("--if-not-exists", help="Print an existing calendar; no error.")
    ] = False,
) -> None:
    """Create a calendar (default hours: mon-fri 09:00-17:00)."""
    calendar = desk(ctx).calendars.create(
        name, timezone=timezone, hours=hours, holidays=holiday or (), comment=comment, if_not_exists=if_not_exists
    )
    emit(ctx, calendar, kinds.CALENDAR)


@app.command("list")
@with_output(kinds.CALENDAR)
def list_(ctx: typer.Context) -> None:
    """List calendars."""
    emit(ctx, desk(ctx).calendars.list(), kinds.CALENDAR)


@app.command("show")
@with_output(kinds.CALENDAR)
def show(ctx: typer.Context, name: Name) -> None:
    """Show a calendar."""
    emit(ctx, desk(ctx).calendars.show(name), kinds.CALENDAR)


@app.command("update")
@with_output(kinds.CALENDAR)
def update(
    ctx: typer.Context,
    name: Name,
    timezone: Annotated[str | None, typer.Option("--timezone", help=Zone)] = None,
    hours: Hours = None,
    holiday: Annotated[list[str] | None, typer.Option("--holiday", help="Add a holiday. " + Holiday)] = None,
    remove_holiday: Annotated[
        list[str] | None, typer.Option("--remove-holiday", help="Remove a holiday (repeatable).")
    ] = None,
    comment: Comment = None,
) -> None:
    """Change a calendar; --hours replaces all working hours. Deadlines of its queues' tickets move."""
    calendar = desk(ctx).calendars.update(
        name,
        timezone=timezone,
        hours=hours,
        add_holidays=holiday or (),
        remove_holidays=remove_holiday or (),
        comment=comment,
    )
    emit(ctx, calendar, kinds.CALENDAR)


@app.command("apply")
@with_output(apply_kind(kinds.CALENDAR))
def apply(ctx: typer.Context, file: FileOpt, dry_run: DryRunOpt = False) -> None:
    """Create or replace calendars from YAML as `calendar list -o yaml` prints it; rerunnable."""
    apply_records(ctx, "calendars", file, dry_run, desk(ctx).calendars.show, kinds.CALENDAR)

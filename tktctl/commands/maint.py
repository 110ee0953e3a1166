"""`tktctl maint ...`: OTRS's maintenance cron jobs."""

from __future__ import annotations

import typer

from tktctl.commands._common import DryRunOpt, desk, done, emit, with_output
from tktctl.formats import kinds

app = typer.Typer(help="Maintenance jobs for cron: pending states, unlock timeout.", no_args_is_help=True)


@app.command("pending")
@with_output(kinds.JOB_RESULT)
def pending(ctx: typer.Context, dry_run: DryRunOpt = False) -> None:
    """Close pending-auto tickets past their time; record reminders for pending-reminder ones."""
    emit(ctx, desk(ctx).maint.pending(dry_run=dry_run), kinds.JOB_RESULT)
    done(dry_run)


@app.command("unlock-timeout")
@with_output(kinds.JOB_RESULT)
def unlock_timeout(ctx: typer.Context, dry_run: DryRunOpt = False) -> None:
    """Unlock tickets whose queue's unlock timeout passed (in working time) since their last change."""
    emit(ctx, desk(ctx).maint.unlock_timeout(dry_run=dry_run), kinds.JOB_RESULT)
    done(dry_run)

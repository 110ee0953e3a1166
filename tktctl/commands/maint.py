"""`tktctl maint ...`: OTRS's maintenance cron jobs."""

from __future__ import annotations

import sys

import typer

from tktctl.commands._common import DryRunOpt, desk, done, emit, progress_bar, with_output
from tktctl.formats import kinds

app = typer.Typer(
    help="Maintenance: pending states, unlock timeout, escalation rebuild, statistics.", no_args_is_help=True
)


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


@app.command("analyze")
@with_output(kinds.ANALYZED)
def analyze(ctx: typer.Context) -> None:
    """Update the database's statistics of every table (after a desk grew or changed); admin only."""
    emit(ctx, desk(ctx).maint.analyze(), kinds.ANALYZED)


@app.command("escalation-rebuild")
@with_output(kinds.ESCALATION_REBUILD)
def escalation_rebuild(ctx: typer.Context, dry_run: DryRunOpt = False) -> None:
    """Recompute the escalation deadlines of every open ticket (after a migration or a calendar fix); admin only."""
    maint = desk(ctx).maint
    total = maint.running_tickets() if sys.stderr.isatty() else None
    with progress_bar(total) as step:
        result = maint.escalation_rebuild(dry_run=dry_run, progress=step)
    emit(ctx, result, kinds.ESCALATION_REBUILD)
    done(dry_run)

"""`tktctl escalate` and `tktctl check escalations`: the SLA cron job and its monitoring check."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import DryRunOpt, desk, done, emit, with_output
from tktctl.formats import kinds

check_app = typer.Typer(help="Monitoring checks (Nagios plugin output).", no_args_is_help=True)


@with_output(kinds.ESCALATION)
def escalate(
    ctx: typer.Context,
    dry_run: DryRunOpt = False,
    queue: Annotated[str | None, typer.Option("--queue", help="Only tickets in this queue.")] = None,
) -> None:
    """Fire due escalations once: history, the queues' actions, notifications (run from cron)."""
    emit(ctx, desk(ctx).escalations.run(queue=queue, dry_run=dry_run), kinds.ESCALATION)
    done(dry_run)


@check_app.command("escalations")
def escalations(
    ctx: typer.Context,
    warn: Annotated[int, typer.Option("--warn", min=0, help="WARNING when more tickets are escalated.")] = 0,
    crit: Annotated[int, typer.Option("--crit", min=0, help="CRITICAL when more tickets are escalated.")] = 0,
) -> int:
    """Count escalated tickets; Nagios exit codes 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

    These are the Nagios plugin API's codes, not tktctl's: a monitoring system reads them.
    """
    status, line = desk(ctx).escalations.check(warn=warn, crit=crit)
    typer.echo(line)
    return status

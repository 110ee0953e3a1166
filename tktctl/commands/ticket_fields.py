"""`tktctl ticket set` (custom fields) and `ticket time` (time accounting); registered on `ticket`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tktctl.commands._common import Chosen, TicketRef, bulk_kind, desk, emit, run_bulk, with_output, with_selection
from tktctl.errors import UsageError
from tktctl.formats import kinds

app = typer.Typer()


@app.command("set")
@with_output(bulk_kind)
@with_selection
def set_(
    ctx: typer.Context,
    selection: Chosen,
    values: Annotated[
        list[str] | None, typer.Option("--set", help="FIELD=VALUE (repeatable; FIELD= clears; see `field list`).")
    ] = None,
) -> None:
    """Set custom fields on tickets: `ticket set TN... --set env=prod` or `ticket set TN... env=prod` (needs rw)."""
    from tktctl.tickets.fields import assignments

    tickets: Any = selection.tickets
    given = list(values or [])
    if isinstance(tickets, list):  # FIELD=VALUE among the arguments, after the ticket numbers
        given += [t for t in tickets if "=" in t]
        tickets = [t for t in tickets if "=" not in t]
        if not tickets:
            raise UsageError("FIELD=VALUE arguments follow ticket numbers; with filters or --all use --set FIELD=VALUE")
    if not given:
        raise UsageError("give at least one FIELD=VALUE (or --set FIELD=VALUE)")
    chosen = Chosen(tickets, selection.yes, selection.dry_run, selection.continue_on_error)
    run_bulk(ctx, desk(ctx).tickets.set_fields, chosen, assignments(given))


@app.command("time")
@with_output(kinds.TICKET_TIME)
def time(ctx: typer.Context, tn: TicketRef) -> None:
    """The working time accounted on a ticket, in total and per article."""
    emit(ctx, desk(ctx).time_accounting.of(tn), kinds.TICKET_TIME)

"""`tktctl type ...`: ticket types, as OTRS's Admin::TicketType."""

from __future__ import annotations

import typer

from tktctl.commands._named import add_named_commands
from tktctl.formats import kinds

app = typer.Typer(help="Manage ticket types (OTRS Admin::TicketType).", no_args_is_help=True)
add_named_commands(
    app, "type", "types", kinds.TICKET_TYPE, disabled_means="its tickets keep it, no ticket is given it until enabled."
)

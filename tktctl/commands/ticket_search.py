"""`tktctl ticket search`: full-text search, ranked (registered on the ticket noun by commands/ticket.py)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tktctl.commands._common import desk, emit, with_filter, with_output
from tktctl.formats import kinds

app = typer.Typer()

QUERY_HELP = 'Words, "phrases", AND, OR, NOT and (groups): printer AND toner, "paper jam" NOT laser.'


@app.command("search")
@with_output(kinds.SEARCH_HIT)
@with_filter
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help=QUERY_HELP)],
    selection: Any,
    search_in: Annotated[
        str | None, typer.Option("--in", help="Fields searched, comma-separated: title, subject, body, from [all].")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many tickets, best first.")] = 50,
) -> None:
    """Tickets whose title or an article matches a query, best first (with a score); filters narrow them."""
    emit(ctx, desk(ctx).search.tickets(query, selection, fields=search_in, limit=limit), kinds.SEARCH_HIT)

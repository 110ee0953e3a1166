"""`tktctl ticket link|unlink|links|merge|split`: relations between tickets (registered on `ticket`)."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import (
    Chosen,
    DryRunOpt,
    TicketRef,
    bulk_kind,
    desk,
    emit,
    run_bulk,
    with_output,
    with_selection,
)
from tktctl.formats import kinds

app = typer.Typer()

LinkType = Annotated[
    str, typer.Option("--type", help="normal (symmetric) or parent-child (the first ticket is the parent).")
]
Other = Annotated[str, typer.Argument(help="The ticket to link it with.")]


@app.command("link")
@with_output(kinds.LINK)
def link(
    ctx: typer.Context, tn: TicketRef, other: Other, link_type: LinkType = "normal", dry_run: DryRunOpt = False
) -> None:
    """Link two tickets (needs rw on the first, ro on the other); prints the link as the first sees it."""
    emit(ctx, desk(ctx).links.link(tn, other, kind=link_type, dry_run=dry_run), kinds.LINK)


@app.command("unlink")
@with_output(kinds.LINK)
def unlink(ctx: typer.Context, tn: TicketRef, other: Other, dry_run: DryRunOpt = False) -> None:
    """Remove the link between two tickets (needs rw on the first, ro on the other); prints the removed link."""
    emit(ctx, desk(ctx).links.unlink(tn, other, dry_run=dry_run), kinds.LINK)


@app.command("links")
@with_output(kinds.LINK)
def links(ctx: typer.Context, tn: TicketRef) -> None:
    """The tickets linked to a ticket (those the agent may see), with the link's type and relation."""
    emit(ctx, desk(ctx).links.list(tn), kinds.LINK)


@app.command("merge")
@with_output(bulk_kind)
@with_selection
def merge(
    ctx: typer.Context,
    selection: Chosen,
    into: Annotated[str, typer.Option("--into", help="The ticket they are merged into (it gets their articles).")],
) -> None:
    """Merge tickets into another, as OTRS: their articles move there, they become 'merged' and its children."""
    run_bulk(ctx, desk(ctx).merges.merge, selection, into=into)


@app.command("split")
@with_output(kinds.TICKET)
def split(
    ctx: typer.Context,
    tn: TicketRef,
    article: Annotated[int, typer.Option("--article", help="The article to copy into the new ticket.")],
    queue: Annotated[
        str | None, typer.Option("--queue", help="The new ticket's queue [default: the origin's].")
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Its title [default: the article's subject].")] = None,
    dry_run: DryRunOpt = False,
) -> None:
    """A new ticket from one article (copied with its attachments), linked to its origin as its child."""
    emit(ctx, desk(ctx).merges.split(tn, article=article, queue=queue, title=title, dry_run=dry_run), kinds.TICKET)

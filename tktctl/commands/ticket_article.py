"""`tktctl ticket article TN ID`: one article, or with --raw the message it came as."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tktctl.commands._common import TicketRef, desk, emit, with_output
from tktctl.formats import kinds

app = typer.Typer()


@app.command("article")
@with_output(kinds.ARTICLE)
def article(
    ctx: typer.Context,
    tn: TicketRef,
    article_id: Annotated[int, typer.Argument(help="Article id (see `ticket show`).")],
    raw: Annotated[
        bool, typer.Option("--raw", help="Print the stored email message byte for byte (mail in only).")
    ] = False,
) -> None:
    """Show one article of a ticket (with cc, message_id, in_reply_to, references), or its raw message."""
    if raw:
        content = desk(ctx).articles.raw(tn, article_id)
        sys.stdout.flush()
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    emit(ctx, desk(ctx).articles.show(tn, article_id), kinds.ARTICLE)

"""`tktctl address ...`: system addresses (OTRS Admin::SystemAddress), the From of a queue's mail."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import desk, emit, with_output
from tktctl.commands._texts import ClearCommentOpt, CommentOpt, IfNotExistsOpt, comment_change
from tktctl.formats import kinds

app = typer.Typer(help="Manage system addresses: the From of a queue's mail.", no_args_is_help=True)

Email = Annotated[str, typer.Argument(help="The address, e.g. support@example.com.")]
RealnameOpt = Annotated[str | None, typer.Option("--name", help="Display name, e.g. 'Example Support'.")]


@app.command("create")
@with_output(kinds.ADDRESS)
def create(
    ctx: typer.Context,
    email: Email,
    name: RealnameOpt = None,
    comment: CommentOpt = None,
    if_not_exists: IfNotExistsOpt = False,
) -> None:
    """Create a system address; a queue sends from it with `queue update Q --address EMAIL`."""
    record = desk(ctx).addresses.create(email, realname=name, comment=comment, if_not_exists=if_not_exists)
    emit(ctx, record, kinds.ADDRESS)


@app.command("list")
@with_output(kinds.ADDRESS)
def list_(ctx: typer.Context) -> None:
    """List system addresses (`queue list` shows which queue sends from which)."""
    emit(ctx, desk(ctx).addresses.list(), kinds.ADDRESS)


@app.command("show")
@with_output(kinds.ADDRESS)
def show(ctx: typer.Context, email: Email) -> None:
    """Show a system address."""
    emit(ctx, desk(ctx).addresses.show(email), kinds.ADDRESS)


@app.command("update")
@with_output(kinds.ADDRESS)
def update(
    ctx: typer.Context,
    email: Email,
    name: RealnameOpt = None,
    clear_name: Annotated[bool, typer.Option("--clear-name", help="Remove the display name.")] = False,
    comment: CommentOpt = None,
    clear_comment: ClearCommentOpt = False,
) -> None:
    """Change a system address's display name or comment."""
    record = desk(ctx).addresses.update(
        email, realname=comment_change(name, clear_name), comment=comment_change(comment, clear_comment)
    )
    emit(ctx, record, kinds.ADDRESS)


@app.command("disable")
@with_output(kinds.ADDRESS)
def disable(ctx: typer.Context, email: Email) -> None:
    """Disable a system address: its queues send from the profile's mail.address until it is enabled."""
    emit(ctx, desk(ctx).addresses.update(email, valid=False), kinds.ADDRESS)


@app.command("enable")
@with_output(kinds.ADDRESS)
def enable(ctx: typer.Context, email: Email) -> None:
    """Enable a disabled system address."""
    emit(ctx, desk(ctx).addresses.update(email, valid=True), kinds.ADDRESS)

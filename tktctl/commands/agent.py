"""`tktctl agent ...`: the agents who work tickets."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import desk, emit, with_output
from tktctl.formats import kinds

app = typer.Typer(help="Manage agents.", no_args_is_help=True)

Login = Annotated[str, typer.Argument(help="Agent login.")]


@app.command("create")
@with_output
def create(
    ctx: typer.Context,
    login: Login,
    name: Annotated[str | None, typer.Option("--name", help="Full name.")] = None,
    email: Annotated[str | None, typer.Option("--email", help="Email address.")] = None,
    if_not_exists: Annotated[bool, typer.Option("--if-not-exists", help="Print an existing agent; no error.")] = False,
) -> None:
    """Create an agent."""
    emit(ctx, desk(ctx).agents.create(login, name=name, email=email, if_not_exists=if_not_exists), kinds.AGENT)


@app.command("list")
@with_output
def list_(ctx: typer.Context) -> None:
    """List agents."""
    emit(ctx, desk(ctx).agents.list(), kinds.AGENT)


@app.command("show")
@with_output
def show(ctx: typer.Context, login: Login) -> None:
    """Show an agent."""
    emit(ctx, desk(ctx).agents.show(login), kinds.AGENT)


QueuesOpt = Annotated[list[str], typer.Option("--queue", help="Queue (repeatable).")]


@app.command("subscribe")
@with_output
def subscribe(ctx: typer.Context, login: Login, queues: QueuesOpt) -> None:
    """Mail the agent about new tickets and follow-ups in these queues."""
    emit(ctx, desk(ctx).agents.subscribe(login, queues), kinds.SUBSCRIPTION)


@app.command("unsubscribe")
@with_output
def unsubscribe(ctx: typer.Context, login: Login, queues: QueuesOpt) -> None:
    """Stop mailing the agent about these queues."""
    emit(ctx, desk(ctx).agents.subscribe(login, queues, unsubscribe=True), kinds.SUBSCRIPTION)


@app.command("subscriptions")
@with_output
def subscriptions(ctx: typer.Context, login: Login) -> None:
    """The queues an agent is subscribed to."""
    emit(ctx, desk(ctx).agents.subscriptions(login), kinds.SUBSCRIPTION)

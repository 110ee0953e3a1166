"""`tktctl role ...`: sets of agents that share grants."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import desk, emit, with_output
from tktctl.commands._named import add_named_commands
from tktctl.formats import kinds

app = typer.Typer(help="Manage roles: agents that share grants.", no_args_is_help=True)
add_named_commands(app, "role", "roles", kinds.ROLE, disabled_means="its members lose its grants until enabled.")

Role = Annotated[str, typer.Argument(help="Role name.")]
Agents = Annotated[list[str], typer.Argument(help="Agent logins.")]


@app.command("add-agent")
@with_output(kinds.ROLE)
def add_agent(ctx: typer.Context, role: Role, agents: Agents) -> None:
    """Make agents members of a role (members already in it stay)."""
    emit(ctx, desk(ctx).roles.add_agents(role, agents), kinds.ROLE)


@app.command("remove-agent")
@with_output(kinds.ROLE)
def remove_agent(ctx: typer.Context, role: Role, agents: Agents) -> None:
    """Take agents out of a role (agents not in it are ignored)."""
    emit(ctx, desk(ctx).roles.remove_agents(role, agents), kinds.ROLE)

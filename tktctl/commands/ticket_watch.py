"""`tktctl ticket watch|unwatch`: agents who hear of a ticket's events (registered on `ticket`)."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import Chosen, bulk_kind, desk, run_bulk, with_output, with_selection

app = typer.Typer()

AgentOpt = Annotated[
    str | None, typer.Option("--agent", help="The watching agent [default: the acting one; another needs rw].")
]


@app.command("watch")
@with_output(bulk_kind)
@with_selection
def watch(ctx: typer.Context, selection: Chosen, agent: AgentOpt = None) -> None:
    """Watch tickets: notification rules naming watchers mail the agent about them."""
    run_bulk(ctx, desk(ctx).watchers.watch, selection, agent=agent)


@app.command("unwatch")
@with_output(bulk_kind)
@with_selection
def unwatch(ctx: typer.Context, selection: Chosen, agent: AgentOpt = None) -> None:
    """Stop watching tickets."""
    run_bulk(ctx, desk(ctx).watchers.unwatch, selection, agent=agent)

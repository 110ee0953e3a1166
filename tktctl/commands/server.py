"""`tktctl server start|stop|status`: the warm command server (see tktctl/server and the README)."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import emit, with_output
from tktctl.formats import kinds

app = typer.Typer(help="The warm command server (TKTCTL_SERVER=auto): start, stop, status.", no_args_is_help=True)


def _config(ctx: typer.Context) -> str:
    from tktctl.server import control

    return control.config_path(ctx.find_root().params.get("config_file"))


@app.command("start")
@with_output(kinds.SERVER)
def start(
    ctx: typer.Context,
    idle_timeout: Annotated[
        float, typer.Option("--idle-timeout", min=1, help="Exit after this many seconds without a request.")
    ] = 600,
) -> None:
    """Start the server in the background (if none runs) and wait until it answers; print its status."""
    from tktctl.server import control

    emit(ctx, control.start(_config(ctx), idle_timeout), kinds.SERVER)


@app.command("stop")
@with_output(kinds.SERVER)
def stop(ctx: typer.Context) -> None:
    """Stop the server (commands it runs finish); print its last status. Exit 3 when none runs."""
    from tktctl.server import control

    emit(ctx, control.stop(_config(ctx)), kinds.SERVER)


@app.command("status")
@with_output(kinds.SERVER)
def status(ctx: typer.Context) -> None:
    """Show the server's pid, uptime (s), requests served and version. Exit 3 when none runs."""
    from tktctl.server import control

    emit(ctx, control.status(_config(ctx)), kinds.SERVER)

"""`tktctl init`, `tktctl db ...` and `tktctl completion`."""

from __future__ import annotations

from typing import Annotated

import typer

# Typer 0.28 vendors click; its completion classes are only reachable here (the version is pinned).
from typer._completion_classes import completion_init

from tktctl.commands._common import desk, emit, progress_bar, summary, warn, with_output
from tktctl.formats import kinds
from tktctl.text import plural

app = typer.Typer(help="Database schema: status and upgrades.", no_args_is_help=True)
SHELLS = ("bash", "zsh", "fish")

# Typer registers its bash/zsh/fish handlers for `_TKTCTL_COMPLETE=complete_<shell>` only in apps built
# with add_completion=True; the root app turns that off (no --install-completion), so without this every
# script that `tktctl completion` prints gets "Shell bash not supported". Already imported by typer: free.
completion_init()


@with_output(kinds.INIT)
def init(ctx: typer.Context) -> None:
    """Create the schema (or upgrade it) and the OTRS default data; safe to rerun."""
    result = desk(ctx).init()
    emit(ctx, result, kinds.INIT)
    if result["created"]:
        typer.echo(f"created {plural(len(result['created']), 'default record')} (see -o json for the list)", err=True)


@app.command("upgrade")
@with_output(kinds.DB_STATUS)
def upgrade(ctx: typer.Context) -> None:
    """Apply the migrations this version ships."""
    emit(ctx, desk(ctx).upgrade(), kinds.DB_STATUS)


@app.command("status")
@with_output(kinds.DB_STATUS)
def status(ctx: typer.Context) -> None:
    """Show the schema revision against the one this version needs."""
    emit(ctx, desk(ctx).status(), kinds.DB_STATUS)


@app.command("copy")
@with_output(kinds.COPY)
def copy(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="URL of an empty target database (migrated first).")],
) -> None:
    """Copy the whole desk (every table, ids and ticket numbers) into another, empty database; verify it."""
    import time

    from tktctl.setup.dbcopy import copy_desk

    started = time.monotonic()
    with progress_bar() as step:
        report = copy_desk(desk(ctx), to, progress=step, warn=warn)
    emit(ctx, report, kinds.COPY)
    rows = sum(r["rows"] for r in report)
    seconds = time.monotonic() - started
    totals = {"tables": len(report), "rows": rows, "seconds": round(seconds, 3), "verified": True}
    summary(ctx, totals, f"copied {rows} rows in {len(report)} tables in {seconds:.1f} s; counts and checksums agree")


def completion(shell: Annotated[str, typer.Argument(help="bash, zsh or fish.")]) -> None:
    """Print the shell completion script (source it, or see completions/)."""
    from typer._completion_shared import get_completion_script

    from tktctl.errors import UsageError

    if shell not in SHELLS:
        raise UsageError(f"unsupported shell {shell!r}; choose one of {', '.join(SHELLS)}")
    typer.echo(get_completion_script(prog_name="tktctl", complete_var="_TKTCTL_COMPLETE", shell=shell))

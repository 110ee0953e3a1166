"""`tktctl desk ...`: the desk's whole configuration as one document, to keep in git and apply."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tktctl.commands._common import DryRunOpt, desk, report_changes, settings, with_output
from tktctl.commands._input import FileOpt, read_yaml
from tktctl.errors import UsageError
from tktctl.formats import kinds

app = typer.Typer(help="The desk's whole configuration as one YAML document, to keep in git.", no_args_is_help=True)


@app.command("dump")
@with_output(kinds.DESK_DOCUMENT)
def dump(ctx: typer.Context) -> None:
    """Print the configuration as `desk apply` reads it: YAML (the default), or JSON with -o json."""
    from tktctl.formats import render

    fmt = settings(ctx).output
    if fmt not in ("table", "yaml", "json"):
        raise UsageError(f"desk dump writes yaml or json, not {fmt}")
    document = desk(ctx).config.dump()
    keys = tuple(document)
    kind = kinds.Kind("desk", keys=keys, id_key=keys[0], table_keys=keys)
    render(document, kind=kind, fmt="json" if fmt == "json" else "yaml", out=sys.stdout, fields=settings(ctx).fields)
    sys.stdout.flush()


@app.command("apply")
@with_output(kinds.DIFF)
def apply(
    ctx: typer.Context,
    file: FileOpt,
    dry_run: DryRunOpt = False,
    prune: Annotated[
        bool,
        typer.Option("--prune", help="Remove (or disable) objects of the given sections that the file leaves out."),
    ] = False,
) -> None:
    """Bring the desk to a document from `desk dump`, in one transaction; prints what changed."""
    changes = desk(ctx).config.apply(read_yaml(file), dry_run=dry_run, prune=prune)
    report_changes(ctx, changes, kinds.DIFF, dry_run)

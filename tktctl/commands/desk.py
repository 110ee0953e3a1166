"""`tktctl desk ...`: the desk's whole configuration as one document, to keep in git and apply."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import DryRunOpt, desk, print_document, report_changes, with_output
from tktctl.commands._input import FileOpt, read_yaml
from tktctl.formats import kinds

app = typer.Typer(help="The desk's whole configuration as one YAML document, to keep in git.", no_args_is_help=True)


@app.command("dump")
@with_output(kinds.DESK_DOCUMENT)
def dump(ctx: typer.Context) -> None:
    """Print the configuration as `desk apply` reads it: YAML (the default), or JSON with -o json."""
    document = desk(ctx).config.dump()
    keys = tuple(document)
    print_document(ctx, document, kinds.Kind("desk", keys=keys, id_key=keys[0], table_keys=keys), "desk dump")


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

"""`tktctl field ...`: custom (dynamic) fields on tickets, as OTRS DynamicField."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import desk, emit, with_output
from tktctl.formats import kinds

app = typer.Typer(help="Manage custom (dynamic) fields on tickets.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="Field name: letters and digits.")]
Label = Annotated[str | None, typer.Option("--label", help="What people read [default: the name].")]
TYPES = "text, textarea, int, date, datetime, dropdown, multiselect or checkbox"


def _values(text: str | None) -> list[str] | None:
    from tktctl.core.fieldtypes import split_values

    return None if text is None else split_values(text)


@app.command("create")
@with_output(kinds.FIELD)
def create(
    ctx: typer.Context,
    name: Name,
    field_type: Annotated[str, typer.Option("--type", help=f"Field type: {TYPES}.")],
    values: Annotated[
        str | None, typer.Option("--values", help="Possible values of a dropdown or multiselect: a,b,c.")
    ] = None,
    label: Label = None,
    if_not_exists: Annotated[bool, typer.Option("--if-not-exists", help="Print an existing field; no error.")] = False,
) -> None:
    """Create a custom field; set it with `ticket set TN NAME=VALUE`, filter with --field NAME=VALUE."""
    field = desk(ctx).fields.create(
        name, type=field_type, values=_values(values) or (), label=label, if_not_exists=if_not_exists
    )
    emit(ctx, field, kinds.FIELD)


@app.command("list")
@with_output(kinds.FIELD)
def list_(ctx: typer.Context) -> None:
    """List custom fields."""
    emit(ctx, desk(ctx).fields.list(), kinds.FIELD)


@app.command("show")
@with_output(kinds.FIELD)
def show(ctx: typer.Context, name: Name) -> None:
    """Show a custom field."""
    emit(ctx, desk(ctx).fields.show(name), kinds.FIELD)


@app.command("update")
@with_output(kinds.FIELD)
def update(
    ctx: typer.Context,
    name: Name,
    label: Label = None,
    values: Annotated[
        str | None, typer.Option("--values", help="Replace the possible values: a,b,c (values in use stay).")
    ] = None,
    add_values: Annotated[str | None, typer.Option("--add-values", help="Add possible values: d,e.")] = None,
    enable: Annotated[bool, typer.Option("--enable", help="Enable a disabled field.")] = False,
) -> None:
    """Change a field's label or possible values (its type never changes)."""
    field = desk(ctx).fields.update(
        name, label=label, values=_values(values), add_values=_values(add_values) or (), valid=True if enable else None
    )
    emit(ctx, field, kinds.FIELD)


@app.command("disable")
@with_output(kinds.FIELD)
def disable(ctx: typer.Context, name: Name) -> None:
    """Disable a field: its values stay (shown, filtered), it takes no new ones."""
    emit(ctx, desk(ctx).fields.set_valid(name, False), kinds.FIELD)

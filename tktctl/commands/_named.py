"""The verbs that groups and roles share: create, list, show, update, disable, enable.

No ``from __future__ import annotations`` here: the parameter types are local to the factory,
and Typer must be able to evaluate them.
"""

from typing import Annotated, Any

import typer

from tktctl.commands._common import DryRunOpt, apply_kind, apply_records, desk, emit, with_output
from tktctl.commands._input import FileOpt
from tktctl.formats.kinds import Kind


def add_named_commands(app: typer.Typer, noun: str, facade: str, kind: Kind, *, disabled_means: str) -> None:
    """Register the shared verbs on ``app``; ``facade`` names the Desk attribute (groups, roles)."""
    Name = Annotated[str, typer.Argument(help=f"{noun.capitalize()} name.")]
    Comment = Annotated[str | None, typer.Option("--comment", help="Free text for admins.")]

    def service(ctx: typer.Context) -> Any:
        return getattr(desk(ctx), facade)

    @app.command("create")
    @with_output(kind)
    def create(
        ctx: typer.Context,
        name: Name,
        comment: Comment = None,
        if_not_exists: Annotated[
            bool, typer.Option("--if-not-exists", help=f"Print an existing {noun}; no error.")
        ] = False,
    ) -> None:
        emit(ctx, service(ctx).create(name, comment=comment, if_not_exists=if_not_exists), kind)

    @app.command("list")
    @with_output(kind)
    def list_(ctx: typer.Context) -> None:
        emit(ctx, service(ctx).list(), kind)

    @app.command("show")
    @with_output(kind)
    def show(ctx: typer.Context, name: Name) -> None:
        emit(ctx, service(ctx).show(name), kind)

    @app.command("update")
    @with_output(kind)
    def update(
        ctx: typer.Context,
        name: Name,
        comment: Comment = None,
        clear_comment: Annotated[bool, typer.Option("--clear-comment", help="Remove the comment.")] = False,
        rename: Annotated[str | None, typer.Option("--rename", help="New name.")] = None,
    ) -> None:
        from tktctl.access.groups import UNSET

        text = None if clear_comment else (UNSET if comment is None else comment)
        emit(ctx, service(ctx).update(name, comment=text, new_name=rename), kind)

    @app.command("disable")
    @with_output(kind)
    def disable(ctx: typer.Context, name: Name) -> None:
        emit(ctx, service(ctx).set_valid(name, False), kind)

    @app.command("enable")
    @with_output(kind)
    def enable(ctx: typer.Context, name: Name) -> None:
        emit(ctx, service(ctx).set_valid(name, True), kind)

    @app.command("apply")
    @with_output(apply_kind(kind))
    def apply(ctx: typer.Context, file: FileOpt, dry_run: DryRunOpt = False) -> None:
        apply_records(ctx, f"{noun}s", file, dry_run, service(ctx).show, kind)

    create.__doc__ = f"Create a {noun}."
    apply.__doc__ = f"Create or update {noun}s from YAML as `{noun} list -o yaml` prints it; rerunnable."
    list_.__doc__ = f"List {noun}s."
    show.__doc__ = f"Show a {noun}."
    update.__doc__ = f"Change a {noun}'s comment or name."
    disable.__doc__ = f"Disable a {noun}: {disabled_means}"
    enable.__doc__ = f"Enable a disabled {noun}."

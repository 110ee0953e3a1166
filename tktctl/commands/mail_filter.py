"""`tktctl mail filter ...`: PostMaster filters, the admin's rules for every incoming message."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tktctl.commands._common import DryRunOpt, apply_kind, desk, emit, print_document, report_changes, with_output
from tktctl.commands._input import FileOpt, read_yaml
from tktctl.formats import kinds

app = typer.Typer(
    help="PostMaster filters: match headers, set X-OTRS-* values (queue, priority, ...), in name order.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(help="Filter name (filters run in name order).")]
MatchOpt = Annotated[
    list[str] | None,
    typer.Option("--match", help="HEADER=REGEX that must match (case-insensitive; repeatable; Body for the text)."),
]
NotMatchOpt = Annotated[
    list[str] | None, typer.Option("--not-match", help="HEADER=REGEX that must not match (repeatable).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="X-OTRS-NAME=VALUE to set when it fires (repeatable): Queue, Priority, State, ..."),
]
CommentOpt = Annotated[str | None, typer.Option("--comment", help="What the filter is for.")]


def _sets(items: list[str] | None) -> dict[str, str] | None:
    from tktctl.mail.filters import parse_pairs

    return None if items is None else dict(parse_pairs(items, "--set"))


def _pairs(items: list[str] | None, what: str) -> list[tuple[str, str]] | None:
    from tktctl.mail.filters import parse_pairs

    return None if items is None else parse_pairs(items, what)


@app.command("create")
@with_output(kinds.MAIL_FILTER)
def create(
    ctx: typer.Context,
    name: Name,
    match: MatchOpt = None,
    not_match: NotMatchOpt = None,
    set_: SetOpt = None,
    stop: Annotated[bool, typer.Option("--stop", help="Run no further filter after this one fires.")] = False,
    comment: CommentOpt = None,
    if_not_exists: Annotated[bool, typer.Option("--if-not-exists", help="Print an existing one; no error.")] = False,
) -> None:
    """Create a filter: every --match/--not-match must hold for its --set values to apply."""
    record = desk(ctx).mail.filters.create(
        name,
        match=_pairs(match, "--match") or [],
        not_match=_pairs(not_match, "--not-match") or [],
        set=_sets(set_),
        stop=stop,
        comment=comment,
        if_not_exists=if_not_exists,
    )
    emit(ctx, record, kinds.MAIL_FILTER)


@app.command("list")
@with_output(kinds.MAIL_FILTER)
def list_(ctx: typer.Context) -> None:
    """List filters in the order they run (by name)."""
    emit(ctx, desk(ctx).mail.filters.list(), kinds.MAIL_FILTER)


@app.command("show")
@with_output(kinds.MAIL_FILTER)
def show(ctx: typer.Context, name: Name) -> None:
    """Show a filter."""
    emit(ctx, desk(ctx).mail.filters.show(name), kinds.MAIL_FILTER)


@app.command("update")
@with_output(kinds.MAIL_FILTER)
def update(
    ctx: typer.Context,
    name: Name,
    match: MatchOpt = None,
    not_match: NotMatchOpt = None,
    set_: SetOpt = None,
    stop: Annotated[
        bool | None, typer.Option("--stop/--no-stop", help="Stop the chain after this filter, or not.")
    ] = None,
    comment: CommentOpt = None,
    enable: Annotated[bool, typer.Option("--enable", help="Run a disabled filter again.")] = False,
) -> None:
    """Change a filter; --match/--not-match (together) and --set replace what it had."""
    record = desk(ctx).mail.filters.update(
        name,
        match=_pairs(match, "--match"),
        not_match=_pairs(not_match, "--not-match"),
        set=_sets(set_),
        stop=stop,
        comment=comment,
        valid=True if enable else None,
    )
    emit(ctx, record, kinds.MAIL_FILTER)


@app.command("disable")
@with_output(kinds.MAIL_FILTER)
def disable(ctx: typer.Context, name: Name) -> None:
    """Stop running a filter (kept; `update --enable` runs it again)."""
    emit(ctx, desk(ctx).mail.filters.disable(name), kinds.MAIL_FILTER)


@app.command("delete")
@with_output(kinds.MAIL_FILTER)
def delete(ctx: typer.Context, name: Name) -> None:
    """Delete a filter."""
    emit(ctx, desk(ctx).mail.filters.delete(name), kinds.MAIL_FILTER)


@app.command("apply")
@with_output(apply_kind(kinds.MAIL_FILTER))
def apply(ctx: typer.Context, file: FileOpt, dry_run: DryRunOpt = False) -> None:
    """Create or change filters from YAML as `mail filter dump` writes it (or Znuny's export); --dry-run diffs."""
    from tktctl.mail.filters import from_znuny

    document: Any = read_yaml(file)
    items = document if isinstance(document, list) else [document]
    items = [from_znuny(i) if isinstance(i, dict) and "Name" in i else i for i in items]
    changes = desk(ctx).config.apply({"mail_filters": items}, dry_run=dry_run)
    if dry_run:
        report_changes(ctx, changes, kinds.DIFF, dry_run)
    else:
        emit(ctx, [desk(ctx).mail.filters.show(i["name"]) for i in items], kinds.MAIL_FILTER)


@app.command("dump")
@with_output(kinds.MAIL_FILTER_DUMP)
def dump(ctx: typer.Context) -> None:
    """Print every filter as `mail filter apply -f` reads it: YAML (the default), or JSON with -o json."""
    print_document(ctx, desk(ctx).mail.filters.dump(), kinds.MAIL_FILTER_DUMP, "mail filter dump")

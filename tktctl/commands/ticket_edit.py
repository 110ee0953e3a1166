"""`tktctl ticket update` and `ticket delete`: a ticket's own fields, and the way data leaves the desk."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Annotated

import typer

from tktctl.commands._common import Chosen, bulk_kind, desk, run_bulk, with_output, with_selection_without
from tktctl.errors import UsageError
from tktctl.formats import kinds
from tktctl.text import plural

app = typer.Typer()

# The flags `ticket update` sets: no filter of the same names there (pipe from `ticket list` instead).
UPDATE_FLAGS = ("title", "customer", "type", "responsible", "external_id")


@app.command("update")
@with_output(bulk_kind)
@with_selection_without(*UPDATE_FLAGS)
def update(
    ctx: typer.Context,
    selection: Chosen,
    title: Annotated[str | None, typer.Option("--title", help="New title.")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="New customer.")] = None,
    ticket_type: Annotated[str | None, typer.Option("--type", help="New ticket type (see `tktctl type list`).")] = None,
    responsible: Annotated[str | None, typer.Option("--responsible", help="New responsible agent.")] = None,
    external_id: Annotated[
        str | None, typer.Option("--external-id", help="New external id (one ticket only; unique).")
    ] = None,
    clear: Annotated[
        list[str] | None,
        typer.Option("--clear", help="Empty a field: customer, type, responsible, external-id (repeatable)."),
    ] = None,
) -> None:
    """Change tickets' title, customer, type, responsible agent or external id (filters of the same names:
    pipe `ticket list -q` in)."""
    run_bulk(
        ctx,
        desk(ctx).edits.update,
        selection,
        title=title,
        customer=customer,
        type=ticket_type,
        responsible=responsible,
        external_id=external_id,
        clear=clear or (),
    )


@app.command("delete")
@with_output(lambda params: kinds.OUTCOME if params.get("continue_on_error") else kinds.DELETED_TICKET)
@with_selection_without()
def delete(ctx: typer.Context, selection: Chosen) -> None:
    """Delete tickets with their articles, attachments and history (recorded in the audit trail).

    Asks on a terminal; elsewhere refused without --yes.
    """
    if not (selection.yes or selection.dry_run):
        if not sys.stdin.isatty():
            raise UsageError("refusing to delete tickets without --yes: stdin is not a terminal")
        count, articles = desk(ctx).purge.preview(selection.tickets)
        question = f"delete {plural(count, 'ticket')} and {plural(articles, 'article')}?"
        typer.confirm(question, abort=True, err=True)
    run_bulk(ctx, desk(ctx).purge.delete, replace(selection, yes=True), output=kinds.DELETED_TICKET)

"""`tktctl autoresponse ...`: templates a queue answers with automatically."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import DryRunOpt, apply_kind, apply_records, desk, emit, with_output
from tktctl.commands._input import FileOpt, body_or_file
from tktctl.errors import UsageError
from tktctl.formats import kinds

app = typer.Typer(help="Manage auto-response templates (auto-reply, auto-reject, ...).", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="Auto-response name.")]
TemplateHelp = "Placeholders: $tn $title $queue $state $priority $customer $owner $subject $from."


BodyOpt = Annotated[str | None, typer.Option("--body", help="Template text; - reads stdin. " + TemplateHelp)]
BodyFileOpt = Annotated[str | None, typer.Option("--body-file", help="Read the template text from this file.")]
LanguageHelp = "Language of the text (es, de, pt-BR)"


@app.command("create")
@with_output(kinds.AUTO_RESPONSE)
def create(
    ctx: typer.Context,
    name: Name,
    kind: Annotated[
        str, typer.Option("--type", help="auto-reply, auto-reject, auto-follow-up or auto-reply/new-ticket.")
    ],
    subject: Annotated[str, typer.Option("--subject", help="Subject template ([Ticket#TN] is added). " + TemplateHelp)],
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    language: Annotated[
        str | None, typer.Option("--language", help=LanguageHelp + " [default: the desk's default language].")
    ] = None,
    if_not_exists: Annotated[bool, typer.Option("--if-not-exists", help="Print an existing one; no error.")] = False,
) -> None:
    """Create an auto-response template; attach it with `queue update Q --auto-response NAME`."""
    text = body_or_file(body, body_file)
    if text is None:
        raise UsageError("give --body or --body-file")
    emit(
        ctx,
        desk(ctx).autoresponses.create(
            name, type=kind, subject=subject, body=text, language=language, if_not_exists=if_not_exists
        ),
        kinds.AUTO_RESPONSE,
    )


@app.command("list")
@with_output(kinds.AUTO_RESPONSE)
def list_(ctx: typer.Context) -> None:
    """List auto-responses and the queues that send them."""
    emit(ctx, desk(ctx).autoresponses.list(), kinds.AUTO_RESPONSE)


@app.command("show")
@with_output(kinds.AUTO_RESPONSE)
def show(ctx: typer.Context, name: Name) -> None:
    """Show an auto-response."""
    emit(ctx, desk(ctx).autoresponses.show(name), kinds.AUTO_RESPONSE)


@app.command("update")
@with_output(kinds.AUTO_RESPONSE)
def update(
    ctx: typer.Context,
    name: Name,
    subject: Annotated[str | None, typer.Option("--subject", help="New subject template.")] = None,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    language: Annotated[
        str | None, typer.Option("--language", help=LanguageHelp + ": change (or add) that translation.")
    ] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the --language translation.")] = False,
) -> None:
    """Change an auto-response's subject or text, or a translation's (--language); the ticket's language chooses."""
    emit(
        ctx,
        desk(ctx).autoresponses.update(
            name, subject=subject, body=body_or_file(body, body_file), language=language, remove=remove
        ),
        kinds.AUTO_RESPONSE,
    )


@app.command("apply")
@with_output(apply_kind(kinds.AUTO_RESPONSE))
def apply(ctx: typer.Context, file: FileOpt, dry_run: DryRunOpt = False) -> None:
    """Create or change auto-responses from YAML as `autoresponse list -o yaml` prints it (queues: who sends it)."""
    apply_records(ctx, "autoresponses", file, dry_run, desk(ctx).autoresponses.show, kinds.AUTO_RESPONSE)

"""`tktctl template ...`: standard templates (OTRS Admin::Template) and the queues that offer them."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import desk, emit, with_output
from tktctl.commands._input import body_or_file
from tktctl.commands._texts import (
    BodyFileOpt,
    BodyOpt,
    ClearCommentOpt,
    CommentOpt,
    IfNotExistsOpt,
    LanguageOpt,
    add_text_commands,
    comment_change,
    required_body,
)
from tktctl.formats import kinds

app = typer.Typer(help="Manage standard templates: the answers agents reply with.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="Template name.")]
SubjectOpt = Annotated[str | None, typer.Option("--subject", help="Subject of the reply (tags as in the text).")]
QueueOpt = Annotated[list[str] | None, typer.Option("--queue", help="A queue that offers it (repeatable).")]


@app.command("create")
@with_output(kinds.TEMPLATE)
def create(
    ctx: typer.Context,
    name: Name,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    kind: Annotated[
        str, typer.Option("--kind", help="answer, create, email, forward, note, phone-call or snippet.")
    ] = "answer",
    subject: SubjectOpt = None,
    language: LanguageOpt = None,
    queue: QueueOpt = None,
    comment: CommentOpt = None,
    if_not_exists: IfNotExistsOpt = False,
) -> None:
    """Create a template (one language variant); `ticket reply TN --template NAME` answers with it."""
    text = required_body(body, body_file)
    record = desk(ctx).templates.create(
        name,
        body=text,
        kind=kind,
        subject=subject,
        language=language,
        queues=queue or (),
        comment=comment,
        if_not_exists=if_not_exists,
    )
    emit(ctx, record, kinds.TEMPLATE)


@app.command("update")
@with_output(kinds.TEMPLATE)
def update(
    ctx: typer.Context,
    name: Name,
    language: LanguageOpt = None,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    subject: SubjectOpt = None,
    queue: QueueOpt = None,
    no_queue: Annotated[list[str] | None, typer.Option("--no-queue", help="A queue that stops offering it.")] = None,
    comment: CommentOpt = None,
    clear_comment: ClearCommentOpt = False,
) -> None:
    """Change a template's text, subject or comment (one language variant), or the queues that offer it."""
    record = desk(ctx).templates.update(
        name,
        language=language,
        body=body_or_file(body, body_file),
        subject=subject,
        queues=queue or (),
        no_queues=no_queue or (),
        comment=comment_change(comment, clear_comment),
    )
    emit(ctx, record, kinds.TEMPLATE)


add_text_commands(app, "template", "templates", kinds.TEMPLATE, own_writes=True)


@app.command("delete")
@with_output(kinds.TEMPLATE)
def delete(ctx: typer.Context, name: Name, language: LanguageOpt = None) -> None:
    """Delete a template's language variant; with the last one, no queue offers it any more."""
    emit(ctx, desk(ctx).templates.delete(name, language=language), kinds.TEMPLATE)

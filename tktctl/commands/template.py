"""`tktctl template ...`: standard templates (OTRS Admin::Template) and the queues that offer them."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import desk, emit, with_output
from tktctl.commands._texts import LanguageOpt, add_text_commands, option
from tktctl.formats import kinds

app = typer.Typer(help="Manage standard templates: the answers agents reply with.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="Template name.")]
SubjectOpt = Annotated[str | None, typer.Option("--subject", help="Subject of the reply (tags as in the text).")]
QueueOpt = Annotated[list[str], typer.Option("--queue", help="A queue that offers it (repeatable).")]
KINDS = "answer, create, email, forward, note, phone-call or snippet."
NoQueueOpt = Annotated[list[str], typer.Option("--no-queue", help="A queue that stops offering it.")]

add_text_commands(
    app,
    "template",
    "templates",
    kinds.TEMPLATE,
    create_options=[
        option("kind", Annotated[str, typer.Option("--kind", help=KINDS)], "answer"),
        option("subject", SubjectOpt),
        option("queues", QueueOpt, ()),
    ],
    update_options=[
        option("subject", SubjectOpt),
        option("queues", QueueOpt, ()),
        option("no_queues", NoQueueOpt, ()),
    ],
    create_doc="Create a template (one language variant); `ticket reply TN --template NAME` answers with it.",
    update_doc="Change a template's text, subject or comment (one language variant), or the queues that offer it.",
)


@app.command("delete")
@with_output(kinds.TEMPLATE)
def delete(ctx: typer.Context, name: Name, language: LanguageOpt = None) -> None:
    """Delete a template's language variant; with the last one, no queue offers it any more."""
    emit(ctx, desk(ctx).templates.delete(name, language=language), kinds.TEMPLATE)

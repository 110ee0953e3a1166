"""The verbs salutations, signatures and templates share: create, list, show, update, disable, enable (per language).

No ``from __future__ import annotations`` here: the parameter types are local to the factory,
and Typer must be able to evaluate them.
"""

import inspect
from collections.abc import Callable, Sequence
from inspect import Parameter
from typing import Annotated, Any

import typer

from tktctl.commands._common import desk, emit, with_output
from tktctl.commands._input import body_or_file
from tktctl.formats.kinds import Kind

TAGS = (
    "Tags: <OTRS_TICKET_TicketNumber> <OTRS_CUSTOMER_REALNAME> <OTRS_CUSTOMER_SUBJECT[20]> "
    "<OTRS_CUSTOMER_BODY[5]> <OTRS_OWNER_UserFirstname> <OTRS_CURRENT_UserFirstname> <OTRS_CONFIG_FQDN> "
    "(or <TKTCTL_...>); an unknown tag prints '-'."
)
LanguageOpt = Annotated[
    str | None,
    typer.Option("--language", help="Language of the variant (en, de, pt-BR) [default: the desk's default language]."),
]
BodyOpt = Annotated[str | None, typer.Option("--body", help="The text; - reads stdin. " + TAGS)]
BodyFileOpt = Annotated[str | None, typer.Option("--body-file", help="Read the text from this file.")]
CommentOpt = Annotated[str | None, typer.Option("--comment", help="Free text for admins.")]
ClearCommentOpt = Annotated[bool, typer.Option("--clear-comment", help="Remove the comment.")]
IfNotExistsOpt = Annotated[bool, typer.Option("--if-not-exists", help="Print an existing one; no error.")]


def required_body(body: str | None, body_file: str | None) -> str:
    """The text a create needs: --body or --body-file."""
    from tktctl.errors import UsageError

    text = body_or_file(body, body_file)
    if text is None:
        raise UsageError("give --body or --body-file")
    return text


def comment_change(comment: str | None, clear: bool) -> Any:
    """UNSET (leave it), None (clear it) or the new comment."""
    from tktctl.access.groups import UNSET

    return None if clear else (UNSET if comment is None else comment)


def option(name: str, annotation: Any, default: Any = None) -> Parameter:
    """An option one kind of text adds to its create or update; ``name`` is the service's keyword."""
    return Parameter(name, Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def _with_options(verb: Callable[..., None], options: Sequence[Parameter], doc: str) -> Callable[..., None]:
    """``verb`` taking ``options`` too (its ``**extra`` goes to the service): Typer reads the signature."""
    own = [p for p in inspect.signature(verb).parameters.values() if p.kind is not Parameter.VAR_KEYWORD]
    verb.__signature__ = inspect.Signature([*own, *options])  # type: ignore[attr-defined]
    verb.__doc__ = doc
    return verb


def add_text_commands(
    app: typer.Typer,
    noun: str,
    facade: str,
    kind: Kind,
    *,
    create_options: Sequence[Parameter] = (),
    update_options: Sequence[Parameter] = (),
    create_doc: str | None = None,
    update_doc: str | None = None,
) -> None:
    """Register the shared verbs on ``app``; ``facade`` names the Desk attribute (salutations, signatures,
    templates). A kind's own options (templates: kind, subject, queues) go to its service's create or update."""
    Name = Annotated[str, typer.Argument(help=f"{noun.capitalize()} name.")]

    def service(ctx: typer.Context) -> Any:
        return getattr(desk(ctx), facade)

    def create(
        ctx: typer.Context,
        name: Name,
        body: BodyOpt = None,
        body_file: BodyFileOpt = None,
        language: LanguageOpt = None,
        comment: CommentOpt = None,
        if_not_exists: IfNotExistsOpt = False,
        **extra: Any,
    ) -> None:
        text = required_body(body, body_file)
        record = service(ctx).create(
            name, body=text, language=language, comment=comment, if_not_exists=if_not_exists, **extra
        )
        emit(ctx, record, kind)

    def update(
        ctx: typer.Context,
        name: Name,
        language: LanguageOpt = None,
        body: BodyOpt = None,
        body_file: BodyFileOpt = None,
        comment: CommentOpt = None,
        clear_comment: ClearCommentOpt = False,
        **extra: Any,
    ) -> None:
        text = body_or_file(body, body_file)
        change = comment_change(comment, clear_comment)
        emit(ctx, service(ctx).update(name, language=language, body=text, comment=change, **extra), kind)

    create_doc = create_doc or f"Create a {noun} (one language variant); a queue names it with `queue update --{noun}`."
    update_doc = update_doc or f"Change a {noun}'s text or comment (one language variant)."
    app.command("create")(with_output(kind)(_with_options(create, create_options, create_doc)))
    app.command("update")(with_output(kind)(_with_options(update, update_options, update_doc)))

    @app.command("list")
    @with_output(kind)
    def list_(
        ctx: typer.Context,
        language: Annotated[str | None, typer.Option("--language", help="Only this language.")] = None,
    ) -> None:
        emit(ctx, service(ctx).list(language=language), kind)

    @app.command("show")
    @with_output(kind)
    def show(ctx: typer.Context, name: Name, language: LanguageOpt = None) -> None:
        emit(ctx, service(ctx).show(name, language=language), kind)

    @app.command("disable")
    @with_output(kind)
    def disable(ctx: typer.Context, name: Name, language: LanguageOpt = None) -> None:
        emit(ctx, service(ctx).set_valid(name, False, language=language), kind)

    @app.command("enable")
    @with_output(kind)
    def enable(ctx: typer.Context, name: Name, language: LanguageOpt = None) -> None:
        emit(ctx, service(ctx).set_valid(name, True, language=language), kind)

    list_.__doc__ = f"List {noun}s, every language variant."
    show.__doc__ = f"Show a {noun} in one language."
    disable.__doc__ = f"Disable a {noun} variant: answers leave it out until it is enabled."
    enable.__doc__ = f"Enable a disabled {noun} variant."

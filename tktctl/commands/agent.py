"""`tktctl agent ...`: the agents who work tickets."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import DryRunOpt, apply_kind, apply_records, desk, emit, with_output
from tktctl.commands._input import FileOpt, PasswordStdinOpt, read_password, required_password
from tktctl.formats import kinds

app = typer.Typer(help="Manage agents.", no_args_is_help=True)

Login = Annotated[str, typer.Argument(help="Agent login.")]
LanguageOpt = Annotated[
    str | None, typer.Option("--language", help="Language of its notifications (es, de) [default: the desk's].")
]


@app.command("create")
@with_output(kinds.AGENT)
def create(
    ctx: typer.Context,
    login: Login,
    name: Annotated[str | None, typer.Option("--name", help="Full name.")] = None,
    email: Annotated[str | None, typer.Option("--email", help="Email address.")] = None,
    language: LanguageOpt = None,
    password_stdin: PasswordStdinOpt = False,
    if_not_exists: Annotated[bool, typer.Option("--if-not-exists", help="Print an existing agent; no error.")] = False,
) -> None:
    """Create an agent (with no rights until granted some: see `tktctl acl grant`)."""
    password = read_password(password_stdin)
    result = desk(ctx).agents.create(
        login, name=name, email=email, language=language, password=password, if_not_exists=if_not_exists
    )
    emit(ctx, result, kinds.AGENT)


@app.command("list")
@with_output(kinds.AGENT)
def list_(ctx: typer.Context) -> None:
    """List agents."""
    emit(ctx, desk(ctx).agents.list(), kinds.AGENT)


@app.command("show")
@with_output(kinds.AGENT)
def show(ctx: typer.Context, login: Login) -> None:
    """Show an agent."""
    emit(ctx, desk(ctx).agents.show(login), kinds.AGENT)


@app.command("update")
@with_output(kinds.AGENT_MUTES)
def update(
    ctx: typer.Context,
    login: Login,
    name: Annotated[str | None, typer.Option("--name", help="Full name.")] = None,
    email: Annotated[str | None, typer.Option("--email", help="Email address.")] = None,
    language: LanguageOpt = None,
    mute: Annotated[
        list[str] | None,
        typer.Option("--mute", help="Send no notifications of this event (TicketCreate, Move, ...; repeatable)."),
    ] = None,
    unmute: Annotated[
        list[str] | None, typer.Option("--unmute", help="Notify of this event again (repeatable).")
    ] = None,
) -> None:
    """Change an agent's name, email or language (an admin), or the notification events it muted (the agent
    itself or an admin)."""
    from tktctl.access.groups import UNSET

    agents = desk(ctx).agents
    given = {"name": name, "email": email, "language": language}
    if any(value is not None for value in given.values()):
        agents.update(login, **{key: UNSET if value is None else value for key, value in given.items()})
    emit(ctx, agents.mute(login, mute=mute or [], unmute=unmute or []), kinds.AGENT_MUTES)


@app.command("apply")
@with_output(apply_kind(kinds.AGENT))
def apply(ctx: typer.Context, file: FileOpt, dry_run: DryRunOpt = False) -> None:
    """Create or update agents from YAML as `agent list -o yaml` prints it (new ones have no password)."""
    apply_records(ctx, "agents", file, dry_run, desk(ctx).agents.show, kinds.AGENT, identity="login")


@app.command("disable")
@with_output(kinds.AGENT)
def disable(ctx: typer.Context, login: Login) -> None:
    """Disable an agent: it can no longer act, and its grants and roles give nothing."""
    emit(ctx, desk(ctx).agents.set_valid(login, False), kinds.AGENT)


@app.command("enable")
@with_output(kinds.AGENT)
def enable(ctx: typer.Context, login: Login) -> None:
    """Enable a disabled agent (its grants and roles apply again)."""
    emit(ctx, desk(ctx).agents.set_valid(login, True), kinds.AGENT)


@app.command("passwd")
@with_output(kinds.AGENT)
def passwd(ctx: typer.Context, login: Login, password_stdin: PasswordStdinOpt = False) -> None:
    """Set an agent's password, read from standard input with --password-stdin."""
    emit(ctx, desk(ctx).agents.passwd(login, required_password(password_stdin)), kinds.AGENT)


QueuesOpt = Annotated[list[str], typer.Option("--queue", help="Queue (repeatable).")]


@app.command("subscribe")
@with_output(kinds.SUBSCRIPTION)
def subscribe(ctx: typer.Context, login: Login, queues: QueuesOpt) -> None:
    """Mail the agent about new tickets and follow-ups in these queues."""
    emit(ctx, desk(ctx).agents.subscribe(login, queues), kinds.SUBSCRIPTION)


@app.command("unsubscribe")
@with_output(kinds.SUBSCRIPTION)
def unsubscribe(ctx: typer.Context, login: Login, queues: QueuesOpt) -> None:
    """Stop mailing the agent about these queues."""
    emit(ctx, desk(ctx).agents.subscribe(login, queues, unsubscribe=True), kinds.SUBSCRIPTION)


@app.command("subscriptions")
@with_output(kinds.SUBSCRIPTION)
def subscriptions(ctx: typer.Context, login: Login) -> None:
    """The queues an agent is subscribed to."""
    emit(ctx, desk(ctx).agents.subscriptions(login), kinds.SUBSCRIPTION)

"""`tktctl customer ...`: customer users, and a password check for other applications."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import desk, emit, with_output
from tktctl.commands._input import PasswordStdinOpt, read_password, required_password
from tktctl.formats import kinds

app = typer.Typer(help="Manage customer users and check their passwords.", no_args_is_help=True)

Login = Annotated[str, typer.Argument(help="Customer login (often the email address).")]
EmailOpt = Annotated[str | None, typer.Option("--email", help="Email address [default: the login, if one].")]
CompanyOpt = Annotated[str | None, typer.Option("--company", help="Company (customer id).")]
LanguageOpt = Annotated[
    str | None, typer.Option("--language", help="Language mail to the customer is written in: es, de, pt-BR.")
]


@app.command("create")
@with_output(kinds.CUSTOMER)
def create(
    ctx: typer.Context,
    login: Login,
    email: EmailOpt = None,
    company: CompanyOpt = None,
    language: LanguageOpt = None,
    password_stdin: PasswordStdinOpt = False,
    if_not_exists: Annotated[
        bool, typer.Option("--if-not-exists", help="Print an existing customer; no error.")
    ] = False,
) -> None:
    """Create a customer user."""
    password = read_password(password_stdin)
    result = desk(ctx).customers.create(
        login, email=email, company=company, language=language, password=password, if_not_exists=if_not_exists
    )
    emit(ctx, result, kinds.CUSTOMER)


@app.command("list")
@with_output(kinds.CUSTOMER)
def list_(ctx: typer.Context, company: CompanyOpt = None) -> None:
    """List customer users."""
    emit(ctx, desk(ctx).customers.list(company=company), kinds.CUSTOMER)


@app.command("show")
@with_output(kinds.CUSTOMER)
def show(ctx: typer.Context, login: Login) -> None:
    """Show a customer user."""
    emit(ctx, desk(ctx).customers.show(login), kinds.CUSTOMER)


@app.command("update")
@with_output(kinds.CUSTOMER)
def update(
    ctx: typer.Context, login: Login, email: EmailOpt = None, company: CompanyOpt = None, language: LanguageOpt = None
) -> None:
    """Change a customer's email, company or language."""
    from tktctl.access.groups import UNSET

    given = {"email": email, "company": company, "language": language}
    changes = {key: UNSET if value is None else value for key, value in given.items()}
    emit(ctx, desk(ctx).customers.update(login, **changes), kinds.CUSTOMER)


@app.command("disable")
@with_output(kinds.CUSTOMER)
def disable(ctx: typer.Context, login: Login) -> None:
    """Disable a customer: keeps its tickets, can no longer authenticate."""
    emit(ctx, desk(ctx).customers.set_valid(login, False), kinds.CUSTOMER)


@app.command("enable")
@with_output(kinds.CUSTOMER)
def enable(ctx: typer.Context, login: Login) -> None:
    """Enable a disabled customer."""
    emit(ctx, desk(ctx).customers.set_valid(login, True), kinds.CUSTOMER)


@app.command("passwd")
@with_output(kinds.CUSTOMER)
def passwd(ctx: typer.Context, login: Login, password_stdin: PasswordStdinOpt = False) -> None:
    """Set a customer's password, read from standard input with --password-stdin."""
    emit(ctx, desk(ctx).customers.passwd(login, required_password(password_stdin)), kinds.CUSTOMER)


@app.command("auth")
@with_output(kinds.AUTH)
def auth(ctx: typer.Context, login: Login, password_stdin: PasswordStdinOpt = False) -> None:
    """Check a customer's password from stdin: exit 0 if right, 4 if not (same for unknown or disabled)."""
    emit(ctx, desk(ctx).customers.auth(login, required_password(password_stdin)), kinds.AUTH)

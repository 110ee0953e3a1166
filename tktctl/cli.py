"""The command tree and the one place where failures become exit codes.

``tktctl [GLOBAL OPTIONS] NOUN VERB [ARGS] [OPTIONS]``. Global options are resolved in the
root callback into a frozen :class:`~tktctl.config.Settings` on ``ctx.obj``; every command
module is imported here, but none of them imports the database layer until it runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

# Typer 0.28 vendors click; its exception types are only reachable here (the version is pinned).
from typer._click.exceptions import ClickException
from typer._click.exceptions import UsageError as ClickUsageError

from tktctl import __version__, config
from tktctl.commands import (
    acl,
    agent,
    audit,
    autoresponse,
    batch,
    calendar,
    customer,
    db,
    escalate,
    group,
    history,
    job,
    mail,
    maint,
    queue,
    role,
    ticket,
)
from tktctl.commands._common import FieldsOpt, Invocation, QuietOpt, invocation
from tktctl.errors import ExitCode, TktctlError, UsageError

app = typer.Typer(
    name="tktctl",
    help="Administer and script an OTRS-style help desk: tickets, queues, agents, permissions, history.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
app.add_typer(ticket.app, name="ticket")
app.add_typer(queue.app, name="queue")
app.add_typer(agent.app, name="agent")
app.add_typer(group.app, name="group")
app.add_typer(role.app, name="role")
app.add_typer(acl.app, name="acl")
app.add_typer(customer.app, name="customer")
app.add_typer(history.app, name="history")
app.add_typer(audit.app, name="audit")
app.add_typer(db.app, name="db")
app.add_typer(mail.app, name="mail")
app.add_typer(autoresponse.app, name="autoresponse")
app.add_typer(calendar.app, name="calendar")
app.add_typer(maint.app, name="maint")
app.add_typer(job.app, name="job")
app.add_typer(escalate.check_app, name="check")
app.command("escalate")(escalate.escalate)
app.command("init")(db.init)
app.command("completion")(db.completion)
app.command("stats")(ticket.stats)
app.command("batch")(batch.batch)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tktctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db_url: Annotated[
        str | None,
        typer.Option("--db", envvar="TKTCTL_DB", help="SQLAlchemy URL of the database.", show_default=False),
    ] = None,
    config_file: Annotated[
        str | None, typer.Option("--config", envvar="TKTCTL_CONFIG", help="YAML config file.", show_default=False)
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", envvar="TKTCTL_PROFILE", help="Config profile [default: default].")
    ] = None,
    agent_login: Annotated[
        str | None,
        typer.Option("--as", envvar="TKTCTL_AGENT", help="Acting agent [default: root@localhost].", show_default=False),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", envvar="TKTCTL_OUTPUT", help="table, json, jsonl, yaml, csv, tsv or ids [default: table]."
        ),
    ] = None,
    fields: FieldsOpt = None,
    quiet: QuietOpt = False,
    debug: Annotated[bool, typer.Option("--debug", envvar="TKTCTL_DEBUG", help="Show tracebacks on error.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Administer and script an OTRS-style help desk: tickets, queues, agents, history.

    Exit codes: 0 ok, 1 internal error, 2 usage, 3 not found, 4 permission denied,
    5 conflict, 6 database, 7 partial failure, 75 temporary mail failure (the MTA retries). See README.md.
    """
    state = invocation(ctx)
    state.settings = config.resolve(
        db=db_url,
        config=config_file,
        profile=profile,
        agent=agent_login,
        output=output,
        fields=fields,
        quiet=quiet,
        debug=debug,
    )


def _fallback_style(argv: Sequence[str]) -> tuple[bool, str]:
    """Error style when the failure came before settings were resolved (e.g. a bad flag)."""
    output = os.environ.get("TKTCTL_OUTPUT", "table")
    debug = os.environ.get("TKTCTL_DEBUG", "") not in ("", "0", "false")
    args = list(argv)
    for i, arg in enumerate(args):
        if arg in ("-o", "--output") and i + 1 < len(args):
            output = args[i + 1]
        elif arg.startswith("--output="):
            output = arg.split("=", 1)[1]
        elif arg.startswith("-o") and len(arg) > 2:
            output = arg[2:]
        elif arg == "--debug":
            debug = True
    return debug, output


def _report(exc: TktctlError, output: str) -> None:
    if output in ("json", "jsonl", "yaml"):
        sys.stderr.write(json.dumps(exc.to_dict(), ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(f"tktctl: error: {exc.message}\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the command and exit with its documented exit code."""
    sys.exit(run(sys.argv[1:] if argv is None else argv))


def run(argv: Sequence[str], state: Invocation | None = None) -> int:
    """Run one command line; map every failure to its exit code (the only place that does).

    ``tktctl batch`` calls this once per input line, passing an Invocation that shares its desks.
    """
    args = list(argv)
    state = state or Invocation()
    try:
        result = app(args=args, prog_name="tktctl", standalone_mode=False, obj=state)
        code = result if isinstance(result, int) else ExitCode.OK
    except TktctlError as exc:
        debug, output = _style(state, args)
        if debug:
            import traceback

            traceback.print_exc()
        _report(exc, output)
        code = exc.exit_code
    except ClickUsageError as exc:
        message = exc.format_message()
        where = exc.ctx.command_path if exc.ctx is not None else "tktctl"
        _report(_usage(f"{message} (see `{where} --help`)"), _style(state, args)[1])
        code = ExitCode.USAGE
    except ClickException as exc:
        _report(_usage(exc.format_message()), _style(state, args)[1])
        code = ExitCode.USAGE
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("tktctl: aborted\n")
        code = 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); nothing more to say.
        _silence_stdout()
        code = ExitCode.OK
    except Exception as exc:
        debug, output = _style(state, args)
        if debug:
            import traceback

            traceback.print_exc()
        first_line = (str(exc).strip().splitlines() or [""])[0]
        internal = TktctlError(
            f"internal error: {type(exc).__name__}: {first_line} (rerun with --debug for a traceback)"
        )
        _report(internal, output)
        code = ExitCode.INTERNAL
    return int(code)


def _style(state: Invocation, args: Sequence[str]) -> tuple[bool, str]:
    if state.settings is not None:
        return state.settings.debug, state.settings.output
    return _fallback_style(args)


def _usage(message: str) -> TktctlError:
    return UsageError(message)


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def entry() -> None:
    """The installed ``tktctl`` command: :func:`main`, then exit without interpreter teardown.

    Teardown resets signal handlers to their defaults, so a SIGTERM in that instant would kill
    a `mail ingest` that has already committed, and the MTA would deliver the message again.
    Ending with ``os._exit`` once the output is flushed closes that window.
    """
    mail.Interruptible.linger_after_commit = True
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)

"""The command tree and the one place where failures become exit codes.

``tktctl [GLOBAL OPTIONS] NOUN VERB [ARGS] [OPTIONS]``. Global options are resolved in the
root callback into a frozen :class:`~tktctl.config.Settings` on ``ctx.obj``. A noun's module is
imported, and its commands built, only when that noun is run (or completed): ``tktctl ticket create``
pays for ``tktctl/commands/ticket.py`` alone, ``tktctl --help`` for none, and none of them imports
the database layer until a command runs.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from gettext import gettext
from typing import Annotated, Any

import typer

# Typer 0.28 vendors click; its exception types are only reachable here (the version is pinned).
from typer._click import Command, Context, HelpFormatter, Parameter
from typer._click.exceptions import ClickException
from typer._click.exceptions import UsageError as ClickUsageError
from typer._click.types import IntParamType, IntRange
from typer._completion_classes import completion_init
from typer.core import TyperCommand, TyperGroup
from typer.models import CommandInfo

from tktctl import __version__, config
from tktctl.commands import COMMANDS
from tktctl.commands._common import FieldsOpt, Invocation, QuietOpt, invocation, kept
from tktctl.commands._parser import keep_parser
from tktctl.errors import INT_MAX, ExitCode, NotAMessage, TktctlError, UsageError
from tktctl.ingestguard import Interruptible, is_mail_ingest
from tktctl.text import json_printable, printable


class DatabaseInt(IntRange):
    """An int parameter bounded to what every database stores (:data:`INT_MAX`), keeping its own minimum.

    Every int parameter gets it when its command is built (:func:`bound_ints`), so that no new option
    can pass 99999999999999999999 down to a driver's OverflowError.
    """

    def __init__(self, low: int | None) -> None:
        super().__init__(min=-INT_MAX if low is None else low, max=INT_MAX)
        self.own_min = low
        self.name = IntParamType.name if low is None else IntRange.name  # --help's metavar, as before

    def _describe_range(self) -> str:
        # --help shows the option's own bound only: the database's is the same for every option.
        return "" if self.own_min is None else f"x>={self.own_min}"

    def convert(self, value: Any, param: Parameter | None, ctx: Context | None) -> Any:
        number = IntParamType.convert(self, value, param, ctx)
        if not self.min <= number <= INT_MAX:  # type: ignore[operator]
            self.fail(f"{number} is not in the range {self.min}..{INT_MAX}.", param, ctx)
        return number


def bound_ints(command: Command) -> Command:
    """Give every int parameter of the command (and its subcommands) a :class:`DatabaseInt` type."""
    for param in command.params:
        kind = param.type
        if not isinstance(kind, IntParamType) or isinstance(kind, DatabaseInt):
            continue
        own_range = isinstance(kind, IntRange)
        if not (own_range and kind.max is not None):  # type: ignore[attr-defined]
            param.type = DatabaseInt(kind.min if own_range else None)  # type: ignore[attr-defined]
    for sub in getattr(command, "commands", {}).values():
        bound_ints(sub)
    return command


def _verb_name(info: CommandInfo) -> str:
    """A verb's name as Typer gives it: the one registered, else the function's, dashed."""
    return info.name or typer.main.get_command_name(info.callback.__name__)  # type: ignore[union-attr]


class LazyCommands(MutableMapping[str, Command]):
    """A group's subcommands by name, each built on first access: start-up pays for the one run."""

    def __init__(self, build: Callable[[str], Command], names: Sequence[str], built: dict[str, Command]) -> None:
        self._build = build
        self._names = list(names)
        self._built = built

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            if name not in self._names:
                raise KeyError(name)
            self._built[name] = self._build(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        if name not in self._names:
            self._names.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class ReaderGone(Exception):
    """stdout's reader went away (``| head -1``): the command stops there and exits 0 (contract §4).

    Not an OSError, so that click's own EPIPE handler (exit 1) lets it through to :func:`run`.
    """


class LazyGroup(TyperGroup):
    """The root group: lists its nouns from :data:`COMMANDS`, imports one only to run or complete it."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise ReaderGone from exc

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self._build, [*self.commands, *COMMANDS], dict(self.commands))

    def _build(self, name: str) -> Command:
        """Build the command as ``app.add_typer``/``app.command`` on the root would have."""
        module, attribute, _help = COMMANDS[name]
        target = getattr(importlib.import_module(module), attribute)
        holder = typer.Typer(
            rich_markup_mode=self.rich_markup_mode,
            pretty_exceptions_short=app.pretty_exceptions_short,
            suggest_commands=self.suggest_commands,
            add_completion=False,
        )
        if not isinstance(target, typer.Typer):
            holder.command(name)(target)
            return keep_parser(bound_ints(typer.main.get_group(holder).commands[name]))
        # The noun's group without its verbs: Typer would build every one of them, reading each signature
        # (~30 ms for `ticket`'s 32). A verb is built when it runs, is completed or is listed by --help.
        verbs = {_verb_name(info): info for info in target.registered_commands}
        bare = copy.copy(target)
        bare.registered_commands = []
        holder.add_typer(bare, name=name)
        group = keep_parser(bound_ints(typer.main.get_group(holder).commands[name]))
        build = functools.partial(self._verb, verbs)
        group.commands = LazyCommands(build, [*verbs, *group.commands], dict(group.commands))  # type: ignore[attr-defined]
        return group

    def _verb(self, verbs: dict[str, CommandInfo], name: str) -> Command:
        """Build one verb as ``typer.main.get_group`` would have."""
        command = typer.main.get_command_from_info(
            verbs[name], pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=self.rich_markup_mode
        )
        return keep_parser(bound_ints(command))

    def list_commands(self, ctx: Context) -> list[str]:
        """The names, in table order, without building any (TyperGroup's would build them all)."""
        return list(self.commands)

    def _main_shell_completion(
        self, ctx_args: MutableMapping[str, Any], prog_name: str, complete_var: str | None = None
    ) -> None:
        # Typer registers its bash/zsh/fish handlers only in apps built with add_completion=True,
        # which the root is not (no --install-completion); commands/db.py is no longer imported first.
        _completion_classes()
        super()._main_shell_completion(ctx_args, prog_name, complete_var)

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        """As TyperGroup's, with each noun's help from the table: ``--help`` imports no command module."""
        shown = [
            (name, TyperCommand(name, help=COMMANDS[name][2]) if name in COMMANDS else self.commands[name])
            for name in self.commands
        ]
        shown = [(name, command) for name, command in shown if not command.hidden]
        if shown:
            limit = formatter.width - 6 - max(len(name) for name, _ in shown)
            with formatter.section(gettext("Commands")):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in shown])


app = typer.Typer(
    name="tktctl",
    help="Administer and script an OTRS-style help desk: tickets, queues, agents, permissions, history.",
    cls=LazyGroup,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


_completion_classes = functools.cache(completion_init)  # registered once, not before every command line


@functools.cache
def click_app() -> Command:
    """The root click command, built once per process (each noun on first use) and kept: `batch` lines
    and a warm server's requests all run through it; building the tree costs more than a small command."""
    return keep_parser(typer.main.get_command(app))


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
    given = {"db": db_url, "config": config_file, "profile": profile, "agent": agent_login}
    given.update(output=output, fields=fields, quiet=quiet, debug=debug)
    state.settings = kept(state.resolved, tuple(given.values()), lambda: config.resolve(**given))


def _fallback_style(argv: Sequence[str], output: str, debug: bool) -> tuple[bool, str]:
    """Error style when the command line did not parse: ``-o``/``--debug`` found anywhere in it
    (the output options are global options also after the verb), else ``output`` and ``debug``."""
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


def _report(exc: TktctlError, output: str, state: Invocation | None = None) -> None:
    """One line on stderr (control characters in quoted data escaped), and kept on ``state`` for `batch`."""
    if state is not None:
        state.error = exc.to_dict()["error"]
    if output in ("json", "jsonl", "yaml"):
        sys.stderr.write(json_printable(json.dumps(exc.to_dict(), ensure_ascii=False)) + "\n")
    else:
        # One line, whatever the message quotes (a YAML parser's report spans several).
        line = " ".join(part.strip() for part in exc.message.splitlines() if part.strip())
        sys.stderr.write(f"tktctl: error: {printable(line)}\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the command and exit with its documented exit code."""
    code = run(sys.argv[1:] if argv is None else argv)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader left before the last buffered output: exit as it chose. Pointing stdout at
        # /dev/null keeps the flush at interpreter exit quiet (the Python docs' SIGPIPE note).
        _silence_stdout()
    sys.exit(code)


def run(argv: Sequence[str], state: Invocation | None = None) -> int:
    """Run one command line; map every failure to its exit code (the only place that does).

    ``tktctl batch`` calls this once per input line, passing an Invocation that shares its desks.
    """
    args = list(argv)
    state = state or Invocation()
    final = False  # an exit code that mail ingest keeps (NotAMessage: nothing for the MTA to retry)
    try:
        _check_encoding(args)
        code = _invoke(args, state)
    except TktctlError as exc:
        debug, output = _style(state, args)
        if debug:
            import traceback

            traceback.print_exc()
        _report(exc, output, state)
        code = exc.exit_code
        final = isinstance(exc, NotAMessage)
    except ClickUsageError as exc:
        message = exc.format_message()
        where = exc.ctx.command_path if exc.ctx is not None else "tktctl"
        _report(UsageError(f"{message} (see `{where} --help`)"), _style(state, args, parsed=False)[1], state)
        code = ExitCode.USAGE
    except ClickException as exc:
        _report(UsageError(exc.format_message()), _style(state, args, parsed=False)[1], state)
        code = ExitCode.USAGE
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("tktctl: aborted\n")
        code = 130
    except (ReaderGone, BrokenPipeError):
        # The reader went away (e.g. `| head`); nothing more to say.
        _silence_stdout()
        code = ExitCode.OK
    except Exception as exc:
        debug, output = _style(state, args)
        if debug:
            import traceback

            traceback.print_exc()
        _report(internal_error(exc), output, state)
        code = ExitCode.INTERNAL
    if code not in (ExitCode.OK, ExitCode.TEMPFAIL) and not final and state.desks is None and is_mail_ingest(args):
        # Nothing the message itself caused gets here (that is a dead letter, exit 0): a bad
        # config, database URL or flag must make the MTA keep the message, not bounce it.
        code = ExitCode.TEMPFAIL
    return int(code)


def internal_error(exc: Exception) -> TktctlError:
    """A bug's report: its type and first line, and how to see more."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return TktctlError(f"internal error: {type(exc).__name__}: {first_line} (rerun with --debug for a traceback)")


def _check_encoding(args: Sequence[str]) -> None:
    """Reject arguments with bytes that are not UTF-8 (Python keeps them as lone surrogates)."""
    for position, arg in enumerate(args, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UsageError(f"argument {position} is not valid UTF-8 (byte {exc.start})") from exc


def _invoke(args: list[str], state: Invocation) -> int:
    """Run the command; release the database connections it opened (batch keeps its shared desks)."""
    try:
        result = click_app().main(args=args, prog_name="tktctl", standalone_mode=False, obj=state)
        return result if isinstance(result, int) else ExitCode.OK
    finally:
        if state.desk is not None and state.desks is None:
            state.desk.close()


def _style(state: Invocation, args: Sequence[str], *, parsed: bool = True) -> tuple[bool, str]:
    """The error style: the settings' once the command line parsed, else what argv says over them."""
    current = state.settings
    if current is not None and parsed:
        return current.debug, current.output
    if current is not None:
        return _fallback_style(args, current.output, current.debug)
    debug = os.environ.get("TKTCTL_DEBUG", "") not in ("", "0", "false")
    return _fallback_style(args, os.environ.get("TKTCTL_OUTPUT", "table"), debug)


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def entry() -> None:
    """The installed ``tktctl`` command: :func:`main`, then exit without interpreter teardown."""
    os._exit(exit_code())


def exit_code() -> int:
    """:func:`main` on ``sys.argv``, output flushed: the code to ``os._exit`` with (teardown would reset the
    signal handlers: a SIGTERM then would kill a `mail ingest` that committed, and the MTA would resend)."""
    Interruptible.linger_after_commit = True
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    return code

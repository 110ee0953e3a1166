"""The installed ``tktctl`` command's first code: the warm server's client, and `mail ingest`'s early signals.

Importing the command line (Typer and the rest) takes a noticeable part of a second. An MTA
that stops a delivery in that window must see exit 75 (EX_TEMPFAIL: it keeps the message and
retries), not a death by signal. So for `mail ingest` the termination signals exit 75 from the
first moment, before anything else is imported; the command's own handler
(:class:`tktctl.ingestguard.Interruptible`) takes over once it runs.

When the warm server is enabled (``TKTCTL_SERVER=auto``, or ``server: auto`` in the profile),
the command goes to it (:mod:`tktctl.server.client`) and this process only relays; else, or
when the server cannot take it, the command runs here. Only the standard library is imported
before that decision, and nothing at all new when the server is not enabled.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from tktctl.ingestguard import SIGNALS, is_mail_ingest

# Global options that take a value (they may come before the noun); see tktctl.cli.root.
VALUED = ("--db", "--config", "--profile", "--as", "--output", "-o", "--fields")


def _tempfail(number: int, frame: FrameType | None) -> None:
    os.write(
        2, f"tktctl: error: interrupted by {signal.Signals(number).name} before the message was read; retry\n".encode()
    )
    os._exit(75)


def _guard(argv: Sequence[str]) -> None:
    """`mail ingest`: termination signals exit 75 until the command's own handler takes over."""
    if is_mail_ingest(argv):
        for number in SIGNALS:
            signal.signal(number, _tempfail)


def entry() -> None:
    """Guard `mail ingest` against early signals; hand the command to the warm server, or run it here."""
    argv = sys.argv[1:]
    _guard(argv)
    config = _global(argv, "--config", "TKTCTL_CONFIG") or _default_config()
    # `server start|stop|status` manage the server themselves: sent to it, `start` would first start one
    # in the background with the default idle timeout, and its own --idle-timeout would be ignored.
    if _noun(argv) != "server" and _server_wanted(argv, config):
        from tktctl.server import client

        client.run(argv, config)  # returns only when the command is to run here
    from tktctl.cli import entry as run

    run()


def _global(argv: Sequence[str], option: str, variable: str) -> str | None:
    """A global option's value (before the noun), else its environment variable's."""
    for i, arg in enumerate(argv):
        if arg == option and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(option + "="):
            return arg.split("=", 1)[1]
        if not arg.startswith("-") and (i == 0 or argv[i - 1] not in VALUED):
            break
    return os.environ.get(variable) or None


def _noun(argv: Sequence[str]) -> str | None:
    """The first word that is neither a global option nor its value."""
    for i, arg in enumerate(argv):
        if not arg.startswith("-") and (i == 0 or argv[i - 1] not in VALUED):
            return arg
    return None


def _default_config() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "tktctl", "config.yaml")


def _server_wanted(argv: Sequence[str], config: str) -> bool:
    """``TKTCTL_SERVER`` (``auto`` or ``off``) decides; else the profile's ``server`` setting."""
    mode = os.environ.get("TKTCTL_SERVER", "")
    if mode:
        return mode == "auto"
    try:
        with open(config, "rb") as handle:
            data = handle.read()
    except OSError:
        return False
    if b"server" not in data:
        return False
    from tktctl.server.client import profile_setting

    profile = _global(argv, "--profile", "TKTCTL_PROFILE") or "default"
    return profile_setting(data.decode("utf-8", "replace"), profile) == "auto"


def serve() -> None:
    """The warm server's process (started by :func:`tktctl.server.client.start`)."""
    from tktctl.server import daemon

    sys.exit(daemon.main(sys.argv[1:], warm=_warm, run_child=_run_child, guard=_guard))


def _run_child(argv: list[str]) -> int:
    from tktctl.cli import exit_code

    return exit_code()


def _warm(config: str) -> None:
    """Pre-load what commands use: the command tree, every tktctl module, the database drivers; then
    rehearse on the desk that the server's environment and ``config`` name."""
    import importlib
    import importlib.util
    import pkgutil

    import tktctl
    from tktctl import cli

    _build_tree(cli.click_app())
    skip = ("tktctl.server", "tktctl.db.migrations", "tktctl.__main__", "tktctl.launch")
    for module in pkgutil.walk_packages(tktctl.__path__, "tktctl."):
        if not module.name.startswith(skip):
            importlib.import_module(module.name)
    optional = {"psycopg": "sqlalchemy.dialects.postgresql.psycopg", "pymysql": "sqlalchemy.dialects.mysql.pymysql"}
    for name in ("sqlite3", "sqlalchemy.dialects.sqlite.pysqlite", *WARM_MODULES):
        importlib.import_module(name)
    for driver, dialect in optional.items():
        if importlib.util.find_spec(driver) is not None:
            importlib.import_module(driver)
            importlib.import_module(dialect)
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    _rehearse(config)


def _build_tree(command: object) -> None:
    """Build every noun and verb of the command tree (each is built on first use, see tktctl.cli)."""
    for sub in getattr(command, "commands", {}).values():
        _build_tree(sub)


def _rehearse(config: str) -> None:
    """Run :data:`REHEARSED` on the default desk, every write rolled back, output dropped, and keep the
    desk's engine for the children: they find the command line's parsing, the statements (built
    once per process) and their SQL (compiled once per engine) ready, which was most of a warm
    `ticket create` (docs/benchmarks.md). A desk that is missing or not initialised, or an agent
    who may not create, only leaves less done ahead: each command reports its own errors."""
    import contextlib
    import io

    from tktctl import cli
    from tktctl.commands._common import Invocation
    from tktctl.core.unit import Store
    from tktctl.db import engine as db_engine

    state = Invocation(desks={})
    given = ["--config", config] if os.path.isfile(config) else []
    Store.rehearsal = True
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            for argv in REHEARSED:
                state.settings, state.desk, state.error = None, None, None
                cli.run([*given, *argv], state)
    finally:
        Store.rehearsal = False
    for desk in (state.desks or {}).values():
        if "engine" in desk.__dict__:
            db_engine.keep(desk.url, desk.engine)


REHEARSED = (
    ["ticket", "create", "--title", "rehearsal", "--body", "rehearsal", "-q"],
    ["ticket", "list", "--limit", "1", "-o", "json"],
)


# Imported inside functions by some commands (mail, notifications, formats, time input).
WARM_MODULES = (
    "email.parser",
    "email.policy",
    "email.message",
    "email.utils",
    "email.headerregistry",
    "email.mime.text",
    "email.mime.multipart",
    "yaml",
    "tabulate",
    "dateutil.parser",
    "dateutil.tz",
    "json",
    "uuid",
    "hashlib",
    "secrets",
)

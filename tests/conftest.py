"""Fixtures: a fresh, initialised help desk per test on SQLite, PostgreSQL and MariaDB.

Server backends run when their URLs are given (``TKTCTL_TEST_POSTGRES_URL``,
``TKTCTL_TEST_MYSQL_URL``); without them those cases skip with a reason, unless
``TKTCTL_TEST_REQUIRE_SERVERS=1`` (as in CI), which turns a missing server into a failure.
"""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import sys
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tktctl.api import Desk

# Wall-clock limits make property tests flaky on a loaded 2-core machine; they test logic, not speed.
settings.register_profile("tktctl", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("tktctl")

REQUIRE_SERVERS = os.environ.get("TKTCTL_TEST_REQUIRE_SERVERS") == "1"
SERVER_ENV = {"postgresql": "TKTCTL_TEST_POSTGRES_URL", "mysql": "TKTCTL_TEST_MYSQL_URL"}
BACKENDS = ("sqlite", "postgresql", "mysql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backends(*names): restrict a desk test to these backends")


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the user's config or data dir, nor inherits a TKTCTL_* setting."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith("TKTCTL_") and not name.startswith("TKTCTL_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    # The warm command server's socket directory (tktctl/server): private to each test.
    (home / "run").mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(home / "run"))
    monkeypatch.setenv("TZ", "UTC")


@pytest.fixture(autouse=True)
def _close_desks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every Desk a test made: their pooled connections would pile up on the servers
    until PostgreSQL refuses new clients (max_connections) late in a long run."""
    made: list[Desk] = []
    original = Desk.__init__

    def init(self: Desk, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(Desk, "__init__", init)
    yield
    for desk in made:
        desk.close()


class Server:
    """Creates and drops throwaway databases on one PostgreSQL or MariaDB server."""

    def __init__(self, backend: str, url: str) -> None:
        self.backend = backend
        self.base = make_url(url)
        admin_db = "postgres" if backend == "postgresql" else None
        admin_url = self.base.set(database=admin_db) if admin_db else self.base.set(database="")
        self.engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
        self.template: str | None = None

    def create(self, template: str | None = None) -> str:
        name = f"tktctl_t_{uuid.uuid4().hex[:12]}"
        with self.engine.connect() as conn:
            if self.backend == "postgresql":
                suffix = f" TEMPLATE {template}" if template else ""
                conn.execute(text(f"CREATE DATABASE {name}{suffix}"))
            else:
                conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
        return self.base.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.engine.connect() as conn:
            if self.backend == "postgresql":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                try:
                    conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
                except OperationalError as exc:
                    # MariaDB 10.11 can leave a trigger file's backup (TABLE.TRG-) behind when a
                    # CREATE TRIGGER is cut off (a killed process mid-init); DROP DATABASE then
                    # fails with 1010 "directory not empty". That is cleanup of a throwaway database,
                    # not the test's result: leave the database and say so.
                    if exc.orig is None or exc.orig.args[0] != 1010:
                        raise
                    warnings.warn(f"left test database {name} behind: {exc.orig}", stacklevel=1)


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, Server]]:
    found: dict[str, Server] = {}
    for backend, env in SERVER_ENV.items():
        url = os.environ.get(env)
        if url:
            found[backend] = Server(backend, url)
    yield found
    for server in found.values():
        if server.template:
            server.drop(server.base.set(database=server.template).render_as_string(hide_password=False))
        server.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test: migrations run once, not per test."""
    path = tmp_path_factory.mktemp("template") / "desk.db"
    desk = Desk(f"sqlite:///{path}")
    desk.init()
    desk.close()
    return path


def _server_or_skip(servers: dict[str, Server], backend: str) -> Server:
    if backend not in servers:
        reason = f"{SERVER_ENV[backend]} is not set"
        if REQUIRE_SERVERS:
            pytest.fail(f"TKTCTL_TEST_REQUIRE_SERVERS=1 but {reason}")
        pytest.skip(reason)
    return servers[backend]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    marker = request.node.get_closest_marker("backends")
    if marker is not None and request.param not in marker.args:
        pytest.skip(f"not run on {request.param}")
    return str(request.param)


@pytest.fixture
def empty_db_url(backend: str, servers: dict[str, Server], tmp_path: Path) -> Iterator[str]:
    """A URL of a database with nothing in it (for init and schema tests)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'desk.db'}"
        return
    server = _server_or_skip(servers, backend)
    url = server.create()
    yield url
    server.drop(url)


@pytest.fixture
def db_url(backend: str, servers: dict[str, Server], tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A URL of a fresh database, initialised by `tktctl init` (schema and default data)."""
    if backend == "sqlite":
        path = tmp_path / "desk.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    server = _server_or_skip(servers, backend)
    if backend == "postgresql":
        if server.template is None:
            template_url = server.create()
            template = Desk(template_url)
            template.init()
            template.close()  # a template database must have no open sessions
            server.template = make_url(template_url).database
        url = server.create(template=server.template)
    else:
        url = server.create()
        desk = Desk(url)
        desk.init()
        desk.close()
    yield url
    server.drop(url)


@pytest.fixture
def desk(db_url: str) -> Iterator[Desk]:
    """The desk acting as the built-in admin."""
    instance = Desk(db_url)
    yield instance
    instance.close()


# The installed executable, with and without the warm command server -------------------

TKTCTL_EXE = str(Path(sys.executable).with_name("tktctl"))


@dataclass
class Launch:
    """How the installed ``tktctl`` runs: ``direct`` (a fresh process each time) or through a warm ``server``."""

    mode: str
    env: dict[str, str]
    config: str | None = None

    def server(self, *args: str) -> Any:
        """``tktctl [--config C] server ARGS``: there is one server per config file."""
        import subprocess

        given = ["--config", self.config] if self.config else []
        argv = [TKTCTL_EXE, *given, "server", *args]
        return subprocess.run(argv, env={**os.environ, **self.env}, capture_output=True, text=True, check=False)

    def use_config(self, config: str) -> None:
        """The test's commands name ``--config C``: serve them from C's server (started now)."""
        if self.mode == "server":
            self.server("stop", "-q")
            self.config = config
            started = self.server("start", "--idle-timeout", "120", "-o", "json")
            assert started.returncode == 0, started.stderr

    def served(self) -> int:
        """Requests the server has served so far (0 without one)."""
        if self.mode != "server":
            return 0
        status = self.server("status", "-o", "json")
        assert status.returncode == 0, status.stderr
        return int(json.loads(status.stdout)["requests"])


@pytest.fixture(params=["direct", "server"])
def launch(request: pytest.FixtureRequest) -> Iterator[Launch]:
    """Run the e2e suite both ways (issue 14 §2): whatever holds for a fresh process holds through the server.

    With ``server``, a server is started first (so that no call falls back to running in-process)
    and the test's calls must have been served by it: the teardown checks the count.
    """
    if request.param == "direct":
        yield Launch("direct", {"TKTCTL_SERVER": "off"})
        return
    launched = Launch("server", {"TKTCTL_SERVER": "auto"})
    started = launched.server("start", "--idle-timeout", "120", "-o", "json")
    assert started.returncode == 0, started.stderr
    yield launched
    served = launched.served()
    launched.server("stop", "-q")
    assert served > 0, "no command went through the server"


# Running the command line in-process ---------------------------------------------------


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str
    args: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def jsonl(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def error(self) -> dict[str, Any]:
        return json.loads(self.stderr.strip().splitlines()[-1])["error"]


class Cli:
    """Calls ``tktctl.cli.main`` in this process with captured streams (fast; one run per call)."""

    def __init__(self, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.db_url = db_url
        self.monkeypatch = monkeypatch

    def __call__(self, *args: str, input: str | bytes | None = None, expect: int | None = 0) -> Result:
        from tktctl.cli import main

        argv = ["--db", self.db_url, *args]
        raw = input.encode() if isinstance(input, str) else (input or b"")
        stdout, stderr = io.StringIO(), io.StringIO()
        stdin = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")
        with self.monkeypatch.context() as patch:
            patch.setattr(sys, "stdin", stdin)
            patch.setattr(sys, "stdout", stdout)
            patch.setattr(sys, "stderr", stderr)
            try:
                main(argv)
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
        result = Result(code, stdout.getvalue(), stderr.getvalue(), argv)
        if expect is not None:
            assert code == expect, f"tktctl {' '.join(args)} exited {code}, expected {expect}\n{result.stderr}"
        return result


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(db_url, monkeypatch)


@functools.lru_cache(maxsize=64)
def _reflected(url: str) -> Any:
    """The tables of a test database, reflected once: its schema is fixed once it is initialised."""
    from sqlalchemy import MetaData

    engine = create_engine(make_url(url))
    try:
        meta = MetaData()
        meta.reflect(engine)
        return meta
    finally:
        engine.dispose()


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, ordered: compared before and after a failed command.

    Not the configuration generation: a cache's label, not data (an UPDATE that changes no value moves it too).
    """
    from tktctl.db import generation

    engine = create_engine(make_url(url))
    try:
        meta = _reflected(url)
        with engine.connect() as conn:
            return {
                name: [tuple(r) for r in conn.execute(table.select().order_by(*table.primary_key.columns or table.c))]
                for name, table in sorted(meta.tables.items())
                if name != generation.TABLE
            }
    finally:
        engine.dispose()

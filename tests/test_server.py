"""The warm command server (issue 14 §2): the fallbacks, signals, isolation and the owner check.

The e2e suite (tests/test_e2e.py) runs every user story both directly and through the server
(conftest's ``launch`` fixture); these tests cover what only the server path has: a child
killed mid-command, a killed server, a stale socket, a changed installation or config file,
another user's connection, and the caller's cwd, umask, environment and exit signals.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tktctl
from tests.conftest import TKTCTL_EXE
from tktctl.server import client, control, daemon

pytestmark = [pytest.mark.e2e]
START_TIMEOUT_S = 60


class Served:
    """A desk and a running server for it, with helpers to call tktctl through it."""

    def __init__(self, db_url: str) -> None:
        self.env = {**os.environ, "TKTCTL_DB": db_url, "TKTCTL_SERVER": "auto", "TKTCTL_SERVER_IDLE": "60"}
        self.config = control.config_path(None)

    def __call__(
        self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [TKTCTL_EXE, *args], input=input, capture_output=True, env={**self.env, **(env or {})}, cwd=cwd, timeout=120
        )

    def start(self) -> dict[str, object]:
        done = self("server", "start", "--idle-timeout", "120", "-o", "json")
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    def status(self) -> dict[str, object] | None:
        done = self("server", "status", "-o", "json", env={"TKTCTL_SERVER": "off"})  # not counted itself
        return dict(json.loads(done.stdout)) if done.returncode == 0 else None

    def wait_for_new(self, old_pid: object) -> dict[str, object]:
        """The server that a fallback started in the background, once it answers."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            status = self.status()
            if status is not None and status["pid"] != old_pid:
                return status
            time.sleep(0.1)
        raise AssertionError("no new server started")

    def child_of(self, server_pid: int) -> int:
        """The pid of the server's (one) running child."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
            if children:
                return int(children[0])
            time.sleep(0.02)
        raise AssertionError("the server forked no child")


@pytest.fixture
def served(db_url: str) -> Iterator[Served]:
    helper = Served(db_url)
    yield helper
    helper("server", "stop")


def _tickets(served: Served) -> list[dict[str, object]]:
    done = served("ticket", "list", "-o", "json", env={"TKTCTL_SERVER": "off"})
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_commands_go_through_the_server_and_status_counts_them(served: Served) -> None:
    first = served.start()
    assert first["requests"] == 0 and first["version"] == tktctl.__version__
    created = served("ticket", "create", "--title", "via server", "-o", "json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["title"] == "via server"
    assert served("ticket", "show", "2000010110000001", "-q").returncode == 3
    status = served.status()
    assert status is not None and status["pid"] == first["pid"] and status["requests"] == 2
    assert float(str(status["uptime"])) > 0


def test_the_rehearsal_before_serving_leaves_nothing_behind(served: Served) -> None:
    """Before it serves, the server rehearses `ticket create` and `ticket list` on the desk (its children
    then find the statements compiled); every write of it rolls back: no ticket, no number used."""
    served.start()
    assert _tickets(served) == []
    created = served("ticket", "create", "--title", "first", "-q")
    assert created.returncode == 0, created.stderr
    tn = created.stdout.decode().strip()
    assert tn[8:15] == "1000001", tn  # the counter's first number: the rehearsal's was rolled back
    assert [t["title"] for t in _tickets(served)] == ["first"]
    history = served("ticket", "history", tn, "-o", "json", env={"TKTCTL_SERVER": "off"})
    assert [h["type"] for h in json.loads(history.stdout)] == ["NewTicket"]


def test_a_kept_engine_goes_once_to_the_next_of_its_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm server hands its rehearsed engine to its child this way; a relative SQLite path names
    the file of the caller's directory, so it is another database where the directory differs."""
    from tktctl.db import engine as db_engine

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    kept = db_engine.make_engine("sqlite:///desk.db")
    db_engine.keep("sqlite:///desk.db", kept)
    monkeypatch.chdir(tmp_path / "b")
    elsewhere = db_engine.make_engine("sqlite:///desk.db")
    assert elsewhere is not kept
    assert db_engine.make_engine(f"sqlite:///{tmp_path / 'a' / 'desk.db'}") is kept
    again = db_engine.make_engine(f"sqlite:///{tmp_path / 'a' / 'desk.db'}")
    assert again is not kept
    for engine in (kept, elsewhere, again):
        engine.dispose()


def test_server_start_keeps_its_idle_timeout_with_the_server_enabled(served: Served) -> None:
    """Regression: with TKTCTL_SERVER=auto the launcher sent `server start` to the server; finding none, it
    started one in the background with the default 600 s idle timeout, and --idle-timeout was ignored."""
    assert served.start()["idle_timeout"] == 120.0


def test_stop_gives_the_socket_up_at_once(served: Served) -> None:
    """Regression: the server compared the socket file's inode with fstat of the socket (sockfs's inode),
    never equal, so it left its socket behind and `server stop` waited its whole 30 s for it to go."""
    socket_path = Path(str(served.start()["socket"]))
    assert socket_path.exists()
    began = time.monotonic()
    assert served("server", "stop", "-q").returncode == 0
    assert time.monotonic() - began < 10 and not socket_path.exists()
    assert served.status() is None


@pytest.mark.backends("sqlite")
def test_a_child_killed_mid_command_ends_the_client_as_killed_and_writes_nothing(served: Served) -> None:
    server = served.start()
    before = _tickets(served)
    process = subprocess.Popen(
        [TKTCTL_EXE, "ticket", "create", "--title", "never", "--body", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=served.env,
    )
    child = served.child_of(int(str(server["pid"])))  # it waits for the body on stdin
    os.kill(child, signal.SIGKILL)
    assert process.wait(60) == -signal.SIGKILL
    assert _tickets(served) == before


@pytest.mark.backends("sqlite")
def test_sigterm_during_mail_ingest_through_the_server_is_75_and_stores_nothing(served: Served) -> None:
    server = served.start()
    process = subprocess.Popen(
        [TKTCTL_EXE, "mail", "ingest", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=served.env,
    )
    assert process.stdin is not None
    process.stdin.write(b"From: a@example.com\r\nSubject: half\r\n")  # the rest never comes
    process.stdin.flush()
    served.child_of(int(str(server["pid"])))
    time.sleep(0.3)  # the child reads the message
    process.send_signal(signal.SIGTERM)  # to the client: forwarded to the child
    assert process.wait(60) == 75, process.stderr.read() if process.stderr else ""
    assert _tickets(served) == []


@pytest.mark.backends("sqlite")
def test_sigint_is_forwarded_and_ends_the_command_as_a_fresh_process_would(served: Served) -> None:
    server = served.start()
    codes = {}
    for mode in ("off", "auto"):
        process = subprocess.Popen(
            [TKTCTL_EXE, "ticket", "create", "--title", "t", "--body", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**served.env, "TKTCTL_SERVER": mode},
        )
        if mode == "auto":
            served.child_of(int(str(server["pid"])))
        time.sleep(1.5 if mode == "off" else 0.2)  # a fresh process has imported and waits on stdin
        process.send_signal(signal.SIGINT)
        codes[mode] = process.wait(60)
        assert process.stdout is not None and process.stdout.read() == b""
    assert codes["auto"] == codes["off"] == 130, codes
    assert _tickets(served) == []


def test_a_killed_server_is_replaced_by_the_next_call(served: Served) -> None:
    old = served.start()
    os.kill(int(str(old["pid"])), signal.SIGKILL)
    time.sleep(0.2)
    done = served("ticket", "create", "--title", "after the kill", "-q")
    assert done.returncode == 0, done.stderr  # ran in-process, and started a new server
    new = served.wait_for_new(old["pid"])
    assert served("ticket", "list", "-q").returncode == 0
    assert served.status()["requests"] == 1  # type: ignore[index]
    assert new["pid"] != old["pid"]


def test_a_stale_socket_is_ignored_and_replaced(served: Served) -> None:
    sock_path, _lock, _log = client.paths(served.config, create=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(sock_path)  # bound, never listening: connect() is refused
    stale.close()
    assert os.path.exists(sock_path)
    done = served("ticket", "create", "--title", "beside a stale socket", "-q")
    assert done.returncode == 0 and done.stdout.strip(), done.stderr
    new = served.wait_for_new(None)
    assert new["socket"] == sock_path


def test_a_changed_installation_restarts_the_server(served: Served) -> None:
    old = served.start()
    module = Path(tktctl.__file__).parent / "server" / "__init__.py"
    times = os.stat(module)
    try:
        os.utime(module, ns=(times.st_atime_ns, times.st_mtime_ns + 10**9))
        done = served("ticket", "create", "--title", "new version", "-q")
        assert done.returncode == 0 and done.stdout.strip(), done.stderr  # in-process
        new = served.wait_for_new(old["pid"])
        assert served("ticket", "list", "-q").returncode == 0
        assert served.status()["pid"] == new["pid"]  # type: ignore[index]
    finally:
        os.utime(module, ns=(times.st_atime_ns, times.st_mtime_ns))


def test_a_changed_config_file_restarts_the_server(served: Served) -> None:
    old = served.start()
    Path(served.config).parent.mkdir(parents=True, exist_ok=True)
    Path(served.config).write_text("profiles:\n  default:\n    output: json\n")
    done = served("ticket", "create", "--title", "new config")
    assert done.returncode == 0 and json.loads(done.stdout)["title"] == "new config", done.stderr
    new = served.wait_for_new(old["pid"])
    assert new["requests"] == 0


def test_the_profile_turns_the_server_on(served: Served) -> None:
    Path(served.config).parent.mkdir(parents=True, exist_ok=True)
    Path(served.config).write_text("profiles:\n  default:\n    server: auto  # warm\n")
    env = {"TKTCTL_SERVER": ""}
    assert served("ticket", "create", "--title", "a", "-q", env=env).returncode == 0
    first = served.wait_for_new(None)
    assert served("ticket", "create", "--title", "b", "-q", env=env).returncode == 0
    assert served.status()["requests"] == first["requests"] + 1  # type: ignore[index,operator]
    bad = served("ticket", "list", env={**env, "TKTCTL_SERVER": "off"})
    assert bad.returncode == 0
    Path(served.config).write_text("profiles:\n  default:\n    server: sometimes\n")
    refused = served("ticket", "list", env={"TKTCTL_SERVER": "off"})
    assert refused.returncode == 2 and b"'server' must be one of auto, off" in refused.stderr


def test_cwd_umask_environment_and_exit_codes_are_the_callers(served: Served, tmp_path: Path) -> None:
    served.start()
    raw = (
        b"From: c@example.com\r\nSubject: file\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee file\r\n"
        b"--b\r\nContent-Type: application/octet-stream; name=a.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"AAEC/w==\r\n--b--\r\n"
    )
    ingested = served("mail", "ingest", "-", "-o", "json", input=raw)
    assert ingested.returncode == 0, ingested.stderr
    tn = json.loads(ingested.stdout)["ticket"]
    (attachment,) = json.loads(served("ticket", "attachments", tn, "-o", "json").stdout)
    work = tmp_path / "work"
    work.mkdir()
    # A relative path is the caller's cwd; the file gets the caller's umask; TKTCTL_* come from the caller.
    for mask, mode in (("077", "600"), ("022", "644")):
        written = subprocess.run(
            f"umask {mask} && {TKTCTL_EXE} ticket attachment {tn} {attachment['id']} --to-file out-{mask}.bin"
            f" && stat -c %a out-{mask}.bin",
            shell=True,
            cwd=work,
            env=served.env,
            capture_output=True,
            check=False,
        )
        assert written.returncode == 0 and written.stdout.split()[-1] == mode.encode(), written
        assert (work / f"out-{mask}.bin").read_bytes() == b"\x00\x01\x02\xff"
    shown = served("ticket", "show", tn, env={"TKTCTL_OUTPUT": "json"})
    assert json.loads(shown.stdout)["tn"] == tn
    denied = served("ticket", "show", tn, env={"TKTCTL_AGENT": "nobody-here"})
    assert denied.returncode in (3, 4), denied.stderr
    assert served.status()["requests"] == 6  # type: ignore[index]


def test_binary_mail_on_stdin_through_the_server(served: Served) -> None:
    served.start()
    raw = (
        b"From: c@example.com\r\nSubject: =?iso-8859-1?q?Gr=FC=DFe?=\r\nContent-Type: text/plain; charset=latin-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe\r\n"
    )
    done = served("mail", "ingest", "-", "-o", "json", input=raw)
    assert done.returncode == 0, done.stderr
    tn = json.loads(done.stdout)["ticket"]
    shown = json.loads(served("ticket", "show", tn, "-o", "json").stdout)
    assert "Grüße" in shown["articles"][0]["body"]
    assert served.status()["requests"] == 2  # type: ignore[index]


def test_peer_credentials_of_another_user_are_refused() -> None:
    me = os.getuid()
    assert client.peer_allowed(struct.pack("3i", 123, me, 0), me)
    assert not client.peer_allowed(struct.pack("3i", 123, me + 1, 0), me)
    assert not client.peer_allowed(b"", me)


def test_a_directory_others_may_enter_is_not_used(served: Served) -> None:
    directory = client.directory(create=True)
    os.chmod(directory, 0o755)
    try:
        with pytest.raises(client.Unavailable, match="private"):
            client.paths(served.config)
        done = served("ticket", "create", "--title", "in-process", "-q")
        assert done.returncode == 0, done.stderr
        assert served.status() is None  # nothing served, nothing started
    finally:
        os.chmod(directory, 0o700)


@pytest.mark.skipif(os.getuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_another_users_connection_is_refused(served: Served) -> None:
    """nobody cannot reach the socket; given a way in (test only), the server's SO_PEERCRED check refuses it."""
    status = served.start()
    sock_path = str(status["socket"])
    probe = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_UNIX); s.settimeout(10)\n"
        "try:\n s.connect(sys.argv[1])\nexcept OSError as e:\n print('refused', e.errno); sys.exit(0)\n"
        "try:\n"
        f" s.sendall({client.encode(b'status', served.config)!r})\n"
        " print('answer', s.recv(100))\n"
        "except (ConnectionResetError, BrokenPipeError):\n print('answer', b'')\n"
    )
    nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", str(Path(TKTCTL_EXE).parent / "python")]
    blocked = subprocess.run([*nobody, "-c", probe, sock_path], capture_output=True, text=True, check=False)
    assert blocked.stdout.startswith("refused"), blocked
    directory = os.path.dirname(sock_path)
    parents = [p for p in Path(directory).parents if not os.stat(p).st_mode & 0o001]  # e.g. pytest's 0700 base
    modes = {p: os.stat(p).st_mode for p in [Path(directory), *parents, Path(sock_path)]}
    try:
        for path in modes:
            os.chmod(path, 0o777 if path == Path(sock_path) else 0o711)
        answered = subprocess.run([*nobody, "-c", probe, sock_path], capture_output=True, text=True, check=False)
    finally:
        for path, mode in modes.items():
            os.chmod(path, mode & 0o7777)
    assert answered.stdout.strip() == "answer b''", answered  # connected, then closed without a word
    assert served.status()["requests"] == 0  # type: ignore[index]


def test_request_parsing_round_trips() -> None:
    body = client.encode(b"run", "/tmp/c.yaml", ["ticket", "list", "caf\udcc3"])[4:]
    request = daemon.parse(body)
    assert (request.kind, request.config, request.argv) == ("run", "/tmp/c.yaml", ["ticket", "list", "caf\udcc3"])
    assert len(request.streams) == 3
    with pytest.raises(ValueError, match="protocol"):
        daemon.parse(b"other\0run")


def test_the_fingerprint_sees_a_change_to_any_module_not_only_the_newest() -> None:
    """Regression: it once kept the newest time only, so an older module edited to a time still
    older than the newest went unseen and a stale server kept serving the old code."""
    module = Path(tktctl.__file__).parent / "server" / "__init__.py"
    times = os.stat(module)
    before = client.fingerprint()
    try:
        os.utime(module, ns=(times.st_atime_ns, times.st_mtime_ns - 10**9))  # older, never the newest
        assert client.fingerprint() != before
    finally:
        os.utime(module, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert client.fingerprint() == before

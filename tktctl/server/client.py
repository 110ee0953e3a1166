"""The warm server's client: hand this process's command to the server, or say to run it in-process.

Standard library only, and as little of it as possible: the ``tktctl`` launcher imports this
module when the server is enabled, before it knows whether it will import the command line.
:func:`run` returns only when the command must run in-process (no server yet: one is started
in the background; no socket support, a refusal, a version change, a stale socket: nothing
is lost, the command simply runs here). Once the server has taken the command it never
returns: it exits with the child's code, or dies by the child's signal.

The exchange, over a Unix stream socket in a private directory:

- request: a 4-byte length and NUL-separated fields (protocol, kind, fingerprint, config
  file, umask, argv[0], the stdio streams' encodings and buffering, argv, environment),
  sent with fds 0, 1, 2 and the working directory (``SCM_RIGHTS``);
- replies, one line each: ``P<pid>`` (the child runs), ``X<code>`` (the child exited with
  code), ``W<status>`` (the server's wait status of the child), ``R<why>`` (the server is
  stale and exits: restart it), ``F<why>`` (run in-process), ``S<json>`` (status).
"""

from __future__ import annotations

import os
import signal
import sys
import zlib

TYPE_CHECKING = False  # see tktctl/__init__.py
if TYPE_CHECKING:
    from collections.abc import Sequence

PROTOCOL = b"tktctl-server/2"
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
IDLE_TIMEOUT_S = 600
# After a failed start, do not try again for this long (each attempt costs a Python start-up).
RETRY_AFTER_S = 60


class Unavailable(Exception):
    """The server cannot take this command: run it in-process."""


def profile_setting(text: str, profile: str, key: str = "server") -> str | None:
    """``profiles: PROFILE: KEY:`` of a block-style YAML config, without a YAML parser; None if absent.

    A config written in another style (flow mappings, anchors) is read with PyYAML instead.
    """
    if any(mark in text for mark in ("{", "&", "*", "\t")):
        import yaml  # unusual syntax: pay for the real parser rather than guess

        try:
            document = yaml.safe_load(text)
            value = document["profiles"][profile][key]
        except (yaml.YAMLError, KeyError, TypeError):
            return None
        return None if value is None else str(value)
    stack: list[tuple[int, str]] = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith(("#", "---", "-")):
            continue
        indent = len(line) - len(stripped)
        name, colon, value = stripped.partition(":")
        if not colon:
            continue
        name = name.strip().strip("'\"")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if [n for _, n in stack] == ["profiles", profile] and name == key:
            return value.strip().strip("'\"") or None
        if not value.strip():
            stack.append((indent, name))
    return None


def fingerprint() -> str:
    """The installation: version and every module's size and time (a reinstall or an edit changes it)."""
    import tktctl

    root = os.path.dirname(os.path.abspath(tktctl.__file__))
    stamp = total = count = 0  # the sum of the times: any module's change shows, not only the newest's
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                status = os.stat(os.path.join(directory, name))
                stamp += status.st_mtime_ns
                total += status.st_size
                count += 1
    return f"{tktctl.__version__}:{count}:{total}:{stamp}"


def _key(config: str) -> str:
    """One server per environment (prefix), interpreter, installation, module path and config file."""
    import tktctl

    parts = (sys.prefix, os.path.realpath(sys.executable), os.path.abspath(tktctl.__file__))
    text = "\0".join((*parts, os.environ.get("PYTHONPATH", ""), os.path.abspath(config)))
    data = text.encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


def directory(create: bool = False) -> str:
    """The private socket directory: ``$XDG_RUNTIME_DIR/tktctl``, else ``run`` under the data dir.

    It must be a directory of this user that nobody else may enter (0700); otherwise
    :class:`Unavailable` (someone else could serve, or listen to, our commands).
    """
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        path = os.path.join(runtime, "tktctl")
    else:
        base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
        path = os.path.join(base, "tktctl", "run")
    if create and not os.path.isdir(path):
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise Unavailable(f"cannot create {path}: {exc.strerror}") from exc
    try:
        status = os.lstat(path)
    except OSError as exc:
        raise Unavailable(f"no server directory {path}") from exc
    import stat

    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid() or status.st_mode & 0o077:
        raise Unavailable(f"{path} is not a private directory of this user (0700)")
    return path


def paths(config: str, create: bool = False) -> tuple[str, str, str]:
    """The socket, lock and log file of the server for this config file."""
    base = os.path.join(directory(create), f"s-{_key(config)}")
    return base + ".sock", base + ".lock", base + ".log"


def peer_allowed(credentials: bytes, uid: int) -> bool:
    """Whether ``SO_PEERCRED`` credentials (struct ucred: pid, uid, gid) name the user ``uid``."""
    import struct

    if len(credentials) < struct.calcsize("3i"):
        return False
    _pid, peer_uid, _gid = struct.unpack("3i", credentials[: struct.calcsize("3i")])
    return peer_uid == uid


def connect(path: str) -> object:
    """A connected socket to the server at ``path``, whose owner is this user; else :class:`Unavailable`."""
    # The C module: `socket` makes its enums on import, ~3 ms of this path (docs/benchmarks.md).
    import _socket

    if not all(hasattr(_socket, name) for name in ("AF_UNIX", "SCM_RIGHTS", "SO_PEERCRED")):
        raise Unavailable("no Unix sockets with fd passing here")
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
        credentials = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
    except OSError as exc:
        sock.close()
        raise Unavailable(f"cannot connect to {path}: {exc.strerror or exc}") from exc
    if not peer_allowed(credentials, os.getuid()):
        sock.close()
        raise Unavailable(f"{path} is served by another user")
    return sock


def encode(kind: bytes, config: str, argv: Sequence[str] = ()) -> bytes:
    """The request (see the module's docstring)."""
    mask = os.umask(0o022)
    os.umask(mask)
    streams = (sys.stdin, sys.stdout, sys.stderr)
    fields = [
        PROTOCOL,
        kind,
        fingerprint().encode(),
        os.fsencode(config),
        b"%d" % mask,
        os.fsencode(sys.argv[0] if sys.argv else "tktctl"),
        sys.getfilesystemencoding().encode(),
    ]
    for stream in streams:
        fields += [
            (getattr(stream, "encoding", None) or "utf-8").encode(),
            (getattr(stream, "errors", None) or "strict").encode(),
            b"1" if getattr(stream, "line_buffering", False) else b"0",
            b"1" if getattr(stream, "write_through", False) else b"0",
        ]
    fields.append(b"%d" % len(argv))
    fields += [os.fsencode(arg) for arg in argv]
    environment = [key + b"=" + value for key, value in os.environb.items()]
    fields.append(b"%d" % len(environment))
    fields += environment
    if any(b"\0" in field for field in fields):
        raise Unavailable("a NUL in the request")
    body = b"\0".join(fields)
    return len(body).to_bytes(4, "big") + body


class Replies:
    """The server's reply lines."""

    def __init__(self, sock: object) -> None:
        self.sock = sock
        self.buffer = b""

    def next(self) -> bytes | None:
        """The next line without its newline; None at end of stream."""
        while b"\n" not in self.buffer:
            try:
                chunk = self.sock.recv(4096)  # type: ignore[attr-defined]
            except OSError:
                chunk = b""
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line


def ask(kind: bytes, config: str) -> bytes:
    """A control request (``status``, ``stop``): the server's answer line; :class:`Unavailable` if none."""
    sock, _lock, _log = paths(config)
    connection = connect(sock)
    try:
        connection.sendall(encode(kind, config))  # type: ignore[attr-defined]
        line = Replies(connection).next()
    finally:
        connection.close()  # type: ignore[attr-defined]
    if line is None:
        raise Unavailable("the server closed the connection")
    return line


def start(config: str, idle_timeout: float | None = None, force: bool = False) -> bool:
    """Start a server for ``config`` in the background, unless one runs or is starting; whether one was started.

    After a failed start none is tried for :data:`RETRY_AFTER_S` seconds, unless ``force``.
    """
    import fcntl

    sock, lock, log = paths(config, create=True)
    failed = lock[: -len(".lock")] + ".failed"
    try:
        if not force and os.stat(failed).st_mtime > _now() - RETRY_AFTER_S:
            return False
    except OSError:
        pass
    descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a server holds it: it runs, or is starting
    finally:
        os.close(descriptor)
    import subprocess

    timeout = idle_timeout if idle_timeout is not None else float(os.environ.get("TKTCTL_SERVER_IDLE", IDLE_TIMEOUT_S))
    with open(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab", buffering=0) as errors:
        subprocess.Popen(
            [sys.executable, "-c", "from tktctl.launch import serve; serve()", sock, lock, config, str(timeout)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            close_fds=True,
            start_new_session=True,
            cwd=os.path.dirname(sock),
        )
    return True


def _now() -> float:
    import time

    return time.time()


def run(argv: Sequence[str], config: str) -> None:
    """Run the command through the server and exit as it did; return to run it in-process instead."""
    try:
        sock_path, _lock, _log = paths(config, create=True)
        try:
            connection = connect(sock_path)
        except Unavailable:
            start(config)
            return
        request = encode(b"run", config, argv)
    except (Unavailable, OSError):
        return
    _relay(connection, request, config)


def _relay(connection: object, request: bytes, config: str) -> None:
    """Send the request with our fds; forward signals; exit as the child did. Returns only for a fallback."""
    import _socket
    from array import array

    child: list[int] = []
    pending: list[int] = []
    previous = {number: signal.getsignal(number) for number in FORWARDED}

    def forward(number: int, _frame: object) -> None:
        if child:
            try:  # noqa: SIM105 (contextlib is one more import on this path)
                os.kill(child[0], number)
            except ProcessLookupError:
                pass
        else:
            pending.append(number)

    cwd = -1
    try:
        cwd = os.open(".", getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY)
        for number in FORWARDED:
            signal.signal(number, forward)
        fds = array("i", [0, 1, 2, cwd])  # socket.send_fds, without the socket module
        connection.sendmsg([request], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])  # type: ignore[attr-defined]
    except OSError:
        _fall_back(connection, previous, pending)
        return
    finally:
        if cwd >= 0:
            os.close(cwd)
    replies = Replies(connection)
    while True:
        line = replies.next()
        if line is None:
            if not child:
                # Nothing started (the server closed or died before forking): run it here.
                _fall_back(connection, previous, pending)
                return
            # The child's fate is unknown (it and the server are gone): end as a killed process.
            _die(signal.SIGKILL)
        tag, value = line[:1], line[1:]
        if tag == b"P":
            child.append(int(value))
            for number in pending:
                forward(number, None)
            pending.clear()
        elif tag == b"X":
            os._exit(int(value))
        elif tag == b"W":
            status = int(value)
            if os.WIFSIGNALED(status):
                _die(os.WTERMSIG(status))
            os._exit(os.waitstatus_to_exitcode(status))
        elif tag == b"R" and not child:
            connection.close()  # type: ignore[attr-defined]
            start(config)  # the stale server is exiting; its successor serves the next command
            _restore(previous, pending)
            return
        elif not child:
            _fall_back(connection, previous, pending)
            return


def _fall_back(connection: object, previous: dict[int, object], pending: list[int]) -> None:
    connection.close()  # type: ignore[attr-defined]
    _restore(previous, pending)


def _restore(previous: dict[int, object], pending: list[int]) -> None:
    """Our own signal handlers back; a signal that came meanwhile acts now, as it would have."""
    for number, handler in previous.items():
        signal.signal(number, handler)  # type: ignore[arg-type]
    for number in pending:
        os.kill(os.getpid(), number)


def _die(number: int) -> None:
    """End as a process killed by signal ``number``."""
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105
            stream.flush()
        except (OSError, ValueError):
            pass
    if number not in (signal.SIGKILL, signal.SIGSTOP):
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [number])
    os.kill(os.getpid(), number)
    os._exit(128 + number)

"""The warm server: pre-loaded once, it forks one child per command, which runs as a fresh process would.

Started in the background by the client (or ``tktctl server start``) through
:func:`tktctl.launch.serve`, which hands it what to pre-load and how a child runs a command.
It never opens a database connection; a child gets the caller's fds 0/1/2, working
directory, umask, environment and argv before it runs anything, and reports its exit code
on the connection itself, so that even a server killed meanwhile loses no result. The server
exits after ``idle_timeout`` seconds without a request, on SIGTERM or a ``stop`` request, and
as soon as a request shows the installation or the config file changed (the client starts
a new one). Only the owning user may connect: a 0700 directory, a 0600 socket, ``SO_PEERCRED``.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable

from tktctl.server import child, client
from tktctl.server.child import Request

# Requests are small (argv and environment); a larger one is refused.
MAX_REQUEST = 4 << 20
REQUEST_TIMEOUT_S = 5.0
FORWARDED = client.FORWARDED


def parse(body: bytes) -> Request:
    """A request's fields (see :mod:`tktctl.server.client`); ValueError when malformed."""
    fields = body.split(b"\0")
    if fields[0] != client.PROTOCOL:
        raise ValueError("protocol mismatch")
    kind, fingerprint, config, umask, argv0, fs_encoding = fields[1:7]
    streams = []
    at = 7
    for _ in range(3):
        encoding, errors, line_buffering, write_through = fields[at : at + 4]
        streams.append((encoding.decode(), errors.decode(), line_buffering == b"1", write_through == b"1"))
        at += 4
    count = int(fields[at])
    argv = [os.fsdecode(arg) for arg in fields[at + 1 : at + 1 + count]]
    at += 1 + count
    count = int(fields[at])
    environ = fields[at + 1 : at + 1 + count]
    if len(environ) != count or at + 1 + count != len(fields):
        raise ValueError("truncated request")
    return Request(
        kind.decode(),
        fingerprint.decode(),
        os.fsdecode(config),
        int(umask),
        os.fsdecode(argv0),
        fs_encoding.decode(),
        streams,
        argv,
        environ,
    )


def config_state(path: str) -> tuple[int, ...] | None:
    """What tells a changed config file: its inode, size and time (None when missing)."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_ino, status.st_size, status.st_mtime_ns)


class Daemon:
    """The server loop. ``run_child`` runs one command in a prepared child and returns its exit code."""

    def __init__(
        self,
        sock_path: str,
        lock_path: str,
        config: str,
        idle_timeout: float,
        run_child: Callable[[list[str]], int],
        guard: Callable[[list[str]], None] = lambda argv: None,
    ) -> None:
        self.sock_path = sock_path
        self.lock_path = lock_path
        self.config = config
        self.idle_timeout = idle_timeout
        self.run_child = run_child
        self.guard = guard
        self.started = time.time()
        self.served = 0
        self.fingerprint = client.fingerprint()
        self.config_state = config_state(config)
        self.children: dict[int, socket.socket] = {}
        self.stopping = False
        self.lock_fd = -1
        self.listener: socket.socket | None = None
        self.sock_inode = -1  # the socket file's inode (fstat of the socket gives sockfs's, never the file's)
        self.selector = selectors.DefaultSelector()
        self.wakeup_r, self.wakeup_w = -1, -1

    # Life cycle -------------------------------------------------------------------------

    def claim(self) -> bool:
        """Take the lock that makes this the one server of its socket; False when another has it."""
        self.lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.lock_fd)
            self.lock_fd = -1
            return False
        return True

    def listen(self) -> None:
        """Bind a temporary name, make it 0600, then rename it into place (a stale socket is replaced)."""
        temporary = f"{self.sock_path}.{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(temporary)
        os.chmod(temporary, 0o600)
        listener.listen(128)
        self.sock_inode = os.stat(temporary).st_ino
        os.rename(temporary, self.sock_path)
        listener.setblocking(False)
        self.listener = listener
        self.selector.register(listener, selectors.EVENT_READ, "accept")
        self.wakeup_r, self.wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_r, False)
        os.set_blocking(self.wakeup_w, False)
        signal.set_wakeup_fd(self.wakeup_w)
        self.selector.register(self.wakeup_r, selectors.EVENT_READ, "signal")
        signal.signal(signal.SIGCHLD, lambda *_: None)
        for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(number, self._stop_signal)

    def _stop_signal(self, number: int, _frame: object) -> None:
        self.stopping = True

    def serve(self) -> None:
        """Answer requests until idle, stopped or stale; then give the socket up."""
        last = time.monotonic()
        try:
            while not self.stopping:
                timeout = None if self.children else max(0.0, last + self.idle_timeout - time.monotonic())
                events = self.selector.select(timeout)
                if not events and not self.children and time.monotonic() - last >= self.idle_timeout:
                    break
                for key, _mask in events:
                    if key.data == "accept":
                        self._accept()
                        last = time.monotonic()
                    elif key.data == "signal":
                        with contextlib.suppress(OSError):
                            while os.read(self.wakeup_r, 512):
                                pass
                        self._reap()
                    else:
                        self._hangup(key.data, key.fileobj)  # type: ignore[arg-type]
        finally:
            self.release()
        while self.children:  # no new requests; report the running ones as they end
            for key, _mask in self.selector.select(1.0):
                if key.data == "signal":
                    with contextlib.suppress(OSError):
                        while os.read(self.wakeup_r, 512):
                            pass
                elif isinstance(key.data, int):
                    self._hangup(key.data, key.fileobj)  # type: ignore[arg-type]
            self._reap()

    def release(self) -> None:
        """Unlink our socket (not a successor's) and drop the lock; children run on."""
        if self.listener is not None:
            with contextlib.suppress(OSError):
                if os.stat(self.sock_path).st_ino == self.sock_inode:
                    os.unlink(self.sock_path)
            self.listener.close()
            self.listener = None
        if self.lock_fd >= 0:
            os.close(self.lock_fd)
            self.lock_fd = -1

    # Requests ---------------------------------------------------------------------------

    def _accept(self) -> None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        conn.setblocking(True)
        conn.settimeout(REQUEST_TIMEOUT_S)
        fds: list[int] = []
        try:
            credentials = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
            if not client.peer_allowed(credentials, os.getuid()):
                conn.close()
                return
            request, fds = self._receive(conn)
            self._handle(conn, request)
        except (OSError, ValueError) as exc:
            print(f"tktctl server: bad request: {exc}", file=sys.stderr)
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            conn.close()

    def _receive(self, conn: socket.socket) -> tuple[Request, list[int]]:
        data, fds, flags, _ = socket.recv_fds(conn, 65536, 8)
        if flags & getattr(socket, "MSG_CTRUNC", 0):
            raise ValueError("file descriptors truncated")
        if len(data) < 4:
            raise ValueError("short request")
        size = int.from_bytes(data[:4], "big")
        if size > MAX_REQUEST:
            raise ValueError("request too large")
        body = data[4:]
        while len(body) < size:
            chunk = conn.recv(min(size - len(body), 1 << 20))
            if not chunk:
                raise ValueError("truncated request")
            body += chunk
        request = parse(body)
        request.fds = fds
        return request, fds

    def status(self) -> dict[str, object]:
        from tktctl import __version__

        return {
            "pid": os.getpid(),
            "uptime": round(time.time() - self.started, 3),
            "requests": self.served,
            "running": len(self.children),
            "version": __version__,
            "socket": self.sock_path,
            "config": self.config,
            "idle_timeout": self.idle_timeout,
        }

    def _handle(self, conn: socket.socket, request: Request) -> None:
        if request.kind in ("status", "stop"):
            if request.kind == "stop":
                self.stopping = True
            conn.sendall(b"S" + json.dumps(self.status()).encode() + b"\n")
            conn.close()
            return
        stale = self._stale(request)
        if stale:
            # Give the socket and the lock up first, so that the client can start the successor now.
            self.stopping = True
            self.release()
            self._refuse(conn, request, b"R" + stale.encode())
            return
        if len(request.fds) != 4 or request.fs_encoding != sys.getfilesystemencoding():
            self._refuse(conn, request, b"Fcannot serve this caller")
            return
        self._fork(conn, request)

    def _stale(self, request: Request) -> str:
        if request.fingerprint != self.fingerprint:
            return "the installation changed"
        if os.path.abspath(request.config) != os.path.abspath(self.config):
            return "another config file"
        if config_state(self.config) != self.config_state:
            return "the config file changed"
        return ""

    def _refuse(self, conn: socket.socket, request: Request, line: bytes) -> None:
        for fd in request.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            conn.sendall(line + b"\n")
        conn.close()

    def _fork(self, conn: socket.socket, request: Request) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {*FORWARDED, signal.SIGCHLD})
        try:
            pid = os.fork()
            if pid == 0:
                self._child(conn, request)  # never returns
            for fd in request.fds:
                os.close(fd)
            self.served += 1
            self.children[pid] = conn
            conn.setblocking(False)
            with contextlib.suppress(OSError):
                conn.sendall(b"P%d\n" % pid)
            self.selector.register(conn, selectors.EVENT_READ, pid)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {*FORWARDED, signal.SIGCHLD})

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is None:
                continue
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(conn)
            with contextlib.suppress(OSError):
                conn.setblocking(True)
                conn.settimeout(1.0)
                conn.sendall(b"W%d\n" % status)
            conn.close()

    def _hangup(self, pid: int, conn: socket.socket) -> None:
        """The client spoke or left while its child runs: gone means killed, so the child goes too."""
        try:
            data = conn.recv(64)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(conn)

    # The child --------------------------------------------------------------------------

    def _child(self, conn: socket.socket, request: Request) -> None:
        """Become the caller's process, run the command, report its code on the connection, exit."""
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            self.selector.close()
            for other in self.children.values():
                other.close()
            if self.listener is not None:
                self.listener.close()
            for fd in (self.wakeup_r, self.wakeup_w, self.lock_fd):
                if fd >= 0:
                    os.close(fd)
            child.become(request)
            self.guard(request.argv)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {*FORWARDED, signal.SIGCHLD})
            code = self.run_child(request.argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback

            traceback.print_exc()
        try:
            conn.setblocking(True)
            conn.sendall(b"X%d\n" % code)
        except OSError:
            pass
        os._exit(code)


def main(
    argv: list[str],
    warm: Callable[[str], None],
    run_child: Callable[[list[str]], int],
    guard: Callable[[list[str]], None],
) -> int:
    """The server process: ``SOCKET LOCK CONFIG IDLE_SECONDS``; 0 also when another server has the socket.

    ``warm(config)`` pre-loads; in a child, ``guard(argv)`` installs the command's first signal handlers
    (signals are held until then) and ``run_child(argv)`` runs it.
    """
    sock_path, lock_path, config, idle = argv
    daemon = Daemon(sock_path, lock_path, config, float(idle), run_child, guard)
    if not daemon.claim():
        return 0
    failed = lock_path[: -len(".lock")] + ".failed"
    try:
        warm(config)
        gc.collect()
        gc.freeze()  # the pre-loaded heap stays shared with the children (no copy-on-write by the collector)
        daemon.listen()
    except Exception as exc:
        print(f"tktctl server: cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
        with open(failed, "w", encoding="utf-8") as marker:
            marker.write(f"{exc}\n")
        daemon.release()
        return 1
    with contextlib.suppress(FileNotFoundError):
        os.unlink(failed)
    print(f"tktctl server: pid {os.getpid()} serving {sock_path}", file=sys.stderr)
    daemon.serve()
    return 0

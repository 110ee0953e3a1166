"""A forked child of the warm server becomes the caller's process before it runs the command."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass, field


@dataclass
class Request:
    kind: str
    fingerprint: str
    config: str
    umask: int
    argv0: str
    fs_encoding: str
    streams: list[tuple[str, str, bool, bool]]
    argv: list[str]
    environ: list[bytes]
    fds: list[int] = field(default_factory=list)


def become(request: Request) -> None:
    """Take on the caller's signals, fds, directory, umask, environment, streams and argv."""
    import io
    import locale

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    stdin, stdout, stderr, cwd = request.fds
    for source, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(source, target)
    os.fchdir(cwd)
    for fd in request.fds:
        os.close(fd)
    os.umask(request.umask)
    os.environb.clear()
    for item in request.environ:
        key, _, value = item.partition(b"=")
        if key:
            os.environb[key] = value
    time.tzset()
    with contextlib.suppress(locale.Error):
        locale.setlocale(locale.LC_CTYPE, "")
    streams = []
    for fd, (encoding, errors, line_buffering, write_through) in enumerate(request.streams):
        raw = open(fd, "rb" if fd == 0 else "wb", closefd=False)  # noqa: SIM115 (sys.stdin and co. own it)
        streams.append(
            io.TextIOWrapper(
                raw,  # type: ignore[arg-type]
                encoding=encoding,
                errors=errors,
                newline="\n" if fd else None,
                line_buffering=line_buffering,
                write_through=write_through,
            )
        )
    sys.stdin, sys.stdout, sys.stderr = streams
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = streams  # type: ignore[misc]
    sys.argv = [request.argv0, *request.argv]

"""`tktctl server start|stop|status`: the warm server seen from the command line (standard library only)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from tktctl.errors import NotFoundError, TempFail
from tktctl.server import client

START_WAIT_S = 30.0


def config_path(explicit: str | None) -> str:
    """The config file a server serves: ``--config``, ``TKTCTL_CONFIG`` or the default (as the launcher finds it)."""
    if explicit:
        return explicit
    if os.environ.get("TKTCTL_CONFIG"):
        return os.environ["TKTCTL_CONFIG"]
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "tktctl", "config.yaml")


def status(config: str) -> dict[str, Any]:
    """The running server's pid, uptime, requests served, version; NotFoundError when none runs."""
    try:
        line = client.ask(b"status", config)
    except client.Unavailable as exc:
        raise NotFoundError(f"no server is running ({exc})") from exc
    return dict(json.loads(line[1:]))


def start(config: str, idle_timeout: float) -> dict[str, Any]:
    """Start a server unless one runs; wait until it answers; its status."""
    try:
        return status(config)
    except NotFoundError:
        pass
    try:
        client.start(config, idle_timeout, force=True)
    except client.Unavailable as exc:
        raise TempFail(f"cannot start the server: {exc}") from exc
    deadline = time.monotonic() + START_WAIT_S
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            return status(config)
        except NotFoundError:
            pass
        _sock, lock, log = client.paths(config)
        failed = lock[: -len(".lock")] + ".failed"
        if os.path.exists(failed):
            raise TempFail(f"the server did not start: see {log}")
    raise TempFail(f"the server did not answer within {START_WAIT_S:g} s")


def stop(config: str) -> dict[str, Any]:
    """Stop the running server (its running commands finish); its last status; NotFoundError when none runs."""
    try:
        line = client.ask(b"stop", config)
    except client.Unavailable as exc:
        raise NotFoundError(f"no server is running ({exc})") from exc
    last = dict(json.loads(line[1:]))
    deadline = time.monotonic() + START_WAIT_S
    while time.monotonic() < deadline and os.path.exists(str(last["socket"])):
        time.sleep(0.02)
    return last

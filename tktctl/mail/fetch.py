"""Fetching from IMAP(S) and POP3(S) mailboxes: a message leaves the server only after it is committed.

Each message is handed to ``store`` (one ingest transaction); only when that returns is it
flagged ``\\Seen`` or deleted on the server. A temporary failure stops the run with the
message still on the server, so the next run picks it up (and a redelivery is a no-op).
"""

from __future__ import annotations

import contextlib
import imaplib
import poplib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tktctl.core.record import Record
from tktctl.errors import TempFail, UsageError

Store = Callable[[bytes, str], Record]
PROTOCOLS = {"imap": 143, "imaps": 993, "pop3": 110, "pop3s": 995}


@dataclass(frozen=True)
class Account:
    """One entry of the profile's ``mail: accounts:``."""

    name: str
    type: str
    host: str
    user: str
    port: int
    password_file: str | None = None
    folder: str = "INBOX"
    delete: bool = False
    target_queue: str | None = None
    untrusted: bool = False
    timeout: float = 60.0

    @classmethod
    def from_config(cls, name: str, config: Any) -> Account:
        if not isinstance(config, dict):
            raise UsageError(f"mail account {name!r} must be a mapping (type, host, user, password_file ...)")
        values = dict(config)
        kind = str(values.get("type", "imap")).lower()
        if kind not in PROTOCOLS:
            raise UsageError(f"mail account {name!r}: type must be one of {', '.join(PROTOCOLS)}")
        for key in ("host", "user"):
            if not values.get(key):
                raise UsageError(f"mail account {name!r} needs {key}")
        unknown = sorted(set(values) - set(cls.__dataclass_fields__) - {"type"})
        if unknown:
            raise UsageError(f"mail account {name!r}: unknown key {', '.join(unknown)}")
        values["type"] = kind
        values.setdefault("port", PROTOCOLS[kind])
        return cls(name=name, **values)

    def password(self) -> str:
        if self.password_file is None:
            raise UsageError(f"mail account {self.name!r} needs password_file")
        try:
            return Path(self.password_file).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"mail account {self.name!r}: cannot read password file: {exc}") from exc


def fetch(account: Account, store: Store) -> None:
    password = account.password()
    try:
        if account.type.startswith("imap"):
            _imap(account, password, store)
        else:
            _pop3(account, password, store)
    except (imaplib.IMAP4.error, poplib.error_proto) as exc:
        raise TempFail(f"mail account {account.name!r}: server said: {exc}") from exc
    except OSError as exc:
        raise TempFail(f"mail account {account.name!r}: cannot reach {account.host}:{account.port}: {exc}") from exc


def _imap(account: Account, password: str, store: Store) -> None:
    client_class = imaplib.IMAP4_SSL if account.type == "imaps" else imaplib.IMAP4
    client = client_class(account.host, account.port, timeout=account.timeout)
    try:
        client.login(account.user, password)
        status, _ = client.select(_quoted(account.folder))
        if status != "OK":
            raise UsageError(f"mail account {account.name!r}: no folder {account.folder!r}")
        criteria = "UNDELETED" if account.delete else "UNSEEN"
        _, data = client.uid("SEARCH", None, criteria)
        for uid in (data[0] or b"").split():
            _, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
            if raw is None:
                continue
            store(raw, f"{account.name}:{uid.decode()}")
            flag = "(\\Deleted)" if account.delete else "(\\Seen)"
            client.uid("STORE", uid, "+FLAGS", flag)
        if account.delete:
            client.expunge()
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _pop3(account: Account, password: str, store: Store) -> None:
    client_class = poplib.POP3_SSL if account.type == "pop3s" else poplib.POP3
    client = client_class(account.host, account.port, timeout=account.timeout)
    try:
        client.user(account.user)
        client.pass_(password)
        count, _ = client.stat()
        for number in range(1, count + 1):
            _, lines, _ = client.retr(number)
            store(b"\r\n".join(lines) + b"\r\n", f"{account.name}:{number}")
            client.dele(number)
    finally:
        # QUIT commits the deletions of the messages stored so far; RSET is not needed.
        with contextlib.suppress(poplib.error_proto, OSError):
            client.quit()

"""Fetching from IMAP(S) and POP3(S) mailboxes: a message leaves the server only after it is committed.

Each message is handed to ``store`` (one ingest transaction); only when that returns is it
flagged ``\\Seen`` or deleted on the server. A temporary failure stops the run with the
message still on the server, so the next run picks it up (and a redelivery is a no-op).

TLS (``imaps``/``pop3s``, or ``starttls: true`` on ``imap``/``pop3``) verifies the server's
certificate and host name as a browser does, against the system's CAs or the account's
``ca_file``. A refused certificate is a temporary failure (exit 75, as an unreachable server:
nothing was read, nothing leaves the server, and a renewed certificate fixes the next run);
``insecure`` turns the check off, and the caller is told so through ``warn``.
"""

from __future__ import annotations

import contextlib
import imaplib
import poplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tktctl.core.record import Record
from tktctl.errors import TempFail, UsageError

Store = Callable[[bytes, str], Record]
Warn = Callable[[str], None]
PROTOCOLS = {"imap": 143, "imaps": 993, "pop3": 110, "pop3s": 995}
TLS_TYPES = ("imaps", "pop3s")


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
    starttls: bool = False
    ca_file: str | None = None
    insecure: bool = False

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
        account = cls(name=name, **values)
        if account.starttls and kind in TLS_TYPES:
            raise UsageError(f"mail account {name!r}: starttls is for imap and pop3; {kind} is TLS from the start")
        if not account.tls and (account.ca_file or account.insecure):
            raise UsageError(
                f"mail account {name!r}: ca_file and insecure need TLS (type imaps or pop3s, or starttls: true)"
            )
        return account

    @property
    def tls(self) -> bool:
        """Whether the connection is encrypted (and so the server's certificate checked)."""
        return self.type in TLS_TYPES or self.starttls

    def context(self, insecure: bool = False) -> ssl.SSLContext:
        """The TLS settings: verify certificate and host name unless ``insecure`` (here or in the account)."""
        cafile = str(Path(self.ca_file).expanduser()) if self.ca_file else None
        try:
            context = ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"mail account {self.name!r}: cannot load ca_file {self.ca_file}: {exc}") from exc
        if insecure or self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def password(self) -> str:
        if self.password_file is None:
            raise UsageError(f"mail account {self.name!r} needs password_file")
        try:
            return Path(self.password_file).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"mail account {self.name!r}: cannot read password file: {exc}") from exc


def fetch(account: Account, store: Store, *, insecure: bool, warn: Warn) -> None:
    """Store every new message of one account, then flag or delete it on the server.

    ``insecure`` (or the account's own) skips certificate verification, and says so through ``warn``.
    """
    password = account.password()
    context = account.context(insecure) if account.tls else None
    if context is not None and context.verify_mode == ssl.CERT_NONE:
        warn(f"mail account {account.name!r}: the TLS certificate of {account.host} is not verified (insecure)")
    where = f"mail account {account.name!r}: {account.host}:{account.port}"
    try:
        if account.type.startswith("imap"):
            _imap(account, password, store, context)
        else:
            _pop3(account, password, store, context)
    except (imaplib.IMAP4.error, poplib.error_proto) as exc:
        raise TempFail(f"mail account {account.name!r}: server said: {exc}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise TempFail(
            f"{where}: TLS certificate refused: {exc.verify_message}; "
            "name the CA that signed it in the account's ca_file (or use --insecure)"
        ) from exc
    except ssl.SSLError as exc:
        raise TempFail(f"{where}: TLS failed: {exc.reason or exc}") from exc
    except OSError as exc:
        raise TempFail(f"mail account {account.name!r}: cannot reach {account.host}:{account.port}: {exc}") from exc


def _imap(account: Account, password: str, store: Store, context: ssl.SSLContext | None) -> None:
    if account.type == "imaps":
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            account.host, account.port, ssl_context=context, timeout=account.timeout
        )
    else:
        client = imaplib.IMAP4(account.host, account.port, timeout=account.timeout)
    try:
        if account.starttls:
            client.starttls(context)
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


def _pop3(account: Account, password: str, store: Store, context: ssl.SSLContext | None) -> None:
    if account.type == "pop3s":
        client: poplib.POP3 = poplib.POP3_SSL(account.host, account.port, timeout=account.timeout, context=context)
    else:
        client = poplib.POP3(account.host, account.port, timeout=account.timeout)
    try:
        if account.starttls:
            client.stls(context)
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

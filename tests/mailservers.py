"""Real mail servers on loopback for the mail tests: aiosmtpd (SMTP) and Debian's dovecot (IMAP).

Dovecot runs from a throwaway config and passwd file in a temporary directory; without the
binary the tests that need it skip, unless ``TKTCTL_TEST_REQUIRE_SERVERS=1`` (CI).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes = b""  # the DATA as it came over the wire


@dataclass
class SmtpSink:
    """Collects every message the server accepts; ``refuse`` makes it answer 451 (or any code) instead."""

    received: list[Received] = field(default_factory=list)
    refuse: int | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse is not None:
            return f"{self.refuse} refused for the test"
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, envelope.content))  # type: ignore[arg-type]
        return "250 OK"


class Dovecot:
    """A dovecot IMAP server with one user, in a temporary directory, on a free loopback port."""

    user = "desk"
    password = "secret"

    def __init__(self) -> None:
        assert DOVECOT is not None
        self.root = Path(tempfile.mkdtemp(prefix="tktctl-dovecot-"))
        self.root.chmod(0o755)
        self.port = free_port()
        for name in ("run", "state", "mail"):
            (self.root / name).mkdir()
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        (self.root / "password").write_text(self.password + "\n")
        if os.geteuid() == 0:
            # Dovecot refuses root for logins and mail access: its own unprivileged users serve.
            owner = pwd.getpwnam("dovecot")
            uid, gid, internal, login = owner.pw_uid, owner.pw_gid, "dovecot", "dovenull"
            os.chown(self.root / "mail", uid, gid)
        else:
            uid, gid = os.getuid(), os.getgid()
            internal = login = pwd.getpwuid(uid).pw_name
        config = f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{self.root}/mail/%u
default_internal_user = {internal}
default_login_user = {login}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""
        (self.root / "dovecot.conf").write_text(config)
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    if conn.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"dovecot did not start; log: {self.log()}")

    def log(self) -> str:
        path = self.root / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    def account(self, **extra: Any) -> dict[str, Any]:
        return {
            "type": "imap",
            "host": "127.0.0.1",
            "port": self.port,
            "user": self.user,
            "password_file": str(self.root / "password"),
            **extra,
        }

    def client(self) -> Any:
        import imaplib

        client = imaplib.IMAP4("127.0.0.1", self.port)
        client.login(self.user, self.password)
        client.select("INBOX")
        return client

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)

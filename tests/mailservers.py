"""Real mail servers on loopback for the mail tests: aiosmtpd (SMTP) and Debian's dovecot (IMAP, POP3).

Dovecot runs from a throwaway config and passwd file in a temporary directory, with a
certificate for ``localhost`` signed by a CA that trustme makes for the run, on four free
loopback ports: imap and pop3 (plain, offering STARTTLS/STLS), imaps and pop3s. Without the
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

# The server and both protocols (Debian: dovecot-imapd and dovecot-pop3d); else the tests skip.
_BINARY = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
_PROTOCOLS = all(Path("/usr/lib/dovecot", name).exists() for name in ("imap", "pop3"))
DOVECOT = _BINARY if _PROTOCOLS else None


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
    """A dovecot IMAP and POP3 server with one user, in a temporary directory, on free loopback ports.

    Its certificate names ``localhost`` only: an account that connects to ``127.0.0.1``
    meets a host name mismatch. ``ca_file`` is the trustme CA that signed it.
    """

    user = "desk"
    password = "secret"
    host = "localhost"

    def __init__(self) -> None:
        assert DOVECOT is not None
        import trustme

        self.root = Path(tempfile.mkdtemp(prefix="tktctl-dovecot-"))
        self.root.chmod(0o755)
        self.ports = {kind: free_port() for kind in ("imap", "imaps", "pop3", "pop3s")}
        self.port = self.ports["imap"]
        for name in ("run", "state", "mail"):
            (self.root / name).mkdir()
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        (self.root / "password").write_text(self.password + "\n")
        ca = trustme.CA()
        ca.cert_pem.write_to_path(str(self.root / "ca.pem"))
        served = ca.issue_cert(self.host)
        served.private_key_pem.write_to_path(str(self.root / "key.pem"))
        served.cert_chain_pems[0].write_to_path(str(self.root / "cert.pem"))
        self.ca_file = str(self.root / "ca.pem")
        if os.geteuid() == 0:
            # Dovecot refuses root for logins and mail access: its own unprivileged users serve.
            owner = pwd.getpwnam("dovecot")
            uid, gid, internal, login = owner.pw_uid, owner.pw_gid, "dovecot", "dovenull"
            os.chown(self.root / "mail", uid, gid)
        else:
            uid, gid = os.getuid(), os.getgid()
            internal = login = pwd.getpwuid(uid).pw_name
        config = f"""
protocols = imap pop3
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/log
ssl = yes
ssl_cert = <{self.root}/cert.pem
ssl_key = <{self.root}/key.pem
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
"""
        for protocol in ("imap", "pop3"):  # a plain listener (STARTTLS/STLS offered) and a TLS one
            config += f"""service {protocol}-login {{
  inet_listener {protocol} {{
    address = 127.0.0.1
    port = {self.ports[protocol]}
  }}
  inet_listener {protocol}s {{
    address = 127.0.0.1
    port = {self.ports[protocol + "s"]}
    ssl = yes
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
        waiting = {self.ports["imap"]: b"* OK", self.ports["pop3"]: b"+OK"}
        while waiting and time.monotonic() < deadline:
            port, greeting = next(iter(waiting.items()))
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                    if conn.recv(100).startswith(greeting):
                        del waiting[port]
                        continue
            except OSError:
                pass
            time.sleep(0.1)
        if waiting:
            self.stop()
            raise RuntimeError(f"dovecot did not start; log: {self.log()}")

    def log(self) -> str:
        path = self.root / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    def account(self, kind: str = "imap", **extra: Any) -> dict[str, Any]:
        """A ``mail.accounts`` entry for this server; TLS ones (or ``starttls=True``) trust its CA."""
        tls = kind in ("imaps", "pop3s") or extra.get("starttls", False)
        return {
            "type": kind,
            "host": self.host,
            "port": self.ports[kind],
            "user": self.user,
            "password_file": str(self.root / "password"),
            **({"ca_file": self.ca_file} if tls else {}),
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


def start_dovecot() -> Dovecot:
    """A started server; without dovecot the test skips, or fails when CI requires the servers."""
    import pytest

    from tests.conftest import REQUIRE_SERVERS

    if DOVECOT is None:
        reason = "dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)"
        if REQUIRE_SERVERS:
            pytest.fail(f"TKTCTL_TEST_REQUIRE_SERVERS=1 but {reason}")
        pytest.skip(reason)
    return Dovecot()

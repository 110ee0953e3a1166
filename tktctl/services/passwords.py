"""Slow salted password hashes (scrypt, from the standard library) checked in constant time.

The stored form carries its parameters, ``scrypt$N$r$p$salt$hash`` (base64), so they can be
raised later without invalidating old hashes. A login that does not exist is checked against
a dummy hash with the same parameters, so its answer takes as long as a wrong password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import cache

from tktctl.errors import UsageError

# 16 MiB of memory and tens of milliseconds per check: OWASP's scrypt minimum is N=2^17 at r=8
# for interactive logins; N=2^14 keeps a CLI call fast while still far from cheap for an attacker.
N, R, P = 2**14, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
MAX_LENGTH = 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r, dklen=KEY_BYTES)


def check_new(password: str) -> str:
    """A password as read from stdin, validated before it is hashed."""
    if not password:
        raise UsageError("the password read from standard input is empty")
    if len(password) > MAX_LENGTH or "\x00" in password:
        raise UsageError(f"a password has at most {MAX_LENGTH} characters and no NUL")
    return password


def hash_password(password: str) -> str:
    salt = os.urandom(SALT_BYTES)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(_derive(check_new(password), salt, N, R, P))}"


@cache
def _dummy() -> str:
    return hash_password("tktctl-dummy-password")


def verify(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``; with no stored hash, the same work, then False."""
    usable = stored is not None and stored.startswith("scrypt$")
    try:
        _, n, r, p, salt, expected = (stored if usable else _dummy()).split("$")  # type: ignore[union-attr]
        actual = _derive(password[:MAX_LENGTH], base64.b64decode(salt), int(n), int(r), int(p))
        return hmac.compare_digest(actual, base64.b64decode(expected)) and usable
    except (ValueError, TypeError):
        return False

"""Slow salted password hashes (scrypt, from the standard library) checked in constant time.

The stored form carries its parameters, ``scrypt$N$r$p$salt$hash`` (base64), so they can be
raised later without invalidating old hashes. A login that does not exist is checked against
a constant dummy hash with the same parameters, so its answer costs exactly what a wrong
password costs: one derivation, on every path (and no lazily built dummy on the first call).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

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


# A fixed hash of a throw-away password with the parameters above: verified against in place of a
# missing or unreadable one, so that every failure costs one derivation and nothing else.
DUMMY_HASH = "scrypt$16384$8$1$dGt0Y3RsLWR1bW15LXNsdA==$5/qR6O6dxsPIlLbbQDzIf/nn+ekS2nMuOTcVSMBTh84="


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    """``scrypt$N$r$p$salt$hash`` -> its parts; None when it is not such a hash."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return None
        return int(n), int(r), int(p), base64.b64decode(salt, validate=True), base64.b64decode(expected, validate=True)
    except ValueError:
        return None


def verify(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``; without a usable stored hash, the same work, then False."""
    parsed = _parse(stored) if stored is not None else None
    n, r, p, salt, expected = parsed or _parse(DUMMY_HASH)  # type: ignore[misc]
    try:
        actual = _derive(password[:MAX_LENGTH], salt, n, r, p)
    except ValueError:  # parameters scrypt refuses: a corrupt stored hash
        return False
    return hmac.compare_digest(actual, expected) and parsed is not None

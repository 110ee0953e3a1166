"""The one error hierarchy of tktctl and the exit codes it maps to.

Every expected failure raises a :class:`TktctlError` subclass; ``tktctl.cli.main`` is the
only place that turns them into an exit status and a message (see the contract, section 4).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

TYPE_CHECKING = False  # see tktctl/__init__.py
if TYPE_CHECKING:
    from typing import Any

# The largest integer every supported database stores in an INTEGER column (PostgreSQL's int4):
# a count, id, limit or number of minutes beyond it is a usage error, not an overflow in a driver.
INT_MAX = 2**31 - 1


class ExitCode(IntEnum):
    """Documented exit statuses; scripts branch on these."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    NOT_FOUND = 3
    PERMISSION_DENIED = 4
    CONFLICT = 5
    DATABASE = 6
    PARTIAL = 7
    TEMPFAIL = 75


class TktctlError(Exception):
    """An expected failure: one line for the user, a code for scripts."""

    exit_code: ExitCode = ExitCode.INTERNAL
    code: str = "internal"

    def __init__(self, message: str, *, ref: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.ref = ref

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.ref is not None:
            error["ref"] = self.ref
        return {"error": error}


class UsageError(TktctlError):
    """Malformed or out-of-range input: unknown priority, unparsable date, bad JSON."""

    exit_code = ExitCode.USAGE
    code = "usage"


class NotAMessage(UsageError):
    """Input that holds no email message at all (empty): refused with exit 2, nothing stored.

    Also from `mail ingest`, whose other failures exit 75 so that the MTA keeps the message:
    there is nothing to keep, and retrying would not change that.
    """


class NotFoundError(TktctlError):
    """A named ticket, queue, agent, group, state ... does not exist (or is invisible)."""

    exit_code = ExitCode.NOT_FOUND
    code = "not_found"


class PermissionDeniedError(TktctlError):
    """The acting agent lacks a permission."""

    exit_code = ExitCode.PERMISSION_DENIED
    code = "permission_denied"


class ConflictError(TktctlError):
    """Locked by another agent, name taken, illegal state change, a concurrent change won."""

    exit_code = ExitCode.CONFLICT
    code = "conflict"


class DatabaseError(TktctlError):
    """Unreachable, not initialised, or a schema of another version."""

    exit_code = ExitCode.DATABASE
    code = "database"


class PartialFailure(TktctlError):
    """A ``--continue-on-error`` run in which some items failed; carries every outcome."""

    exit_code = ExitCode.PARTIAL
    code = "partial"

    def __init__(self, message: str, results: Iterable[dict[str, Any]]) -> None:
        super().__init__(message)
        self.results = results


class TempFail(TktctlError):
    """A temporary failure in mail handling (database unreachable, lock timeout): the MTA retries."""

    exit_code = ExitCode.TEMPFAIL
    code = "temporary"

"""The Python API: ``from tktctl.api import Desk, TicketFilter``."""

from tktctl.desk import Desk, NumberSettings
from tktctl.errors import (
    ConflictError,
    DatabaseError,
    NotFoundError,
    PartialFailure,
    PermissionDeniedError,
    TktctlError,
    UsageError,
)
from tktctl.tickets.selection import TicketFilter

__all__ = [
    "ConflictError",
    "DatabaseError",
    "Desk",
    "NotFoundError",
    "NumberSettings",
    "PartialFailure",
    "PermissionDeniedError",
    "TicketFilter",
    "TktctlError",
    "UsageError",
]

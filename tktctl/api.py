"""The Python API: ``from tktctl.api import Desk, TicketFilter``."""

from tktctl.errors import (
    ConflictError,
    DatabaseError,
    NotFoundError,
    PartialFailure,
    PermissionDeniedError,
    TktctlError,
    UsageError,
)
from tktctl.services.desk import Desk, NumberSettings
from tktctl.services.tickets import TicketFilter

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

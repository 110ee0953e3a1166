"""tktctl: command-line administration and scripting for an OTRS-style help desk.

The library API lives in :mod:`tktctl.api` (``from tktctl import Desk`` works too); importing
this package stays cheap so that the command line starts fast: ``Desk`` is imported on first use.
"""

from __future__ import annotations

# Not `typing.TYPE_CHECKING`: importing typing costs the warm server's client ~4 ms (docs/benchmarks.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``from tktctl import Desk`` without importing the database layer for every command."""
    if name == "Desk":
        from tktctl.desk import Desk

        return Desk
    raise AttributeError(f"module 'tktctl' has no attribute {name!r}")

"""The one spelling of a time in machine output: ISO 8601, UTC, ``Z`` suffix."""

from __future__ import annotations

from datetime import datetime, timezone


def iso(value: datetime) -> str:
    # Naive (taken as UTC) and UTC times, nearly all of them, skip the conversion: exports spell millions.
    zone = value.tzinfo
    if zone is timezone.utc:
        return f"{value.isoformat()[:-6]}Z"
    if zone is None:
        return f"{value.isoformat()}Z"
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")

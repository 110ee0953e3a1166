"""The one spelling of a time in machine output: ISO 8601, UTC, ``Z`` suffix."""

from __future__ import annotations

from datetime import datetime, timezone


def iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")

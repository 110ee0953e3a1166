"""The profile's ``mail: limits:``, apart from the parser: settings read them without loading ``email``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tktctl.errors import UsageError


@dataclass(frozen=True)
class Limits:
    """Abuse limits, from the profile's ``mail: limits:``; the defaults are safe for a help desk."""

    max_bytes: int = 25 * 1024 * 1024
    max_parts: int = 250
    max_depth: int = 12
    max_header_length: int = 64 * 1024

    @classmethod
    def from_config(cls, values: Any) -> Limits:
        if values is None:
            return cls()
        if not isinstance(values, dict):
            raise UsageError("profile key mail.limits must be a mapping")
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise UsageError(
                f"mail.limits: unknown key {', '.join(unknown)}; known: {', '.join(cls.__dataclass_fields__)}"
            )
        for key, value in values.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UsageError(f"mail.limits.{key} must be a positive whole number")
        return cls(**values)

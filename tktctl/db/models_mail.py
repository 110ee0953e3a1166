"""Mail's own configuration tables: PostMaster filters (revision 0011)."""

# No `from __future__ import annotations`: see models.py.

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tktctl.db.base import Base
from tktctl.db.types import UTCDateTime


class PostmasterFilter(Base):
    """A PostMaster filter: header regexes to match (or not), X-OTRS-* values to set, run by name."""

    __tablename__ = "postmaster_filter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    stop: Mapped[bool] = mapped_column(Boolean, default=False)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{header, value, not}]
    sets: Mapped[dict[str, str]] = mapped_column(JSON)  # {X-OTRS-Name: value}
    comment: Mapped[str | None] = mapped_column(String(250))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    changed: Mapped[datetime] = mapped_column(UTCDateTime)

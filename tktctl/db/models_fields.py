"""Custom (dynamic) fields on tickets and the time accounted on articles, as OTRS's
``dynamic_field``, ``dynamic_field_value`` and ``time_accounting`` tables (revision 0010).
"""

# No `from __future__ import annotations`: see models.py.

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from tktctl.db.base import Base
from tktctl.db.types import UTCDateTime

# The longest text value: indexed with the field id, within PostgreSQL's b-tree entry (2,704 bytes)
# and InnoDB's key (3,072 bytes) at four bytes a character.
VALUE_TEXT_LENGTH = 600


class DynamicField(Base):
    """A custom field's definition: its name, type and, for dropdowns and multiselects, its values."""

    __tablename__ = "dynamic_field"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    field_type: Mapped[str] = mapped_column(String(20))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    changed: Mapped[datetime] = mapped_column(UTCDateTime)


class DynamicFieldValue(Base):
    """One value of a field on a ticket (a multiselect has a row per value chosen).

    ``value_text`` holds every value's canonical text (what history and records show, and
    what ``--field NAME=VALUE`` compares); ``value_int`` and ``value_date`` the typed value
    of numbers, checkboxes, dates and times, for ``NAME>VALUE`` ranges. Each is indexed
    after the field id, so a filter on one field's value is an index range scan.
    """

    __tablename__ = "dynamic_field_value"
    __table_args__ = (
        # The ticket id last: a filter reads the tickets off the index alone, in ticket order per value.
        Index("ix_dynamic_field_value_field_id_value_text", "field_id", "value_text", "ticket_id"),
        Index("ix_dynamic_field_value_field_id_value_int", "field_id", "value_int", "ticket_id"),
        Index("ix_dynamic_field_value_field_id_value_date", "field_id", "value_date", "ticket_id"),
        Index("ix_dynamic_field_value_ticket_id_field_id", "ticket_id", "field_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ticket.id"))
    field_id: Mapped[int] = mapped_column(ForeignKey("dynamic_field.id"))
    value_text: Mapped[str] = mapped_column(String(VALUE_TEXT_LENGTH))
    value_int: Mapped[int | None] = mapped_column(BigInteger)
    value_date: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TimeAccounting(Base):
    """Working time accounted on an article (OTRS TimeAccounting), in the desk's time units."""

    __tablename__ = "time_accounting"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ticket.id"), index=True
    )
    article_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("article.id"), index=True
    )
    time_unit: Mapped[float] = mapped_column(Numeric(10, 2, asdecimal=False))
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("agent.id"))

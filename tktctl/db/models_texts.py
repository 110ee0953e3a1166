"""Outgoing texts (OTRS's system addresses, salutations, signatures, standard templates), revision 0014."""

# No `from __future__ import annotations`: see models.py.

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tktctl.db.base import Base
from tktctl.db.types import UTCDateTime


class SystemAddress(Base):
    """An address the desk sends from (OTRS Admin::SystemAddress); a queue names the one its mail uses.

    Unlike OTRS it names no queue: which queue mail to an address goes to stays the profile's
    ``mail.queues`` (a reference both ways would be a cycle that ``db copy`` cannot order)."""

    __tablename__ = "system_address"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(250), unique=True)
    realname: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(String(250))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    changed: Mapped[datetime] = mapped_column(UTCDateTime)


class _Text:
    """The columns every kind of text shares: one row per (name, language), plain text."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16))  # a normalised tag (core/language.py)
    body: Mapped[str] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(String(250))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    changed: Mapped[datetime] = mapped_column(UTCDateTime)


class Salutation(_Text, Base):
    """What an answer starts with (OTRS Admin::Salutation); a queue names it."""

    __tablename__ = "salutation"
    __table_args__ = (UniqueConstraint("name", "language"),)


class Signature(_Text, Base):
    """What an answer ends with (OTRS Admin::Signature); a queue names it."""

    __tablename__ = "signature"
    __table_args__ = (UniqueConstraint("name", "language"),)


class StandardTemplate(_Text, Base):
    """A standard template (OTRS Admin::Template): an answer, forward or note text an agent starts from."""

    __tablename__ = "standard_template"
    __table_args__ = (UniqueConstraint("name", "language"),)

    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(250))


class QueueTemplate(Base):
    """A template a queue offers, by name (every language variant of it)."""

    __tablename__ = "queue_template"

    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)

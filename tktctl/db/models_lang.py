"""Languages (revision 0013): the desk's own settings (its default language) and auto-response
texts per language."""

# No `from __future__ import annotations`: see models.py.

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tktctl.db.base import Base


class DeskSetting(Base):
    """One setting of the desk itself, shared by every host that uses the database (not a profile's)."""

    __tablename__ = "desk_setting"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(250))


class AutoResponseText(Base):
    """An auto-response's subject and body in one language; the response's own text is the fallback."""

    __tablename__ = "auto_response_text"

    auto_response_id: Mapped[int] = mapped_column(ForeignKey("auto_response.id"), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject: Mapped[str] = mapped_column(String(250))
    body: Mapped[str] = mapped_column(Text)

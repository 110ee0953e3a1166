"""Links between tickets (OTRS LinkObject), revision 0008."""

# No `from __future__ import annotations`: see models.py.

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tktctl.db.base import Base
from tktctl.db.types import UTCDateTime


class TicketLink(Base):
    """A link between two tickets (OTRS LinkObject): ``normal`` is one row seen from both ends (stored
    with the lower id as source), ``parent-child`` points from the parent (source) to the child."""

    __tablename__ = "ticket_link"
    __table_args__ = (UniqueConstraint("source_id", "target_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ticket.id"))
    target_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ticket.id"), index=True
    )
    type: Mapped[str] = mapped_column(String(20))
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("agent.id"))

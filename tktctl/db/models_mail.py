"""Mail's own tables: PostMaster filters (revision 0011); notification rules, ticket watchers and
agents' muted events (0012)."""

# No `from __future__ import annotations`: see models.py.

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
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


class NotificationRule(Base):
    """A ticket notification (OTRS's NotificationEvent): events, ticket filter, recipients, template."""

    __tablename__ = "notification_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    changed: Mapped[datetime] = mapped_column(UTCDateTime)


class TicketWatcher(Base):
    """An agent watching a ticket (OTRS's ticket_watcher): a recipient of the rules naming watchers."""

    __tablename__ = "ticket_watcher"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True, index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)


class AgentMute(Base):
    """An event an agent opted out of: no notification of it reaches the agent."""

    __tablename__ = "agent_mute"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    event: Mapped[str] = mapped_column(String(60), primary_key=True)

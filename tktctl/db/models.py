"""The help desk's tables, after OTRS's model, as SQLAlchemy 2.x typed mappings.

The schema itself is created by the Alembic migrations in ``migrations/``; these classes
describe it for queries, and a test checks that both agree.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# MySQL's types are imported only when a MySQL dialect asks for them: importing the MySQL dialect
# package (with all its drivers) costs ~10 ms, which every command on SQLite or PostgreSQL would pay.

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (microseconds kept on MySQL too), read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "mysql":
            from sqlalchemy.dialects import mysql

            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class LongText(TypeDecorator[str]):
    """Text, LONGTEXT on MySQL: its TEXT stops at 64 KiB, which an email body can pass."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "mysql":
            from sqlalchemy.dialects import mysql

            return mysql.LONGTEXT()
        return self.impl_instance


class LongBinary(TypeDecorator[bytes]):
    """LargeBinary, LONGBLOB on MySQL: its BLOB stops at 64 KiB."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "mysql":
            from sqlalchemy.dialects import mysql

            return mysql.LONGBLOB()
        return self.impl_instance


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class StateType(Base):
    __tablename__ = "ticket_state_type"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class State(Base):
    __tablename__ = "ticket_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("ticket_state_type.id"))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)


class Priority(Base):
    __tablename__ = "ticket_priority"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Group(Base):
    __tablename__ = "permission_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    comment: Mapped[str | None] = mapped_column(String(250))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    changed: Mapped[datetime] = mapped_column(UTCDateTime)


class Agent(Base):
    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(250))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    changed: Mapped[datetime] = mapped_column(UTCDateTime)


class Queue(Base):
    __tablename__ = "queue"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("permission_groups.id"))
    unlock_timeout: Mapped[int | None] = mapped_column(Integer)
    first_response_time: Mapped[int | None] = mapped_column(Integer)
    update_time: Mapped[int | None] = mapped_column(Integer)
    solution_time: Mapped[int | None] = mapped_column(Integer)
    calendar: Mapped[str | None] = mapped_column(String(100))
    follow_up: Mapped[str] = mapped_column(String(20), default="possible")
    comment: Mapped[str | None] = mapped_column(String(250))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    changed: Mapped[datetime] = mapped_column(UTCDateTime)


class Ticket(Base):
    __tablename__ = "ticket"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tn: Mapped[str] = mapped_column(String(50), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), index=True)
    state_id: Mapped[int] = mapped_column(ForeignKey("ticket_state.id"), index=True)
    priority_id: Mapped[int] = mapped_column(ForeignKey("ticket_priority.id"), index=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), index=True)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    customer: Mapped[str | None] = mapped_column(String(150), index=True)
    type: Mapped[str | None] = mapped_column(String(100))
    created: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    changed: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    pending_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    changed_by: Mapped[int] = mapped_column(ForeignKey("agent.id"))


class Article(Base):
    __tablename__ = "article"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    sender: Mapped[str] = mapped_column(String(20))
    a_from: Mapped[str | None] = mapped_column(Text)
    a_to: Mapped[str | None] = mapped_column(Text)
    a_cc: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(LongText)
    visible_to_customer: Mapped[bool] = mapped_column(Boolean, default=True)
    message_id: Mapped[str | None] = mapped_column(String(250), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    a_references: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("agent.id"))


class Attachment(Base):
    __tablename__ = "article_attachment"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id"), index=True)
    filename: Mapped[str] = mapped_column(String(250))
    content_type: Mapped[str] = mapped_column(String(250))
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LongBinary)


class History(Base):
    __tablename__ = "ticket_history"
    __table_args__ = (Index("ix_ticket_history_ticket_id_id", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    type: Mapped[str] = mapped_column(String(60), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class Counter(Base):
    """Ticket number counters; one row per counter, updated in place under its row lock."""

    __tablename__ = "ticket_number_counter"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    day: Mapped[str] = mapped_column(String(8))
    value: Mapped[int] = mapped_column(BigInteger)

"""The help desk's tables, after OTRS's model, as SQLAlchemy 2.x typed mappings.

The schema itself is created by the Alembic migrations in ``migrations/``; these classes
describe it for queries, and a test checks that both agree.
"""

# No `from __future__ import annotations`: SQLAlchemy would eval every Mapped[...] string (~2x slower import).

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tktctl.db.base import NAMING, Base  # noqa: F401  (re-exported: callers import the base from here)
from tktctl.db.types import LongBinary, LongText, UTCDateTime

# MySQL's types are imported only when a MySQL dialect asks for them: importing the MySQL dialect
# package (with all its drivers) costs ~10 ms, which every command on SQLite or PostgreSQL would pay.


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
    password_hash: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(16))  # 0013: the notifications' language


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
    # Escalation (0003): warning percentages, what a fired escalation does, how often it repeats.
    first_response_notify: Mapped[int | None] = mapped_column(Integer)
    update_notify: Mapped[int | None] = mapped_column(Integer)
    solution_notify: Mapped[int | None] = mapped_column(Integer)
    escalate_raise: Mapped[int | None] = mapped_column(Integer)
    escalate_to_id: Mapped[int | None] = mapped_column(ForeignKey("queue.id"))
    escalate_notify: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_decay: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(16))  # 0013: its tickets' language when nothing says
    # Outgoing texts (0014): the address its mail is from; its salutation and signature by name.
    system_address_id: Mapped[int | None] = mapped_column(ForeignKey("system_address.id"))
    salutation: Mapped[str | None] = mapped_column(String(200))
    signature: Mapped[str | None] = mapped_column(String(200))


class TicketType(Base):
    """A ticket type (OTRS Admin::TicketType): a managed name, valid or not; tickets refer to it by name."""

    __tablename__ = "ticket_type"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    comment: Mapped[str | None] = mapped_column(String(250))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    changed: Mapped[datetime] = mapped_column(UTCDateTime)


class Ticket(Base):
    __tablename__ = "ticket"
    # The filters' pair (0015): `--queue Q --state-type T` counts and stats by queue, state walk it alone.
    __table_args__ = (Index("ix_ticket_queue_id_state_id", "queue_id", "state_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tn: Mapped[str] = mapped_column(String(50), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"))  # indexed by (queue_id, state_id)
    state_id: Mapped[int] = mapped_column(ForeignKey("ticket_state.id"), index=True)
    priority_id: Mapped[int] = mapped_column(ForeignKey("ticket_priority.id"), index=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), index=True)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"), index=True)
    customer: Mapped[str | None] = mapped_column(String(150), index=True)
    # The type's name (0007), a key of ticket_type (setup/types.py renames it on the tickets).
    type: Mapped[str | None] = mapped_column(String(100), ForeignKey("ticket_type.name"), index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    changed: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    pending_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    changed_by: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    # Escalation (0003): deadlines kept current by sla/deadlines.refresh in every change's
    # transaction, so that due tickets are an index range scan on escalation_check_at.
    escalation_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_solution_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    escalation_response_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_update_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_solution_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    escalation_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
    content_language: Mapped[str | None] = mapped_column(String(16))  # 0013: a message's Content-Language


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


class Role(Base):
    """A set of agents that receive the same grants (OTRS roles)."""

    __tablename__ = "role"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    comment: Mapped[str | None] = mapped_column(String(250))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    changed: Mapped[datetime] = mapped_column(UTCDateTime)


class RoleAgent(Base):
    __tablename__ = "role_agent"

    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True, index=True)


class AgentGrant(Base):
    """A permission type an agent holds on a group directly."""

    __tablename__ = "group_agent"

    group_id: Mapped[int] = mapped_column(ForeignKey("permission_groups.id"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True, index=True)
    permission: Mapped[str] = mapped_column(String(20), primary_key=True)


class RoleGrant(Base):
    """A permission type every member of a role holds on a group."""

    __tablename__ = "group_role"

    group_id: Mapped[int] = mapped_column(ForeignKey("permission_groups.id"), primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"), primary_key=True, index=True)
    permission: Mapped[str] = mapped_column(String(20), primary_key=True)


class Customer(Base):
    """A customer user: the people tickets are for; may log in to other applications."""

    __tablename__ = "customer_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str | None] = mapped_column(String(250))
    company: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    changed: Mapped[datetime] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(16))  # 0013: what mail to the customer is written in


class AuditEntry(Base):
    """One administrative change (grant, revoke, create, disable, password change ...)."""

    __tablename__ = "admin_audit"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    object: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(250))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


# Mail interface -------------------------------------------------------------------------


class ArticlePlain(Base):
    """The whole raw message behind an email article; its SHA-256 makes a redelivery a no-op."""

    __tablename__ = "article_plain"

    article_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("article.id"), primary_key=True, autoincrement=False
    )
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    content: Mapped[bytes] = mapped_column(LongBinary)


class MailFailed(Base):
    """Dead letters: messages that can never be processed as they are, kept for `mail retry`."""

    __tablename__ = "mail_failed"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    content: Mapped[bytes] = mapped_column(LongBinary)
    received: Mapped[datetime] = mapped_column(UTCDateTime)
    retried: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ticket_tn: Mapped[str | None] = mapped_column(String(50))
    # The login of the agent who ingested it: `mail retry` acts as that agent, not as the one retrying.
    actor: Mapped[str | None] = mapped_column(String(200))


class MailOutbox(Base):
    """Outgoing mail, written in the change's transaction and delivered later by `mail send`."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ticket.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    sender: Mapped[str] = mapped_column(String(250))
    recipient: Mapped[str] = mapped_column(String(250), index=True)
    subject: Mapped[str | None] = mapped_column(Text)
    message: Mapped[bytes] = mapped_column(LongBinary)
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AutoResponse(Base):
    """A template answered automatically (auto-reply, auto-reject, auto-follow-up, ...)."""

    __tablename__ = "auto_response"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(250))
    body: Mapped[str] = mapped_column(Text)
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    changed: Mapped[datetime] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(16))  # 0013: its text's; translations in models_lang


class QueueAutoResponse(Base):
    """Which auto-response a queue sends for each type (at most one per type)."""

    __tablename__ = "queue_auto_response"

    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), primary_key=True)
    type: Mapped[str] = mapped_column(String(40), primary_key=True)
    auto_response_id: Mapped[int] = mapped_column(ForeignKey("auto_response.id"), index=True)


class QueueSubscription(Base):
    """An agent who wants mail about new tickets and follow-ups in a queue."""

    __tablename__ = "queue_subscription"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), primary_key=True, index=True)


class Calendar(Base):
    """A business calendar: time zone, working hours per weekday, holidays (see businesstime)."""

    __tablename__ = "calendar"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    holidays: Mapped[list[str]] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(String(250))
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    changed: Mapped[datetime] = mapped_column(UTCDateTime)


class Notification(Base):
    """An event for the mail feature to deliver (escalations, pending reminders); sent_at when done."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_ticket_id_event", "ticket_id", "event"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    event: Mapped[str] = mapped_column(String(60))
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class Job(Base):
    """A saved job (filter + actions), stored in the database so every cron host sees the same jobs."""

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    changed: Mapped[datetime] = mapped_column(UTCDateTime)


class JobLock(Base):
    """One row per job name; a run holds its row lock for its whole transaction (dies with it)."""

    __tablename__ = "job_lock"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_run: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Custom fields and time accounting (0010), links (0008), mail's own tables (0011, 0012) and languages (0013)
# live in sibling modules on the same Base; imported here so that Base.metadata (migrations' check, db copy) holds them.
from tktctl.db.models_fields import DynamicField, DynamicFieldValue, TimeAccounting  # noqa: E402, F401
from tktctl.db.models_lang import AutoResponseText, DeskSetting  # noqa: E402, F401
from tktctl.db.models_links import TicketLink  # noqa: E402, F401
from tktctl.db.models_mail import AgentMute, NotificationRule, PostmasterFilter, TicketWatcher  # noqa: E402, F401
from tktctl.db.models_texts import (  # noqa: E402, F401
    QueueTemplate,
    Salutation,
    Signature,
    StandardTemplate,
    SystemAddress,
)

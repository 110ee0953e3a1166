"""Record types: their keys in order, the identifier ``-o ids`` prints, the columns a table shows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    keys: tuple[str, ...]
    id_key: str
    table_keys: tuple[str, ...]


TICKET = Kind(
    "ticket",
    keys=(
        "id",
        "tn",
        "title",
        "queue",
        "state",
        "state_type",
        "priority",
        "priority_name",
        "lock",
        "owner",
        "responsible",
        "customer",
        "type",
        "created",
        "changed",
        "pending_until",
        "escalation",
        "external_id",
    ),
    id_key="tn",
    table_keys=("tn", "title", "queue", "state", "priority_name", "lock", "owner", "customer", "changed"),
)
# `ticket create` adds whether this call created the ticket (see the README on --external-id).
CREATED_TICKET = Kind(
    "ticket",
    keys=(*TICKET.keys, "created_now"),
    id_key="tn",
    table_keys=(*TICKET.table_keys, "created_now"),
)
TICKET_DETAIL = Kind(
    "ticket",
    keys=(*TICKET.keys, "articles"),
    id_key="tn",
    table_keys=TICKET.table_keys,
)
ARTICLE = Kind(
    "article",
    keys=(
        "id",
        "ticket",
        "channel",
        "sender",
        "from",
        "to",
        "subject",
        "body",
        "visible_to_customer",
        "created",
        "attachments",
    ),
    id_key="id",
    table_keys=("id", "ticket", "channel", "sender", "from", "subject", "created"),
)
HISTORY = Kind(
    "history",
    keys=("id", "ticket", "type", "actor", "at", "data"),
    id_key="id",
    table_keys=("id", "ticket", "type", "actor", "at", "data"),
)
QUEUE = Kind(
    "queue",
    keys=(
        "id",
        "name",
        "group",
        "valid",
        "unlock_timeout",
        "first_response_time",
        "update_time",
        "solution_time",
        "calendar",
        "follow_up",
        "comment",
        "first_response_notify",
        "update_notify",
        "solution_notify",
        "escalate_raise",
        "escalate_to",
        "escalate_notify",
        "escalation_decay",
    ),
    id_key="name",
    table_keys=(
        "name",
        "group",
        "valid",
        "unlock_timeout",
        "first_response_time",
        "update_time",
        "solution_time",
        "follow_up",
    ),
)
AGENT = Kind(
    "agent",
    keys=("id", "login", "name", "email", "valid", "created"),
    id_key="login",
    table_keys=("login", "name", "email", "valid"),
)
# The outcome of one ticket in a --continue-on-error or --dry-run bulk run.
OUTCOME = Kind(
    "outcome",
    keys=("tn", "ok", "error", "ticket"),
    id_key="tn",
    table_keys=("tn", "ok", "error"),
)
DB_STATUS = Kind(
    "db",
    keys=("database", "dialect", "revision", "head", "up_to_date", "initialised"),
    id_key="revision",
    table_keys=("database", "dialect", "revision", "head", "up_to_date", "initialised"),
)
INIT = Kind(
    "db",
    keys=(*DB_STATUS.keys, "created"),
    id_key="revision",
    table_keys=DB_STATUS.table_keys,
)

CALENDAR = Kind(
    "calendar",
    keys=("id", "name", "timezone", "hours", "holidays", "comment"),
    id_key="name",
    table_keys=("name", "timezone", "hours", "holidays"),
)
# One escalation event fired (or, with --dry-run, that would fire) by `tktctl escalate`.
ESCALATION = Kind(
    "escalation",
    keys=("tn", "event", "queue", "deadline", "actions"),
    id_key="tn",
    table_keys=("tn", "event", "queue", "deadline", "actions"),
)
# One ticket changed by `maint pending`, `maint unlock-timeout` or `job run`.
JOB_RESULT = Kind(
    "job result",
    keys=("tn", "job", "action", "from", "to"),
    id_key="tn",
    table_keys=("tn", "job", "action", "from", "to"),
)
JOB = Kind(
    "job",
    keys=("name", "filter", "actions", "changed"),
    id_key="name",
    table_keys=("name", "filter", "actions", "changed"),
)

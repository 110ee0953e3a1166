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
        "fields",
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
# What `ticket delete` prints: each ticket as it was, and how many articles went with it.
DELETED_TICKET = Kind(
    "ticket",
    keys=("id", "tn", "title", "queue", "articles"),
    id_key="tn",
    table_keys=("tn", "title", "queue", "articles"),
)
# `ticket search`: a ticket and how well it matched (higher is better; comparable within one search).
SEARCH_HIT = Kind(
    "ticket",
    keys=(*TICKET.keys, "score"),
    id_key="tn",
    table_keys=("score", *TICKET.table_keys),
)
TICKET_DETAIL = Kind(
    "ticket",
    keys=(*TICKET.keys, "watchers", "articles", "links", "merged_into", "merged_from"),
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
        "cc",
        "subject",
        "body",
        "visible_to_customer",
        "created",
        "attachments",
        "message_id",
        "in_reply_to",
        "references",
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
        "language",
        "address",
        "salutation",
        "signature",
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
    keys=("id", "login", "name", "email", "language", "valid", "created", "password_set"),
    id_key="login",
    table_keys=("login", "name", "email", "valid"),
)
# `agent update`: the agent and the notification events it muted.
AGENT_MUTES = Kind(
    "agent",
    keys=(*AGENT.keys, "muted"),
    id_key="login",
    table_keys=(*AGENT.table_keys, "muted"),
)
# A notification rule (`notification list`), and what `notification apply` did to each.
NOTIFICATION_RULE = Kind(
    "notification rule",
    keys=(
        "name",
        "events",
        "filter",
        "recipients",
        "agents",
        "groups",
        "roles",
        "article_sender",
        "include_article",
        "subject",
        "body",
        "language",
        "translations",
        "valid",
        "changed",
    ),
    id_key="name",
    table_keys=("name", "events", "recipients", "valid"),
)
NOTIFICATION_CHANGE = Kind("notification change", keys=("action", "name"), id_key="name", table_keys=("action", "name"))
NOTIFICATION_DOCUMENT = Kind("notification rules", keys=("rules",), id_key="rules", table_keys=("rules",))
# The outcome of one ticket in a --continue-on-error or --dry-run bulk run.
OUTCOME = Kind(
    "outcome",
    keys=("tn", "ok", "changed", "error", "ticket"),
    id_key="tn",
    table_keys=("tn", "ok", "changed", "error"),
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
GROUP = Kind(
    "group",
    keys=("id", "name", "comment", "valid", "created", "changed"),
    id_key="name",
    table_keys=("name", "comment", "valid"),
)
TICKET_TYPE = Kind(
    "type",
    keys=GROUP.keys,
    id_key="name",
    table_keys=("name", "comment", "valid"),
)
ROLE = Kind(
    "role",
    keys=(*GROUP.keys, "agents"),
    id_key="name",
    table_keys=("name", "comment", "valid", "agents"),
)
# A permission type held on a group: by an agent directly, by an agent through a role, or by a role.
GRANT = Kind(
    "grant",
    keys=("agent", "role", "group", "permission", "via"),
    id_key="permission",
    table_keys=("agent", "role", "group", "permission", "via"),
)
ACL_CHECK = Kind(
    "check",
    keys=("agent", "permission", "group", "ticket", "queue", "allowed", "reason", "via"),
    id_key="allowed",
    table_keys=("agent", "permission", "group", "allowed", "reason"),
)
# The declarative desk of `acl dump` / `acl apply`.
DESK = Kind("desk", keys=("groups", "roles", "agents"), id_key="groups", table_keys=("groups", "roles", "agents"))
# `desk dump`: every configuration section (tktctl/setup/deskconfig.py SECTIONS, in its order).
DESK_SECTIONS = ("groups", "agents", "roles", "calendars", "queues", "autoresponses", "grants", "fields", "jobs")
DESK_DOCUMENT = Kind("desk document", keys=DESK_SECTIONS, id_key="groups", table_keys=DESK_SECTIONS)
# What `apply --dry-run` and `desk apply` report: one object created, changed or removed.
DIFF = Kind(
    "diff",
    keys=("kind", "name", "action", "changes"),
    id_key="name",
    table_keys=("kind", "name", "action", "changes"),
)
CHANGE = Kind(
    "change",
    keys=("action", "object", "name", "data"),
    id_key="name",
    table_keys=("action", "object", "name", "data"),
)
AUDIT = Kind(
    "audit",
    keys=("id", "at", "actor", "action", "object", "name", "data"),
    id_key="id",
    table_keys=("id", "at", "actor", "action", "object", "name", "data"),
)
CUSTOMER = Kind(
    "customer",
    keys=("id", "login", "email", "company", "language", "valid", "password_set", "created", "changed"),
    id_key="login",
    table_keys=("login", "email", "company", "language", "valid"),
)
AUTH = Kind("auth", keys=("login", "authenticated"), id_key="login", table_keys=("login", "authenticated"))
COUNT = Kind("count", keys=("count",), id_key="count", table_keys=("count",))


def stats_kind(by: list[str]) -> Kind:
    """``tktctl stats --by queue,state``: one row per group, its keys then the count."""
    return Kind("stats", keys=(*by, "count", "time_units"), id_key="count", table_keys=(*by, "count", "time_units"))


# `ticket export`: complete tickets, which `ticket import` reads back.
EXPORT = Kind(
    "ticket",
    keys=(*TICKET.keys, "articles", "history", "links"),
    id_key="tn",
    table_keys=TICKET.table_keys,
)
# One input record of `ticket import`: what happened to it (created, updated, skipped, failed).
IMPORT = Kind(
    "import",
    keys=("line", "ok", "action", "tn", "error"),
    id_key="tn",
    table_keys=("line", "ok", "action", "tn", "error"),
)
# `db copy`: one row per table, as verified after the copy.
COPY = Kind(
    "table",
    keys=("table", "rows", "checksum", "verified"),
    id_key="table",
    table_keys=("table", "rows", "checksum", "verified"),
)
# What `mail ingest` (and fetch, retry) did with one message.
MAIL_RESULT = Kind(
    "mail",
    keys=(
        "action",
        "ticket",
        "article",
        "message_id",
        "subject",
        "reason",
        "failed_id",
        "auto_response",
        "filters",
        "source",
    ),
    id_key="ticket",
    table_keys=("action", "ticket", "subject", "reason"),
)
MAIL_FAILED = Kind(
    "mail_failed",
    keys=("id", "status", "reason", "sender", "subject", "size", "received", "retried", "ticket", "actor"),
    id_key="id",
    table_keys=("id", "status", "received", "sender", "subject", "reason"),
)
OUTBOX = Kind(
    "outbox",
    keys=(
        "id",
        "ticket",
        "kind",
        "recipient",
        "subject",
        "status",
        "attempts",
        "next_attempt",
        "last_error",
        "created",
        "sent",
    ),
    id_key="id",
    table_keys=("id", "ticket", "kind", "recipient", "status", "attempts", "next_attempt", "last_error"),
)
ATTACHMENT = Kind(
    "attachment",
    keys=("id", "ticket", "article_id", "filename", "content_type", "size", "file"),
    id_key="id",
    table_keys=("id", "article_id", "filename", "content_type", "size"),
)
ADDRESS = Kind(
    "address",
    keys=("id", "email", "realname", "comment", "valid", "created", "changed"),
    id_key="email",
    table_keys=("email", "realname", "valid", "comment"),
)
_TEXT_KEYS = ("id", "name", "language", "body", "comment", "valid", "created", "changed")
SALUTATION = Kind("salutation", keys=_TEXT_KEYS, id_key="name", table_keys=("name", "language", "valid", "comment"))
SIGNATURE = Kind("signature", keys=_TEXT_KEYS, id_key="name", table_keys=("name", "language", "valid", "comment"))
TEMPLATE = Kind(
    "template",
    keys=("id", "name", "language", "kind", "subject", "body", "comment", "valid", "created", "changed", "queues"),
    id_key="name",
    table_keys=("name", "language", "kind", "subject", "valid", "queues"),
)
AUTO_RESPONSE = Kind(
    "autoresponse",
    keys=("id", "name", "type", "subject", "body", "valid", "queues", "language", "translations"),
    id_key="name",
    table_keys=("name", "type", "subject", "valid", "queues", "language"),
)
MAIL_FILTER = Kind(
    "mail_filter",
    keys=("id", "name", "match", "set", "stop", "valid", "comment", "created", "changed"),
    id_key="name",
    table_keys=("name", "match", "set", "stop", "valid"),
)
MAIL_FILTER_DUMP = Kind(
    "mail_filter",
    keys=("name", "match", "set", "stop", "valid", "comment"),
    id_key="name",
    table_keys=("name", "match", "set", "stop", "valid"),
)
SUBSCRIPTION = Kind(
    "subscription",
    keys=("agent", "queue", "email"),
    id_key="queue",
    table_keys=("agent", "queue", "email"),
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
# What `maint escalation-rebuild` did: tickets walked, how many deadlines moved.
ESCALATION_REBUILD = Kind(
    "escalation rebuild",
    keys=("tickets", "changed", "dry_run"),
    id_key="changed",
    table_keys=("tickets", "changed", "dry_run"),
)
ANALYZED = Kind("analyzed table", keys=("table",), id_key="table", table_keys=("table",))  # `maint analyze`
JOB = Kind(
    "job",
    keys=("name", "filter", "actions", "changed"),
    id_key="name",
    table_keys=("name", "filter", "actions", "changed"),
)
# `ticket links` (and link, unlink): one linked ticket each; `-q` prints the linked tickets' numbers.
LINK = Kind(
    "link",
    keys=("ticket", "tn", "type", "relation", "title", "queue", "state"),
    id_key="tn",
    table_keys=("ticket", "tn", "type", "relation", "title", "queue", "state"),
)
# A custom (dynamic) field's definition.
FIELD = Kind(
    "field",
    keys=("id", "name", "label", "type", "values", "valid", "created", "changed"),
    id_key="name",
    table_keys=("name", "label", "type", "values", "valid"),
)
# `ticket time TN`: the time units accounted on a ticket, in total and per article.
TICKET_TIME = Kind(
    "time",
    keys=("tn", "time_units", "articles"),
    id_key="tn",
    table_keys=("tn", "time_units", "articles"),
)
# `tktctl server status|start|stop`: the warm command server (tktctl/server).
SERVER = Kind(
    "server",
    keys=("pid", "uptime", "requests", "running", "version", "socket", "config", "idle_timeout"),
    id_key="pid",
    table_keys=("pid", "uptime", "requests", "running", "version", "socket"),
)

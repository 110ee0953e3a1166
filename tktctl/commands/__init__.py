"""Typer wiring, one module per noun: parse, call one service method, render.

This package's own module holds only the table of nouns, which the root command lists
without importing any of them (``tktctl --help`` loads no command module).
"""

# Name -> (module, attribute: a Typer app or a command function, the help the root lists), in the
# order --help lists them. The help repeats the module's (keep them equal) so that --help imports none.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": (
        "tktctl.commands.db",
        "init",
        "Create the schema (or upgrade it) and the OTRS default data; safe to rerun.",
    ),
    "completion": (
        "tktctl.commands.db",
        "completion",
        "Print the shell completion script (source it, or see completions/).",
    ),
    "ticket": ("tktctl.commands.ticket", "app", "Create, find and change tickets."),
    "queue": ("tktctl.commands.queue", "app", "Manage queues."),
    "type": ("tktctl.commands.type", "app", "Manage ticket types (OTRS Admin::TicketType)."),
    "agent": ("tktctl.commands.agent", "app", "Manage agents."),
    "group": ("tktctl.commands.group", "app", "Manage permission groups (each queue belongs to one)."),
    "role": ("tktctl.commands.role", "app", "Manage roles: agents that share grants."),
    "acl": (
        "tktctl.commands.acl",
        "app",
        "Grant and revoke permissions (ro, move_into, create, note, owner, priority, rw), check and apply them.",
    ),
    "customer": ("tktctl.commands.customer", "app", "Manage customer users and check their passwords."),
    "notification": ("tktctl.commands.notification", "app", "Notification rules: which ticket events mail whom."),
    "history": ("tktctl.commands.history", "app", "Export ticket history."),
    "audit": (
        "tktctl.commands.audit",
        "app",
        "List administrative changes: grants, revokes, creations, disables, passwords.",
    ),
    "desk": (
        "tktctl.commands.desk",
        "app",
        "The desk's whole configuration as one YAML document, to keep in git.",
    ),
    "db": ("tktctl.commands.db", "app", "Database schema: status and upgrades."),
    "mail": ("tktctl.commands.mail", "app", "Mail in (ingest, fetch) and out (outbox, send); dead letters."),
    "autoresponse": (
        "tktctl.commands.autoresponse",
        "app",
        "Manage auto-response templates (auto-reply, auto-reject, ...).",
    ),
    "address": ("tktctl.commands.address", "app", "Manage system addresses: the From of a queue's mail."),
    "salutation": ("tktctl.commands.salutation", "app", "Manage salutations: what a queue's answers start with."),
    "signature": ("tktctl.commands.signature", "app", "Manage signatures: what a queue's answers end with."),
    "template": ("tktctl.commands.template", "app", "Manage standard templates: the answers agents reply with."),
    "field": ("tktctl.commands.field", "app", "Manage custom (dynamic) fields on tickets."),
    "calendar": ("tktctl.commands.calendar", "app", "Manage business calendars (working hours, holidays)."),
    "maint": (
        "tktctl.commands.maint",
        "app",
        "Maintenance: pending states, unlock timeout, escalation rebuild, statistics.",
    ),
    "job": ("tktctl.commands.job", "app", "Saved jobs: a ticket filter and actions, from YAML."),
    "check": ("tktctl.commands.escalate", "check_app", "Monitoring checks (Nagios plugin output)."),
    "escalate": (
        "tktctl.commands.escalate",
        "escalate",
        "Fire due escalations once: history, the queues' actions, notifications (run from cron).",
    ),
    "stats": (
        "tktctl.commands.ticket",
        "stats",
        "Ticket counts grouped by queue, state, priority or owner (filters narrow the tickets counted).",
    ),
    "server": ("tktctl.commands.server", "app", "The warm command server (TKTCTL_SERVER=auto): start, stop, status."),
    "batch": (
        "tktctl.commands.batch",
        "batch",
        "Run one tktctl command per stdin line (shell quoting, # comments); print one JSON result per line.",
    ),
}

"""The configuration generation: a counter that database triggers move on every change of a
configuration table, whoever makes it (the CLI, `desk apply`, `db copy`, an administrator's SQL).

A process may keep the configuration it read (the acting agent and its grants, queues, states,
SLAs, rules ...) for as long as the counter has not moved: one tiny SELECT per transaction
instead of a query per kind. The counter is not a model: `db copy` and dumps copy the models'
tables, and each desk keeps its own counter.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

TABLE = "desk_generation"
TRIGGER_PREFIX = "tktctl_gen_"
# Tables whose rows are the desk's configuration: a change moves the generation. Those of migration 0016,
# which gave them their triggers; a later configuration table gets its set here and its migration.
CONFIG_TABLES_0016 = frozenset(
    {
        "agent",
        "auto_response",
        "auto_response_text",
        "calendar",
        "desk_setting",
        "dynamic_field",
        "group_agent",
        "group_role",
        "job",
        "notification_rule",
        "permission_groups",
        "postmaster_filter",
        "queue",
        "queue_auto_response",
        "queue_template",
        "role",
        "role_agent",
        "salutation",
        "signature",
        "standard_template",
        "system_address",
        "ticket_priority",
        "ticket_state",
        "ticket_state_type",
        "ticket_type",
    }
)
CONFIG_TABLES = CONFIG_TABLES_0016
# Tables of the desk's work: written by every ticket change, cached by no one.
DATA_TABLES = frozenset(
    {
        "admin_audit",
        "agent_mute",
        "article",
        "article_attachment",
        "article_plain",
        "customer_user",
        "dynamic_field_value",
        "job_lock",
        "mail_failed",
        "mail_outbox",
        "notification",
        "queue_subscription",
        "ticket",
        "ticket_history",
        "ticket_link",
        "ticket_number_counter",
        "ticket_watcher",
        "time_accounting",
    }
)
READ = text(f"SELECT value FROM {TABLE} WHERE id = 1")
_BUMP = f"UPDATE {TABLE} SET value = value + 1 WHERE id = 1"
_OPERATIONS = {"i": "INSERT", "u": "UPDATE", "d": "DELETE"}


def read(conn: Any) -> int:
    """The current generation (``conn``: a connection or a session)."""
    return int(conn.execute(READ).scalar_one())


def create_triggers(conn: Connection, tables: frozenset[str] | set[str]) -> None:
    """Triggers moving the generation after any INSERT, UPDATE or DELETE on ``tables``."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(
            text(
                f"CREATE OR REPLACE FUNCTION {TRIGGER_PREFIX}bump() RETURNS trigger LANGUAGE plpgsql AS"
                f" $$ BEGIN {_BUMP}; RETURN NULL; END $$"
            )
        )
    for table in sorted(tables):
        if dialect == "postgresql":  # once per statement, TRUNCATE included
            conn.execute(
                text(
                    f"CREATE TRIGGER {TRIGGER_PREFIX}{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
                    f" ON {table} FOR EACH STATEMENT EXECUTE PROCEDURE {TRIGGER_PREFIX}bump()"
                )
            )
            continue
        for suffix, operation in _OPERATIONS.items():
            body = f"BEGIN {_BUMP}; END" if dialect == "sqlite" else _BUMP
            conn.execute(
                text(
                    f"CREATE TRIGGER {TRIGGER_PREFIX}{table}_{suffix} AFTER {operation} ON {table} FOR EACH ROW {body}"
                )
            )


def drop_triggers(conn: Connection, tables: frozenset[str] | set[str]) -> None:
    dialect = conn.dialect.name
    for table in sorted(tables):
        if dialect == "postgresql":
            conn.execute(text(f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}{table} ON {table}"))
            continue
        for suffix in _OPERATIONS:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}{table}_{suffix}"))
    if dialect == "postgresql":
        conn.execute(text(f"DROP FUNCTION IF EXISTS {TRIGGER_PREFIX}bump()"))


def triggered_tables(conn: Connection) -> set[str]:
    """The tables that have the generation's triggers (all three operations on SQLite and MariaDB)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        query = "SELECT event_object_table, event_manipulation FROM information_schema.triggers"
        query += f" WHERE trigger_name LIKE '{TRIGGER_PREFIX}%' AND trigger_schema = current_schema()"
    elif dialect == "sqlite":
        query = "SELECT tbl_name, substr(name, -1) FROM sqlite_master"
        query += f" WHERE type = 'trigger' AND name LIKE '{TRIGGER_PREFIX}%'"
    else:
        query = "SELECT event_object_table, event_manipulation FROM information_schema.triggers"
        query += f" WHERE trigger_name LIKE '{TRIGGER_PREFIX}%' AND trigger_schema = DATABASE()"
    operations: dict[str, set[str]] = {}
    for table, operation in conn.execute(text(query)):
        operations.setdefault(table, set()).add(operation[0].lower())
    return {table for table, seen in operations.items() if seen == set(_OPERATIONS)}

"""Full-text search: each database's own index on articles (subject, body, from) and ticket titles.

SQLite: FTS5 external-content tables kept by triggers (any INSERT, UPDATE or DELETE of an article
or a title, by any code path, changes the index in the same transaction). PostgreSQL: a generated
``tsvector`` column with a GIN index, and a GIN expression index on the title. MariaDB/MySQL:
InnoDB FULLTEXT indexes, the indexed columns in a case-insensitive collation (utf8mb4_unicode_ci)
and built without stop words. Existing articles and titles are indexed by this revision.

The SQL is frozen here (see tktctl/db/fulltext.py for how queries use it).

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

from tktctl.db.fulltext import mysql_stopwords_off

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# PostgreSQL: at most this much of a body is indexed (a tsvector must stay under 1 MB).
PG_BODY_CHARS = 250_000
PG_CONFIG = "'simple'::regconfig"


def _pg_vector(column: str, limit: int | None = None) -> str:
    text = f"coalesce({column}, '')" if limit is None else f"left(coalesce({column}, ''), {limit})"
    return f"to_tsvector({PG_CONFIG}, regexp_replace({text}, '[[:punct:]]+', ' ', 'g'))"


SQLITE_TABLES = {
    # name: (content table, columns)
    "article_fts": ("article", ("subject", "body", "a_from")),
    "ticket_fts": ("ticket", ("title",)),
}
MYSQL_COLUMNS = {
    ("article", "subject"): "TEXT",
    ("article", "body"): "LONGTEXT",
    ("article", "a_from"): "TEXT",
    ("ticket", "title"): "VARCHAR(255)",
}
MYSQL_NOT_NULL = {("ticket", "title")}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name, (content, columns) in SQLITE_TABLES.items():
            _sqlite_create(name, content, columns)
    elif dialect == "postgresql":
        op.execute(
            "ALTER TABLE article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            f"setweight({_pg_vector('subject')}, 'A') || "
            f"setweight({_pg_vector('body', PG_BODY_CHARS)}, 'B') || "
            f"setweight({_pg_vector('a_from')}, 'C')) STORED"
        )
        op.execute("CREATE INDEX ix_article_search_vector ON article USING gin (search_vector)")
        op.execute(f"CREATE INDEX ix_ticket_title_fts ON ticket USING gin ({_pg_vector('title')})")
    else:
        _mysql_collate("utf8mb4_unicode_ci")
        with mysql_stopwords_off(op.get_bind()):
            for table, column in MYSQL_COLUMNS:
                op.execute(f"CREATE FULLTEXT INDEX ft_{table}_{column} ON {table} ({column})")


def _sqlite_create(name: str, content: str, columns: tuple[str, ...]) -> None:
    listed = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    remove = f"INSERT INTO {name}({name}, rowid, {listed}) VALUES ('delete', old.id, {old});"
    add = f"INSERT INTO {name}(rowid, {listed}) VALUES (new.id, {new});"
    op.execute(f"CREATE VIRTUAL TABLE {name} USING fts5({listed}, content='{content}', content_rowid='id')")
    op.execute(f"CREATE TRIGGER {name}_insert AFTER INSERT ON {content} BEGIN {add} END")
    op.execute(f"CREATE TRIGGER {name}_delete AFTER DELETE ON {content} BEGIN {remove} END")
    op.execute(f"CREATE TRIGGER {name}_update AFTER UPDATE OF {listed} ON {content} BEGIN {remove} {add} END")
    op.execute(f"INSERT INTO {name}({name}) VALUES ('rebuild')")


def _mysql_collate(collation: str) -> None:
    for (table, column), kind in MYSQL_COLUMNS.items():
        null = "NOT NULL" if (table, column) in MYSQL_NOT_NULL else "NULL"
        op.execute(f"ALTER TABLE {table} MODIFY {column} {kind} CHARACTER SET utf8mb4 COLLATE {collation} {null}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in SQLITE_TABLES:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {name}_{event}")
            op.execute(f"DROP TABLE IF EXISTS {name}")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_ticket_title_fts")
        op.execute("DROP INDEX IF EXISTS ix_article_search_vector")
        op.execute("ALTER TABLE article DROP COLUMN IF EXISTS search_vector")
    else:
        for table, column in MYSQL_COLUMNS:
            op.execute(f"DROP INDEX ft_{table}_{column} ON {table}")
        _mysql_collate("utf8mb4_bin")

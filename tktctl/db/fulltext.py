"""The full-text indexes of migration 0009, as queries see them (the DDL is in the migration).

Each database's own engine, kept current inside every transaction that writes an article or a
ticket's title, whatever writes it (the verbs, mail ingest, imports, ``db copy``, a delete):

- SQLite: FTS5 tables ``article_fts`` (subject, body, a_from) and ``ticket_fts`` (title) with
  external content (the text is stored once, in ``article`` and ``ticket``), kept by triggers.
- PostgreSQL: ``article.search_vector``, a generated ``tsvector`` (subject weight A, body B, from C,
  'simple' configuration: no stemming, no stop words) with a GIN index; the title by a GIN
  expression index on :data:`PG_TITLE_VECTOR`.
- MariaDB/MySQL: InnoDB FULLTEXT indexes on ``article.subject``, ``article.body``,
  ``article.a_from`` and ``ticket.title``, in a case-insensitive collation, without stop words.

These objects are not in the models (they differ by database): :func:`is_fulltext_object` tells the
schema comparison to leave them out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import column, literal_column, table

# Searchable fields: the ``--in`` names, and their columns.
ARTICLE_FIELDS = {"subject": "subject", "body": "body", "from": "a_from"}
FIELDS = ("title", *ARTICLE_FIELDS)
PG_WEIGHTS = {"subject": "A", "body": "B", "from": "C"}
PG_CONFIG = "simple"
# PostgreSQL's parser keeps some punctuated runs whole (alice@example.com, e-mail, 1.2.3); spaces
# instead of punctuation make its words the words of the other engines (and of core.textquery).
PG_PUNCTUATION = "[[:punct:]]+"

ARTICLE_FTS = table("article_fts", column("rowid"), column("rank"))
TICKET_FTS = table("ticket_fts", column("rowid"), column("rank"))
ARTICLE_VECTOR = table("article", column("id"), column("ticket_id"), column("search_vector"))

NAMES = frozenset(
    {
        "article_fts",
        "ticket_fts",
        "search_vector",
        "ix_article_search_vector",
        "ix_ticket_title_fts",
        "ft_article_subject",
        "ft_article_body",
        "ft_article_a_from",
        "ft_ticket_title",
    }
)


def pg_text(expression: Any) -> Any:
    """A column's text as PostgreSQL indexes it (see :data:`PG_PUNCTUATION`)."""
    from sqlalchemy import func

    return func.regexp_replace(
        func.coalesce(expression, literal_column("''")),
        literal_column(f"'{PG_PUNCTUATION}'"),
        literal_column("' '"),
        literal_column("'g'"),
    )


def pg_title_vector(title: Any) -> Any:
    """The expression of the title's GIN index: queries must repeat it exactly to use the index."""
    from sqlalchemy import func

    return func.to_tsvector(literal_column(f"'{PG_CONFIG}'::regconfig"), pg_text(title))


def is_fulltext_object(name: str | None, type_: str) -> bool:
    """Whether a reflected table, column or index is one of these (or an FTS5 shadow table)."""
    if name is None:
        return False
    if type_ == "table":
        return any(name == t or name.startswith(f"{t}_") for t in ("article_fts", "ticket_fts"))
    return name in NAMES


@contextmanager
def mysql_stopwords_off(bind: Any) -> Iterator[None]:
    """MariaDB without stop words for the session while a FULLTEXT index is built or rebuilt.

    InnoDB fixes the stop-word choice when it builds an index (and keeps it with the table), so the
    migrations that build (0009) or rebuild (0013: a column added to ``article``) one turn them off,
    or "the cable" would find nothing after. The session's own choice comes back after, also when the
    step fails. Other databases: nothing to do.
    """
    if bind.dialect.name != "mysql":
        yield
        return
    before = bind.exec_driver_sql("SELECT @@SESSION.innodb_ft_enable_stopword").scalar()
    bind.exec_driver_sql("SET SESSION innodb_ft_enable_stopword = OFF")
    try:
        yield
    finally:
        bind.exec_driver_sql(f"SET SESSION innodb_ft_enable_stopword = {'ON' if int(before) else 'OFF'}")

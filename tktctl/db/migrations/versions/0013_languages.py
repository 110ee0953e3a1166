"""Languages: a customer's, an agent's, a queue's and an auto-response's language, the Content-Language
of a message, the desk's settings (its default language), and auto-response texts per language. An
initialised desk gets OTRS's default auto-responses in English, Spanish and German, and the default
notification rules it still has as shipped get their Spanish and German texts.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from tktctl.db.fulltext import mysql_stopwords_off

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
# A normalised language tag (core/language.py): "es", "pt-BR", "es-419".
TAG = sa.String(16)
LANGUAGE_COLUMNS = (
    ("customer_user", "language"),
    ("agent", "language"),
    ("queue", "language"),
    ("auto_response", "language"),
)


def upgrade() -> None:
    for table, column in LANGUAGE_COLUMNS:
        op.add_column(table, sa.Column(column, TAG))
    with mysql_stopwords_off(op.get_bind()):
        op.add_column("article", sa.Column("content_language", TAG))
    op.create_table(
        "desk_setting",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.String(250), nullable=False),
        **MYSQL,
    )
    texts = op.create_table(
        "auto_response_text",
        sa.Column(
            "auto_response_id",
            sa.Integer(),
            sa.ForeignKey("auto_response.id", name="fk_auto_response_text_auto_response_id_auto_response"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("language", TAG, primary_key=True),
        sa.Column("subject", sa.String(250), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        **MYSQL,
    )
    # Default data only on a desk that has its default data (see 0012); `init` writes it otherwise.
    if op.get_bind().execute(sa.text("SELECT 1 FROM ticket_state")).first() is not None:
        _seed(texts)


def _seed(texts: sa.Table) -> None:
    """The default auto-responses (by name, when missing) and the default rules' translations."""
    from tktctl.db.default_texts import AUTO_RESPONSES
    from tktctl.db.defaults import NOTIFICATION_RULES

    bind = op.get_bind()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    responses = sa.table(
        "auto_response",
        *(sa.column(c) for c in ("id", "name", "type", "subject", "body", "language", "valid")),
        sa.column("created", TS),
        sa.column("changed", TS),
    )
    have = set(bind.execute(sa.select(responses.c.name)).scalars())
    for shipped in (r for r in AUTO_RESPONSES if r["name"] not in have):
        own = {"name": shipped["name"], "type": shipped["type"], **shipped["texts"]["en"], "language": "en"}
        bind.execute(responses.insert().values(**own, valid=True, created=now, changed=now))
        response_id = bind.execute(sa.select(responses.c.id).where(responses.c.name == shipped["name"])).scalar_one()
        rows = [{"auto_response_id": response_id, "language": k, **v} for k, v in shipped["texts"].items() if k != "en"]
        op.bulk_insert(texts, rows)
    rules = _rules()
    shipped_rules = {r["name"]: r for r in NOTIFICATION_RULES}
    for rule_id, name, definition in bind.execute(sa.select(rules.c.id, rules.c.name, rules.c.definition)).all():
        new = shipped_rules.get(name)
        if new is not None and definition == {k: v for k, v in new.items() if k not in ("language", "translations")}:
            bind.execute(rules.update().where(rules.c.id == rule_id).values(definition=new))


def _rules() -> sa.TableClause:
    return sa.table("notification_rule", sa.column("id"), sa.column("name"), sa.column("definition", sa.JSON()))


def downgrade() -> None:
    # Rules lose their language and translations: 0012's rules know no such keys.
    bind, rules = op.get_bind(), _rules()
    for rule_id, definition in bind.execute(sa.select(rules.c.id, rules.c.definition)).all():
        if "language" in definition or "translations" in definition:
            kept = {k: v for k, v in definition.items() if k not in ("language", "translations")}
            bind.execute(rules.update().where(rules.c.id == rule_id).values(definition=kept))
    op.drop_table("auto_response_text")
    op.drop_table("desk_setting")
    # A plain DROP COLUMN (SQLite >= 3.35): batch mode would rebuild agent, queue and customer_user,
    # and dropping the old table fails on the rows that refer to it while foreign keys are on.
    with mysql_stopwords_off(op.get_bind()):
        op.drop_column("article", "content_language")
    for table, column in LANGUAGE_COLUMNS:
        op.drop_column(table, column)

"""A parsed search query (core.textquery) in each database's own full-text syntax.

A document is one article (its fields named by ``--in``, taken together) or one ticket title; a
ticket matches when one of its documents does. :func:`documents` gives the matching documents with a
score (higher is better, comparable only within one search), :func:`ticket_clause` the WHERE clause
of ``--text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, not_, or_, select, text
from sqlalchemy.orm import aliased

from tktctl.core.textquery import And, Node, Not, Or, Term, terms
from tktctl.db import fulltext as ft
from tktctl.db.models import Article, Ticket
from tktctl.errors import UsageError

if TYPE_CHECKING:
    from tktctl.core.unit import Unit


def parse_fields(fields: str | Sequence[str] | None) -> tuple[str, ...]:
    """``--in title,body``: the fields searched, in a fixed order; none given: all of them."""
    if fields is None:
        return ft.FIELDS
    items = [fields] if isinstance(fields, str) else list(fields)
    names = {part.strip() for item in items for part in item.split(",")}
    unknown = sorted(n for n in names if n not in ft.FIELDS)
    if unknown or not names:
        raise UsageError(
            f"--in: cannot search {', '.join(map(repr, unknown)) or 'nothing'}; fields: {', '.join(ft.FIELDS)}"
        )
    return tuple(f for f in ft.FIELDS if f in names)


def documents(unit: Unit, node: Node, fields: Sequence[str]) -> list[Select[Any]]:
    """SELECTs of (ticket_id, score) for the matching articles and titles (one each, as asked)."""
    engine = _engine(unit)
    article_fields = [f for f in fields if f in ft.ARTICLE_FIELDS]
    selects = [engine.articles(node, article_fields)] if article_fields else []
    if "title" in fields:
        selects.append(engine.titles(node))
    return selects


def ticket_clause(unit: Unit, node: Node, fields: Sequence[str] = ft.FIELDS) -> ColumnElement[bool]:
    """Tickets with a matching document: a WHERE clause on ``ticket`` (usable in UPDATE and DELETE too)."""
    engine = _engine(unit)
    article_fields = [f for f in fields if f in ft.ARTICLE_FIELDS]
    clauses = []
    if article_fields:
        found = engine.articles(node, article_fields, scored=False)
        clauses.append(Ticket.id.in_(found))
    if "title" in fields:
        clauses.append(engine.title_clause(node))
    return or_(*clauses)


def _engine(unit: Unit) -> Any:
    name = unit.session.get_bind().dialect.name
    if name == "sqlite":
        return _Sqlite
    if name == "postgresql":
        return _Postgres
    return _MySql(unit)


class _Sqlite:
    """FTS5: the query as an FTS5 expression, every word quoted; ``{col ...} :`` narrows the columns."""

    @staticmethod
    def expression(node: Node) -> str:
        if isinstance(node, Term):
            return '"' + " ".join(node.words) + '"'
        if isinstance(node, Or):
            return "(" + " OR ".join(_Sqlite.expression(p) for p in node.parts) + ")"
        if isinstance(node, Not):  # only inside an AND (core.textquery checks)
            raise AssertionError("NOT outside AND")
        positive = [p for p in node.parts if not isinstance(p, Not)]
        result = "(" + " AND ".join(_Sqlite.expression(p) for p in positive) + ")"
        for part in node.parts:
            if isinstance(part, Not):
                result = f"({result} NOT {_Sqlite.expression(part.part)})"
        return result

    @staticmethod
    def articles(node: Node, fields: Sequence[str], scored: bool = True) -> Select[Any]:
        expression = _Sqlite.expression(node)
        if len(fields) < len(ft.ARTICLE_FIELDS):
            expression = "{" + " ".join(ft.ARTICLE_FIELDS[f] for f in fields) + "} : " + expression
        fts = literal_column("article_fts")
        found = (
            select(Article.ticket_id.label("ticket_id"))
            .select_from(ft.ARTICLE_FTS)
            .join(Article, Article.id == ft.ARTICLE_FTS.c.rowid)
            .where(fts.op("MATCH")(expression))
        )
        # FTS5's hidden column rank (bm25, lower is better): read as a column, it may be used anywhere,
        # where bm25() works only in the statement that scans the FTS5 table.
        return found.add_columns((-ft.ARTICLE_FTS.c.rank).label("score")) if scored else found

    @staticmethod
    def titles(node: Node) -> Select[Any]:
        fts = literal_column("ticket_fts")
        return select(ft.TICKET_FTS.c.rowid.label("ticket_id"), (-ft.TICKET_FTS.c.rank).label("score")).where(
            fts.op("MATCH")(_Sqlite.expression(node))
        )

    @staticmethod
    def title_clause(node: Node) -> ColumnElement[bool]:
        found = select(ft.TICKET_FTS.c.rowid).where(literal_column("ticket_fts").op("MATCH")(_Sqlite.expression(node)))
        return Ticket.id.in_(found)


class _Postgres:
    """tsquery text for to_tsquery('simple'): & | ! and <-> for phrases; weights narrow the columns."""

    @staticmethod
    def tsquery(node: Node, weights: str, every: str) -> str:
        """``weights``: the fields' labels; a word is narrowed to them unless they are ``every`` field."""
        if isinstance(node, Term) and len(node.words) == 1:
            return f"'{node.words[0]}'" + (f":{weights}" if weights != every else "")
        if isinstance(node, Term):  # a phrase within one field: the fields' vectors are concatenated
            return "(" + " | ".join(" <-> ".join(f"'{w}':{one}" for w in node.words) for one in weights) + ")"
        if isinstance(node, Not):
            return "!" + _Postgres.tsquery(node.part, weights, every)
        joiner = " & " if isinstance(node, And) else " | "
        return "(" + joiner.join(_Postgres.tsquery(p, weights, every) for p in node.parts) + ")"

    @staticmethod
    def query(node: Node, weights: str = "D", every: str = "D") -> Any:
        """Titles have one field (PostgreSQL's default label, D); articles three (A, B, C)."""
        tsquery = _Postgres.tsquery(node, weights, every)
        return func.to_tsquery(literal_column(f"'{ft.PG_CONFIG}'::regconfig"), tsquery)

    @staticmethod
    def articles(node: Node, fields: Sequence[str], scored: bool = True) -> Select[Any]:
        weights = "".join(ft.PG_WEIGHTS[f] for f in fields)
        query = _Postgres.query(node, weights, "".join(ft.PG_WEIGHTS.values()))
        vector = ft.ARTICLE_VECTOR.c.search_vector
        score = [func.ts_rank(vector, query).label("score")] if scored else []
        return select(ft.ARTICLE_VECTOR.c.ticket_id.label("ticket_id"), *score).where(vector.op("@@")(query))

    @staticmethod
    def titles(node: Node) -> Select[Any]:
        titled = aliased(Ticket, name="titled")
        vector = ft.pg_title_vector(titled.title)
        query = _Postgres.query(node)
        return select(titled.id.label("ticket_id"), func.ts_rank(vector, query).label("score")).where(
            vector.op("@@")(query)
        )

    @staticmethod
    def title_clause(node: Node) -> ColumnElement[bool]:
        return ft.pg_title_vector(Ticket.title).op("@@")(_Postgres.query(node))


class _MySql:
    """InnoDB FULLTEXT: each word or phrase a MATCH ... AGAINST('"..."' IN BOOLEAN MODE) on each of the
    fields' indexes, combined by SQL's AND, OR and NOT; the score is the sum of the matching ones'."""

    def __init__(self, unit: Unit) -> None:
        shortest = unit.session.scalar(text("SELECT @@innodb_ft_min_token_size")) or 3
        self.shortest = int(shortest)

    def match(self, term: Term, column: Any) -> Any:
        from sqlalchemy.dialects.mysql import match

        short = [w for w in term.words if len(w) < self.shortest]
        if short:
            raise UsageError(
                f"search query: {short[0]!r} is too short; this MariaDB/MySQL server indexes words of "
                f"{self.shortest} or more letters (innodb_ft_min_token_size)"
            )
        return match(column, against='"' + " ".join(term.words) + '"').in_boolean_mode()

    def clause(self, node: Node, columns: Sequence[Any]) -> Any:
        if isinstance(node, Term):
            return or_(*(self.match(node, c) > 0 for c in columns))
        if isinstance(node, Not):
            return not_(self.clause(node.part, columns))
        combine = and_ if isinstance(node, And) else or_
        return combine(*(self.clause(p, columns) for p in node.parts))

    def score(self, node: Node, columns: Sequence[Any]) -> Any:
        return sum((self.match(t, c) for t in terms(node) for c in columns), literal_column("0"))

    def articles(self, node: Node, fields: Sequence[str], scored: bool = True) -> Select[Any]:
        columns = [getattr(Article, ft.ARTICLE_FIELDS[f]) for f in fields]
        score = [self.score(node, columns).label("score")] if scored else []
        return select(Article.ticket_id.label("ticket_id"), *score).where(self.clause(node, columns))

    def titles(self, node: Node) -> Select[Any]:
        titled = aliased(Ticket, name="titled")
        return select(titled.id.label("ticket_id"), self.score(node, [titled.title]).label("score")).where(
            self.clause(node, [titled.title])
        )

    def title_clause(self, node: Node) -> ColumnElement[bool]:
        return self.clause(node, [Ticket.title])  # type: ignore[no-any-return]

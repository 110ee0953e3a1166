"""One article of a ticket: its record, or the message it came as (byte for byte)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from tktctl.access import permissions
from tktctl.core.record import Record
from tktctl.db.models import Article, ArticlePlain
from tktctl.errors import NotFoundError
from tktctl.tickets.records import articles

if TYPE_CHECKING:
    from tktctl.core.unit import Store


class Articles:
    """``ticket article``: needs ``ro`` on the ticket, as ``ticket show`` (an invisible ticket is not found)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def show(self, ref: str, article_id: int) -> Record:
        with self.store.read() as unit:
            row = permissions.tickets(unit, [ref], lock=False)[0]
            found = next((a for a in articles(unit, row.id) if a["id"] == article_id), None)
            if found is None:
                raise NotFoundError(f"ticket {row.tn} has no article {article_id}", ref=str(article_id))
            return found

    def raw(self, ref: str, article_id: int) -> bytes:
        """The stored message of an email article as it arrived (or as the desk sent it)."""
        with self.store.read() as unit:
            row = permissions.tickets(unit, [ref], lock=False)[0]
            found = unit.session.execute(
                select(Article.id, ArticlePlain.content)
                .outerjoin(ArticlePlain, ArticlePlain.article_id == Article.id)
                .where(Article.ticket_id == row.id, Article.id == article_id)
            ).first()
            if found is None:
                raise NotFoundError(f"ticket {row.tn} has no article {article_id}", ref=str(article_id))
            if found.content is None:
                raise NotFoundError(
                    f"article {article_id} of ticket {row.tn} has no stored message (only mail in keeps one)",
                    ref=str(article_id),
                )
            return bytes(found.content)

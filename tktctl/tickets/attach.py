"""Files attached to the articles agents write (`--attach`): checked, stored set-based, read back.

An attached file is stored as mail in stores one (``article_attachment``); the total of an
article's files is capped as a message is (the profile's ``mail.limits.max_bytes``, 25 MiB by
default), so that whatever goes out can also come back in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import BigInteger, LargeBinary, String, func, insert, literal, select

from tktctl.core.vocabulary import MAIL_MAX_BYTES, clean_line
from tktctl.db.blobs import fits_one_statement, insert_rows
from tktctl.db.models import Article, Attachment, Ticket
from tktctl.errors import UsageError

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit
    from tktctl.tickets.changes import Selected


class File(NamedTuple):
    """A file to attach: its name, MIME type and content."""

    filename: str
    content_type: str
    content: bytes


def max_bytes(store: Store) -> int:
    """The cap on an article's files: the mail size limit of the profile."""
    config = store.mail_config if isinstance(store.mail_config, dict) else {}
    limits = config.get("limits") if isinstance(config.get("limits"), dict) else {}
    value = limits.get("max_bytes", MAIL_MAX_BYTES)
    return value if isinstance(value, int) and value > 0 else MAIL_MAX_BYTES


def check_files(store: Store, files: Sequence[File]) -> list[File]:
    """Names one line and not empty, a type like ``text/plain``, the total within the cap (else exit 2)."""
    checked = []
    for file in files:
        if not isinstance(file.content, bytes):
            raise UsageError(f"attachment {file.filename!r}: content must be bytes")
        clean_line("attachment name", file.filename, limit=250, required=True)
        clean_line("attachment type", file.content_type, limit=250, required=True)
        maintype, _, subtype = file.content_type.partition("/")
        if not maintype or not subtype or " " in file.content_type or maintype.lower() == "multipart":
            raise UsageError(f"attachment {file.filename!r}: {file.content_type!r} is not a MIME type like text/plain")
        checked.append(File(file.filename, file.content_type.lower(), file.content))
    total, cap = sum(len(f.content) for f in checked), max_bytes(store)
    if total > cap:
        raise UsageError(f"attachments of {total} bytes exceed the mail size limit of {cap} (mail.limits.max_bytes)")
    return checked


def store_files(unit: Unit, article_ids: Sequence[int], files: Sequence[File]) -> None:
    """The files on each article: one INSERT … SELECT per file, whatever the number of articles
    (a file too large for one MySQL/MariaDB statement: a row per article, in pieces)."""

    for file in files:
        if not fits_one_statement(unit.session, file.content):
            rows = [
                {
                    "article_id": article_id,
                    "filename": file.filename,
                    "content_type": file.content_type,
                    "size": len(file.content),
                    "content": file.content,
                }
                for article_id in article_ids
            ]
            insert_rows(unit.session, Attachment, rows, "content")
            continue
        columns = select(
            Article.id,
            literal(file.filename, String()),
            literal(file.content_type, String()),
            literal(len(file.content), BigInteger()),
            literal(file.content, LargeBinary()),
        ).where(Article.id.in_(list(article_ids)))
        fields = ["article_id", "filename", "content_type", "size", "content"]
        unit.session.execute(insert(Attachment).from_select(fields, columns))


def newest_articles(unit: Unit, where: Any) -> dict[int, int]:
    """Ticket id -> its newest article, for tickets matching ``where`` (locked: the ones just written)."""
    statement = (
        select(Article.ticket_id, func.max(Article.id)).where(Article.ticket_id.in_(where)).group_by(Article.ticket_id)
    )
    return dict(unit.session.execute(statement).all())


def notes_written(unit: Unit, sel: Selected, files: Sequence[File]) -> None:
    """After ``changes.add_notes``: the files on each new note, and ArticleCreate announced (by an agent)."""

    if not files and not unit.listens("ArticleCreate"):
        return
    written: dict[int, int] = {}
    for where in sel.parts:
        written.update(newest_articles(unit, select(Ticket.id).where(*where)))
    if files:
        store_files(unit, list(written.values()), files)
    unit.publish("ArticleCreate", list(written), articles=written, sender="agent")

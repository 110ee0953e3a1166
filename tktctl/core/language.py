"""Languages: the tag a customer, agent, queue or message has, which language a ticket's mail is
written in, and which of a text's translations to use.

A tag is a BCP 47 language with an optional region, normalised as mail and OTRS write them:
``es``, ``de``, ``pt-BR``, ``es-419``. A ticket's language is its customer's, else what its
customer wrote in (the Content-Language of its mail), else its queue's, else the desk's default,
so that every text sent about it (auto-responses, notifications, answers) agrees.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select

from tktctl.db.models import Article, Customer, Queue, Ticket
from tktctl.db.models_lang import DeskSetting
from tktctl.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")

# The desk's default language when it sets none (desk setting `default_language`).
DEFAULT_LANGUAGE = "en"
DEFAULT_SETTING = "default_language"
# A primary language subtag (2-3 letters), then a region (2 letters, or 3 digits such as 419).
_TAG = re.compile(r"([a-z]{2,3})(?:-([a-z]{2}|[0-9]{3}))?", re.IGNORECASE)


def language_tag(value: str, what: str = "language") -> str:
    """``value`` as a normalised tag (``PT_br`` -> ``pt-BR``); anything else is a usage error (exit 2)."""
    found = _TAG.fullmatch(value.strip().replace("_", "-")) if isinstance(value, str) else None
    if found is None:
        raise UsageError(
            f"{what} {value!r} is not a language tag: two or three letters, an optional region (es, de, pt-BR)"
        )
    primary, region = found.groups()
    return primary.lower() if region is None else f"{primary.lower()}-{region.upper()}"


def optional_tag(value: str | None, what: str = "language") -> str | None:
    """:func:`language_tag`, with None (no language, or clearing one) passed through."""
    return None if value is None else language_tag(value, what)


def header_language(value: str | None) -> str | None:
    """The first tag of a Content-Language header (``de-DE, en`` -> ``de-DE``), or None when it has no
    usable one: a sender's header never fails ingestion. A longer tag keeps its language and region
    (``zh-Hant-TW`` -> ``zh``; ``en-US-x-foo`` -> ``en-US``)."""
    if not value:
        return None
    first = value.split(",")[0].split(";")[0].strip().replace("_", "-")
    parts = first.split("-")
    for candidate in ("-".join(parts[:2]), parts[0]):
        found = _TAG.fullmatch(candidate)
        if found is not None:
            return language_tag(candidate)
    return None


def primary(tag: str) -> str:
    """The language without its region: ``pt-BR`` -> ``pt``."""
    return tag.split("-", 1)[0]


def choose(texts_by_language: Mapping[str, T], language: str, default: str) -> T:
    """The text for ``language``: the exact tag, else its language without the region (``pt-BR`` ->
    ``pt``), else a regional variant of its language (``pt`` -> ``pt-BR``), else the ``default``
    language's (by the same steps), else the first there is. Keys are compared case-insensitively."""
    if not texts_by_language:
        raise ValueError("choose() needs at least one text")
    by_tag = {key.lower(): text for key, text in texts_by_language.items()}
    for wanted in (language.lower(), default.lower()):
        if wanted in by_tag:
            return by_tag[wanted]
        same = [key for key in by_tag if primary(key) == primary(wanted)]
        if primary(wanted) in same:
            return by_tag[primary(wanted)]
        if same:
            return by_tag[min(same)]
    return next(iter(texts_by_language.values()))


def desk_language(session: Session) -> str:
    """The desk's default language (desk setting ``default_language``), ``en`` when it sets none."""
    value = session.scalar(select(DeskSetting.value).where(DeskSetting.name == DEFAULT_SETTING))
    return value or DEFAULT_LANGUAGE


def ticket_language(session: Session, ticket_id: int) -> str:
    """The language to write to a ticket's customer in: the customer's (a known customer user, by
    login, else by email, with a language); else the Content-Language of the first customer article
    that had one; else the queue's language; else the desk's default."""
    found = session.execute(
        select(Ticket.customer, Queue.language).join(Queue, Queue.id == Ticket.queue_id).where(Ticket.id == ticket_id)
    ).first()
    if found is None:
        raise NotFoundError(f"ticket id {ticket_id} not found", ref=str(ticket_id))
    customer, queue_language = found
    if customer:
        known = session.execute(
            select(Customer.language)
            .where((Customer.login == customer) | (Customer.email == customer), Customer.language.is_not(None))
            .order_by((Customer.login == customer).desc(), Customer.id)
            .limit(1)
        ).scalar()
        if known:
            return known
    written = session.scalar(
        select(Article.content_language)
        .where(Article.ticket_id == ticket_id, Article.sender == "customer", Article.content_language.is_not(None))
        .order_by(Article.id)
        .limit(1)
    )
    return written or queue_language or desk_language(session)

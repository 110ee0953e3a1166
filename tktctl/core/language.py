"""Languages: the tag a customer, agent, queue or message has, which language a ticket's mail is
written in, and which of a text's translations to use.

A tag is a BCP 47 language with an optional region, normalised as mail and OTRS write them:
``es``, ``de``, ``pt-BR``, ``es-419``. A ticket's language is its customer's, else what its
customer wrote in (the Content-Language of its mail), else its queue's, else the desk's default,
so that every text sent about it (auto-responses, notifications, answers) agrees.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import func, or_, select

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


def choose(texts_by_language: Mapping[str, T], language: str | Sequence[str], default: str) -> T:
    """The text for ``language`` (or the first of several, in order of preference) that has one: the
    exact tag, else its language without the region (``pt-BR`` -> ``pt``), else a regional variant
    of its language (``pt`` -> ``pt-BR``); else the ``default`` language's (by the same steps), else
    the first there is. Tags are compared case-insensitively."""
    if not texts_by_language:
        raise ValueError("choose() needs at least one text")
    by_tag = {key.lower(): text for key, text in texts_by_language.items()}
    wanted = [language] if isinstance(language, str) else list(language)
    for tag in (*wanted, default):
        found = _match(by_tag, tag.lower())
        if found is not None:
            return by_tag[found]
    return next(iter(texts_by_language.values()))


def _match(by_tag: Mapping[str, object], tag: str) -> str | None:
    """The key (lower case) that serves ``tag``: itself, its language, or a regional variant of it."""
    if tag in by_tag:
        return tag
    same = sorted(key for key in by_tag if primary(key) == primary(tag))
    if primary(tag) in same:
        return primary(tag)
    return same[0] if same else None


def desk_language(session: Session) -> str:
    """The desk's default language (desk setting ``default_language``), ``en`` when it sets none."""
    value = session.scalar(select(DeskSetting.value).where(DeskSetting.name == DEFAULT_SETTING))
    return value or DEFAULT_LANGUAGE


def ticket_language(session: Session, ticket_id: int) -> str:
    """The language to write to a ticket's customer in: the first of :func:`ticket_preferences`."""
    return ticket_preferences(session, [ticket_id])[ticket_id][0]


def ticket_preferences(session: Session, ticket_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each ticket's languages, most wanted first, for :func:`choose`: its customer's (a known customer
    user, by login, else by email, with a language); the Content-Language of its first customer
    article that had one; its queue's; the desk's default. At most four queries, however many tickets;
    an unknown ticket is not found (exit 3)."""
    ids = list(ticket_ids)
    tickets = session.execute(
        select(Ticket.id, Ticket.customer, Queue.language)
        .join(Queue, Queue.id == Ticket.queue_id)
        .where(Ticket.id.in_(ids))
    ).all()
    missing = set(ids) - {ticket_id for ticket_id, _, _ in tickets}
    if missing:
        raise NotFoundError(f"ticket id {min(missing)} not found", ref=str(min(missing)))
    names = list({customer for _, customer, _ in tickets if customer})
    by_login: dict[str, str] = {}
    by_email: dict[str, str] = {}
    if names:
        rows = session.execute(
            select(Customer.login, Customer.email, Customer.language)
            .where(or_(Customer.login.in_(names), Customer.email.in_(names)), Customer.language.is_not(None))
            .order_by(Customer.id)
        )
        for login, email, language in rows:
            by_login.setdefault(login, language)
            if email:
                by_email.setdefault(email, language)
    first = (
        select(func.min(Article.id))
        .where(Article.ticket_id.in_(ids), Article.sender == "customer", Article.content_language.is_not(None))
        .group_by(Article.ticket_id)
    )
    rows = session.execute(select(Article.ticket_id, Article.content_language).where(Article.id.in_(first)))
    written = {ticket_id: language for ticket_id, language in rows}
    default = desk_language(session)
    found: dict[int, list[str]] = {}
    for ticket_id, customer, queue_language in tickets:
        customers = by_login.get(customer) or by_email.get(customer)
        chain = (customers, written.get(ticket_id), queue_language, default)
        found[ticket_id] = list(dict.fromkeys(language for language in chain if language))
    return found

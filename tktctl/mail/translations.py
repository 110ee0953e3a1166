"""A text in several languages, as auto-responses and notification rules hold it: a subject and body
in the text's own language (``language``, the desk's default when unset) plus ``translations``
(``{es: {subject, body}, ...}``); the recipient's language chooses (core/language.choose).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tktctl.core.configcache import configuration
from tktctl.core.language import choose, desk_language, language_tag, ticket_preferences
from tktctl.core.vocabulary import clean_text
from tktctl.db.models import AutoResponseText
from tktctl.errors import UsageError

if TYPE_CHECKING:
    from tktctl.core.unit import Unit

Text = tuple[str, str]  # subject, body


@configuration("default_language")
def default_language(unit: Unit) -> str:
    """The desk's default language, read once per configuration generation."""
    return desk_language(unit.session)


def pick(
    unit: Unit, own: Text, own_language: str | None, translations: Mapping[str, Text], languages: Sequence[str]
) -> Text:
    """The text to send to someone who reads ``languages`` (most wanted first; then the desk's default):
    a translation, or the text itself."""
    if not translations:
        return own
    default = default_language(unit)
    return choose({own_language or default: own, **translations}, languages, default)


def rule_text(unit: Unit, rule: Mapping[str, Any], languages: Sequence[str]) -> Text:
    """A notification rule's subject and body for a recipient who reads ``languages`` (most wanted first)."""
    own = (rule.get("subject", "$event: $title"), rule.get("body", "$event\n\nTicket: $tn\nTitle: $title\n"))
    texts = {k: (v["subject"], v["body"]) for k, v in (rule.get("translations") or {}).items()}
    return pick(unit, own, rule.get("language"), texts, languages)


def check_translations(what: str, value: Any, subject_limit: int) -> dict[str, Text]:
    """``translations`` of a YAML record: ``{tag: {subject, body}}``, tags normalised; else a usage error."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"{what}: translations must map a language to its subject and body")
    found: dict[str, Text] = {}
    for key, text in value.items():
        tag = language_tag(str(key), f"{what}: translation")
        if not isinstance(text, dict) or set(text) - {"subject", "body"} or not isinstance(text.get("body"), str):
            raise UsageError(f"{what}: translation {tag} must be a mapping with subject and body")
        subject = text.get("subject")
        if not isinstance(subject, str) or not subject:
            raise UsageError(f"{what}: translation {tag} needs a subject")
        clean_text(f"{what}: subject", subject, limit=subject_limit)
        clean_text(f"{what}: body", text["body"])
        if tag in found:
            raise UsageError(f"{what}: translation {tag} is given twice")
        found[tag] = (subject, text["body"])
    return found


def as_record(translations: Mapping[str, Text]) -> dict[str, dict[str, str]]:
    """Translations as records and YAML show them, by language."""
    return {tag: {"subject": s, "body": b} for tag, (s, b) in sorted(translations.items())}


def auto_response_translations(unit: Unit, response_ids: Sequence[int]) -> dict[int, dict[str, Text]]:
    """Each auto-response's translations: response id -> {language: (subject, body)}."""
    found: dict[int, dict[str, Text]] = {}
    rows = unit.session.scalars(
        select(AutoResponseText).where(AutoResponseText.auto_response_id.in_(list(response_ids)))
    )
    for row in rows:
        found.setdefault(row.auto_response_id, {})[row.language] = (row.subject, row.body)
    return found


def auto_response_text(unit: Unit, response_id: int, own: Text, own_language: str | None, ticket_id: int) -> Text:
    """The auto-response's text in the ticket's language (its own text when it has no translations)."""
    texts = auto_response_translations(unit, [response_id]).get(response_id)
    if not texts:
        return own
    return pick(unit, own, own_language, texts, ticket_preferences(unit.session, [ticket_id])[ticket_id])

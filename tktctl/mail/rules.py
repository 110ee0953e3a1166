"""Notification rules as data: check, store (`notification apply`), list and dump them.

A rule (YAML, as `notification dump` prints it)::

    - name: escalations-to-tier2
      events: [EscalationWarning, EscalationBreach]     # see NOTIFY_EVENTS
      filter: {queue: [Tier 2], state_type: [new, open]} # the `ticket list` filters
      recipients: [owner, responsible, watchers, queue_subscribers, customer]
      agents: [bob]          # named agents
      groups: [admin]        # agents who may read (ro) in these groups
      roles: [oncall]        # members of these roles
      article_sender: [customer]   # ArticleCreate/TicketCreate: only articles from these senders
      include_article: true  # the article's text and attachments go with the mail
      subject: "Escalated: <OTRS_TICKET_Title>"
      body: "$event in $queue: $tn"
      language: en           # the text's language (the desk's default when unset)
      translations:          # chosen by the recipient's language: an agent's, or the ticket's
        es: {subject: "Escalado: <OTRS_TICKET_Title>", body: "$event en $queue: $tn"}
      valid: true
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from tktctl.access import audit, permissions
from tktctl.core import lookup
from tktctl.core.language import language_tag
from tktctl.core.record import Record
from tktctl.core.vocabulary import NOTIFY_EVENTS, SENDERS, clean_line, clean_text
from tktctl.db.models import Group, NotificationRule, Role
from tktctl.errors import NotFoundError, UsageError
from tktctl.mail.translations import as_record, check_translations
from tktctl.tickets.selection import TicketFilter, filter_clauses

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

RECIPIENTS = ("owner", "responsible", "watchers", "queue_subscribers", "customer")
KEYS = (
    "name",
    "events",
    "filter",
    "recipients",
    "agents",
    "groups",
    "roles",
    "article_sender",
    "include_article",
    "subject",
    "body",
    "language",
    "translations",
    "valid",
)


def _names(rule: dict[str, Any], key: str, allowed: Sequence[str] | None = None) -> list[str]:
    value = rule.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"notification rule {rule.get('name')!r}: {key} must be a list of names")
    if allowed is not None:
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise UsageError(
                f"notification rule {rule.get('name')!r}: unknown {key} {unknown[0]!r}; "
                f"choose from {', '.join(allowed)}"
            )
    return list(dict.fromkeys(value))


def check(document: Any) -> dict[str, Any]:
    """One rule, checked and normalised (names are resolved when it is stored)."""
    if not isinstance(document, dict):
        raise UsageError("a notification rule must be a mapping (see `tktctl notification dump`)")
    unknown = sorted(set(map(str, document)) - set(KEYS))
    if unknown:
        raise UsageError(f"notification rule: unknown key {unknown[0]!r}; known: {', '.join(KEYS)}")
    name = document.get("name")
    if not isinstance(name, str):
        raise UsageError("notification rule: name is required")
    clean_line("notification rule name", name, limit=200, required=True)
    rule: dict[str, Any] = {"name": name}
    rule["events"] = _names(document, "events", NOTIFY_EVENTS)
    if not rule["events"]:
        raise UsageError(f"notification rule {name!r}: events are required ({', '.join(NOTIFY_EVENTS)})")
    selection = document.get("filter") or {}
    if not isinstance(selection, dict):
        raise UsageError(f"notification rule {name!r}: filter must be a mapping of `ticket list` filters")
    rule["filter"] = selection
    ticket_filter(name, selection)
    rule["recipients"] = _names(document, "recipients", RECIPIENTS)
    for key in ("agents", "groups", "roles"):
        rule[key] = _names(document, key)
    if not any(rule[k] for k in ("recipients", "agents", "groups", "roles")):
        raise UsageError(f"notification rule {name!r}: give recipients, agents, groups or roles")
    rule["article_sender"] = _names(document, "article_sender", SENDERS)
    for key in ("include_article", "valid"):
        value = document.get(key, key == "valid")
        if not isinstance(value, bool):
            raise UsageError(f"notification rule {name!r}: {key} must be true or false")
        rule[key] = value
    for key, default in (("subject", "$event: $title"), ("body", "$event in queue $queue\n\nTicket: $tn\n")):
        value = document.get(key, default)
        if not isinstance(value, str):
            raise UsageError(f"notification rule {name!r}: {key} must be text")
        clean_text(f"notification rule {key}", value, limit=1000 if key == "subject" else 100_000)
        rule[key] = value
    if document.get("language") is not None:
        rule["language"] = language_tag(str(document["language"]), f"notification rule {name!r}: language")
    texts = check_translations(f"notification rule {name!r}", document.get("translations"), 1000)
    if texts:
        rule["translations"] = as_record(texts)
    return rule


def ticket_filter(name: str, selection: dict[str, Any]) -> Any:

    fields = TicketFilter.__dataclass_fields__
    values: dict[str, Any] = {}
    for key, value in selection.items():
        field = str(key).replace("-", "_")
        if field not in fields:
            raise UsageError(f"notification rule {name!r}: unknown filter {key!r}; known: {', '.join(sorted(fields))}")
        if isinstance(fields[field].default, tuple):
            values[field] = tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)
        else:
            values[field] = None if value is None else str(value)
    return TicketFilter(**values)


def _resolve(unit: Unit, rule: dict[str, Any]) -> None:
    """Unknown queues, states, agents, groups and roles are not-found errors (exit 3) when stored."""

    filter_clauses(unit, ticket_filter(rule["name"], rule["filter"]), visible=False)
    for login in rule["agents"]:
        lookup.agent(unit, login)
    for key, model in (("groups", Group), ("roles", Role)):
        found = set(unit.session.scalars(select(model.name).where(model.name.in_(rule[key]))))
        missing = [n for n in rule[key] if n not in found]
        if missing:
            raise NotFoundError(f"{key[:-1]} {missing[0]!r} not found", ref=missing[0])


DEFAULTS: dict[str, Any] = {
    "filter": {},
    "recipients": [],
    "agents": [],
    "groups": [],
    "roles": [],
    "article_sender": [],
    "include_article": False,
    "language": None,
    "translations": {},
    "valid": True,
}


def record(row: NotificationRule) -> Record:
    """The rule with every key (the shipped defaults leave the empty ones out)."""
    return {**DEFAULTS, **row.definition, "changed": row.changed}


def records(unit: Unit) -> list[Record]:
    """Every rule, by name: what `notification list` prints and `desk dump` writes."""
    return [record(r) for r in unit.session.scalars(select(NotificationRule).order_by(NotificationRule.name))]


def _save(unit: Unit, rule: dict[str, Any], row: NotificationRule | None) -> str:
    """Store one checked rule over its row (None: a new one); returns created, updated or unchanged."""
    _resolve(unit, rule)
    if row is None:
        unit.session.add(NotificationRule(name=rule["name"], definition=rule, created=unit.now, changed=unit.now))
        action = "created"
    elif check(row.definition) != rule:
        row.definition, row.changed = rule, unit.now
        action = "updated"
    else:
        return "unchanged"
    audit.record(unit, "create" if action == "created" else "update", "notification", rule["name"])
    return action


def apply(unit: Unit, documents: list[dict[str, Any]]) -> None:
    """Create or replace each rule a record describes (`desk apply`; the caller checks admin)."""
    for document in documents:
        rule = check(document)
        _save(unit, rule, unit.session.scalar(select(NotificationRule).where(NotificationRule.name == rule["name"])))
    unit.session.flush()


def prune_rules(unit: Unit, keep: set[str]) -> list[str]:
    """Delete the rules not kept (nothing refers to a rule); returns their names."""
    gone = sorted(set(unit.session.scalars(select(NotificationRule.name))) - keep)
    if gone:
        unit.session.execute(delete(NotificationRule).where(NotificationRule.name.in_(gone)))
    for name in gone:
        audit.record(unit, "delete", "notification", name)
    return gone


class NotificationRules:
    """The desk's notification rules (``desk.notifications``)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def list(self) -> list[Record]:
        with self.store.read() as unit:
            return records(unit)

    def dump(self) -> list[dict[str, Any]]:
        """The rules as `apply` reads them (no timestamps)."""
        return [{k: r[k] for k in KEYS if k in r} for r in self.list()]

    def apply(self, document: Any, *, dry_run: bool = False, prune: bool = False) -> list[Record]:
        """Create or replace rules by name (``prune``: delete the ones the document leaves out); admin only.

        ``document`` is a list of rules, one rule, or ``{"rules": [...]}``; returns each change
        (``action`` created, updated, unchanged or deleted) in one transaction.
        """
        if isinstance(document, dict) and set(document) == {"rules"}:
            document = document["rules"]
        items = document if isinstance(document, list) else [document]
        rules = [check(item) for item in items]
        names = [r["name"] for r in rules]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise UsageError(f"notification rule {twice!r} is given twice")
        with self.store.write(dry_run=dry_run) as unit:
            permissions.require_admin(unit)
            existing = {r.name: r for r in unit.session.scalars(select(NotificationRule))}
            results: list[Record] = [
                {"action": _save(unit, rule, existing.get(rule["name"])), "name": rule["name"]} for rule in rules
            ]
            if prune:
                results += [{"action": "deleted", "name": n} for n in prune_rules(unit, set(names))]
            unit.session.flush()
        return results

"""The desk's configuration as one document: ``desk dump`` writes it, ``desk apply`` brings a desk to it.

The document maps section names to lists of records, each record what the object's own
``list -o yaml`` prints; keys that only the desk sets (``id``, ``created``, ``changed``,
``password_set``) are ignored on the way in, so any dump or list applies back. A new kind of
configuration object joins by adding one :class:`Section` to :data:`SECTIONS`, in dependency
order: it is then dumped, applied, pruned and diffed like the others, and its own ``apply -f``
command is the same path with a one-section document.

Customers are not a section: they are the desk's data (people who write in, created by mail
and tickets, with their passwords), not its setup, and do not belong in a file kept in git.

A run is one transaction: every section is applied in order, then (with ``prune``) the objects
the document does not name are removed or disabled in reverse order, dependents first. What
changed is read off the dump before and after, so a dry run reports exactly what the real one
would do, and rolls it back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tktctl.access import acl, permissions
from tktctl.access.agents import Agents
from tktctl.access.groups import Groups, Roles
from tktctl.automation import jobs
from tktctl.core.record import Record
from tktctl.errors import UsageError
from tktctl.mail import autoresponses, filters, rules
from tktctl.setup import fields, queues, settings, textconfig
from tktctl.setup.texts import Salutations, Signatures, Templates
from tktctl.setup.types import TicketTypes
from tktctl.sla import calendars

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

# Set by the desk only: ignored in a document.
READ_ONLY = ("id", "created", "changed", "password_set")


@dataclass(frozen=True)
class Section:
    """One kind of configuration object: how to list it, apply records of it, and prune it."""

    name: str  # the document's key, e.g. "queues"
    kind: str  # one object's name in diffs, e.g. "queue"
    key: Callable[[Record], str]  # an object's identity within the section
    records: Callable[[Unit], list[Record]]  # every object, as its `list` prints it
    apply: Callable[[Unit, list[Record]], None]  # create or change the objects described
    prune: Callable[[Unit, set[str]], None]  # remove or disable every object not named
    identity: str = "name"  # the key a record must have (grants: none, see acl.apply_grants)


def _by(field: str) -> Callable[[Record], str]:
    return lambda record: str(record[field])


def _named(
    model: Callable[[Store], Any],
    name: str,
    kind: str,
    identity: str = "name",
    key: Callable[[Record], str] | None = None,
) -> Section:
    """A section whose functions are methods of a service object (groups, roles, agents, texts)."""
    return Section(
        name,
        kind,
        key or _by(identity),
        lambda unit: model(unit.store).records(unit),
        lambda unit, items: model(unit.store).apply(unit, items),
        lambda unit, keep: model(unit.store).prune(unit, keep),
        identity,
    )


ADDRESS_FUNCTIONS = (textconfig.address_records, textconfig.apply_addresses, textconfig.prune_addresses)

# In dependency order: what a record names exists before it is applied.
SECTIONS: tuple[Section, ...] = (
    Section("settings", "setting", _by("name"), settings.records, settings.apply, settings.prune),
    _named(Groups, "groups", "group"),
    _named(Agents, "agents", "agent", "login"),
    _named(Roles, "roles", "role"),
    Section("addresses", "address", _by("email"), *ADDRESS_FUNCTIONS, "email"),
    _named(Salutations, "salutations", "salutation", "", textconfig.text_key),
    _named(Signatures, "signatures", "signature", "", textconfig.text_key),
    Section("calendars", "calendar", _by("name"), calendars.records, calendars.apply, calendars.prune),
    Section("queues", "queue", _by("name"), queues.records, queues.apply, queues.prune),
    _named(TicketTypes, "types", "type"),
    Section(
        "autoresponses", "autoresponse", _by("name"), autoresponses.records, autoresponses.apply, autoresponses.prune
    ),
    _named(Templates, "templates", "template", "", textconfig.text_key),
    Section("grants", "grant", acl.grant_key, acl.grant_records, acl.apply_grants, acl.prune_grants, ""),
    Section("fields", "field", _by("name"), fields.records, fields.apply, fields.prune),
    Section("jobs", "job", _by("name"), jobs.records, jobs.apply, jobs.prune),
    Section("mail_filters", "mail_filter", _by("name"), filters.records, filters.apply, filters.prune),
    Section("notifications", "notification", _by("name"), rules.records, rules.apply, rules.prune_rules),
)
BY_NAME = {s.name: s for s in SECTIONS}


def _config(record: Record) -> Record:
    return {k: v for k, v in record.items() if k not in READ_ONLY}


def _dump(unit: Unit, sections: list[Section]) -> dict[str, dict[str, Record]]:
    return {s.name: {s.key(r): _config(r) for r in s.records(unit)} for s in sections}


def _items(section: Section, value: Any) -> list[Record]:
    """A section's records, validated as records (the section checks their keys and values)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise UsageError(f"{section.name} must be a list of records (as `desk dump` prints them)")
    items: list[Record] = []
    seen: set[str] = set()
    for number, raw in enumerate(value, start=1):
        if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
            raise UsageError(f"{section.name} item {number} must be a mapping")
        item = _config(raw)
        if section.identity and not (isinstance(item.get(section.identity), str) and item[section.identity]):
            raise UsageError(f"{section.name} item {number} needs a {section.identity}")
        if section.identity:
            if item[section.identity] in seen:
                raise UsageError(f"{section.name}: {item[section.identity]!r} is given twice")
            seen.add(item[section.identity])
        items.append(item)
    return items


def parse(document: Any) -> dict[str, list[Record]]:
    """The document's sections (in dependency order), each a list of records; mistakes are usage errors."""
    if not isinstance(document, dict):
        raise UsageError("a desk document must be a mapping of sections: " + ", ".join(BY_NAME))
    unknown = sorted(str(k) for k in document if k not in BY_NAME)
    if unknown:
        raise UsageError(f"unknown section {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    return {s.name: _items(s, document[s.name]) for s in SECTIONS if s.name in document}


def diff(section: Section, before: dict[str, Record], after: dict[str, Record]) -> list[Record]:
    """What changed in one section: ``{"kind", "name", "action", "changes": {key: {"from", "to"}}}``."""
    found: list[Record] = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        action = "create" if old is None else "remove" if new is None else "update"
        old, new = old or {}, new or {}
        changes = {
            k: {"from": old.get(k), "to": new.get(k)}
            for k in dict.fromkeys([*old, *new])
            if old.get(k) != new.get(k) and k != section.identity
        }
        found.append({"kind": section.kind, "name": name, "action": action, "changes": changes})
    return found


class DeskConfig:
    """``desk dump`` and ``desk apply``, and the ``apply -f`` of each configuration object."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def dump(self) -> dict[str, list[Record]]:
        """Every section's records without the keys the desk sets; applies back with no change."""
        with self.store.read() as unit:
            permissions.require_admin(unit)
            return {name: list(records.values()) for name, records in _dump(unit, list(SECTIONS)).items()}

    def apply(self, document: Any, *, dry_run: bool = False, prune: bool = False) -> list[Record]:
        """Bring the desk to the document in one transaction; returns what changed (or, dry, would).

        Sections the document leaves out are left alone; with ``prune``, objects of the given
        sections that it does not name are removed or disabled (see each section's prune).
        """
        wanted = parse(document)
        sections = [s for s in SECTIONS if s.name in wanted]
        with self.store.write(dry_run=dry_run) as unit:
            permissions.require_admin(unit)
            before = _dump(unit, list(SECTIONS))
            for section in sections:
                section.apply(unit, wanted[section.name])
            if prune:
                for section in reversed(sections):
                    section.prune(unit, {section.key(r) for r in wanted[section.name]})
            after = _dump(unit, list(SECTIONS))
            return [change for s in SECTIONS for change in diff(s, before[s.name], after[s.name])]

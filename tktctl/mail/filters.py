"""PostMaster filters, as Znuny's ``PostMaster::Filter::MatchDBSource``: the admin's rules for mail in.

Each filter has conditions (a header and a regular expression, matched case-insensitively,
or with ``not`` required not to match), values to set (``X-OTRS-*`` names: queue,
priority, state, owner, responsible, type, title, ignore, loop, custom fields ...), and a
stop flag. Every message runs through the valid filters in name order before it is routed,
trusted or not (the filters are the admin's rules, not the sender's). A filter fires when
every condition holds; a condition on a header the message lacks never holds, negated or
not (as in OTRS). A value may quote the first group of the last matching condition
(``[***]``) or a named group (``[** \\name **]``). After a filter that fires with ``stop``,
no further filter runs.

Perl's ``(?<name>...)`` named groups are accepted (as Python's ``(?P<name>...)``), so
filters exported from Znuny (``Admin::PostMasterFilter::Export``) apply as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from tktctl.access import audit, permissions
from tktctl.access.groups import existing
from tktctl.core.configcache import configuration
from tktctl.core.record import Record
from tktctl.core.vocabulary import clean_line, clean_text
from tktctl.db.models import PostmasterFilter
from tktctl.errors import NotFoundError, UsageError
from tktctl.mail.parse import canonical

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

KIND = "mail_filter"
# What a filter may set: X-OTRS-NAME or X-Tktctl-NAME (and the FollowUp- forms of the first group).
TICKET_FIELDS = ("queue", "priority", "state", "state-pendingtime", "owner", "responsible", "type", "title")
NEW_ONLY = ("ignore", "loop", "customer", "customeruser", "customerno")
SETTABLE = frozenset([*TICKET_FIELDS, *NEW_ONLY, *(f"followup-{f}" for f in TICKET_FIELDS), "followup-state-keep"])
DYNAMIC = ("dynamicfield-", "followup-dynamicfield-")
PATTERN_MAX = 1000
VALUE_MAX = 1000
APPLY_KEYS = ("name", "match", "set", "stop", "valid", "comment")
_PERL_GROUP = re.compile(r"\(\?<(?![=!])")
_PERL_BACKREF = re.compile(r"\\k<(\w+)>")
_CAPTURE = re.compile(r"\[\*\* \\(\w+) \*\*\]")


def pattern(value: str) -> re.Pattern[str]:
    """A condition's regular expression (Perl's named groups accepted); exit 2 when it does not compile."""
    translated = _PERL_BACKREF.sub(r"(?P=\1)", _PERL_GROUP.sub("(?P<", value))
    try:
        return re.compile(translated, re.IGNORECASE)
    except re.error as exc:
        raise UsageError(f"mail filter: bad regular expression {value!r}: {exc}") from exc


def settable(name: str) -> str:
    """A header a filter may set, checked (exit 2 names the ones it may); returned as given."""
    key = canonical(name)
    rest = key[len("x-otrs-") :] if key.startswith("x-otrs-") else None
    if rest is None or not (rest in SETTABLE or (rest.startswith(DYNAMIC) and rest not in DYNAMIC)):
        known = ", ".join(f"X-OTRS-{n.title()}" for n in sorted(SETTABLE))
        raise UsageError(
            f"mail filter cannot set {name!r}; it sets X-OTRS-* (or X-Tktctl-*) values: {known}, "
            "X-OTRS-DynamicField-NAME"
        )
    return name.strip()


@dataclass(frozen=True)
class Compiled:
    name: str
    stop: bool
    conditions: tuple[tuple[str, re.Pattern[str], bool], ...]
    sets: tuple[tuple[str, str], ...]


def compiled(rows: list[PostmasterFilter]) -> list[Compiled]:
    return [
        Compiled(
            r.name,
            r.stop,
            tuple((canonical(c["header"]), pattern(c["value"]), bool(c.get("not"))) for c in r.conditions),
            tuple((canonical(k), v) for k, v in r.sets.items()),
        )
        for r in rows
    ]


def load(unit: Unit) -> list[Compiled]:
    """The valid filters, in name order (as MatchDBSource runs them): a batch reads and compiles them
    again only after a configuration change."""
    return list(_valid(unit))


@configuration("mail_filters")
def _valid(unit: Unit) -> tuple[Compiled, ...]:
    rows = unit.session.scalars(
        select(PostmasterFilter).where(PostmasterFilter.valid.is_(True)).order_by(PostmasterFilter.name)
    ).all()
    return tuple(compiled(list(rows)))


def run(filters: list[Compiled], params: dict[str, str]) -> list[str]:
    """Apply the filters to the message's params (changed in place); returns the names of those that fired."""
    fired: list[str] = []
    for flt in filters:
        result, captures = "", {}
        for header, regex, negated in flt.conditions:
            value = params.get(header)
            if value is None:
                break
            found = regex.search(value)
            if bool(found) == negated:
                break
            if found is not None:
                result = found.group(1) or result if regex.groups else result
                captures.update({k: v for k, v in found.groupdict().items() if v is not None})
        else:
            if not flt.conditions:
                continue
            for key, value in flt.sets:
                value = value.replace("[***]", result, 1)
                params[key] = _CAPTURE.sub(lambda m, c=captures: c.get(m.group(1), ""), value)
            fired.append(flt.name)
            if flt.stop:
                break
    return fired


# Records ------------------------------------------------------------------------------------


def _record(row: PostmasterFilter) -> Record:
    return {
        "id": row.id,
        "name": row.name,
        "match": [{"header": c["header"], "value": c["value"], "not": bool(c.get("not"))} for c in row.conditions],
        "set": dict(row.sets),
        "stop": row.stop,
        "valid": row.valid,
        "comment": row.comment,
        "created": row.created,
        "changed": row.changed,
    }


def records(unit: Unit) -> list[Record]:
    """Every filter's record, by name: what ``mail filter list`` prints and ``desk dump`` writes."""
    return [_record(r) for r in unit.session.scalars(select(PostmasterFilter).order_by(PostmasterFilter.name))]


def _conditions(name: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise UsageError(f"mail filter {name!r}: match must be a non-empty list of {{header, value, not}}")
    found = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"header", "value", "not"}:
            raise UsageError(f"mail filter {name!r}: each match is {{header: NAME, value: REGEX, not: false}}")
        header, regex, negated = item.get("header"), item.get("value"), item.get("not", False)
        if not isinstance(header, str) or not isinstance(regex, str) or not isinstance(negated, bool):
            raise UsageError(f"mail filter {name!r}: match header and value are text, not is true or false")
        clean_line("match header", header, limit=200, required=True)
        clean_text("match value", regex, limit=PATTERN_MAX, required=True)
        pattern(regex)
        found.append({"header": header.strip(), "value": regex, "not": negated})
    return found


def _sets(name: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise UsageError(f"mail filter {name!r}: set must be a non-empty mapping of X-OTRS-* header to value")
    found: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or isinstance(item, (dict, list)) or item is None:
            raise UsageError(f"mail filter {name!r}: set maps a header name to one value")
        text = str(item).lower() if isinstance(item, bool) else str(item)
        clean_line(f"set {key}", text, limit=VALUE_MAX)
        found[settable(key)] = text
    return found


def from_znuny(document: dict[str, Any]) -> dict[str, Any]:
    """A filter as Znuny exports it (``Name``, ``StopAfterMatch``, ``Match``, ``Not``, ``Set``) in our keys."""

    def pairs(value: Any) -> list[tuple[Any, Any]]:
        if isinstance(value, dict):
            return list(value.items())
        return [(i.get("Key"), i.get("Value")) for i in value or [] if isinstance(i, dict)]

    negated = dict(pairs(document.get("Not")))
    return {
        "name": document.get("Name"),
        "stop": bool(int(document.get("StopAfterMatch") or 0)),
        "match": [{"header": k, "value": v, "not": bool(negated.get(k))} for k, v in pairs(document.get("Match"))],
        "set": dict(pairs(document.get("Set"))),
    }


def checked(document: dict[str, Any], existing: PostmasterFilter | None = None) -> dict[str, Any]:
    """A record's wanted values, validated; a new filter needs match and set."""
    if "Name" in document:
        document = from_znuny(document)
    unknown = sorted(set(document) - set(APPLY_KEYS))
    if unknown:
        raise UsageError(f"unknown mail filter key {', '.join(unknown)}; known: {', '.join(APPLY_KEYS)}")
    name = document.get("name")
    if not isinstance(name, str):
        raise UsageError("a mail filter needs a name")
    clean_line("name", name, limit=200, required=True)
    wanted: dict[str, Any] = {}
    if "match" in document or existing is None:
        wanted["conditions"] = _conditions(name, document.get("match"))
    if "set" in document or existing is None:
        wanted["sets"] = _sets(name, document.get("set"))
    for key in ("stop", "valid"):
        if key in document:
            if not isinstance(document[key], bool):
                raise UsageError(f"mail filter {name!r}: {key} must be true or false")
            wanted[key] = document[key]
    if "comment" in document:
        comment = document["comment"]
        if comment is not None and not isinstance(comment, str):
            raise UsageError(f"mail filter {name!r}: comment must be text")
        clean_line("comment", comment, limit=250)
        wanted["comment"] = comment
    return {"name": name, **wanted}


def _get(unit: Unit, name: str) -> PostmasterFilter:
    found = unit.session.scalar(select(PostmasterFilter).where(PostmasterFilter.name == name))
    if found is None:
        raise NotFoundError(f"mail filter {name!r} not found", ref=name)
    return found


def _save(unit: Unit, wanted: dict[str, Any], existing: PostmasterFilter | None) -> PostmasterFilter:
    """Create or change one filter, audited; nothing is written (nor audited) when nothing changes."""
    name = wanted.pop("name")
    if existing is None:
        row = PostmasterFilter(
            name=name, created=unit.now, changed=unit.now, **{"stop": False, "valid": True, **wanted}
        )
        unit.session.add(row)
        unit.session.flush()
        audit.record(unit, "create", KIND, name, **_audited(_record(row)))
        return row
    differing = {k: v for k, v in wanted.items() if getattr(existing, k) != v}
    for key, value in differing.items():
        setattr(existing, key, value)
    if differing:
        existing.changed = unit.now
        unit.session.flush()
        audit.record(unit, "update", KIND, name, **_audited({**differing}))
    return existing


def _audited(values: dict[str, Any]) -> dict[str, Any]:
    keys = {"conditions": "match", "sets": "set"}
    return {keys.get(k, k): v for k, v in values.items() if k not in ("id", "name", "created", "changed")}


def apply(unit: Unit, documents: list[dict[str, Any]]) -> None:
    """Create or change each filter a record describes (``desk apply``, ``mail filter apply``)."""
    for document in documents:
        name = document.get("name", document.get("Name"))
        existing = unit.session.scalar(select(PostmasterFilter).where(PostmasterFilter.name == name))
        _save(unit, checked(document, existing), existing)


def prune(unit: Unit, keep: set[str]) -> None:
    """Delete the filters not kept (nothing refers to a filter)."""
    for row in unit.session.scalars(select(PostmasterFilter).where(PostmasterFilter.name.not_in(keep))):
        audit.record(unit, "delete", KIND, row.name)
        unit.session.execute(delete(PostmasterFilter).where(PostmasterFilter.id == row.id))


def parse_pairs(items: list[str] | None, what: str) -> list[tuple[str, str]]:
    """``HEADER=VALUE`` options (the first ``=`` splits; a regex may hold more)."""
    pairs = []
    for item in items or []:
        header, sep, value = item.partition("=")
        if not sep or not header.strip():
            raise UsageError(f"{what} takes HEADER=VALUE, not {item!r}")
        pairs.append((header.strip(), value))
    return pairs


def _match_list(match: list[tuple[str, str]], not_match: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Conditions from ``--match`` and ``--not-match`` pairs, the matches first."""
    pairs = [(h, v, False) for h, v in match] + [(h, v, True) for h, v in not_match]
    return [{"header": h, "value": v, "not": negated} for h, v, negated in pairs]


class MailFilters:
    """``mail filter ...``: admins only (the rules route every message)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(
        self,
        name: str,
        *,
        match: list[tuple[str, str]] = (),  # type: ignore[assignment]
        not_match: list[tuple[str, str]] = (),  # type: ignore[assignment]
        set: dict[str, str] | None = None,
        stop: bool = False,
        comment: str | None = None,
        if_not_exists: bool = False,
    ) -> Record:
        conditions = _match_list(match, not_match)
        document = {"name": name, "match": conditions, "set": set or {}, "stop": stop, "comment": comment}
        wanted = checked(document)
        with self.store.write() as unit:
            permissions.require_admin(unit)
            found = existing(unit, PostmasterFilter.name, name, "mail filter", if_not_exists=if_not_exists)
            return _record(found if found is not None else _save(unit, wanted, None))

    def update(
        self,
        name: str,
        *,
        match: list[tuple[str, str]] | None = None,
        not_match: list[tuple[str, str]] | None = None,
        set: dict[str, str] | None = None,
        stop: bool | None = None,
        comment: str | None = None,
        valid: bool | None = None,
    ) -> Record:
        """Change a filter; ``match``/``not_match`` (together) and ``set`` replace what it had."""
        document: dict[str, Any] = {"name": name}
        if match is not None or not_match is not None:
            document["match"] = _match_list(match or [], not_match or [])
        if set is not None:
            document["set"] = set
        if stop is not None:
            document["stop"] = stop
        if comment is not None:
            document["comment"] = comment or None
        if valid is not None:
            document["valid"] = valid
        with self.store.write() as unit:
            permissions.require_admin(unit)
            existing = _get(unit, name)
            return _record(_save(unit, checked(document, existing), existing))

    def disable(self, name: str) -> Record:
        """A disabled filter stays (``update``/``apply`` with valid: true brings it back) but runs no more."""
        with self.store.write() as unit:
            permissions.require_admin(unit)
            existing = _get(unit, name)
            return _record(_save(unit, {"name": name, "valid": False}, existing))

    def delete(self, name: str) -> Record:
        with self.store.write() as unit:
            permissions.require_admin(unit)
            row = _get(unit, name)
            record = _record(row)
            audit.record(unit, "delete", KIND, name)
            unit.session.execute(delete(PostmasterFilter).where(PostmasterFilter.id == row.id))
            return record

    def list(self) -> list[Record]:
        with self.store.read() as unit:
            permissions.require_admin(unit)
            return records(unit)

    def show(self, name: str) -> Record:
        with self.store.read() as unit:
            permissions.require_admin(unit)
            return _record(_get(unit, name))

    def dump(self) -> list[dict[str, Any]]:
        """Every filter without the keys the desk sets: what ``mail filter apply -f`` reads back."""
        drop = ("id", "created", "changed")
        return [{k: v for k, v in r.items() if k not in drop} for r in self.list()]

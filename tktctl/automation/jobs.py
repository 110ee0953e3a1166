"""Saved jobs, after OTRS's Generic Agent: a ticket filter plus actions, from YAML.

A job is a mapping::

    name: raise-stale
    filter: {queue: "Tier 1", state-type: open, changed-before: 3d}
    actions: {priority: "+1", move: "Tier 2", note: "raised by the stale-ticket job"}

Filter keys are the ``ticket list`` filter flags (``queue``, ``state``, ``state-type``,
``priority``, ``owner``, ``lock``, ``customer``, ``title``, ``created-before|after``,
``changed-before|after``); actions are ``priority`` (``+N``, ``-N``, ``=N`` or a priority),
``move`` (queue), ``state`` (with ``pending-until`` for pending states), ``owner`` (login),
``lock`` (``locked``/``unlocked``), ``note`` (an internal note) and ``fields`` (custom fields,
``{env: prod, cost: ""}``; empty clears). The filter takes ``field: ["env=prod", "cost>10"]``.

Named jobs live in the database's ``job`` table (so every host running cron against the
desk sees the same jobs, and they follow the profile's ``db``); ``job run FILE`` runs a
file without storing it. A run is one transaction under the job's lock: the selection,
every action and every history row commit together, and a second run of the same job
waits for the first. Like the Generic Agent, a job acts on locked tickets too (it is
the desk's own automation); it checks the acting agent's permissions as the verbs do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from tktctl.access import permissions
from tktctl.core import joblock, lookup
from tktctl.core.fieldtypes import check_name
from tktctl.core.lookup import TICKET_ROW_COLUMNS, TicketRow
from tktctl.core.record import Record
from tktctl.core.vocabulary import clean_line, clean_text, parse_priority
from tktctl.db.models import Job, Ticket
from tktctl.errors import NotFoundError, UsageError
from tktctl.tickets import changes
from tktctl.tickets import fields as custom_fields
from tktctl.tickets.attach import notes_written
from tktctl.tickets.selection import TicketFilter, filter_clauses

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

JOB_KEYS = ("name", "filter", "actions")
ACTIONS = ("priority", "move", "state", "pending-until", "owner", "lock", "note", "fields")
_STEPS = re.compile(r"^([+-])(\d+)$")


def _filter_fields() -> tuple[str, ...]:

    return tuple(f.name.replace("_", "-") for f in fields(TicketFilter))


def check(document: Any) -> dict[str, Any]:
    """Validate a job definition (before any query); returns it with plain values."""
    if not isinstance(document, Mapping):
        raise UsageError("a job must be a YAML mapping with name, filter and actions")
    unknown = sorted(set(document) - set(JOB_KEYS))
    if unknown:
        raise UsageError(f"unknown job key {', '.join(unknown)}; known: {', '.join(JOB_KEYS)}")
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise UsageError("a job needs a name")
    clean_line("job name", name, limit=200)
    selection = document.get("filter") or {}
    actions = document.get("actions") or {}
    if not isinstance(selection, Mapping) or not isinstance(actions, Mapping):
        raise UsageError(f"job {name!r}: filter and actions must be mappings")
    bad = sorted(set(selection) - set(_filter_fields()))
    if bad:
        raise UsageError(f"job {name!r}: unknown filter {', '.join(bad)}; filters: {', '.join(_filter_fields())}")
    bad = sorted(set(actions) - set(ACTIONS))
    if bad:
        raise UsageError(f"job {name!r}: unknown action {', '.join(bad)}; actions: {', '.join(ACTIONS)}")
    if not actions:
        raise UsageError(f"job {name!r} has no actions")
    if not selection:
        raise UsageError(f"job {name!r} has no filter; a job never acts on every ticket by accident")
    if "priority" in actions:
        _priority(actions["priority"])
    if "lock" in actions and str(actions["lock"]) not in ("locked", "unlocked"):
        raise UsageError(f"job {name!r}: lock must be locked or unlocked")
    if "note" in actions:
        clean_text("note", str(actions["note"]), required=True)
    plain = {k: str(v) for k, v in actions.items() if k != "fields"}
    if "fields" in actions:
        plain["fields"] = _fields(name, actions["fields"])
    return {"name": name, "filter": dict(selection), "actions": plain}


def _fields(job: str, values: Any) -> dict[str, str]:
    """The ``fields`` action: field names to values as text (a list is a multiselect's a,b)."""

    if not isinstance(values, Mapping) or not values:
        raise UsageError(f"job {job!r}: fields must be a mapping of field names to values")
    plain = {}
    for key, value in values.items():
        text = ",".join(map(str, value)) if isinstance(value, list) else "" if value is None else str(value)
        plain[check_name(key)] = text
    return plain


def _priority(value: Any) -> tuple[int | None, int]:
    """``+1``/``-2`` -> (None, steps); ``=3``, ``3`` or ``high`` -> (3, 0)."""
    text = str(value).strip()
    match = _STEPS.match(text)
    if match:
        return None, int(match[2]) * (1 if match[1] == "+" else -1)
    return parse_priority(text.removeprefix("=")), 0


def ticket_filter(selection: Mapping[str, Any]) -> TicketFilter:

    values: dict[str, Any] = {}
    for key, value in selection.items():
        field = key.replace("-", "_")
        many = isinstance(TicketFilter.__dataclass_fields__[field].default, tuple)
        if many:
            values[field] = tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)
        else:
            values[field] = None if value is None else str(value)
    return TicketFilter(**values)


def _record(job: Job) -> Record:
    return {**job.definition, "changed": job.changed}


def records(unit: Unit) -> list[Record]:
    """Every saved job's record, by name: what ``job list`` prints and ``desk dump`` writes."""
    return [_record(j) for j in unit.session.scalars(select(Job).order_by(Job.name))]


def _save(unit: Unit, definition: dict[str, Any]) -> Job:
    """Store a checked definition (create or replace by name); an unchanged one is left as it is."""
    job = unit.session.scalar(select(Job).where(Job.name == definition["name"]))
    if job is None:
        job = Job(name=definition["name"], created=unit.now)
        unit.session.add(job)
    elif job.definition == definition:
        return job
    job.definition = definition
    job.changed = unit.now
    unit.session.flush()
    return job


def apply(unit: Unit, documents: list[dict[str, Any]]) -> None:
    """Save each job a record describes."""
    for definition in [check(d) for d in documents]:
        _save(unit, definition)


def prune(unit: Unit, keep: set[str]) -> None:
    """Delete the saved jobs not kept (a job is a definition; nothing refers to it)."""
    unit.session.execute(delete(Job).where(Job.name.not_in(keep)))


class Jobs:
    def __init__(self, store: Store) -> None:
        self.store = store

    def list(self) -> list[Record]:
        """Admins only, as OTRS's Generic Agent: a job's filter and actions are the desk's automation."""
        with self.store.read() as unit:
            permissions.require_admin(unit)
            return records(unit)

    def show(self, name: str) -> Record:
        with self.store.read() as unit:
            permissions.require_admin(unit)
            return _record(_get(unit, name))

    def save(self, document: Any) -> Record:
        """Store a job (create or replace by name)."""
        definition = check(document)
        with self.store.write() as unit:
            permissions.require_admin(unit)
            return _record(_save(unit, definition))

    def delete(self, name: str) -> Record:
        with self.store.write() as unit:
            permissions.require_admin(unit)
            job = _get(unit, name)
            record = _record(job)
            unit.session.delete(job)
            return record

    def run(self, name: str | None = None, *, document: Any = None, dry_run: bool = False) -> list[Record]:
        """Run a stored job by name, or a definition given as ``document``; one result per change."""
        with self.store.write(dry_run=dry_run) as unit:
            definition = check(document) if document is not None else _get(unit, name or "").definition
            joblock.hold(unit, f"job:{definition['name']}")
            return _run(unit, definition)


def _get(unit: Unit, name: str) -> Job:
    job = unit.session.scalar(select(Job).where(Job.name == name))
    if job is None:
        raise NotFoundError(f"job {name!r} not found (see `tktctl job list`)", ref=name)
    return job


def _run(unit: Unit, definition: dict[str, Any]) -> list[Record]:

    job, actions = definition["name"], definition["actions"]
    where = filter_clauses(unit, ticket_filter(definition["filter"]))
    statement = select(*TICKET_ROW_COLUMNS).where(*where).order_by(Ticket.id).with_for_update()
    rows = [TicketRow(*r) for r in unit.session.execute(statement)]
    results: list[Record] = []
    if not rows:
        return results
    groups = lookup.group_ids(unit, rows)

    def chosen(some: list[Any]) -> Any:
        return changes.Selected.of([r.id for r in some])

    if not permissions.is_admin(unit):  # only the desk's own automation overrides others' locks
        changes.guard_locks(unit, chosen(rows))

    def note(action: str, changed: list[Any], old: Any, new: Any) -> None:
        results.extend({"tn": r.tn, "job": job, "action": action, "from": old(r), "to": new(r)} for r in changed)

    if "priority" in actions:
        permissions.require(unit, "priority", groups)
        absolute, steps = _priority(actions["priority"])
        new = {r.id: absolute or min(5, max(1, r.priority_id + steps)) for r in rows}
        changed = [r for r in rows if new[r.id] != r.priority_id]
        if changed:
            changes.set_priorities(unit, chosen(changed), absolute, steps)
        note("priority", changed, lambda r: r.priority_id, lambda r: new[r.id])
    if "move" in actions:
        target = lookup.queue(unit, actions["move"], for_write=True)
        permissions.require(unit, "move_into", [target.group_id])
        names = lookup.queues(unit)
        moved = [r for r in rows if r.queue_id != target.id]
        if moved:
            changes.move(unit, chosen(moved), target.id, job=job)
        note("move", moved, lambda r: names[r.queue_id].name, lambda r: target.name)
        rows = [r._replace(queue_id=target.id) for r in rows]  # later history rows name the new queue
    if "state" in actions:
        permissions.require(unit, "rw", groups)
        until = unit.parse_time(actions.get("pending-until"))
        state = changes.target_state(unit, actions["state"], until)
        states = lookup.states(unit)
        changing = [r for r in rows if r.state_id != state.id]
        changes.set_state(unit, chosen(rows), state, until)
        note("state", changing, lambda r: states[r.state_id].name, lambda r: state.name)
    if "owner" in actions:
        permissions.require(unit, "owner", groups)
        agent = lookup.agent(unit, actions["owner"], for_write=True)
        changing = [r for r in rows if r.owner_id != agent.id]
        old = lookup.logins(unit, [r.owner_id for r in changing])
        if changing:
            changes.apply(unit, chosen(changing), {"owner_id": agent.id}, [])
            changes.add_history(
                unit,
                [(r.id, "OwnerUpdate", r.queue_id, {"from": old[r.owner_id], "to": agent.login}) for r in changing],
            )
        note("owner", changing, lambda r: old[r.owner_id], lambda r: agent.login)
    if "lock" in actions:
        permissions.require(unit, "owner", groups)
        locking = actions["lock"] == "locked"
        changing = [r for r in rows if r.locked != locking]
        if changing:
            changes.apply(unit, chosen(changing), {"locked": locking}, [])
            word = ("unlock", "lock")
            kind = "Lock" if locking else "Unlock"
            changes.add_history(
                unit,
                [
                    (r.id, kind, r.queue_id, {"from": word[not locking], "to": word[locking], "job": job})
                    for r in changing
                ],
            )
        note("lock", changing, lambda r: "unlocked" if locking else "locked", lambda r: actions["lock"])
    if "note" in actions:
        permissions.require(unit, "note", groups)
        changes.add_notes(unit, chosen(rows), actions["note"], subject=f"Job {job}", visible=False)
        notes_written(unit, chosen(rows), ())
        note("note", rows, lambda r: None, lambda r: actions["note"])
    if "fields" in actions:
        _set_fields(unit, rows, groups, actions["fields"], note)
    return results


def _set_fields(unit: Unit, rows: list[TicketRow], groups: Any, values: dict[str, str], note: Any) -> None:
    """The ``fields`` action, as `ticket set` (``rw``): one result per ticket and field that changed."""

    parsed = custom_fields.parse(unit, values)
    permissions.require(unit, "rw", groups)
    ids = [r.id for r in rows]
    before = custom_fields.values_of(unit, ids)
    custom_fields.write(unit, changes.Selected.of(ids), parsed)
    after = custom_fields.values_of(unit, ids)
    for info, _ in parsed:
        old = {r.id: before.get(r.id, {}).get(info.name) for r in rows}
        new = {r.id: after.get(r.id, {}).get(info.name) for r in rows}
        changed = [r for r in rows if old[r.id] != new[r.id]]
        note(f"field.{info.name}", changed, lambda r, old=old: old[r.id], lambda r, new=new: new[r.id])

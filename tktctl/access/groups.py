"""Groups and roles: named, commented, disable-able objects that permissions hang on.

Both are managed the same way (admins only, every change audited); a role also has member
agents. The functions taking a ``Unit`` are shared with ``acl apply``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from sqlalchemy import delete, insert, select

from tktctl.access import audit, permissions
from tktctl.core import lookup
from tktctl.core.prepared import named
from tktctl.core.record import Record
from tktctl.core.vocabulary import clean_line, clean_text
from tktctl.db.models import Agent, Group, Role, RoleAgent
from tktctl.errors import ConflictError, NotFoundError, UsageError

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

M = TypeVar("M", bound=Any)  # a model with name, comment, valid, created and changed
UNSET: Any = object()


def check_name(kind: str, name: str, limit: int = 200) -> str:
    clean_line(f"{kind} name", name, limit=limit, required=True)
    if name != name.strip():
        raise UsageError(f"{kind} name must not start or end with spaces")
    return name


def apply_changes(unit: Unit, row: Any, kind: str, name: str, /, **wanted: Any) -> list[Record]:
    """Set the attributes that differ; one audited ``update`` (or ``disable``/``enable``) each kind."""
    changes: list[Record] = []
    valid = wanted.pop("valid", None)
    differing = {k: v for k, v in wanted.items() if getattr(row, k) != v}
    if differing:
        changes.append(
            audit.record(
                unit, "update", kind, name, **{k: {"from": getattr(row, k), "to": v} for k, v in differing.items()}
            )
        )
        for key, value in differing.items():
            setattr(row, key, value)
    if valid is not None and row.valid != valid:
        row.valid = valid
        changes.append(audit.record(unit, "enable" if valid else "disable", kind, name))
    if changes:
        row.changed = unit.now
        unit.session.flush()
    return changes


def mapping(value: Any, where: str) -> dict[str, Any]:
    """A YAML mapping of names (None: empty), else a usage error naming where it is."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise UsageError(f"{where} must be a mapping of names")
    return value


def check_item(where: str, raw: Any, keys: set[str]) -> dict[str, Any]:
    """One group or role of a document: only ``keys``, a boolean ``valid``, a text ``comment``, logins."""
    item = dict(mapping(raw, where))
    extra = sorted(set(item) - keys)
    if extra:
        raise UsageError(f"{where}: unknown key {', '.join(extra)}; known: {', '.join(sorted(keys))}")
    if "valid" in item and not isinstance(item["valid"], bool):
        raise UsageError(f"{where}.valid must be true or false")
    if "comment" in item and item["comment"] is not None and not isinstance(item["comment"], str):
        raise UsageError(f"{where}.comment must be text")
    if "agents" in item:
        agents = item["agents"] or []
        if not isinstance(agents, list) or not all(isinstance(a, str) for a in agents):
            raise UsageError(f"{where}.agents must be a list of logins")
        item["agents"] = agents
    return item


def existing(unit: Unit, column: Any, value: str, kind: str, *, if_not_exists: bool) -> Any | None:
    """For a rerunnable create: the row named ``value`` with ``if_not_exists``, else a conflict if it exists."""
    row = unit.session.scalar(select(column.class_).where(column == value))
    if row is not None and not if_not_exists:
        raise ConflictError(f"{kind} {value!r} already exists", ref=value)
    return row


class Named(Generic[M]):
    """Create, list, show, update, disable and enable one kind of named object."""

    model: type[M]
    kind: str
    name_limit: ClassVar[int] = 200
    # What a record sets besides its key; a kind adds its own (a text's body).
    value_keys: ClassVar[tuple[str, ...]] = ("comment",)
    # Values too long for the audit entry of a create (a later change of one is audited).
    unaudited: ClassVar[tuple[str, ...]] = ()

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, unit: Unit, row: M) -> Record:
        return {
            "id": row.id,
            "name": row.name,
            "comment": row.comment,
            "valid": row.valid,
            "created": row.created,
            "changed": row.changed,
        }

    # The columns that tell one object from another; a text has a variant per language (setup/texts.py).
    key_columns: ClassVar[tuple[str, ...]] = ("name",)

    def key(self, unit: Unit, item: Mapping[str, Any]) -> tuple[Any, ...]:
        """The key a record or a caller gives (a kind may fill in a default: a text, the desk's language)."""
        return tuple(item.get(column) for column in self.key_columns)

    def label(self, key: Sequence[Any]) -> Any:
        """How messages, audit entries and desk documents name one object: by its name. Also an SQL
        expression, given the key columns (:meth:`prune`)."""
        return key[0]

    def quoted(self, key: Sequence[Any]) -> str:
        """The label with the name quoted, for messages."""
        return str(self.label((repr(key[0]), *key[1:])))

    def row_key(self, row: Any) -> tuple[Any, ...]:
        """The key of a row (or, given the model, its key columns)."""
        return tuple(getattr(row, column) for column in self.key_columns)

    def find(self, unit: Unit, key: Sequence[Any]) -> M | None:
        """The object with exactly this key, or None (as every lookup by name: prepared.named)."""
        return named(unit.session, self.model, **dict(zip(self.key_columns, key, strict=True)))

    def get(self, unit: Unit, name: str, **key: Any) -> M:
        """The object named; ``key``: the other key columns (a text's ``language``)."""
        full = self.key(unit, {"name": name, **key})
        found = self.find(unit, full)
        if found is None:
            raise NotFoundError(f"{self.kind} {self.quoted(full)} not found", ref=name)
        return found

    def check(self, values: Mapping[str, Any]) -> None:
        """Usage errors before any write: the comment (a kind checks its own values too)."""
        if values.get("comment") is not None:
            clean_text("comment", values["comment"], limit=250)

    def ensure(self, unit: Unit, item: Mapping[str, Any]) -> list[Record]:
        """Create the object ``item`` names (its key columns), or bring an existing one to the item's
        values and ``valid``; the audit entries made."""
        key = self.key(unit, item)
        check_name(self.kind, key[0], self.name_limit)
        wanted = {k: item[k] for k in self.value_keys if k in item}
        self.check(wanted)
        valid = item.get("valid")
        row = self.find(unit, key)
        if row is not None:
            return apply_changes(unit, row, self.kind, self.label(key), valid=valid, **wanted)
        values = self.new_values(key, wanted)
        valid = True if valid is None else valid
        keys = dict(zip(self.key_columns, key, strict=True))
        unit.session.add(self.model(**keys, **values, valid=valid, created=unit.now, changed=unit.now))
        unit.session.flush()
        audited = {k: v for k, v in values.items() if k not in self.unaudited}
        variant = dict(zip(self.key_columns[1:], key[1:], strict=True))  # a text's language
        return [audit.record(unit, "create", self.kind, key[0], **variant, **audited, valid=valid)]

    def new_values(self, key: Sequence[Any], wanted: dict[str, Any]) -> dict[str, Any]:
        """A new object's values: those given, None for the others (a kind may require or default one)."""
        return {k: wanted.get(k) for k in self.value_keys}

    def create(self, name: str, *, comment: str | None = None, if_not_exists: bool = False, **values: Any) -> Record:
        """A new object (``values``: its other key columns and values); ``if_not_exists``: an existing one as it is."""
        item = {"name": name, "comment": comment, **values}
        check_name(self.kind, name, self.name_limit)
        self.check(item)
        with self.store.write() as unit:
            permissions.require_admin(unit)
            key = self.key(unit, item)
            found = self.find(unit, key)
            if found is not None:
                if not if_not_exists:
                    raise ConflictError(f"{self.kind} {self.quoted(key)} already exists", ref=name)
                return self.record(unit, found)
            self.ensure(unit, item)
            self.after_write(unit, name, item)
            return self.record(unit, self.get(unit, **dict(zip(self.key_columns, key, strict=True))))

    def after_write(self, unit: Unit, name: str, extra: dict[str, Any]) -> None:
        """What a kind sets beyond its row on a create or update (templates: the queues offering it)."""

    def list(self, **where: Any) -> list[Record]:
        """Every object, or those with the key column values given (not None)."""
        with self.store.read() as unit:
            return self.records(unit, **where)

    # What `desk dump` / `desk apply` do with this kind, in the caller's transaction.
    apply_keys: ClassVar[set[str]] = {"name", "comment", "valid"}

    def records(self, unit: Unit, **where: Any) -> list[Record]:
        statement = (
            select(self.model)
            .where(*[getattr(self.model, c) == v for c, v in where.items() if v is not None])
            .order_by(*self.row_key(self.model))
        )
        return [self.record(unit, r) for r in unit.session.scalars(statement)]

    def apply(self, unit: Unit, documents: list[dict[str, Any]]) -> None:
        """Create each object a record describes, or bring it to the record."""
        for document in documents:
            if not isinstance(document.get("name"), str):
                raise UsageError(f"every {self.kind} record needs a name")
            item = check_item(f"{self.kind} {document['name']}", document, self.apply_keys)
            self.put(unit, item)
            self.apply_more(unit, item)

    def put(self, unit: Unit, item: dict[str, Any]) -> None:
        """Create the object a checked record describes, or bring it to the record."""
        self.ensure(unit, item)

    def apply_more(self, unit: Unit, item: dict[str, Any]) -> None:
        """What a kind's record sets beyond its row (by default, nothing)."""

    def prune(self, unit: Unit, keep: set[str]) -> None:
        """Disable the enabled objects not kept (their labels), chosen in SQL: never deleted, as grants,
        history or queues refer to them."""
        label = self.label(self.row_key(self.model))
        statement = select(self.model).where(self.model.valid.is_(True), label.not_in(sorted(keep)))
        for row in unit.session.scalars(statement).all():
            apply_changes(unit, row, self.kind, self.label(self.row_key(row)), valid=False)

    def show(self, name: str, **key: Any) -> Record:
        with self.store.read() as unit:
            return self.record(unit, self.get(unit, name, **key))

    def update(self, name: str, *, comment: Any = UNSET, new_name: str | None = None) -> Record:
        """Change the comment (None clears it) or the name."""
        if comment is not UNSET:
            clean_text("comment", comment, limit=250)
        with self.store.write() as unit:
            permissions.require_admin(unit)
            row = self.get(unit, name)
            wanted: dict[str, Any] = {} if comment is UNSET else {"comment": comment}
            if new_name is not None and new_name != name:
                check_name(self.kind, new_name, self.name_limit)
                if unit.session.scalar(select(self.model.id).where(self.model.name == new_name)) is not None:
                    raise ConflictError(f"{self.kind} {new_name!r} already exists", ref=new_name)
                wanted["name"] = new_name
            apply_changes(unit, row, self.kind, name, **wanted)
            return self.record(unit, row)

    def set_valid(self, name: str, valid: bool, **key: Any) -> Record:
        """Disable (or enable) it: a disabled group or role grants nothing, and comes back as it was.
        ``key``: the other key columns (a text's ``language``)."""
        with self.store.write() as unit:
            permissions.require_admin(unit)
            row = self.get(unit, name, **key)
            apply_changes(unit, row, self.kind, self.label(self.row_key(row)), valid=valid)
            return self.record(unit, row)


class Groups(Named[Group]):
    model = Group
    kind = "group"


class Roles(Named[Role]):
    model = Role
    kind = "role"

    apply_keys: ClassVar[set[str]] = {*Named.apply_keys, "agents"}

    def record(self, unit: Unit, row: Role) -> Record:
        return {**super().record(unit, row), "agents": members(unit, row.id)}

    def apply_more(self, unit: Unit, item: dict[str, Any]) -> None:
        if "agents" in item:
            set_members(unit, self.get(unit, item["name"]), item["agents"])

    def add_agents(self, name: str, logins: list[str]) -> Record:
        with self.store.write() as unit:
            permissions.require_admin(unit)
            role = self.get(unit, name)
            set_members(unit, role, [*members(unit, role.id), *logins])
            return self.record(unit, role)

    def remove_agents(self, name: str, logins: list[str]) -> Record:
        with self.store.write() as unit:
            permissions.require_admin(unit)
            role = self.get(unit, name)
            agents = [lookup.agent(unit, login).login for login in logins]
            set_members(unit, role, [m for m in members(unit, role.id) if m not in agents])
            return self.record(unit, role)


def members(unit: Unit, role_id: int) -> list[str]:
    statement = select(Agent.login).join(RoleAgent, RoleAgent.agent_id == Agent.id).where(RoleAgent.role_id == role_id)
    return sorted(unit.session.scalars(statement))


def set_members(unit: Unit, role: Role, logins: list[str]) -> list[Record]:
    """Make the role's members exactly ``logins``; each agent added or removed is audited."""
    wanted = {login: lookup.agent(unit, login).id for login in dict.fromkeys(logins)}
    have = dict(
        unit.session.execute(
            select(Agent.login, Agent.id)
            .join(RoleAgent, RoleAgent.agent_id == Agent.id)
            .where(RoleAgent.role_id == role.id)
        ).all()
    )
    added = sorted(set(wanted) - set(have))
    removed = sorted(set(have) - set(wanted))
    if added:
        unit.session.execute(insert(RoleAgent), [{"role_id": role.id, "agent_id": wanted[a]} for a in added])
    if removed:
        unit.session.execute(
            delete(RoleAgent).where(RoleAgent.role_id == role.id, RoleAgent.agent_id.in_([have[a] for a in removed]))
        )
    return [audit.record(unit, "add-agent", "role", role.name, agent=a) for a in added] + [
        audit.record(unit, "remove-agent", "role", role.name, agent=a) for a in removed
    ]

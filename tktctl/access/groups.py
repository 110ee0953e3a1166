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

    def label(self, key: Sequence[Any]) -> str:
        """How messages, audit entries and desk documents name one object: by its name."""
        return str(key[0])

    def row_key(self, row: M) -> tuple[Any, ...]:
        return tuple(getattr(row, column) for column in self.key_columns)

    def find(self, unit: Unit, key: Sequence[Any]) -> M | None:
        columns = [getattr(self.model, c) == v for c, v in zip(self.key_columns, key, strict=True)]
        return unit.session.scalar(select(self.model).where(*columns))

    def get(self, unit: Unit, name: str) -> M:
        found = self.find(unit, (name,))
        if found is None:
            raise NotFoundError(f"{self.kind} {name!r} not found", ref=name)
        return found

    def ensure(self, unit: Unit, name: str, *, comment: Any = UNSET, valid: bool | None = None) -> list[Record]:
        """Create the object, or bring an existing one to the given comment and validity."""
        check_name(self.kind, name, self.name_limit)
        if comment is not UNSET:
            clean_text("comment", comment, limit=250)
        row = unit.session.scalar(select(self.model).where(self.model.name == name))
        if row is None:
            text = None if comment is UNSET else comment
            valid = True if valid is None else valid
            unit.session.add(
                self.model(name=name, comment=text, valid=valid, created=unit.now, changed=unit.now)  # type: ignore[call-arg]
            )
            unit.session.flush()
            return [audit.record(unit, "create", self.kind, name, comment=text, valid=valid)]
        wanted: dict[str, Any] = {} if comment is UNSET else {"comment": comment}
        return apply_changes(unit, row, self.kind, name, valid=valid, **wanted)

    def create(self, name: str, *, comment: str | None = None, if_not_exists: bool = False) -> Record:
        check_name(self.kind, name, self.name_limit)
        clean_text("comment", comment, limit=250)
        with self.store.write() as unit:
            permissions.require_admin(unit)
            found = existing(unit, self.model.name, name, self.kind, if_not_exists=if_not_exists)
            if found is not None:
                return self.record(unit, found)
            self.ensure(unit, name, comment=comment)
            return self.record(unit, self.get(unit, name))

    def list(self) -> list[Record]:
        with self.store.read() as unit:
            return self.records(unit)

    # What `desk dump` / `desk apply` do with this kind, in the caller's transaction.
    apply_keys: ClassVar[set[str]] = {"name", "comment", "valid"}

    def records(self, unit: Unit) -> list[Record]:
        statement = select(self.model).order_by(*[getattr(self.model, c) for c in self.key_columns])
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
        """Create the object a checked record describes, or bring it to the record's comment and validity."""
        self.ensure(unit, item["name"], **{k: item[k] for k in ("comment", "valid") if k in item})

    def apply_more(self, unit: Unit, item: dict[str, Any]) -> None:
        """What a kind's record sets beyond its row (by default, nothing)."""

    def prune(self, unit: Unit, keep: set[str]) -> None:
        """Disable the objects not kept (their labels): never deleted, as grants, history or queues refer to them."""
        for row in unit.session.scalars(select(self.model)).all():
            label = self.label(self.row_key(row))
            if label not in keep:
                apply_changes(unit, row, self.kind, label, valid=False)

    def show(self, name: str) -> Record:
        with self.store.read() as unit:
            return self.record(unit, self.get(unit, name))

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

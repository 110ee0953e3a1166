"""Grants: who holds which permission type on which group, directly or through a role.

``grant``/``revoke`` are naturally idempotent; ``list`` shows effective rights with where
each comes from; ``check`` explains one decision; ``apply``/``dump`` manage groups, roles,
role members and grants declaratively (``dump`` output applies back with no change).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select

from tktctl.access import audit, permissions
from tktctl.access.groups import Groups, Roles, check_item, mapping, members, set_members
from tktctl.core import lookup
from tktctl.core.record import Record
from tktctl.core.vocabulary import PERMISSIONS
from tktctl.db.models import Agent, AgentGrant, Group, Role, RoleGrant
from tktctl.errors import UsageError

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

# The two kinds of grant holder: the table of their grants and its subject column.
HOLDERS: dict[str, tuple[type[AgentGrant] | type[RoleGrant], str]] = {
    "agent": (AgentGrant, "agent_id"),
    "role": (RoleGrant, "role_id"),
}


def parse_permissions(value: str | Iterable[str]) -> list[str]:
    """``ro,note`` or ``["ro", "note"]`` -> the permission types, validated, in canonical order."""
    items = value.split(",") if isinstance(value, str) else list(value)
    names = {str(p).strip() for p in items if str(p).strip()}
    if not names:
        raise UsageError("no permission type given")
    for name in names:
        permissions.check_permission(name)
    return [p for p in PERMISSIONS if p in names]


def _holder(unit: Unit, agent: str | None, role: str | None) -> tuple[str, Agent | Role]:
    if (agent is None) == (role is None):
        raise UsageError("give exactly one of --agent or --role")
    if agent is not None:
        return "agent", lookup.agent(unit, agent)
    return "role", Roles(unit.store).get(unit, role or "")


def _name(row: Agent | Role) -> str:
    return row.login if isinstance(row, Agent) else row.name


def held(unit: Unit, kind: str, row: Agent | Role) -> dict[str, set[str]]:
    """The holder's own grants (not through roles) by group name, whatever their validity."""
    model, column = HOLDERS[kind]
    statement = (
        select(Group.name, model.permission)
        .join(Group, model.group_id == Group.id)
        .where(getattr(model, column) == row.id)
    )
    result: dict[str, set[str]] = {}
    for group, permission in unit.session.execute(statement):
        result.setdefault(group, set()).add(permission)
    return result


def set_grants(
    unit: Unit, kind: str, row: Agent | Role, wanted: Mapping[str, Iterable[str]], *, only: Iterable[str] | None = None
) -> list[Record]:
    """Make the holder's grants on the groups in ``only`` (default: all groups) exactly ``wanted``."""
    model, column = HOLDERS[kind]
    have = held(unit, kind, row)
    scope = set(have) | set(wanted) if only is None else set(only)
    changes: list[Record] = []
    adds: list[dict[str, Any]] = []
    for group_name in sorted(scope):
        target, current = set(wanted.get(group_name, ())), have.get(group_name, set())
        group = lookup.group(unit, group_name)
        for permission in [p for p in PERMISSIONS if p in target - current]:
            adds.append({"group_id": group.id, column: row.id, "permission": permission})
            changes.append(audit.record(unit, "grant", kind, _name(row), group=group_name, permission=permission))
        removed = [p for p in PERMISSIONS if p in current - target]
        if removed:
            unit.session.execute(
                delete(model).where(
                    model.group_id == group.id, getattr(model, column) == row.id, model.permission.in_(removed)
                )
            )
            changes += [audit.record(unit, "revoke", kind, _name(row), group=group_name, permission=p) for p in removed]
    if adds:
        unit.session.execute(insert(model), adds)
    return changes


def _grant_record(agent: str | None, role: str | None, group: str, permission: str) -> Record:
    return {
        "agent": agent,
        "role": role,
        "group": group,
        "permission": permission,
        "via": "role" if role is not None else "direct",
    }


def _own_records(unit: Unit, kind: str, row: Agent | Role, groups: Iterable[str] | None = None) -> list[Record]:
    have = held(unit, kind, row)
    agent, role = (_name(row), None) if kind == "agent" else (None, _name(row))
    return [
        _grant_record(agent, role, group, p)
        for group in sorted(have if groups is None else set(groups) & set(have))
        for p in PERMISSIONS
        if p in have[group]
    ]


class Acl:
    def __init__(self, store: Store) -> None:
        self.store = store

    def grant(
        self, perms: str | Iterable[str], *, group: str, agent: str | None = None, role: str | None = None
    ) -> list[Record]:
        """Add permission types on a group; those already held stay (rerunnable)."""
        return self._change(perms, group, agent, role, add=True)

    def revoke(
        self, perms: str | Iterable[str], *, group: str, agent: str | None = None, role: str | None = None
    ) -> list[Record]:
        """Remove permission types on a group; those not held are ignored (rerunnable)."""
        return self._change(perms, group, agent, role, add=False)

    def _change(self, perms: str | Iterable[str], group: str, agent: str | None, role: str | None, *, add: bool):
        names = set(parse_permissions(perms))
        with self.store.write() as unit:
            permissions.require_admin(unit)
            kind, row = _holder(unit, agent, role)
            lookup.group(unit, group)
            current = held(unit, kind, row).get(group, set())
            set_grants(unit, kind, row, {group: current | names if add else current - names}, only=[group])
            return _own_records(unit, kind, row, [group])

    def list(self, *, agent: str | None = None, group: str | None = None, role: str | None = None) -> list[Record]:
        """Effective rights (valid agents, groups and roles only), each with where it comes from.

        With ``role``, the grants the role gives its members. An agent may list its own
        rights; anything else needs admin.
        """
        with self.store.read() as unit:
            subject = lookup.agent(unit, agent) if agent is not None else None
            if subject is None or subject.id != unit.actor.id or role is not None:
                permissions.require_admin(unit)
            group_ids = [lookup.group(unit, group).id] if group is not None else None
            if role is not None:
                row = Roles(self.store).get(unit, role)
                return _own_records(unit, "role", row, None if group is None else [group])
            statement = permissions.grant_select(None if subject is None else [subject.id], group_ids)
            found = [permissions.Grant(*r) for r in unit.session.execute(statement)]
            names = lookup.logins(unit, [g.agent_id for g in found])
            records = [_grant_record(names[g.agent_id], g.role, g.group, g.permission) for g in found]
            order = {p: i for i, p in enumerate(PERMISSIONS)}
            records.sort(key=lambda r: (r["agent"], r["group"], order[r["permission"]], r["role"] or ""))
            return records

    def check(
        self,
        permission: str,
        *,
        agent: str | None = None,
        ticket: str | None = None,
        group: str | None = None,
        queue: str | None = None,
    ) -> Record:
        """Whether the agent holds ``permission`` on a ticket, queue or group, and why (read-only)."""
        permissions.check_permission(permission)
        if sum(x is not None for x in (ticket, group, queue)) != 1:
            raise UsageError("give exactly one of --ticket, --queue or --group")
        with self.store.read() as unit:
            subject = lookup.agent(unit, agent) if agent is not None else unit.actor
            if subject.id != unit.actor.id:
                permissions.require_admin(unit)
            owner = False
            if ticket is not None:
                # An admin may ask about any ticket; anyone else only about the tickets it may see.
                if permissions.is_admin(unit):
                    row = lookup.tickets(unit, [ticket], lock=False)[0]
                else:
                    row = permissions.tickets(unit, [ticket], lock=False)[0]
                group_id = lookup.queues(unit)[row.queue_id].group_id
                owner = row.owner_id == subject.id
            elif queue is not None:
                group_id = lookup.queue(unit, queue).group_id
            else:
                group_id = lookup.group(unit, group or "").id
            group_row = unit.session.get(Group, group_id)
            assert group_row is not None
            via = [
                f"{'role ' + g.role if g.role else 'direct'}: {g.permission}"
                for g in permissions.grants(unit, subject)
                if g.group_id == group_id and g.permission in (permission, "rw")
            ]
            allowed = True
            if not subject.valid:
                allowed, reason = False, f"agent {subject.login!r} is disabled"
            elif permissions.is_superuser(subject):
                reason = f"{subject.login} may do everything"
            elif via:
                reason = f"{permission!r} on group {group_row.name!r} through {', '.join(via)}"
            elif owner and permission == "ro":
                reason = "the owner of a ticket keeps 'ro' on it"
            else:
                allowed = False
                reason = f"agent {subject.login!r} needs {permission!r} on group {group_row.name!r}"
                if not group_row.valid:
                    reason += " (the group is disabled)"
            return {
                "agent": subject.login,
                "permission": permission,
                "group": group_row.name,
                "ticket": ticket,
                "queue": queue,
                "allowed": allowed,
                "reason": reason,
                "via": via,
            }

    # Declarative ------------------------------------------------------------------------

    def dump(self) -> Record:
        """Groups, roles (members, grants) and agents' direct grants, as ``apply`` reads them."""
        with self.store.read() as unit:
            permissions.require_admin(unit)

            def grants_of(kind: str, row: Agent | Role) -> dict[str, list[str]]:
                return {g: [p for p in PERMISSIONS if p in ps] for g, ps in sorted(held(unit, kind, row).items())}

            groups = {
                g.name: {"comment": g.comment, "valid": g.valid}
                for g in unit.session.scalars(select(Group).order_by(Group.name))
            }
            roles = {
                r.name: {
                    "comment": r.comment,
                    "valid": r.valid,
                    "agents": members(unit, r.id),
                    "grants": grants_of("role", r),
                }
                for r in unit.session.scalars(select(Role).order_by(Role.name))
            }
            holders = select(AgentGrant.agent_id).distinct()
            agents = {
                a.login: {"grants": grants_of("agent", a)}
                for a in unit.session.scalars(select(Agent).where(Agent.id.in_(holders)).order_by(Agent.login))
            }
            return {"groups": groups, "roles": roles, "agents": agents}

    def apply(self, document: Any, *, dry_run: bool = False) -> list[Record]:
        """Bring the desk to the document; returns the changes made (none when it already is).

        Listed objects are described completely: a role's ``agents`` and a holder's
        ``grants``, when given, replace what it had. Objects not listed are left alone.
        """
        spec = _parse_document(document)
        with self.store.write(dry_run=dry_run) as unit:
            permissions.require_admin(unit)
            changes: list[Record] = []
            groups, roles = Groups(self.store), Roles(self.store)
            for name, item in spec["groups"].items():
                changes += groups.ensure(unit, {**item, "name": name})
            for name, item in spec["roles"].items():
                changes += roles.ensure(unit, {**item, "name": name})
                role = roles.get(unit, name)
                if "agents" in item:
                    changes += set_members(unit, role, item["agents"])
                if "grants" in item:
                    changes += set_grants(unit, "role", role, item["grants"])
            for login, item in spec["agents"].items():
                changes += set_grants(unit, "agent", lookup.agent(unit, login), item.get("grants", {}))
            return changes


def _parse_document(document: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """Validate a desk document; every mistake is a usage error naming where it is."""
    top = mapping(document, "the document")
    unknown = sorted(set(top) - {"groups", "roles", "agents"})
    if unknown:
        raise UsageError(f"unknown top-level key {', '.join(unknown)}; known: groups, roles, agents")
    allowed = {
        "groups": {"comment", "valid"},
        "roles": {"comment", "valid", "agents", "grants"},
        "agents": {"grants"},
    }
    spec: dict[str, dict[str, dict[str, Any]]] = {}
    for section, keys in allowed.items():
        spec[section] = {}
        for name, raw in mapping(top.get(section), section).items():
            where = f"{section}.{name}"
            item = check_item(where, raw, keys)
            if "grants" in item:
                item["grants"] = {
                    group: parse_permissions(perms if isinstance(perms, (str, list)) else [])
                    for group, perms in mapping(item["grants"], f"{where}.grants").items()
                    if perms
                }
            spec[section][name] = item
    return spec


# The `grants` section of `desk dump` / `desk apply`: one record per holder and group.


def grant_key(record: Record) -> str:
    holder = f"agent {record['agent']}" if "agent" in record else f"role {record['role']}"
    return f"{holder} on {record['group']}"


def grant_records(unit: Unit) -> list[Record]:
    """The direct grants of roles, then of agents, each with its permission types on one group."""
    found: list[Record] = []
    for kind, model, column in (("role", Role, Role.name), ("agent", Agent, Agent.login)):
        for row in unit.session.scalars(select(model).order_by(column)):
            for group, perms in sorted(held(unit, kind, row).items()):
                found.append({kind: _name(row), "group": group, "permissions": [p for p in PERMISSIONS if p in perms]})
    return found


def _grant_holder(unit: Unit, record: Record) -> tuple[str, Agent | Role]:
    return _holder(unit, record.get("agent"), record.get("role"))


def apply_grants(unit: Unit, documents: list[Record]) -> None:
    """Make each holder's permission types on each group listed exactly the record's."""
    for item in documents:
        where = f"grants: {item.get('agent') or item.get('role')} on {item.get('group')}"
        unknown = sorted(set(item) - {"agent", "role", "group", "permissions"})
        if unknown:
            raise UsageError(f"{where}: unknown key {', '.join(unknown)}; known: agent, role, group, permissions")
        if not isinstance(item.get("group"), str):
            raise UsageError(f"{where}: needs a group")
        perms = item.get("permissions")
        wanted = parse_permissions(perms) if isinstance(perms, (str, list)) and perms else []
        kind, row = _grant_holder(unit, item)
        set_grants(unit, kind, row, {item["group"]: wanted}, only=[item["group"]])


def prune_grants(unit: Unit, keep: set[str]) -> None:
    """Revoke every grant of a holder on a group that the document does not list."""
    for record in grant_records(unit):
        if grant_key(record) not in keep:
            kind, row = _grant_holder(unit, record)
            set_grants(unit, kind, row, {}, only=[record["group"]])

"""The one place where a permission is checked: OTRS's groups, permission types and roles.

An agent holds permission types (``ro``, ``move_into``, ``create``, ``note``, ``owner``,
``priority``, ``rw``) on groups, directly and through roles; ``rw`` implies all of them, and a
disabled agent, group or role grants nothing. Every queue belongs to a group, so a ticket's
permissions are those on its queue's group; the owner of a ticket keeps ``ro`` on it.
Managing the desk needs ``rw`` in the ``admin`` group, and ``root@localhost`` may do
everything. An agent's rights are read with one query and kept while the configuration
generation stands (:mod:`tktctl.core.configcache`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import ColumnElement, Select, String, cast, exists, null, or_, select, union_all

from tktctl.config import ADMIN_LOGIN
from tktctl.core import lookup
from tktctl.core.configcache import configuration
from tktctl.core.lookup import TicketRow
from tktctl.core.vocabulary import PERMISSIONS
from tktctl.db.models import Agent, AgentGrant, Group, Role, RoleAgent, RoleGrant, Ticket
from tktctl.errors import NotFoundError, PermissionDeniedError, UsageError

if TYPE_CHECKING:
    from tktctl.core.unit import Unit

ADMIN_GROUP = "admin"


class Grant(NamedTuple):
    """One effective grant: an agent holds ``permission`` on a group, directly or via ``role``."""

    agent_id: int
    group_id: int
    group: str
    permission: str
    role: str | None


def grant_select(agent_ids: Sequence[int] | None = None, group_ids: Sequence[int] | None = None) -> Select[Any]:
    """Effective grants (direct and through roles) of valid agents on valid groups, as one query."""
    direct = (
        select(
            AgentGrant.agent_id,
            AgentGrant.group_id,
            Group.name.label("group"),
            AgentGrant.permission,
            cast(null(), String(200)).label("role"),
        )
        .join(Group, AgentGrant.group_id == Group.id)
        .join(Agent, AgentGrant.agent_id == Agent.id)
        .where(Group.valid.is_(True), Agent.valid.is_(True))
    )
    via_role = (
        select(RoleAgent.agent_id, RoleGrant.group_id, Group.name, RoleGrant.permission, Role.name)
        .join(RoleAgent, RoleAgent.role_id == RoleGrant.role_id)
        .join(Role, RoleGrant.role_id == Role.id)
        .join(Group, RoleGrant.group_id == Group.id)
        .join(Agent, RoleAgent.agent_id == Agent.id)
        .where(Group.valid.is_(True), Role.valid.is_(True), Agent.valid.is_(True))
    )
    if agent_ids is not None:
        direct = direct.where(AgentGrant.agent_id.in_(agent_ids))
        via_role = via_role.where(RoleAgent.agent_id.in_(agent_ids))
    if group_ids is not None:
        direct = direct.where(AgentGrant.group_id.in_(group_ids))
        via_role = via_role.where(RoleGrant.group_id.in_(group_ids))
    return select(union_all(direct, via_role).subquery())


def grants(unit: Unit, agent: Agent | None = None) -> list[Grant]:
    """The agent's (default: the actor's) effective grants, read once per configuration generation."""
    return _grants(unit, (agent or unit.actor).id)


@configuration("grants")
def _grants(unit: Unit, agent_id: int) -> list[Grant]:
    return [Grant(*row) for row in unit.session.execute(grant_select([agent_id]))]


def rights(unit: Unit, agent: Agent | None = None) -> dict[int, set[str]]:
    """Permission types by group id, as granted (``rw`` not yet expanded)."""
    result: dict[int, set[str]] = {}
    for grant in grants(unit, agent):
        result.setdefault(grant.group_id, set()).add(grant.permission)
    return result


def check_permission(permission: str) -> str:
    if permission not in PERMISSIONS:
        raise UsageError(f"unknown permission type {permission!r}; choose from {', '.join(PERMISSIONS)}")
    return permission


def is_superuser(agent: Agent) -> bool:
    return agent.login == ADMIN_LOGIN


def holds(unit: Unit, permission: str, group_id: int, agent: Agent | None = None) -> bool:
    agent = agent or unit.actor
    if is_superuser(agent):
        return True
    held = rights(unit, agent).get(group_id, set())
    return permission in held or "rw" in held


def _group_name(unit: Unit, group_id: int) -> str:
    return unit.session.scalar(select(Group.name).where(Group.id == group_id)) or str(group_id)


def holders(permission: str, agent_id: Any, group_id: Any) -> ColumnElement[bool]:
    """SQL for :func:`holds` over rows: the agent in ``agent_id`` holds ``permission`` on the group in
    ``group_id`` (columns of the enclosing query), so a set of recipients is filtered in one query."""
    check_permission(permission)
    held = grant_select().subquery()
    return or_(
        agent_id.in_(select(Agent.id).where(Agent.login == ADMIN_LOGIN)),
        exists().where(
            held.c.agent_id == agent_id, held.c.group_id == group_id, held.c.permission.in_((permission, "rw"))
        ),
    )


def require(unit: Unit, permission: str, group_ids: Iterable[int], agent: Agent | None = None) -> None:
    """Raise PermissionDeniedError unless the agent (default: the actor) holds ``permission`` on every group."""
    check_permission(permission)
    agent = agent or unit.actor
    for group_id in sorted(set(group_ids)):
        if not holds(unit, permission, group_id, agent):
            name = _group_name(unit, group_id)
            raise PermissionDeniedError(
                f"permission denied: agent {agent.login!r} needs {permission!r} on group {name!r}", ref=name
            )


def require_admin(unit: Unit) -> None:
    """Managing queues, agents, groups, roles, grants and customers: rw in the admin group."""
    if not is_admin(unit):
        raise PermissionDeniedError(
            f"permission denied: agent {unit.actor.login!r} needs 'rw' on group {ADMIN_GROUP!r}", ref=ADMIN_GROUP
        )


def is_admin(unit: Unit, agent: Agent | None = None) -> bool:
    agent = agent or unit.actor
    return is_superuser(agent) or any(g.group == ADMIN_GROUP and g.permission == "rw" for g in grants(unit, agent))


def visible_group_ids(unit: Unit, permission: str = "ro") -> set[int] | None:
    """The groups on which the actor holds ``permission``; None means all of them."""
    check_permission(permission)
    if is_superuser(unit.actor):
        return None
    return {g for g, held in rights(unit).items() if permission in held or "rw" in held}


def visible_tickets(unit: Unit) -> ColumnElement[bool] | None:
    """A WHERE clause on ``ticket`` for the tickets the actor may see; None means all."""
    scope = visible_scope(unit)
    return None if scope is None else visible_clause(*scope)


def visible_scope(unit: Unit) -> tuple[list[int], int] | None:
    """The tickets the actor may see: those of these queues and those it owns (the agent id); None: all."""
    groups = visible_group_ids(unit, "ro")
    if groups is None:
        return None
    return [q.id for q in lookup.queues(unit).values() if q.group_id in groups], unit.actor.id


def visible_clause(queue_ids: Sequence[int], owner_id: Any) -> ColumnElement[bool]:
    return or_(Ticket.queue_id.in_(queue_ids), Ticket.owner_id == owner_id)


def sees(unit: Unit, queue_id: int, owner_id: int) -> bool:
    """Whether the actor may see a ticket in this queue with this owner (``ro``, or its owner)."""
    groups = visible_group_ids(unit, "ro")
    return groups is None or owner_id == unit.actor.id or lookup.queues(unit)[queue_id].group_id in groups


def require_visible(unit: Unit, rows: Sequence[TicketRow]) -> None:
    """Reading a ticket the actor may not see is not-found: its existence does not leak."""
    for row in rows:
        if not sees(unit, row.queue_id, row.owner_id):
            raise NotFoundError(f"ticket {row.tn} not found", ref=row.tn)


def tickets(unit: Unit, refs: Sequence[str], *, lock: bool) -> list[TicketRow]:
    """The tickets named, for the acting agent: one it may not see (no ``ro``, not its owner) does
    not exist for it, so it is "not found" with a missing ticket's message, whatever the verb, and a
    refusal (exit 4) can only name a permission on a ticket the agent may see."""
    return lookup.tickets(unit, refs, lock=lock, visible=visible_tickets(unit))

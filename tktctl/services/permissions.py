"""The one place where a permission is checked.

Every service function that reads or changes tickets, queues or agents asks here. Until
access control lands (groups, roles, grants), every valid agent holds every permission;
the signatures are already the ones the real check needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from tktctl.errors import UsageError
from tktctl.services.vocabulary import PERMISSIONS

if TYPE_CHECKING:
    from tktctl.services.desk import Unit


def require(unit: Unit, permission: str, group_ids: Iterable[int]) -> None:
    """Raise PermissionDeniedError unless the acting agent holds ``permission`` on every group."""
    if permission not in PERMISSIONS:
        raise UsageError(f"unknown permission type {permission!r}")


def require_admin(unit: Unit) -> None:
    """Managing queues, agents and groups: rw in the admin group (checked in one place)."""


def visible_group_ids(unit: Unit, permission: str = "ro") -> set[int] | None:
    """The groups whose tickets the agent may see; None means all of them."""
    return None


def agents_with(unit: Unit, permission: str, group_ids: Iterable[int], agent_ids: Iterable[int]) -> set[int]:
    """Those of ``agent_ids`` holding ``permission`` on every group (who may be told about a ticket)."""
    if permission not in PERMISSIONS:
        raise UsageError(f"unknown permission type {permission!r}")
    return set(agent_ids)

"""The admin audit trail: every grant, revoke, create, update, disable and password change.

Each entry is written by :func:`record` in the transaction of the change it describes, so a
change and its audit entry commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.record import Record, between
from tktctl.core.stream import BATCH, stream
from tktctl.db.models import Agent, AuditEntry
from tktctl.isotime import iso

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit


def record(unit: Unit, action: str, kind: str, name: str, /, **data: Any) -> Record:
    """Write one audit entry; returns the change as ``acl apply`` and the audit list show it."""
    data = {k: iso(v) if isinstance(v, datetime) else v for k, v in data.items()}
    unit.session.execute(
        insert(AuditEntry).values(at=unit.now, actor_id=unit.actor.id, action=action, object=kind, name=name, data=data)
    )
    return {"action": action, "object": kind, "name": name, "data": data}


class AuditLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def list(
        self,
        *,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        actors: Sequence[str] = (),
        actions: Sequence[str] = (),
        objects: Sequence[str] = (),
        batch: int = BATCH,
    ) -> Iterator[Record]:
        """Audit entries oldest first, streamed in batches (admins only)."""
        with self.store.read() as unit:
            permissions.require_admin(unit)
            statement = (
                select(
                    AuditEntry.id,
                    AuditEntry.at,
                    Agent.login.label("actor"),
                    AuditEntry.action,
                    AuditEntry.object,
                    AuditEntry.name,
                    AuditEntry.data,
                )
                .join(Agent, AuditEntry.actor_id == Agent.id)
                .order_by(AuditEntry.id)
            )
            statement = statement.where(*between(unit, AuditEntry.at, since, until))
            if actors:
                statement = statement.where(AuditEntry.actor_id.in_([lookup.agent(unit, a).id for a in actors]))
            if actions:
                statement = statement.where(AuditEntry.action.in_(list(actions)))
            if objects:
                statement = statement.where(AuditEntry.object.in_(list(objects)))
            for part in stream(unit, statement, batch=batch):
                for row in part:
                    yield dict(row._mapping)

"""Agents: the people (and integrations) that act on tickets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select

from tktctl.db.models import Agent, Queue, QueueSubscription
from tktctl.errors import ConflictError, UsageError
from tktctl.services import audit, lookup, passwords, permissions
from tktctl.services.groups import UNSET, apply_changes, existing, set_password
from tktctl.services.records import Record
from tktctl.services.vocabulary import check_login, clean_text

if TYPE_CHECKING:
    from tktctl.services.desk import Desk, Unit


def _record(agent: Agent) -> Record:
    return {
        "id": agent.id,
        "login": agent.login,
        "name": agent.name,
        "email": agent.email,
        "valid": agent.valid,
        "created": agent.created,
        "password_set": agent.password_hash is not None,
    }


class Agents:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def create(
        self,
        login: str,
        *,
        name: str | None = None,
        email: str | None = None,
        password: str | None = None,
        if_not_exists: bool = False,
    ) -> Record:
        check_login("agent", login)
        clean_text("name", name, limit=200)
        clean_text("email", email, limit=250)
        hashed = None if password is None else passwords.hash_password(password)
        with self.desk.write() as unit:
            permissions.require_admin(unit)
            found = existing(unit, Agent.login, login, "agent", if_not_exists=if_not_exists)
            if found is not None:
                return _record(found)
            agent = Agent(
                login=login,
                name=name,
                email=email,
                valid=True,
                created=unit.now,
                changed=unit.now,
                password_hash=hashed,
            )
            unit.session.add(agent)
            unit.session.flush()
            audit.record(unit, "create", "agent", login, name=name, email=email, password=hashed is not None)
            return _record(agent)

    def list(self) -> list[Record]:
        with self.desk.read() as unit:
            return [_record(a) for a in unit.session.scalars(select(Agent).order_by(Agent.login))]

    def show(self, login: str) -> Record:
        with self.desk.read() as unit:
            return _record(lookup.agent(unit, login))

    def update(self, login: str, *, name: Any = UNSET, email: Any = UNSET) -> Record:
        """Change the name or email (None clears it)."""
        wanted = {k: v for k, v in (("name", name), ("email", email)) if v is not UNSET}
        clean_text("name", wanted.get("name"), limit=200)
        clean_text("email", wanted.get("email"), limit=250)
        with self.desk.write() as unit:
            permissions.require_admin(unit)
            agent = lookup.agent(unit, login)
            apply_changes(unit, agent, "agent", login, **wanted)
            return _record(agent)

    def set_valid(self, login: str, valid: bool) -> Record:
        """A disabled agent can no longer act, and its grants and roles give nothing."""
        with self.desk.write() as unit:
            permissions.require_admin(unit)
            agent = lookup.agent(unit, login)
            if not valid and agent.id == unit.actor.id:
                raise ConflictError("an agent cannot disable itself", ref=login)
            apply_changes(unit, agent, "agent", login, valid=valid)
            return _record(agent)

    def passwd(self, login: str, password: str) -> Record:
        """Set the agent's password (stored as a slow salted hash; never printed nor audited)."""
        hashed = passwords.hash_password(password)
        with self.desk.write() as unit:
            permissions.require_admin(unit)
            agent = lookup.agent(unit, login)
            set_password(unit, agent, "agent", login, hashed)
            return _record(agent)

    def subscribe(self, login: str, queues: list[str], *, unsubscribe: bool = False) -> list[Record]:
        """Mail the agent about new tickets and follow-ups in these queues (or stop); returns all its queues."""
        if not queues:
            raise UsageError("give at least one --queue")
        with self.desk.write() as unit:
            agent = lookup.agent(unit, login)
            if agent.id != unit.actor.id:
                permissions.require_admin(unit)
            ids = [lookup.queue(unit, q).id for q in queues]
            unit.session.execute(
                delete(QueueSubscription).where(
                    QueueSubscription.agent_id == agent.id, QueueSubscription.queue_id.in_(ids)
                )
            )
            if not unsubscribe:
                unit.session.execute(
                    insert(QueueSubscription), [{"agent_id": agent.id, "queue_id": i} for i in dict.fromkeys(ids)]
                )
            return self._subscriptions(unit, agent)

    def subscriptions(self, login: str) -> list[Record]:
        with self.desk.read() as unit:
            return self._subscriptions(unit, lookup.agent(unit, login))

    @staticmethod
    def _subscriptions(unit: Unit, agent: Agent) -> list[Record]:
        names = unit.session.scalars(
            select(Queue.name)
            .join(QueueSubscription, QueueSubscription.queue_id == Queue.id)
            .where(QueueSubscription.agent_id == agent.id)
            .order_by(Queue.name)
        )
        return [{"agent": agent.login, "queue": name, "email": agent.email} for name in names]

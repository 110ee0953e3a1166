"""Agents: the people (and integrations) that act on tickets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select

from tktctl.db.models import Agent, Queue, QueueSubscription
from tktctl.errors import ConflictError, UsageError
from tktctl.services import lookup, permissions
from tktctl.services.records import Record
from tktctl.services.vocabulary import clean_text

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
    }


class Agents:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def create(
        self, login: str, *, name: str | None = None, email: str | None = None, if_not_exists: bool = False
    ) -> Record:
        clean_text("login", login, limit=200, required=True)
        if login != login.strip() or any(c.isspace() for c in login):
            raise UsageError("login must not contain white space")
        clean_text("name", name, limit=200)
        clean_text("email", email, limit=250)
        with self.desk.write() as unit:
            permissions.require_admin(unit)
            existing = unit.session.scalar(select(Agent).where(Agent.login == login))
            if existing is not None:
                if if_not_exists:
                    return _record(existing)
                raise ConflictError(f"agent {login!r} already exists", ref=login)
            agent = Agent(login=login, name=name, email=email, valid=True, created=unit.now, changed=unit.now)
            unit.session.add(agent)
            unit.session.flush()
            return _record(agent)

    def list(self) -> list[Record]:
        with self.desk.read() as unit:
            return [_record(a) for a in unit.session.scalars(select(Agent).order_by(Agent.login))]

    def show(self, login: str) -> Record:
        with self.desk.read() as unit:
            return _record(lookup.agent(unit, login))

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

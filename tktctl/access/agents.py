"""Agents: the people (and integrations) that act on tickets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import delete, insert, select

from tktctl.access import permissions
from tktctl.access.accounts import Accounts
from tktctl.access.groups import UNSET, apply_changes
from tktctl.core import lookup
from tktctl.core.record import Record
from tktctl.core.vocabulary import NOTIFY_EVENTS, choice
from tktctl.db.models import Agent, AgentMute, Queue, QueueSubscription
from tktctl.errors import ConflictError, UsageError

if TYPE_CHECKING:
    from tktctl.core.unit import Unit


class Agents(Accounts[Agent]):
    """The desk's agents; a disabled agent can no longer act, and its grants and roles give nothing."""

    model = Agent
    kind = "agent"
    texts: ClassVar[dict[str, int]] = {"name": 200, "email": 250, "language": 16}
    fields = ("id", "login", "name", "email", "language", "valid", "created", "password_set")

    def create(
        self,
        login: str,
        *,
        name: str | None = None,
        email: str | None = None,
        language: str | None = None,
        password: str | None = None,
        if_not_exists: bool = False,
    ) -> Record:
        """An agent; ``language`` (es, pt-BR) is what its notifications are written in (else the desk's)."""
        texts = {"name": name, "email": email, "language": language}
        return self._create(login, texts, password, if_not_exists=if_not_exists)

    def list(self) -> list[Record]:
        with self.store.read() as unit:
            return self.records(unit)

    def update(self, login: str, *, name: Any = UNSET, email: Any = UNSET, language: Any = UNSET) -> Record:
        """Change the name, email or language (None clears it)."""
        return self._update(login, {"name": name, "email": email, "language": language})

    def records(self, unit: Unit) -> list[Record]:
        return [self.record(a) for a in unit.session.scalars(select(Agent).order_by(Agent.login))]

    def apply(self, unit: Unit, documents: list[dict[str, Any]]) -> None:
        """Create each agent a record describes (without a password: set it with `agent passwd`), or update it."""
        for document in documents:
            unknown = sorted(set(document) - {"login", *self.texts, "valid"})
            if unknown:
                raise UsageError(f"unknown agent key {', '.join(unknown)}; known: login, name, email, language, valid")
            if not isinstance(document.get("valid", True), bool):
                raise UsageError(f"agent {document['login']!r}: valid must be true or false")
            texts = {k: document[k] for k in self.texts if k in document}
            self.ensure(unit, document["login"], texts, document.get("valid"))

    def prune(self, unit: Unit, keep: set[str]) -> None:
        """Disable the agents not kept: an agent is never deleted (tickets and history name it)."""
        for row in unit.session.scalars(select(Agent).where(Agent.login.not_in(keep))).all():
            self._check_valid(unit, row, row.login, False)
            apply_changes(unit, row, self.kind, row.login, valid=False)

    def _check_valid(self, unit: Unit, row: Agent, login: str, valid: bool) -> None:
        if not valid and row.id == unit.actor.id:
            raise ConflictError("an agent cannot disable itself", ref=login)

    def mute(self, login: str, *, mute: Sequence[str] = (), unmute: Sequence[str] = ()) -> Record:
        """Opt the agent out of notifications of these events (or back in); the agent itself or an admin.

        Returns the agent's record with ``muted``, the events it no longer hears of.
        """
        for event in (*mute, *unmute):
            choice("event", event, NOTIFY_EVENTS)
        both = sorted(set(mute) & set(unmute))
        if both:
            raise UsageError(f"event {both[0]!r} given to both --mute and --unmute")
        with self.store.write() as unit:
            agent = lookup.agent(unit, login)
            if agent.id != unit.actor.id:
                permissions.require_admin(unit)
            given = [*mute, *unmute]
            if given:
                unit.session.execute(
                    delete(AgentMute).where(AgentMute.agent_id == agent.id, AgentMute.event.in_(given))
                )
            if mute:
                rows = [{"agent_id": agent.id, "event": e} for e in dict.fromkeys(mute)]
                unit.session.execute(insert(AgentMute), rows)
            return {**self.record(agent), "muted": self._muted(unit, agent.id)}

    def show_muted(self, login: str) -> Record:
        with self.store.read() as unit:
            agent = lookup.agent(unit, login)
            return {**self.record(agent), "muted": self._muted(unit, agent.id)}

    @staticmethod
    def _muted(unit: Unit, agent_id: int) -> list[str]:
        statement = select(AgentMute.event).where(AgentMute.agent_id == agent_id).order_by(AgentMute.event)
        return list(unit.session.scalars(statement))

    def subscribe(self, login: str, queues: list[str], *, unsubscribe: bool = False) -> list[Record]:
        """Mail the agent about new tickets and follow-ups in these queues (or stop); returns all its queues.

        Subscribing needs the subscriber (whoever runs it) to hold ``ro`` on each queue's group:
        mail about a ticket must not reach an agent who may not read it.
        """
        if not queues:
            raise UsageError("give at least one --queue")
        with self.store.write() as unit:
            agent = lookup.agent(unit, login)
            if agent.id != unit.actor.id:
                permissions.require_admin(unit)
            found = [lookup.queue(unit, q) for q in queues]
            if not unsubscribe:
                permissions.require(unit, "ro", [q.group_id for q in found], agent)
            ids = [q.id for q in found]
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
        with self.store.read() as unit:
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

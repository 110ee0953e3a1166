"""Agents: the people (and integrations) that act on tickets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tktctl.db.models import Agent
from tktctl.errors import ConflictError
from tktctl.services import audit, lookup, passwords, permissions
from tktctl.services.groups import UNSET, apply_changes, existing, set_password
from tktctl.services.records import Record
from tktctl.services.vocabulary import check_login, clean_text

if TYPE_CHECKING:
    from tktctl.services.desk import Desk


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

"""Agents: the people (and integrations) that act on tickets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from tktctl.db.models import Agent
from tktctl.errors import ConflictError, UsageError
from tktctl.services import lookup, permissions
from tktctl.services.records import Record
from tktctl.services.vocabulary import clean_text

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

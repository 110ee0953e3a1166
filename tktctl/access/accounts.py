"""Agents and customers alike: logins that admins create, update, disable and give passwords.

Both kinds are managed the same way (admins only, every change audited, passwords stored
only as slow salted hashes), so that way is written once here and :mod:`agents` and
:mod:`customers` add only what differs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from sqlalchemy import select

from tktctl.access import audit, passwords, permissions
from tktctl.access.groups import UNSET, apply_changes, existing
from tktctl.core.language import language_tag
from tktctl.core.prepared import named
from tktctl.core.record import Record
from tktctl.core.vocabulary import check_login, clean_line
from tktctl.db.models import Agent, Customer
from tktctl.errors import NotFoundError

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

A = TypeVar("A", Agent, Customer)


class Accounts(Generic[A]):
    """Create, show, update, disable/enable and set the password of one kind of login."""

    model: type[A]
    kind: str
    # The optional texts that create and update take, with their length limits, in the order checked.
    texts: ClassVar[dict[str, int]]
    # The keys of a record, in order; ``password_set`` says whether there is a password (never the hash).
    fields: ClassVar[tuple[str, ...]]

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, row: A) -> Record:
        """The row as commands print it and the API returns it."""
        return {k: row.password_hash is not None if k == "password_set" else getattr(row, k) for k in self.fields}

    def get(self, unit: Unit, login: str) -> A:
        """The row with this login; an unknown login is not found (exit 3)."""
        found = named(unit.session, self.model, login=login)
        if found is None:
            raise NotFoundError(f"{self.kind} {login!r} not found", ref=login)
        return found

    def show(self, login: str) -> Record:
        with self.store.read() as unit:
            return self.record(self.get(unit, login))

    def _checked(self, texts: dict[str, Any]) -> dict[str, Any]:
        """The texts given (UNSET ones left out), each one line within its length limit: names and
        addresses end up in mail headers; a language is a normalised tag (``PT_br`` -> ``pt-BR``)."""
        given = {k: v for k, v in texts.items() if v is not UNSET}
        if given.get("language") is not None:
            given["language"] = language_tag(given["language"])
        for key, limit in self.texts.items():
            clean_line(key, given.get(key), limit=limit)
        return given

    def _create(self, login: str, texts: dict[str, str | None], password: str | None, *, if_not_exists: bool) -> Record:
        """The login with these texts, valid, audited; with ``if_not_exists`` an existing one is returned as is."""
        check_login(self.kind, login)
        texts = self._checked(texts)
        hashed = None if password is None else passwords.hash_password(password)
        with self.store.write() as unit:
            permissions.require_admin(unit)
            found = existing(unit, self.model.login, login, self.kind, if_not_exists=if_not_exists)
            if found is not None:
                return self.record(found)
            row = self.model(login=login, **texts, valid=True, created=unit.now, changed=unit.now, password_hash=hashed)
            unit.session.add(row)
            unit.session.flush()
            audit.record(unit, "create", self.kind, login, **texts, password=hashed is not None)
            return self.record(row)

    def ensure(self, unit: Unit, login: str, texts: dict[str, Any], valid: bool | None) -> None:
        """Create the login (valid, no password) or bring it to these texts and validity, in ``unit``."""
        check_login(self.kind, login)
        wanted = self._checked(texts)
        row = unit.session.scalar(select(self.model).where(self.model.login == login))
        if row is None:
            row = self.model(login=login, **wanted, valid=True, created=unit.now, changed=unit.now, password_hash=None)
            unit.session.add(row)
            unit.session.flush()
            audit.record(unit, "create", self.kind, login, **wanted, password=False)
        if valid is not None:
            self._check_valid(unit, row, login, valid)
        apply_changes(unit, row, self.kind, login, valid=valid, **wanted)

    def _update(self, login: str, texts: dict[str, Any]) -> Record:
        """Change the texts given (None clears one, UNSET leaves it)."""
        wanted = self._checked(texts)
        return self._write(login, lambda unit, row: apply_changes(unit, row, self.kind, login, **wanted))

    def _check_valid(self, unit: Unit, row: A, login: str, valid: bool) -> None:
        """Refuse a change of validity this kind does not allow (by default, none)."""

    def set_valid(self, login: str, valid: bool) -> Record:
        """Disable (or enable) the login; what a disabled one can no longer do is said by its kind."""

        def step(unit: Unit, row: A) -> None:
            self._check_valid(unit, row, login, valid)
            apply_changes(unit, row, self.kind, login, valid=valid)

        return self._write(login, step)

    def passwd(self, login: str, password: str) -> Record:
        """Set the password (stored as a slow salted hash; never printed, and only the change is audited)."""
        hashed = passwords.hash_password(password)

        def step(unit: Unit, row: A) -> None:
            row.password_hash = hashed
            row.changed = unit.now
            unit.session.flush()
            audit.record(unit, "passwd", self.kind, login)

        return self._write(login, step)

    def _write(self, login: str, step: Callable[[Unit, A], object]) -> Record:
        """One admin transaction: find the login, apply ``step`` to its row, return its record."""
        with self.store.write() as unit:
            permissions.require_admin(unit)
            row = self.get(unit, login)
            step(unit, row)
            return self.record(row)

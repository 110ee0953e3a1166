"""Customer users: who tickets are for, and a password check for other applications' logins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tktctl.db.models import Customer
from tktctl.errors import NotFoundError, PermissionDeniedError
from tktctl.services import audit, passwords, permissions
from tktctl.services.groups import UNSET, apply_changes, existing, set_password
from tktctl.services.records import Record
from tktctl.services.vocabulary import check_login, clean_text

if TYPE_CHECKING:
    from tktctl.services.desk import Desk, Unit

# One message for every failure, so that a caller learns nothing about which logins exist.
AUTH_FAILED = "authentication failed"


def _record(customer: Customer) -> Record:
    return {
        "id": customer.id,
        "login": customer.login,
        "email": customer.email,
        "company": customer.company,
        "valid": customer.valid,
        "password_set": customer.password_hash is not None,
        "created": customer.created,
        "changed": customer.changed,
    }


def _check(email: Any, company: Any) -> None:
    clean_text("email", None if email is UNSET else email, limit=250)
    clean_text("company", None if company is UNSET else company, limit=200)


class Customers:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    @staticmethod
    def _get(unit: Unit, login: str) -> Customer:
        found = unit.session.scalar(select(Customer).where(Customer.login == login))
        if found is None:
            raise NotFoundError(f"customer {login!r} not found", ref=login)
        return found

    def create(
        self,
        login: str,
        *,
        email: str | None = None,
        company: str | None = None,
        password: str | None = None,
        if_not_exists: bool = False,
    ) -> Record:
        """A customer user; the email defaults to the login when the login is an address."""
        check_login("customer", login)
        email = email if email is not None else (login if "@" in login else None)
        _check(email, company)
        hashed = None if password is None else passwords.hash_password(password)
        with self.desk.write() as unit:
            permissions.require_admin(unit)
            found = existing(unit, Customer.login, login, "customer", if_not_exists=if_not_exists)
            if found is not None:
                return _record(found)
            customer = Customer(
                login=login,
                email=email,
                company=company,
                password_hash=hashed,
                valid=True,
                created=unit.now,
                changed=unit.now,
            )
            unit.session.add(customer)
            unit.session.flush()
            audit.record(unit, "create", "customer", login, email=email, company=company, password=hashed is not None)
            return _record(customer)

    def list(self, *, company: str | None = None) -> list[Record]:
        with self.desk.read() as unit:
            statement = select(Customer).order_by(Customer.login)
            if company is not None:
                statement = statement.where(Customer.company == company)
            return [_record(c) for c in unit.session.scalars(statement)]

    def show(self, login: str) -> Record:
        with self.desk.read() as unit:
            return _record(self._get(unit, login))

    def update(self, login: str, *, email: Any = UNSET, company: Any = UNSET) -> Record:
        """Change the email or company (None clears it)."""
        _check(email, company)
        wanted = {k: v for k, v in (("email", email), ("company", company)) if v is not UNSET}
        with self.desk.write() as unit:
            permissions.require_admin(unit)
            customer = self._get(unit, login)
            apply_changes(unit, customer, "customer", login, **wanted)
            return _record(customer)

    def set_valid(self, login: str, valid: bool) -> Record:
        """A disabled customer keeps its tickets but can no longer authenticate."""
        with self.desk.write() as unit:
            permissions.require_admin(unit)
            customer = self._get(unit, login)
            apply_changes(unit, customer, "customer", login, valid=valid)
            return _record(customer)

    def passwd(self, login: str, password: str) -> Record:
        hashed = passwords.hash_password(password)
        with self.desk.write() as unit:
            permissions.require_admin(unit)
            customer = self._get(unit, login)
            set_password(unit, customer, "customer", login, hashed)
            return _record(customer)

    def auth(self, login: str, password: str) -> Record:
        """The customer's record when the password is right; otherwise PermissionDeniedError.

        Unknown, disabled and password-less customers fail with the same message after the
        same amount of hashing, so neither the answer nor its timing tells them apart.
        """
        with self.desk.read() as unit:
            found = unit.session.execute(
                select(Customer.password_hash, Customer.valid).where(Customer.login == login)
            ).first()
        # The slow hash runs outside the transaction, and whether or not the login exists.
        stored, valid = found if found is not None else (None, False)
        if not passwords.verify(password, stored) or not valid:
            raise PermissionDeniedError(AUTH_FAILED, ref=login)
        return {"login": login, "authenticated": True}

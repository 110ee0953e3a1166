"""Customer users: who tickets are for, and a password check for other applications' logins."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import select

from tktctl.access import passwords
from tktctl.access.accounts import Accounts
from tktctl.access.groups import UNSET
from tktctl.core.record import Record
from tktctl.core.vocabulary import check_login
from tktctl.db.models import Customer
from tktctl.errors import PermissionDeniedError

# One message for every failure, so that a caller learns nothing about which logins exist.
AUTH_FAILED = "authentication failed"


class Customers(Accounts[Customer]):
    """The desk's customer users; a disabled customer keeps its tickets but can no longer authenticate."""

    model = Customer
    kind = "customer"
    texts: ClassVar[dict[str, int]] = {"email": 250, "company": 200, "language": 16}
    fields = ("id", "login", "email", "company", "language", "valid", "password_set", "created", "changed")

    def create(
        self,
        login: str,
        *,
        email: str | None = None,
        company: str | None = None,
        language: str | None = None,
        password: str | None = None,
        if_not_exists: bool = False,
    ) -> Record:
        """A customer user; the email defaults to the login when the login is an address; ``language``
        (a tag: es, pt-BR) is what mail to the customer is written in."""
        check_login("customer", login)  # before the default reads it
        email = email if email is not None else (login if "@" in login else None)
        texts = {"email": email, "company": company, "language": language}
        return self._create(login, texts, password, if_not_exists=if_not_exists)

    def list(self, *, company: str | None = None) -> list[Record]:
        with self.store.read() as unit:
            statement = select(Customer).order_by(Customer.login)
            if company is not None:
                statement = statement.where(Customer.company == company)
            return [self.record(c) for c in unit.session.scalars(statement)]

    def update(self, login: str, *, email: Any = UNSET, company: Any = UNSET, language: Any = UNSET) -> Record:
        """Change the email, company or language (None clears it)."""
        return self._update(login, {"email": email, "company": company, "language": language})

    def auth(self, login: str, password: str) -> Record:
        """The customer's record when the password is right; otherwise PermissionDeniedError.

        Unknown, disabled and password-less customers fail with the same message after the
        same amount of hashing, so neither the answer nor its timing tells them apart.
        """
        with self.store.read() as unit:
            found = unit.session.execute(
                select(Customer.password_hash, Customer.valid).where(Customer.login == login)
            ).first()
        # The slow hash runs outside the transaction, and whether or not the login exists.
        stored, valid = found if found is not None else (None, False)
        if not passwords.verify(password, stored) or not valid:
            raise PermissionDeniedError(AUTH_FAILED, ref=login)
        return {"login": login, "authenticated": True}

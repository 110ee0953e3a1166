"""One run at a time per job name, with a lock that a crashed run cannot leave behind.

A run takes the row lock of its ``job_lock`` row (by updating it) at the start of its
transaction and holds it until commit or rollback; a second run of the same name waits
there, then sees the first run's committed work (READ COMMITTED) and finds nothing left to
do. A crashed process's transaction is rolled back by the server (or, on SQLite, its
``BEGIN IMMEDIATE`` write lock vanishes with the process), so there is no PID file and no
stale lock. Waiting is bounded by the backend's lock timeout (SQLite's busy timeout,
MySQL's innodb_lock_wait_timeout): past it the second run exits 5 (conflict) and changes
nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from tktctl.db.models import JobLock

if TYPE_CHECKING:
    from tktctl.core.unit import Unit


def hold(unit: Unit, name: str) -> None:
    """Take the named lock for the rest of ``unit``'s transaction (waiting for a holder to finish)."""
    statement = update(JobLock).where(JobLock.name == name).values(last_run=unit.now)
    if unit.session.execute(statement).rowcount:
        return
    # First run of this name: create the row; a racing creator makes us wait on its row lock.
    try:
        with unit.session.begin_nested():
            unit.session.execute(insert(JobLock).values(name=name, last_run=unit.now))
    except IntegrityError:
        unit.session.execute(statement)

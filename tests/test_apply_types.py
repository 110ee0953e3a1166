"""A configuration document with a value of the wrong type is bad input: exit 2, one line, nothing written.

Found by fuzzing `apply -f -` with records (tests/test_fuzz_cli.py): a list or mapping where text
belongs reached the database driver (exit 6, "Error binding parameter"), and a number where
a calendar's hours or holidays belong raised TypeError or AttributeError (exit 1).
"""

from __future__ import annotations

import pytest

from tests.conftest import Cli, Result, dump

CASES = [
    ("queue", "{name: Q, group: [1]}", "group must be text"),
    ("queue", "{name: Q, calendar: {a: 1}}", "calendar must be text"),
    ("queue", "{name: Q, comment: [x]}", "comment must be text"),
    ("agent", "{login: carol, name: [1]}", "name must be text"),
    ("agent", "{login: carol, email: {}}", "email must be text"),
    ("calendar", "{name: C, hours: 5}", "calendar 'C': hours must be a mapping of weekdays to time ranges"),
    ("calendar", "{name: C, holidays: 5}", "calendar 'C': holidays must be a list of dates"),
    ("calendar", "{name: C, hours: [5]}", "invalid working hours [5]"),
    ("calendar", "{name: C, hours: {mon: [5]}}", "invalid working hours '5'; use HH:MM-HH:MM, e.g. 09:00-17:00"),
    ("calendar", "{name: C, comment: 5}", "comment must be text"),
]


def _refused(result: Result, message: str) -> None:
    """One error line that says what is wrong (it may go on to show the value)."""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"tktctl: error: {message}"), line


@pytest.mark.parametrize(("noun", "document", "message"), CASES, ids=[f"{n}:{d}" for n, d, _ in CASES])
def test_wrong_type_is_a_usage_error(noun: str, document: str, message: str, cli: Cli, db_url: str) -> None:
    before = dump(db_url)
    for args in ([noun, "apply", "-f", "-"], [noun, "apply", "-f", "-", "--dry-run"]):
        _refused(cli(*args, input=document, expect=2), message)
    section = {"queue": "queues", "agent": "agents", "calendar": "calendars"}[noun]
    _refused(cli("desk", "apply", "-f", "-", input=f"{section}: [{document}]", expect=2), message)
    assert dump(db_url) == before

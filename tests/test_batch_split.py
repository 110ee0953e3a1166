"""`tktctl batch` splits a line as shlex does (comments included), whichever way it reads it."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tktctl.commands.batch import split

LINES = [
    'ticket create --title "ticket 1" --body "text 1"\n',
    'ticket create --title="a b"c "" x\n',
    "  ticket   list\t-o json \r\n",
    'ticket note 1 --body "a # not a comment"',
    "ticket list # a comment",
    "ticket list#comment",
    "ticket create --title 'single quoted'",
    'ticket create --title "back\\"slash"',
    "ticket create --title a\\ b",
    'ticket create --title "unclosed',
    "ticket create --title \xa0x\x0by\x0c",
    "",
    "   ",
    '""',
    "a" * 5000 + "'",  # no plain reading: linear time to find out
]


@pytest.mark.parametrize("line", LINES)
def test_split_is_shlex(line: str) -> None:
    try:
        expected: list[str] | type[ValueError] = shlex.split(line, comments=True)
    except ValueError:
        expected = ValueError
    if expected is ValueError:
        with pytest.raises(ValueError, match=r"^No "):
            split(line)
    else:
        assert split(line) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab \t\r\n\"'\\#=-\xa0\x0b")), max_size=30))
def test_split_is_shlex_on_any_line(line: str) -> None:
    try:
        expected = shlex.split(line, comments=True)
    except ValueError:
        with pytest.raises(ValueError, match=r"^No "):
            split(line)
        return
    assert split(line) == expected

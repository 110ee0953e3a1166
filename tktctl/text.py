"""Text for people: counted nouns, and data made safe to show on a terminal.

Standard library only: the error path of every command (``--help`` included) imports it.
"""

from __future__ import annotations

# C0 controls, DEL and C1 controls: a terminal acts on them (ESC [2J clears the screen, OSC sets
# the window title, CSI U+009B starts a sequence on its own, BEL rings) instead of showing them.
CONTROLS = (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))
# Each shown as Python's repr shows it: \n, \r, \t, \x1b, \x9b.
_VISIBLE = {code: repr(chr(code))[1:-1] for code in CONTROLS}
# For JSON on a terminal: json.dumps escapes C0 itself but writes DEL and C1 raw; \u escapes
# keep the same data for a JSON reader.
_JSON_ESCAPES = {code: f"\\u{code:04x}" for code in CONTROLS if code >= 0x7F}


def printable(value: str) -> str:
    """``value`` with every control character shown as its escape, for tables and one-line messages."""
    return value.translate(_VISIBLE)


def json_printable(document: str) -> str:
    """A JSON text with DEL and C1 controls escaped too: the same document, safe on a terminal."""
    return document.translate(_JSON_ESCAPES)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 ticket``, ``2 tickets`` (``nouns`` for irregular plurals)."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"

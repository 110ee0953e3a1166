"""Fixed OTRS vocabulary that input is checked against before any query."""

from __future__ import annotations

from tktctl.errors import UsageError

PRIORITY_WORDS = {1: "very low", 2: "low", 3: "normal", 4: "high", 5: "very high"}
PERMISSIONS = ("ro", "move_into", "create", "note", "owner", "priority", "rw")
CHANNELS = ("email", "phone", "web", "internal")
SENDERS = ("agent", "customer", "system")
FOLLOW_UP = ("possible", "reject", "new_ticket")
PENDING_TYPES = ("pending reminder", "pending auto")
TITLE_MAX = 255


# Every spelling parse_priority accepts: "5", "very high", "5 very high".
PRIORITY_SPELLINGS = {
    spelling: number for number, word in PRIORITY_WORDS.items() for spelling in (str(number), word, f"{number} {word}")
}


def parse_priority(value: str | int) -> int:
    """``5``, ``5 very high`` or ``very high`` (any case) -> 5."""
    number = PRIORITY_SPELLINGS.get(str(value).strip().lower())
    if number is None:
        choices = ", ".join(f"{n} {w}" for n, w in PRIORITY_WORDS.items())
        raise UsageError(f"unknown priority {value!r}; use a number 1-5 or a name: {choices}")
    return number


def choice(kind: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise UsageError(f"unknown {kind} {value!r}; choose one of {', '.join(allowed)}")
    return value


def clean_text(kind: str, value: str | None, *, limit: int | None = None, required: bool = False) -> str | None:
    """Reject empty required text, over-long text and NUL characters, which some databases refuse."""
    if value is None:
        if required:
            raise UsageError(f"{kind} is required")
        return None
    if not isinstance(value, str):  # a YAML or JSON document can hold any type where text belongs
        raise UsageError(f"{kind} must be text")
    if required and not value.strip():
        raise UsageError(f"{kind} must not be empty")
    if "\x00" in value:
        raise UsageError(f"{kind} must not contain NUL characters")
    if limit is not None and len(value) > limit:
        raise UsageError(f"{kind} is {len(value)} characters long; at most {limit} are allowed")
    return value


def check_login(kind: str, login: str) -> str:
    """A login of an agent or customer: required, no white space anywhere."""
    clean_text(f"{kind} login", login, limit=200, required=True)
    if any(c.isspace() for c in login):
        raise UsageError(f"{kind} login must not contain white space")
    return login

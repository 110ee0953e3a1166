"""Fixed OTRS vocabulary that input is checked against before any query."""

from __future__ import annotations

import re
from typing import Any

from tktctl.errors import INT_MAX, UsageError

PRIORITY_WORDS = {1: "very low", 2: "low", 3: "normal", 4: "high", 5: "very high"}
PERMISSIONS = ("ro", "move_into", "create", "note", "owner", "priority", "rw")
CHANNELS = ("email", "phone", "web", "internal")
SENDERS = ("agent", "customer", "system")
FOLLOW_UP = ("possible", "reject", "new_ticket")
PENDING_TYPES = ("pending reminder", "pending auto")
# The ticket events notification rules listen to (OTRS's ticket notification events), published
# with Unit.publish by the changes that cause them; an agent may mute any of them.
NOTIFY_EVENTS = (
    "TicketCreate",
    "ArticleCreate",
    "Move",
    "StateUpdate",
    "OwnerUpdate",
    "ResponsibleUpdate",
    "LockTimeout",
    "PendingReminder",
    "EscalationWarning",
    "EscalationBreach",
)
# History types written by changes.apply that are also notification events.
HISTORY_EVENTS = ("Move", "StateUpdate", "OwnerUpdate", "ResponsibleUpdate")
TITLE_MAX = 255
# OTRS's ticket history types (its ticket_history_type table) and tktctl's own PendingReminder:
# the types an imported history row may have.
# fmt: off
HISTORY_TYPES = frozenset({
    "NewTicket", "FollowUp", "SendAutoReject", "SendAutoReply", "SendAutoFollowUp", "Forward", "Bounce",
    "SendAnswer", "SendAgentNotification", "SendCustomerNotification", "EmailAgent", "EmailCustomer",
    "PhoneCallAgent", "PhoneCallCustomer", "WebRequestCustomer", "AddNote", "Move", "Lock", "Unlock", "Remove",
    "TimeAccounting", "CustomerUpdate", "PriorityUpdate", "OwnerUpdate", "ResponsibleUpdate", "LoopProtection",
    "Misc", "SetPendingTime", "StateUpdate", "TicketDynamicFieldUpdate", "TicketLinkAdd", "TicketLinkDelete",
    "SystemRequest", "Merged", "Subscribe", "Unsubscribe", "TypeUpdate", "ServiceUpdate", "SLAUpdate",
    "ArchiveFlagUpdate", "TitleUpdate", "EscalationSolutionTimeStop", "EscalationResponseTimeStop",
    "EscalationUpdateTimeStop", "EscalationResponseTimeStart", "EscalationUpdateTimeStart",
    "EscalationSolutionTimeStart", "EscalationResponseTimeNotifyBefore", "EscalationUpdateTimeNotifyBefore",
    "EscalationSolutionTimeNotifyBefore", "PendingReminder",
})
# fmt: on


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


def check_limit(limit: int) -> int:
    """A ``--limit``: at least 1, and no larger than a database's INTEGER (else the driver overflows)."""
    if not 1 <= limit <= INT_MAX:
        raise UsageError(f"--limit must be between 1 and {INT_MAX}")
    return limit


def clean_text(kind: str, value: str | None, *, limit: int | None = None, required: bool = False) -> str | None:
    """Reject empty required text, over-long text and NUL characters, which some databases refuse."""
    if value is None:
        if required:
            raise UsageError(f"{kind} is required")
        return None
    if not isinstance(value, str):  # from a YAML file: `comment: 5`, `calendar: [1]`
        raise UsageError(f"{kind} must be text, not {type(value).__name__} {value!r:.40}")
    if required and not value.strip():
        raise UsageError(f"{kind} must not be empty")
    if "\x00" in value:
        raise UsageError(f"{kind} must not contain NUL characters")
    if limit is not None and len(value) > limit:
        raise UsageError(f"{kind} is {len(value)} characters long; at most {limit} are allowed")
    return value


def clean_column(kind: str, value: str | None, column: Any, *, required: bool = False) -> str | None:
    """``clean_text`` limited to the column's own length: the one place text meets its column's size.

    Checked before writing, so over-long text is a usage error on every backend (PostgreSQL
    would refuse it, MariaDB cut it or refuse it, SQLite keep it).
    """
    return clean_text(kind, value, limit=column_length(column), required=required)


def column_length(column: Any) -> int | None:
    """The length of a string column (None for unlimited text)."""
    return getattr(column.type, "length", None)


BODY_MAX_BYTES = 1024 * 1024
# A message's size cap (mail.limits.max_bytes): mail in, and the files attached to an article going out.
MAIL_MAX_BYTES = 25 * 1024 * 1024


def check_body(kind: str, value: str | None, limit: int) -> None:
    """Bodies are capped (profile key ``max_body_bytes``): one huge body makes each read of its ticket huge."""
    if value is not None and len(value) * 4 > limit and len(value.encode("utf-8", "surrogatepass")) > limit:
        size = len(value.encode("utf-8", "surrogatepass"))
        raise UsageError(f"{kind} is {size} bytes; at most {limit} are allowed (profile key max_body_bytes)")


# C0 (with TAB, CR and LF), DEL and C1: nothing a name or an address may hold. A CR/LF in an
# agent's name becomes a header line (``Bcc: ...``) in every mail that names the agent.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def clean_line(kind: str, value: str | None, *, limit: int | None = None, required: bool = False) -> str | None:
    """``clean_text`` for one line: names, logins, addresses, anything that may reach a mail header
    or a terminal; a control character is a usage error naming it."""
    clean_text(kind, value, limit=limit, required=required)
    found = CONTROL.search(value or "")
    if found is not None:
        raise UsageError(f"{kind} must not contain control characters (found {found.group()!r})")
    return value


def check_login(kind: str, login: str) -> str:
    """A login of an agent or customer: required, one line, no white space anywhere."""
    clean_line(f"{kind} login", login, limit=200, required=True)
    if any(c.isspace() for c in login):
        raise UsageError(f"{kind} login must not contain white space")
    return login

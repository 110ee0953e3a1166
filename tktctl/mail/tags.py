"""The one tag engine of outgoing texts: OTRS's ``<OTRS_...>`` tags (and ``<TKTCTL_...>``), and ``$name``.

As Znuny's TemplateGenerator: ``<OTRS_TICKET_TicketNumber>``, ``<OTRS_CUSTOMER_SUBJECT[20]>``,
``<OTRS_CUSTOMER_BODY[5]>`` (five lines quoted), ``<OTRS_CUSTOMER_REALNAME>``,
``<OTRS_OWNER_UserFirstname>``, ``<OTRS_RESPONSIBLE_...>``, ``<OTRS_CURRENT_...>`` (the acting agent),
``<OTRS_NOTIFICATION_RECIPIENT_...>`` and ``<OTRS_CONFIG_Name>`` for the names in :data:`CONFIG`
only. A tag without a value, an unknown tag and a configuration name off the list all render as
``-``, as OTRS does. A pure function over plain mappings: the caller gathers the context, so the
engine reads no database and no secret can reach it. One pass over the text: a value that looks
like a tag (a customer's subject ``<OTRS_CONFIG_...>``) is printed as it is, never expanded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# The configuration a text may show: harmless names only (never passwords, URLs of databases, keys).
CONFIG = ("FQDN", "Ticket::Hook", "Ticket::HookDivider", "NotificationSenderEmail")

# A ticket record's keys under their OTRS names; every scalar record key also works as it is named.
TICKET_NAMES = {
    "TicketNumber": "tn",
    "TicketID": "id",
    "Title": "title",
    "Queue": "queue",
    "State": "state",
    "StateType": "state_type",
    "Priority": "priority_name",
    "PriorityID": "priority",
    "Lock": "lock",
    "Type": "type",
    "CustomerUserID": "customer",
    "Owner": "owner",
    "Responsible": "responsible",
    "UntilTime": "pending_until",
    "Created": "created",
    "Changed": "changed",
    "ExternalID": "external_id",
}

_TAG = re.compile(
    r"<(?:OTRS|TKTCTL)_"
    r"(?P<scope>TICKET|CUSTOMER|OWNER|RESPONSIBLE|CURRENT|CONFIG|NOTIFICATION_RECIPIENT|AGENT|[A-Z]+)_"
    r"(?P<name>[A-Za-z0-9_:]+)(?:\[(?P<size>\d{1,6})\])?>"
    r"|(?P<unknown><(?:OTRS|TKTCTL)_[A-Za-z0-9_:\[\]]*>)"
    r"|\$(?:(?P<dollar>\$)|(?P<bare>[_A-Za-z][_A-Za-z0-9]*)|\{(?P<braced>[_A-Za-z][_A-Za-z0-9]*)\})"
)


def ticket_tags(record: Mapping[str, Any]) -> dict[str, str]:
    """A ticket record as the TICKET scope: its OTRS names and its own scalar keys."""
    values = {k: v for k, v in record.items() if not isinstance(v, (dict, list))}
    values.update({otrs: record.get(key) for otrs, key in TICKET_NAMES.items()})
    return {k: _text(v) for k, v in values.items()}


def agent_tags(login: str | None, name: str | None, email: str | None) -> dict[str, str]:
    """An agent as the OWNER, RESPONSIBLE and CURRENT scopes: first name, last name, email, login."""
    first, _, last = (name or "").partition(" ")
    return {
        "UserLogin": login or "",
        "UserFirstname": first,
        "UserLastname": last,
        "UserFullname": name or "",
        "UserEmail": email or "",
    }


def render(
    template: str,
    scopes: Mapping[str, Mapping[str, str]],
    placeholders: Mapping[str, str] | None = None,
) -> str:
    """The text with every tag replaced from ``scopes`` (scope -> OTRS name -> value) and, when
    ``placeholders`` is given, every ``$name`` from it (an unknown ``$name`` stays as written)."""

    def replace(match: re.Match[str]) -> str:
        if match.group("unknown"):
            return "-"
        if match.group("scope") is None:
            if placeholders is None:
                return match.group(0)
            if match.group("dollar"):
                return "$"
            key = match.group("bare") or match.group("braced")
            return placeholders.get(key, match.group(0))
        return _tag(match.group("scope"), match.group("name"), match.group("size"), scopes) or "-"

    return _TAG.sub(replace, template)


def _tag(scope: str, name: str, size: str | None, scopes: Mapping[str, Mapping[str, str]]) -> str:
    """One tag's value ('' when it has none)."""
    if scope == "CONFIG" and name not in CONFIG:
        return ""
    values = scopes.get(scope, {})
    if scope == "CUSTOMER":
        key = name.upper()
        if key in ("BODY", "EMAIL") and (size is not None or key == "BODY"):
            return _quote(values.get("Body", ""), None if size is None else int(size))
        if key == "SUBJECT" and size is not None:
            return _cut(values.get("Subject", ""), int(size))
        if key in ("EMAIL", "FROM"):
            return values.get("From", "")
        if key in ("REALNAME", "SUBJECT"):
            return values.get(key.capitalize() if key == "SUBJECT" else "Realname", "")
    return values.get(name, "")


def _cut(text: str, size: int) -> str:
    """OTRS's shortened subject: ``size`` characters, then ``[...]`` when there was more."""
    return text if len(text) <= size else f"{text[:size]}[...]"


def _quote(body: str, lines: int | None) -> str:
    """The first ``lines`` lines of the customer's message, each quoted with ``> `` (all without a size)."""
    kept = body.splitlines()[:lines] if lines is not None else body.splitlines()
    return "\n".join(f"> {line}" if line else ">" for line in kept)


def _text(value: Any) -> str:
    return "" if value is None else str(value)

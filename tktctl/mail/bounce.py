"""Delivery-status reports (RFC 3464 DSNs): which message bounced, to whom, and why.

A report is ``multipart/report; report-type=delivery-status``: a human-readable part, a
``message/delivery-status`` part (per-message fields, then one block per recipient) and the
returned message or its headers (``message/rfc822`` or ``text/rfc822-headers``). The
Message-ID of the returned message is what ties the bounce to the ticket whose mail it was
(as Znuny's ``FollowUpCheck::BounceEmail``).
"""

from __future__ import annotations

import re
from email import policy
from email.message import Message
from email.parser import HeaderParser

# What a bounce record keeps of the report's recipient block (RFC 3464 field names).
FIELDS = {"final-recipient": "recipient", "action": "action", "status": "status", "diagnostic-code": "diagnostic"}
MAX_FIELD = 500


def read_report(leaves: list[Message]) -> tuple[str | None, dict[str, str]]:
    """The returned message's Message-ID (or None) and the first recipient block's fields."""
    message_id: str | None = None
    details: dict[str, str] = {}
    for part in leaves:
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            details = details or _status(part)
        elif kind == "message/rfc822" and message_id is None:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                message_id = _message_id(inner[0].get("message-id"))
        elif kind == "text/rfc822-headers" and message_id is None:
            message_id = _message_id(_headers(part).get("message-id"))
    return message_id, details


def _status(part: Message) -> dict[str, str]:
    blocks = part.get_payload()
    if not isinstance(blocks, list):
        return {}
    found: dict[str, str] = {}
    for block in blocks[1:] or blocks:  # the first block is per message, then one per recipient
        if not isinstance(block, Message):
            continue
        for name, key in FIELDS.items():
            value = block.get(name)
            if value is not None and key not in found:
                text = " ".join(str(value).split())
                found[key] = text.split(";", 1)[1].strip() if key == "recipient" and ";" in text else text
        if found:
            break
    return {k: v[:MAX_FIELD] for k, v in found.items()}


def _headers(part: Message) -> Message:
    try:
        data = part.get_payload(decode=True)
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(part.get_payload())
        return HeaderParser(policy=policy.compat32).parsestr(text)
    except Exception:
        return Message()


def _message_id(value: object) -> str | None:
    if value is None:
        return None
    found = re.search(r"<[^<>\s]+>", str(value))
    return found.group(0)[:250] if found else None

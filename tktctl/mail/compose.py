"""The one mail builder: an outbox draft (see :func:`tktctl.mail.outbound.outbox_row`) becomes the
bytes sent, at send time, so that no ticket change pays for MIME and only sending loads ``email``."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any


@functools.lru_cache(maxsize=1024)
def _header(name: str, value: str) -> Any:
    """A header parsed as ``message[name] = value`` would (a CR/LF is still a ValueError), remembered:
    a run of notifications repeats From, Date, Auto-Submitted and X-Loop (~0.4 ms each)."""
    return SMTP.header_store_parse(name, value)[1]


def build(draft: dict[str, Any], attachments: Sequence[tuple[str, str, bytes]] = ()) -> bytes:
    """The message of a draft, with ``attachments`` (file name, content type, content); a header
    with a CR/LF (bad data already stored) raises ValueError."""
    message = EmailMessage(policy=SMTP)
    sender = draft["from"]
    to = formataddr((draft["to_name"], draft["to"])) if draft.get("to_name") is not None else draft["to"]
    message.set_raw("From", _header("From", sender))
    message.set_raw("To", _header("To", to))
    message.set_raw("Subject", _header("Subject", draft["subject"]))
    message.set_raw("Date", _header("Date", format_datetime(datetime.fromisoformat(draft["date"]))))
    message["Message-ID"] = draft.get("message_id") or message_id(sender)
    in_reply_to = draft.get("in_reply_to")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    chain = [r for r in (*draft.get("references", ()), in_reply_to) if r]
    if chain:
        message["References"] = " ".join(dict.fromkeys(chain))
    for name, value in (draft.get("headers") or {}).items():
        message.set_raw(name, _header(name, value))
    message.set_content(draft["body"])
    for filename, content_type, content in attachments:
        maintype, _, subtype = content_type.partition("/")
        if not subtype or maintype == "multipart":
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def message_id(sender: str) -> str:
    """A new Message-ID in the sender's domain (an answer's article keeps it, to thread the replies)."""
    return make_msgid(domain=sender.rpartition("@")[2].strip("> ") or "localhost")

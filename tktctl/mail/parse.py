"""Inbound messages, without a database: limits, headers, decoded bodies, HTML as text, attachments.

Parsing uses ``email.policy.default``; when a malformed message makes that policy raise, the
message is parsed again with ``compat32``, which accepts nearly anything. A message over a
limit raises :class:`Rejected` before anything is stored.
"""

from __future__ import annotations

import codecs
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parseaddr
from functools import lru_cache
from typing import Any

from tktctl.errors import NotAMessage
from tktctl.mail.htmltext import html_to_text
from tktctl.mail.limits import Limits

# Stored header fields are capped (the raw message keeps everything): MySQL's TEXT holds 64 KiB.
FIELD_MAX = 10_000
MESSAGE_ID_MAX = 250
FILENAME_MAX = 250
REFERENCES_KEPT = 50
LOOP_LOCALPARTS = ("mailer-daemon", "postmaster")
TRUE_WORDS = ("yes", "true", "1")
_UNFOLD = re.compile(r"\r?\n[ \t]")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


class Rejected(Exception):
    """The message can never be processed as it is (over a limit); the reason says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Part:
    filename: str
    content_type: str
    content: bytes


@dataclass
class Inbound:
    """A parsed message: what the article, the ticket and the loop checks need."""

    raw: bytes
    sha256: str
    from_: str | None = None
    from_address: str | None = None
    to: str | None = None
    cc: str | None = None
    subject: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: str | None = None
    reply_ids: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    body: str = ""
    attachments: list[Part] = field(default_factory=list)
    # Every header by lower-case name (X-Tktctl-* under its X-OTRS-* name), plus "body": what
    # PostMaster filters match and set, and where the X-OTRS-* values are read (see xheaders).
    params: dict[str, str] = field(default_factory=dict)
    auto_response_block: str | None = None
    # A delivery-status report (DSN): the Message-ID of the message that bounced, and what it says.
    bounce_of: str | None = None
    bounce: dict[str, str] = field(default_factory=dict)


def clean(value: str | None, limit: int | None = FIELD_MAX) -> str | None:
    """Text the databases accept: no NUL, no lone surrogates (8-bit header bytes), capped."""
    if value is None:
        return None
    try:
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    value = value.replace("\x00", "")
    return value[:limit] if limit is not None else value


class _Reparsed(EmailPolicy):
    """``policy.default``, except that a MIME header value already parsed is not parsed again.

    The email package parses Content-Type (and Content-Disposition) anew on every read, and
    reads each part's several times while parsing and choosing body and attachments; its
    parsed headers are immutable, so one parse of each distinct value serves every read.
    """

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if isinstance(value, str) and name.lower() in _REPARSED:
            return _fetched(name, value)
        return super().header_fetch_parse(name, value)


_REPARSED = frozenset(("content-type", "content-disposition", "content-transfer-encoding"))


@lru_cache(maxsize=512)
def _fetched(name: str, value: str) -> Any:
    return policy.default.header_fetch_parse(name, value)


_DEFAULT = _Reparsed()


def parse(raw: bytes, limits: Limits) -> Inbound:
    """Parse and check one message; raises Rejected with a reason when it is over a limit, and
    NotAMessage (exit 2, nothing stored) when the input holds no message at all."""
    if not raw.strip():
        raise NotAMessage("the input is empty: no message to ingest")
    if len(raw) > limits.max_bytes:
        raise Rejected(f"message is {len(raw)} bytes; the limit is {limits.max_bytes} (mail.limits.max_bytes)")
    try:
        message = BytesParser(policy=_DEFAULT).parsebytes(raw)
        return _extract(raw, message, limits)
    except Rejected:
        raise
    except RecursionError as exc:
        raise Rejected("message nesting is too deep to parse") from exc
    except Exception:
        # policy.default raises on some malformed headers; compat32 reads them as they are.
        pass
    try:
        message = BytesParser(policy=policy.compat32).parsebytes(raw)
    except RecursionError as exc:
        raise Rejected("message nesting is too deep to parse") from exc
    return _extract(raw, message, limits)


def _extract(raw: bytes, message: Message, limits: Limits) -> Inbound:
    leaves = _check_structure(message, limits)
    heads = Headers(message)
    inbound = Inbound(raw=raw, sha256=hashlib.sha256(raw).hexdigest())
    inbound.from_ = heads.get("from")
    inbound.from_address = address(inbound.from_)
    inbound.to = heads.get("to")
    inbound.cc = heads.get("cc")
    subject = heads.get("subject")
    inbound.subject = " ".join(subject.split()) if subject else subject
    inbound.message_id = _first_id(heads.get("message-id"))
    inbound.in_reply_to = heads.get("in-reply-to")
    inbound.references = heads.get("references")
    ids = _MESSAGE_ID.findall(f"{inbound.in_reply_to or ''} {inbound.references or ''}")
    inbound.reply_ids = [i[:MESSAGE_ID_MAX] for i in ids[-REFERENCES_KEPT:]]
    recipients = [heads.get(name) for name in ("to", "cc", "delivered-to", "x-original-to", "envelope-to")]
    inbound.recipients = [a.lower() for _, a in getaddresses([r for r in recipients if r]) if a]
    inbound.body, inbound.attachments = _contents(leaves)
    _params(heads, inbound)
    report = message.get_content_type() == "multipart/report" and _report_type(message) == "delivery-status"
    inbound.auto_response_block = _loop_reason(heads, inbound, report)
    if report:
        from tktctl.mail.bounce import read_report

        inbound.bounce_of, inbound.bounce = read_report(leaves)
    return inbound


def _check_structure(message: Message, limits: Limits) -> list[Message]:
    """Count parts and depth without recursion; returns the leaf parts in document order.

    A forwarded message (message/*) is one leaf, kept whole as an attachment: its own parts
    count against the limits but are neither the body nor attachments of their own.
    """
    leaves: list[Message] = []
    stack: list[tuple[Message, int, bool]] = [(message, 0, False)]
    parts = 0
    while stack:
        part, depth, nested = stack.pop()
        parts += 1
        if parts > limits.max_parts:
            raise Rejected(f"message has more than {limits.max_parts} MIME parts (mail.limits.max_parts)")
        if depth > limits.max_depth:
            raise Rejected(f"message nests MIME parts deeper than {limits.max_depth} (mail.limits.max_depth)")
        for name, value in part.raw_items():
            if len(name) + len(str(value)) > limits.max_header_length:
                raise Rejected(
                    f"header {name[:60]} is longer than {limits.max_header_length} characters "
                    "(mail.limits.max_header_length)"
                )
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            inner = nested
            if part.get_content_maintype() == "message":
                if not nested:
                    leaves.append(part)
                inner = True
            stack.extend((child, depth + 1, inner) for child in reversed(payload) if isinstance(child, Message))
        elif not nested:
            leaves.append(part)
    return leaves


class Headers:
    """A message's top-level headers, each decoded at most once: the first of each name, by lower-case name.

    One pass over the raw headers indexes them (unfolded, as written); a value is decoded
    from RFC 2047 as a whole when first asked for, so that encoded words splitting a
    multibyte character between them join up before decoding (the email package's address
    parser decodes each word alone, which mangles such names).
    """

    def __init__(self, message: Message) -> None:
        self.message = message
        self.raw: dict[str, str] = {}
        for key, value in message.raw_items():
            self.raw.setdefault(key.lower(), _UNFOLD.sub(" ", str(value)).replace("\r", "").replace("\n", ""))
        self.decoded: dict[str, str | None] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.raw

    def get(self, name: str) -> str | None:
        """The header decoded (either policy) and cleaned; None when absent."""
        if name not in self.decoded:
            self.decoded[name] = self._decode(name)
        return self.decoded[name]

    def _decode(self, name: str) -> str | None:
        raw = self.raw.get(name)
        if raw is None:
            return None
        try:
            text = str(make_header(decode_header(raw))) if "=?" in raw else raw
        except Exception:
            try:
                text = str(self.message.get(name))
            except Exception:
                text = raw
        return clean(text.strip())


def address(value: str | None) -> str | None:
    if not value:
        return None
    _, found = parseaddr(value)
    return clean(found.lower(), 250) if "@" in found else None


def _first_id(value: str | None) -> str | None:
    if not value:
        return None
    found = _MESSAGE_ID.search(value)
    text = found.group(0) if found else value.strip().split()[0] if value.strip() else ""
    return text[:MESSAGE_ID_MAX] or None


def _params(heads: Headers, inbound: Inbound) -> None:
    """Every header (the first of each name) and the body, for filters and X-OTRS-* values."""
    params: dict[str, str] = {}
    for name in heads.raw:
        value = heads.get(name)
        if value is None:
            continue
        key = canonical(name)
        if key != name and name.startswith("x-tktctl-"):
            params[key] = value  # X-Tktctl-* wins over the same X-OTRS-* header
        else:
            params.setdefault(key, value)
    params["body"] = inbound.body
    inbound.params = params


def canonical(name: str) -> str:
    """A header name as params keys it: lower case, X-Tktctl-* as X-OTRS-*."""
    lowered = name.strip().lower()
    return "x-otrs-" + lowered[len("x-tktctl-") :] if lowered.startswith("x-tktctl-") else lowered


def _report_type(message: Message) -> str:
    try:
        return str(message.get_param("report-type") or "").lower()
    except Exception:
        return ""


def _loop_reason(heads: Headers, inbound: Inbound, report: bool) -> str | None:
    """Why this message must get no auto-response (RFC 3834 and common practice), or None."""
    auto = (heads.get("auto-submitted") or "").lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    precedence = (heads.get("precedence") or "").lower()
    if precedence in ("bulk", "list", "junk"):
        return f"Precedence: {precedence}"
    for name in ("x-loop", "x-no-loop", "mailing-list"):
        if name in heads:
            return name.title()
    loop = inbound.params.get("x-otrs-loop", "").strip().lower()
    if loop in TRUE_WORDS:
        return "X-OTRS-Loop"
    if "x-autoreply" in heads or "x-autorespond" in heads:
        return "X-Autoreply"
    if report:
        return "delivery report"
    if inbound.from_address is None:
        return "no sender address"
    if inbound.from_address.split("@", 1)[0] in LOOP_LOCALPARTS:
        return f"sender {inbound.from_address}"
    return None


def _decoded(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _text(part: Message) -> str:
    """A text part's content in Unicode, whatever its charset label says (unknown: UTF-8, else Latin-1)."""
    data = _decoded(part)
    label = (part.get_content_charset(None) or "").strip().strip('"')
    for candidate in (label, label.removeprefix("x-"), "utf-8"):
        if not candidate:
            continue
        try:
            codecs.lookup(candidate)
        except LookupError:
            continue
        try:
            return clean(data.decode(candidate), None) or ""
        except UnicodeDecodeError:
            if candidate == label:
                return clean(data.decode(candidate, "replace"), None) or ""
    return clean(data.decode("latin-1"), None) or ""


@dataclass
class _Leaf:
    """A leaf part with what choosing body and attachments asks of it, each header read once."""

    part: Message
    kind: str
    filename: str | None
    attachment: bool


def _leaf(part: Message) -> _Leaf:
    kind = part.get_content_type()
    try:
        filename = part.get_filename()
    except Exception:
        return _Leaf(part, kind, None, True)
    try:
        disposition = (part.get_content_disposition() or "").lower()
    except Exception:
        return _Leaf(part, kind, filename, True)
    return _Leaf(part, kind, filename, disposition == "attachment" or bool(filename))


def _filename(leaf: _Leaf, number: int) -> str:
    name = leaf.filename
    if name:
        try:
            name = str(make_header(decode_header(name))) if "=?" in name else str(name)
        except Exception:  # a broken encoded word (bad base64, unknown charset): the name as written
            name = str(name)
        # Never a path: keep the last component, drop control characters.
        name = re.split(r"[\\/]", name)[-1]
        name = "".join(c for c in name if c.isprintable()).strip().lstrip(".")
    if not name:
        extension = mimetypes.guess_extension(leaf.kind) or ".bin"
        if leaf.kind == "message/rfc822":
            extension = ".eml"
        name = f"file-{number}{extension}"
    return clean(name, FILENAME_MAX) or f"file-{number}"


def _contents(parts: list[Message]) -> tuple[str, list[Part]]:
    """The body and every other part as an attachment.

    The body is every inline text/plain part joined in order (as OTRS joins the text parts
    of a multipart/mixed message), else the first HTML part as text.
    """
    leaves = [_leaf(p) for p in parts]
    plain = [leaf for leaf in leaves if leaf.kind == "text/plain" and not leaf.attachment]
    html = next((leaf for leaf in leaves if leaf.kind == "text/html" and not leaf.attachment), None)
    body_parts: list[_Leaf] = plain or ([html] if html is not None else [])
    texts = []
    for leaf in body_parts:
        text = _text(leaf.part)
        text = html_to_text(text) if leaf.kind == "text/html" else text
        texts.append(text.replace("\r\n", "\n").replace("\r", "\n").rstrip())
    body = "\n\n".join(t for t in texts if t) if len(texts) > 1 else "".join(texts)
    attachments: list[Part] = []
    for leaf in leaves:
        if any(leaf is b for b in body_parts):
            continue
        # The HTML twin of a plain-text body is the same content; the raw message keeps it.
        if body_parts and leaf.kind == "text/html" and not leaf.attachment:
            continue
        if leaf.kind.partition("/")[0] == "message":
            inner = leaf.part.get_payload()
            content = _message_bytes(inner[0]) if isinstance(inner, list) and inner else _decoded(leaf.part)
        else:
            content = _decoded(leaf.part)
        content_type = clean(leaf.kind, 250) or "application/octet-stream"
        attachments.append(Part(_filename(leaf, len(attachments) + 1), content_type, content))
    return body, attachments


def _message_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes(policy=policy.compat32)
    except Exception:
        return str(message).encode("utf-8", "replace")

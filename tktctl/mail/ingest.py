"""Messages in (pipe, batch, IMAP/POP3): one transaction each, dead letters, and what the MTA is told.

One message is one transaction: the ticket (or follow-up), its article, the raw message,
attachments, history and the outgoing mail in the outbox commit together or not at all (what a
message does inside it is :mod:`tktctl.mail.arrival`'s).
Any database trouble is a :class:`~tktctl.errors.TempFail` (exit 75: the MTA retries); a
message that can never be processed goes to the dead-letter table instead. A message is
recognised by its SHA-256, so a redelivery after a crash is a no-op, never a second ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from tktctl.core.record import Record
from tktctl.db.models import MailFailed
from tktctl.errors import ConflictError, DatabaseError, NotAMessage, TempFail, TktctlError
from tktctl.mail import outbound
from tktctl.mail.arrival import Arrival, outcome
from tktctl.mail.parse import Inbound, Rejected, clean, parse

if TYPE_CHECKING:
    from tktctl.core.unit import Store

Seal = Callable[[], None]
# What a dead letter keeps of a message too large to store: its headers and the start of its body.
KEPT_BODY = 64 * 1024
KEPT_MAX = 1024 * 1024


def no_seal() -> None:
    """The default seal: nothing to protect outside the command line."""


class Inbox:
    """Messages in: one message, one transaction (see the module's docstring)."""

    def __init__(self, store: Store, mail_config: Any = None, smtp_config: Any = None) -> None:
        self.store = store
        self.mail_config = mail_config
        self.smtp_config = smtp_config

    @cached_property
    def settings(self) -> outbound.MailSettings:
        return outbound.MailSettings.from_config(self.mail_config)

    @cached_property
    def arrival(self) -> Arrival:
        """What each message does inside its transaction."""
        return Arrival(self.store, self.settings)

    # Inbound ------------------------------------------------------------------------------

    def ingest(
        self, raw: bytes, *, target_queue: str | None = None, untrusted: bool = False, seal: Seal = no_seal
    ) -> Record:
        """Store one message as a ticket or follow-up, or as a dead letter; TempFail when the MTA should retry.

        ``seal`` is called just before each commit (the CLI blocks termination signals there,
        so that an interrupted run either committed and exits 0, or did not and exits 75).
        """
        options = {"target_queue": target_queue, "untrusted": untrusted}
        return self._guarded(lambda: self._ingest(raw, options, None, seal, self.store.actor_login))

    def ingest_many(
        self, messages: Iterator[tuple[str, bytes]], *, target_queue: str | None = None, untrusted: bool = False
    ) -> Iterator[Record]:
        """Each message in its own transaction; one result each (with ``source``); empty input is ``refused``."""
        for source, raw in messages:
            yield {**self.ingest_one(raw, target_queue=target_queue, untrusted=untrusted), "source": source}

    def ingest_one(self, raw: bytes, **options: Any) -> Record:
        """As :meth:`ingest`, but an empty input is a ``refused`` result instead of an error (batches)."""
        try:
            return self.ingest(raw, **options)
        except NotAMessage as exc:
            return outcome("refused", None, reason=exc.message)

    @staticmethod
    def _guarded(call: Callable[[], Record]) -> Record:
        """Whatever escapes here left the message unstored (not even as a dead letter): the MTA must retry."""
        try:
            return call()
        except (TempFail, NotAMessage):
            raise
        except TktctlError as exc:
            raise TempFail(f"temporary failure, retry later: {exc.message}") from exc

    def _ingest(self, raw: bytes, options: dict[str, Any], failed_id: int | None, seal: Seal, actor: str) -> Record:
        """Process as ``actor``: every write is checked as the verb making the same change would check it."""
        too_large = self._over_database_limit(raw)
        if too_large is not None:
            return self._dead_letter(raw, too_large, options, None, failed_id, seal, actor, whole=False)
        try:
            inbound = parse(raw, self.settings.limits)
        except Rejected as exc:
            whole = len(raw) <= self.settings.limits.max_bytes
            return self._dead_letter(raw, exc.reason, options, None, failed_id, seal, actor, whole=whole)
        try:
            with self.store.write(actor=actor) as unit:
                result = self.arrival.process(unit, inbound, options)
                if failed_id is not None and result["action"] != "ignored":  # a dead letter done
                    values = {"status": "done", "retried": unit.now, "ticket_tn": result["ticket"]}
                    unit.session.execute(update(MailFailed).where(MailFailed.id == failed_id).values(**values))
                seal()
            return result
        except (DatabaseError, ConflictError, TempFail):
            raise
        except TktctlError as exc:
            reason = exc.message
        except Exception as exc:  # a bug must not lose the message: keep it for `mail retry`
            first = (str(exc).strip().splitlines() or [""])[0]
            reason = f"internal error: {type(exc).__name__}: {first}"
        return self._dead_letter(raw, reason, options, inbound, failed_id, seal, actor)

    def _dead_letter(
        self,
        raw: bytes,
        reason: str,
        options: dict[str, Any],
        inbound: Inbound | None,
        failed_id: int | None,
        seal: Seal,
        actor: str,
        *,
        whole: bool = True,
    ) -> Record:
        """Keep the message for `mail retry`; one too large to store keeps only its headers and a prefix."""
        import hashlib

        sha = inbound.sha256 if inbound else hashlib.sha256(raw).hexdigest()
        with self.store.write() as unit:
            if failed_id is None:
                failed_id = unit.session.scalar(
                    select(MailFailed.id).where(MailFailed.sha256 == sha, MailFailed.status == "failed")
                )
            values = {"reason": clean(reason), "retried": unit.now if failed_id else None}
            if failed_id is not None:
                unit.session.execute(update(MailFailed).where(MailFailed.id == failed_id).values(**values))
            else:
                failed_id = unit.session.execute(
                    insert(MailFailed).values(
                        sha256=sha,
                        status="failed",
                        sender=inbound.from_ if inbound else None,
                        subject=inbound.subject if inbound else None,
                        size=len(raw),
                        options=options,
                        content=raw if whole else _prefix(raw),
                        received=unit.now,
                        actor=actor,
                        **values,
                    )
                ).inserted_primary_key[0]
            seal()
        return outcome("failed", inbound, reason=reason, failed_id=failed_id)

    def _over_database_limit(self, raw: bytes) -> str | None:
        """Why the database cannot take this message in one statement (MySQL's max_allowed_packet), if so."""
        if self.store.engine.dialect.name != "mysql":
            return None
        from tktctl.db.blobs import max_stored_bytes

        with self.store.engine.connect() as connection:  # its own connection: the limit is the connection's, kept
            limit = max_stored_bytes(connection)
        if limit is None or len(raw) <= limit:
            return None
        return (
            f"message is {len(raw)} bytes; this MySQL/MariaDB server stores at most {limit} "
            "in one value (raise max_allowed_packet, or lower mail.limits.max_bytes)"
        )


def _prefix(raw: bytes) -> bytes:
    """The headers and the first KEPT_BODY bytes of the body, at most KEPT_MAX bytes in all."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    header_end = min(ends) if ends else len(raw)
    return raw[: min(header_end + KEPT_BODY, KEPT_MAX)]

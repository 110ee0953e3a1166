"""The desk's mail facet (``desk.mail``): the inbox, dead letters to retry, IMAP/POP3 accounts to fetch,
and (from :class:`~tktctl.mail.answers.Answers`) answers, attachments and the outbox."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property

from sqlalchemy import select

from tktctl.access import permissions
from tktctl.core.record import Record
from tktctl.core.unit import python_warning
from tktctl.db.models import MailFailed
from tktctl.errors import ConflictError, NotFoundError, UsageError
from tktctl.mail.answers import Answers
from tktctl.mail.filters import MailFilters
from tktctl.mail.ingest import Inbox, Seal, no_seal


class Mail(Inbox, Answers):
    """Mail operations of one desk."""

    @cached_property
    def filters(self) -> MailFilters:
        """PostMaster filters (``mail filter ...``)."""
        return MailFilters(self.store)

    # Dead letters -------------------------------------------------------------------------

    def failed(self, *, include_done: bool = False) -> list[Record]:
        """Dead letters, oldest first (those already reprocessed only with ``include_done``)."""
        with self.store.read() as unit:
            permissions.require_admin(unit)  # they hold whole messages, whatever queue they were meant for
            statement = select(
                MailFailed.id,
                MailFailed.status,
                MailFailed.reason,
                MailFailed.sender,
                MailFailed.subject,
                MailFailed.size,
                MailFailed.received,
                MailFailed.retried,
                MailFailed.ticket_tn.label("ticket"),
                MailFailed.actor,
            ).order_by(MailFailed.id)
            if not include_done:
                statement = statement.where(MailFailed.status == "failed")
            return [dict(r._mapping) for r in unit.session.execute(statement)]

    def retry(self, ids: Sequence[int] = (), *, seal: Seal = no_seal, unseal: Seal = no_seal) -> list[Record]:
        """Reprocess dead letters (all that failed when ``ids`` is empty); each keeps its row, updated.

        Each is processed as the agent who ingested it (with that agent's permissions), not as
        the admin retrying; one from before that was recorded acts as the admin.
        """
        with self.store.read() as unit:
            permissions.require_admin(unit)
            statement = select(
                MailFailed.id,
                MailFailed.options,
                MailFailed.content,
                MailFailed.status,
                MailFailed.actor,
                MailFailed.size,
            )
            statement = statement.where(MailFailed.id.in_(list(ids))) if ids else statement
            rows = {r.id: r for r in unit.session.execute(statement.order_by(MailFailed.id))}
        missing = [i for i in ids if i not in rows]
        if missing:
            raise NotFoundError(f"dead letter {missing[0]} not found", ref=str(missing[0]))
        results = []
        for row in rows.values():
            if row.status != "failed":
                if ids:
                    raise ConflictError(f"dead letter {row.id} was already processed", ref=str(row.id))
                continue
            if len(row.content) < row.size:  # only its headers and a prefix were kept
                if ids:
                    raise ConflictError(
                        f"dead letter {row.id} kept only the first {len(row.content)} of its {row.size} bytes; "
                        "it cannot be reprocessed (the sender must send it again)",
                        ref=str(row.id),
                    )
                continue
            options = dict(row.options or {})
            actor = row.actor or self.store.actor_login
            result = self._guarded(lambda r=row, o=options, a=actor: self._ingest(r.content, o, r.id, seal, a))
            unseal()
            results.append({**result, "failed_id": row.id})
        return results

    # Fetching ------------------------------------------------------------------------------

    def fetch(
        self,
        account: str | None = None,
        *,
        insecure: bool = False,
        warn: Callable[[str], None] = python_warning,
        seal: Seal = no_seal,
        unseal: Seal = no_seal,
    ) -> list[Record]:
        """Fetch from the configured IMAP/POP3 accounts; a message leaves the server only once committed.

        ``insecure`` accepts any TLS certificate (each account so fetched is reported to ``warn``; without
        one, as a Python warning: an unverified server is never passed over in silence).
        """
        from tktctl.mail import fetch

        self._require_admin()
        accounts = self.settings.accounts
        if account is not None:
            if account not in accounts:
                raise NotFoundError(f"mail account {account!r} not found in the profile's mail.accounts", ref=account)
            accounts = {account: accounts[account]}
        if not accounts:
            raise UsageError("no mail accounts configured (profile key mail.accounts)")
        results: list[Record] = []
        for name, config in accounts.items():
            source = fetch.Account.from_config(name, config)

            def store(raw: bytes, where: str, src: fetch.Account = source) -> Record:
                result = self.ingest_one(raw, target_queue=src.target_queue, untrusted=src.untrusted, seal=seal)
                unseal()
                results.append({**result, "source": where})
                return result

            fetch.fetch(source, store, insecure=insecure, warn=warn)
        return results

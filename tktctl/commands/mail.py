"""`tktctl mail ...`: the MDA pipe, fetching, dead letters and the outbox.

`mail ingest` is what Postfix, Exim, procmail or fetchmail run per message. It exits 0 when
the message is stored (as a ticket, follow-up or dead letter) and 75 (EX_TEMPFAIL) when it
is not and the MTA must retry. SIGTERM, SIGINT and SIGHUP keep that promise: before the
commit they abort with 75; from the commit on they are held until the command is done.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tktctl.commands import mail_filter
from tktctl.commands._common import desk, emit, invocation, warn, with_output
from tktctl.errors import TempFail, UsageError
from tktctl.formats import kinds
from tktctl.ingestguard import Interruptible

if TYPE_CHECKING:
    from tktctl.mail.service import Mail

app = typer.Typer(help="Mail in (ingest, fetch) and out (outbox, send); dead letters.", no_args_is_help=True)

TargetQueue = Annotated[
    str | None, typer.Option("--target-queue", help="Queue for new tickets no address mapping or header places.")
]
app.add_typer(mail_filter.app, name="filter")

Untrusted = Annotated[bool, typer.Option("--untrusted", help="Ignore X-Tktctl-*/X-OTRS-* headers (mail from outside).")]


def _read(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise UsageError(f"cannot read {source}: {getattr(exc, 'strerror', None) or exc}") from exc


def _batch(source: str) -> Iterator[tuple[str, bytes]]:
    """Every file of a directory (sorted, recursively) or every message of an mbox file."""
    path = Path(source)
    if path.is_dir():
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            yield str(item), item.read_bytes()
        return
    if not path.is_file():
        raise UsageError(f"--batch {source}: no such directory or mbox file")
    import mailbox

    box = mailbox.mbox(str(path), create=False)
    try:
        for key in box.iterkeys():
            yield f"{source}:{key}", box.get_bytes(key)
    finally:
        box.close()


@app.command("ingest")
@with_output(kinds.MAIL_RESULT)
def ingest(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="Message file; - (the default) reads stdin.")] = "-",
    target_queue: TargetQueue = None,
    untrusted: Untrusted = False,
    batch: Annotated[
        str | None,
        typer.Option("--batch", help="Ingest every file of this directory, or every message of this mbox file."),
    ] = None,
) -> None:
    """Turn a message into a ticket or follow-up; exit 75 when the MTA should retry.

    A message that can never be processed is kept as a dead letter (`mail failed`) and
    exits 0. With --batch each message is its own transaction; a temporary failure stops
    the run with exit 75 (rerun it: messages already stored are recognised and skipped).
    """
    if source == "-" and batch is None and invocation(ctx).desks is not None:
        raise UsageError(
            "mail ingest - cannot read a message inside `tktctl batch` (stdin holds the batch); give a FILE"
        )
    mail = desk(ctx).mail
    with Interruptible() as guard:
        if batch is None:
            raw = _read(source)
            result = mail.ingest(raw, target_queue=target_queue, untrusted=untrusted, seal=guard.seal)
            guard.unseal()
            emit(ctx, result, kinds.MAIL_RESULT)
            return
        if source != "-":
            raise UsageError("give either a message FILE or --batch, not both")
        emit(ctx, _batch_results(mail, batch, guard, target_queue, untrusted), kinds.MAIL_RESULT)
        if guard.stop:
            raise TempFail("interrupted; rerun the batch (stored messages are skipped)")


def _batch_results(
    mail: Mail, source: str, guard: Interruptible, target_queue: str | None, untrusted: bool
) -> Iterator[dict[str, object]]:
    for where, raw in _batch(source):
        result = mail.ingest_one(raw, target_queue=target_queue, untrusted=untrusted, seal=guard.seal)
        guard.unseal()
        yield {**result, "source": where}
        if guard.stop:
            return


@app.command("fetch")
@with_output(kinds.MAIL_RESULT)
def fetch(
    ctx: typer.Context,
    account: Annotated[
        str | None, typer.Option("--account", help="Only this account of the profile's mail.accounts.")
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Accept any TLS certificate (warns on stderr); prefer the account's ca_file."),
    ] = False,
) -> None:
    """Fetch new mail from IMAP(S)/POP3(S) accounts; a message leaves the server once stored.

    TLS accounts verify the server's certificate and host name; a refused certificate exits 75
    and leaves every message on the server.
    """
    with Interruptible() as guard:
        results = desk(ctx).mail.fetch(account, insecure=insecure, warn=warn, seal=guard.seal, unseal=guard.unseal)
    emit(ctx, results, kinds.MAIL_RESULT)


@app.command("failed")
@with_output(kinds.MAIL_FAILED)
def failed(
    ctx: typer.Context,
    include_done: Annotated[bool, typer.Option("--all", help="Also list dead letters already reprocessed.")] = False,
) -> None:
    """List dead letters: messages that could not be processed, with the reason."""
    emit(ctx, desk(ctx).mail.failed(include_done=include_done), kinds.MAIL_FAILED)


@app.command("retry")
@with_output(kinds.MAIL_RESULT)
def retry(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letter ids [default: all that failed].")] = None,
) -> None:
    """Reprocess dead letters (after raising a limit or fixing the cause)."""
    with Interruptible() as guard:
        results = desk(ctx).mail.retry(ids or [], seal=guard.seal, unseal=guard.unseal)
    emit(ctx, results, kinds.MAIL_RESULT)


@app.command("outbox")
@with_output(kinds.OUTBOX)
def outbox(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="pending, failed, sent or dropped (repeatable) [default: pending, failed]."),
    ] = None,
) -> None:
    """List outgoing mail waiting to be sent, or that failed."""
    emit(ctx, desk(ctx).mail.outbox(status=status or ("pending", "failed")), kinds.OUTBOX)


@app.command("send")
@with_output(kinds.OUTBOX)
def send(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", help="At most this many messages in this run.")] = 500,
) -> None:
    """Deliver due outbox mail over SMTP (profile smtp: or TKTCTL_SMTP_URL); run it from cron."""
    emit(ctx, desk(ctx).mail.send(limit=limit), kinds.OUTBOX)

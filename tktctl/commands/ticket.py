"""`tktctl ticket ...`: the ticket lifecycle."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tktctl.commands import ticket_watch
from tktctl.commands._attach import AttachNameOpt, AttachOpt, AttachTypeOpt, read_attachments
from tktctl.commands._common import (
    Chosen,
    DryRunOpt,
    TicketRef,
    TimeHelp,
    bulk_kind,
    desk,
    emit,
    progress_bar,
    run_bulk,
    summary,
    warn,
    with_filter,
    with_output,
    with_selection,
    with_selection_without,
)
from tktctl.commands._input import open_input, read_text
from tktctl.errors import UsageError
from tktctl.formats import kinds

app = typer.Typer(help="Create, find and change tickets.", no_args_is_help=True)

ToQueue = Annotated[str, typer.Option("--to", help="Target queue.")]
Steal = Annotated[bool, typer.Option("--steal", help="Take over a ticket locked by another agent (needs rw).")]


InputFormat = Annotated[
    str | None, typer.Option("--format", help="json, jsonl, yaml or csv [default: by file name, else detected].")
]
BatchSize = Annotated[int, typer.Option("--batch-size", help="Records per transaction.")]
IfExists = Annotated[str, typer.Option("--if-exists", help="When a record's external_id exists: skip, update or fail.")]
FORMAT_BY_SUFFIX = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".csv": "csv",
}


@app.command("create")
@with_output(lambda params: kinds.IMPORT if params.get("source") is not None else kinds.CREATED_TICKET)
def create(
    ctx: typer.Context,
    title: Annotated[str | None, typer.Option("--title", help="Ticket title (at most 255 characters).")] = None,
    queue: Annotated[str, typer.Option("--queue", help="Queue.")] = "Raw",
    customer: Annotated[str | None, typer.Option("--customer", help="Customer login or email.")] = None,
    priority: Annotated[str, typer.Option("--priority", help="1-5 or a name: 'very low' ... 'very high'.")] = "3",
    state: Annotated[str, typer.Option("--state", help="Initial state.")] = "new",
    owner: Annotated[str | None, typer.Option("--owner", help="Owner [default: the acting agent].")] = None,
    responsible: Annotated[str | None, typer.Option("--responsible", help="Responsible agent.")] = None,
    ticket_type: Annotated[str | None, typer.Option("--type", help="Ticket type.")] = None,
    channel: Annotated[str, typer.Option("--channel", help="email, phone, web or internal.")] = "phone",
    body: Annotated[str | None, typer.Option("--body", help="First article's text; - reads stdin.")] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="First article's subject [default: title].")] = None,
    pending_until: Annotated[str | None, typer.Option("--pending-until", help=TimeHelp)] = None,
    external_id: Annotated[
        str | None, typer.Option("--external-id", help="Idempotency key: an existing ticket with it is printed.")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--from", help="Create many: records from this file (- = stdin), as `ticket import` reads."),
    ] = None,
    input_format: InputFormat = None,
    set_fields: Annotated[
        list[str] | None, typer.Option("--set", help="Custom field FIELD=VALUE (repeatable; see `field list`).")
    ] = None,
    attach: AttachOpt = None,
    attach_name: AttachNameOpt = None,
    attach_type: AttachTypeOpt = None,
) -> None:
    """Open a ticket and print it (or many, from records: see --from)."""
    files = read_attachments(attach, attach_name, attach_type, body)
    if source is not None:
        _import(ctx, source, input_format)
        return
    if title is None:
        raise UsageError("--title is required (or --from FILE to create many)")
    emit(
        ctx,
        desk(ctx).tickets.create(
            title=title,
            queue=queue,
            customer=customer,
            priority=priority,
            state=state,
            owner=owner,
            responsible=responsible,
            type=ticket_type,
            channel=channel,
            body=read_text(body),
            subject=subject,
            pending_until=pending_until,
            external_id=external_id,
            fields=_assignments(set_fields),
            attachments=files,
        ),
        kinds.CREATED_TICKET,
    )


@app.command("import")
@with_output(kinds.IMPORT)
def import_(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="File of ticket records; - reads stdin.")],
    input_format: InputFormat = None,
    batch_size: BatchSize = 1000,
    if_exists: IfExists = "skip",
    dry_run: DryRunOpt = False,
    keep_going: Annotated[
        bool, typer.Option("--continue-on-error", help="Create every good record, report each bad one; exit 7.")
    ] = False,
) -> None:
    """Create tickets from JSON, JSONL, YAML or CSV records, in batches (one transaction each)."""
    _import(ctx, source, input_format, batch_size, if_exists, dry_run, keep_going)


def _import(
    ctx: typer.Context,
    source: str,
    input_format: str | None = None,
    batch_size: int = 1000,
    if_exists: str = "skip",
    dry_run: bool = False,
    keep_going: bool = False,
) -> None:
    """Read records from a file or stdin and import them; print each record's outcome."""
    from pathlib import Path

    from tktctl.errors import PartialFailure
    from tktctl.tickets.importcheck import read_records

    fmt = input_format or FORMAT_BY_SUFFIX.get(Path(source).suffix.lower())
    with open_input(source) as stream, progress_bar() as step:
        try:
            result = desk(ctx).transfer.import_tickets(
                read_records(stream, fmt),
                batch_size=batch_size,
                if_exists=if_exists,
                continue_on_error=keep_going,
                dry_run=dry_run,
                progress=step,
                warn=warn,
            )
        except PartialFailure as failure:
            emit(ctx, failure.results, kinds.IMPORT)
            _import_summary(ctx, failure.results, dry_run)
            raise
    emit(ctx, result, kinds.IMPORT)
    _import_summary(ctx, result.outcomes, dry_run)


def _import_summary(ctx: typer.Context, outcomes: list[dict[str, Any]], dry_run: bool) -> None:
    """How many records were created, updated, skipped and failed; also when some failed (exit 7)."""
    totals = dict.fromkeys(("created", "updated", "skipped", "failed"), 0)
    for outcome in outcomes:
        totals[outcome["action"]] += 1
    summary(ctx, {**totals, "dry_run": dry_run}, ", ".join(f"{v} {k}" for k, v in totals.items()))


@app.command("export")
@with_output(kinds.EXPORT)
@with_filter
def export(ctx: typer.Context, selection: Any) -> None:
    """Complete tickets (articles, attachments' metadata, history) for `ticket import`; use -o jsonl."""
    emit(ctx, desk(ctx).transfer.export_tickets(selection), kinds.EXPORT)


@app.command("show")
@with_output(kinds.TICKET_DETAIL)
def show(ctx: typer.Context, tn: TicketRef) -> None:
    """Show a ticket with its articles."""
    emit(ctx, desk(ctx).tickets.show(tn), kinds.TICKET_DETAIL)


@app.command("list")
@with_output(kinds.TICKET)
@with_filter
def list_(
    ctx: typer.Context,
    selection: Any,
    sort: Annotated[
        str | None, typer.Option("--sort", help="Keys, comma-separated, - for descending: -priority,created.")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many tickets.")] = None,
) -> None:
    """List tickets matching every filter given."""
    emit(ctx, desk(ctx).tickets.list(selection, sort=sort, limit=limit), kinds.TICKET)


@app.command("count")
@with_output(kinds.COUNT)
@with_filter
def count(ctx: typer.Context, selection: Any) -> None:
    """Count tickets matching every filter given (for dashboards and shell checks)."""
    emit(ctx, {"count": desk(ctx).tickets.count(selection)}, kinds.COUNT)


@with_output(lambda params: kinds.stats_kind(_by(params["by"])))
@with_filter
def stats(
    ctx: typer.Context,
    selection: Any,
    by: Annotated[
        str, typer.Option("--by", help="Group by, comma-separated: queue, state, state_type, priority, owner, lock.")
    ] = "queue",
) -> None:
    """Ticket counts grouped by queue, state, priority or owner (filters narrow the tickets counted)."""
    keys = _by(by)
    rows = desk(ctx).tickets.stats(keys, selection)
    emit(ctx, rows, kinds.stats_kind(keys))


def _assignments(items: list[str] | None) -> dict[str, str]:
    from tktctl.tickets.fields import assignments

    return assignments(items or [])


def _by(by: str) -> list[str]:
    """The grouping keys of ``stats --by``."""
    return [k.strip() for k in by.split(",") if k.strip()]


@app.command("move")
@with_output(bulk_kind)
@with_selection
def move(ctx: typer.Context, selection: Chosen, to: ToQueue) -> None:
    """Move tickets to another queue."""
    run_bulk(ctx, desk(ctx).tickets.move, selection, to)


@app.command("lock")
@with_output(bulk_kind)
@with_selection
def lock(ctx: typer.Context, selection: Chosen, steal: Steal = False) -> None:
    """Lock tickets for the acting agent (exit 5 if another agent holds the lock)."""
    run_bulk(ctx, desk(ctx).tickets.lock, selection, steal=steal)


@app.command("unlock")
@with_output(bulk_kind)
@with_selection
def unlock(ctx: typer.Context, selection: Chosen, steal: Steal = False) -> None:
    """Unlock tickets (another agent's lock only with --steal)."""
    run_bulk(ctx, desk(ctx).tickets.unlock, selection, steal=steal)


@app.command("prioritize")
@with_output(bulk_kind)
@with_selection
def prioritize(
    ctx: typer.Context,
    selection: Chosen,
    to: Annotated[str | None, typer.Option("--to", help="New priority: 1-5 or a name.")] = None,
    raise_by: Annotated[int, typer.Option("--raise", help="Raise by N steps (capped at 5).")] = 0,
    lower_by: Annotated[int, typer.Option("--lower", help="Lower by N steps (capped at 1).")] = 0,
) -> None:
    """Set, raise or lower the priority of tickets."""
    run_bulk(ctx, desk(ctx).tickets.prioritize, selection, to=to, raise_by=raise_by, lower_by=lower_by)


@app.command("close")
@with_output(bulk_kind)
@with_selection
def close(
    ctx: typer.Context,
    selection: Chosen,
    to: Annotated[str, typer.Option("--to", help="A closed state.")] = "closed successful",
    note: Annotated[str | None, typer.Option("--note", help="Internal note saying why; - reads stdin.")] = None,
) -> None:
    """Close tickets (and unlock them)."""
    text = read_text(note)
    run_bulk(ctx, desk(ctx).tickets.close, selection, to=to, note=text)


@app.command("reopen")
@with_output(bulk_kind)
@with_selection
def reopen(
    ctx: typer.Context,
    selection: Chosen,
    to: Annotated[str, typer.Option("--to", help="State to reopen into.")] = "open",
) -> None:
    """Reopen closed tickets."""
    run_bulk(ctx, desk(ctx).tickets.reopen, selection, to=to)


@app.command("state")
@with_output(bulk_kind)
@with_selection
def state(
    ctx: typer.Context,
    selection: Chosen,
    to: Annotated[str, typer.Option("--to", help="New state.")],
    pending_until: Annotated[
        str | None, typer.Option("--pending-until", help="For pending states. " + TimeHelp)
    ] = None,
) -> None:
    """Set the state of tickets."""
    run_bulk(ctx, desk(ctx).tickets.set_state, selection, to=to, pending_until=pending_until)


@app.command("assign")
@with_output(bulk_kind)
@with_selection_without("responsible")  # --responsible here says what is set: no filter of that name
def assign(
    ctx: typer.Context,
    selection: Chosen,
    to: Annotated[str, typer.Option("--to", help="Agent login.")],
    responsible: Annotated[
        bool, typer.Option("--responsible", help="Set the responsible agent, not the owner.")
    ] = False,
) -> None:
    """Set the owner (or responsible agent) of tickets."""
    run_bulk(ctx, desk(ctx).tickets.assign, selection, to=to, responsible=responsible)


@app.command("note")
@with_output(bulk_kind)
@with_selection
def note(
    ctx: typer.Context,
    selection: Chosen,
    body: Annotated[str, typer.Option("--body", help="Note text; - reads stdin.")],
    subject: Annotated[str | None, typer.Option("--subject", help="Subject [default: Note].")] = None,
    internal: Annotated[bool, typer.Option("--internal", help="Hide the note from the customer.")] = False,
    time_units: Annotated[
        str | None, typer.Option("--time-units", help="Working time to account on the note (e.g. 15; OTRS units).")
    ] = None,
    attach: AttachOpt = None,
    attach_name: AttachNameOpt = None,
    attach_type: AttachTypeOpt = None,
) -> None:
    """Add a note to tickets (with files: --attach; and account working time on it)."""
    files = read_attachments(attach, attach_name, attach_type, body)
    text = read_text(body) or ""
    note = desk(ctx).tickets.note
    run_bulk(
        ctx, note, selection, body=text, subject=subject, internal=internal, time_units=time_units, attachments=files
    )


@app.command("history")
@with_output(kinds.HISTORY)
def history(ctx: typer.Context, tn: TicketRef) -> None:
    """A ticket's history, oldest first."""
    emit(ctx, desk(ctx).tickets.history_stream(tn), kinds.HISTORY)


@app.command("reply")
@with_output(kinds.ARTICLE)
def reply(
    ctx: typer.Context,
    tn: TicketRef,
    body: Annotated[
        str | None, typer.Option("--body", help="Answer text; - reads stdin. With --template: after the template.")
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Subject [default: Re: the customer's last subject].")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Recipient [default: the customer's last email address].")
    ] = None,
    attach: AttachOpt = None,
    attach_name: AttachNameOpt = None,
    attach_type: AttachTypeOpt = None,
    template: Annotated[
        str | None,
        typer.Option("--template", help="Answer template: the queue's salutation, its text, --body, the signature."),
    ] = None,
) -> None:
    """Answer the customer by email (queued in the outbox; `mail send` delivers it), with files: --attach."""
    files = read_attachments(attach, attach_name, attach_type, body)
    reply = desk(ctx).mail.reply(tn, body=read_text(body), subject=subject, to=to, attachments=files, template=template)
    emit(ctx, reply, kinds.ARTICLE)


@app.command("attachments")
@with_output(kinds.ATTACHMENT)
def attachments(ctx: typer.Context, tn: TicketRef) -> None:
    """List the attachments of a ticket's articles."""
    emit(ctx, desk(ctx).mail.attachments(tn), kinds.ATTACHMENT)


@app.command("attachment")
@with_output(kinds.ATTACHMENT)
def attachment(
    ctx: typer.Context,
    tn: TicketRef,
    attachment_id: Annotated[int, typer.Argument(help="Attachment id (see `ticket attachments`).")],
    to_file: Annotated[
        str, typer.Option("--to-file", help="Write the content to this file; - writes it to stdout (raw bytes).")
    ],
) -> None:
    """Write an attachment's content to a file (and print its record), or to stdout with --to-file -."""
    import sys
    from pathlib import Path

    from tktctl.errors import UsageError

    record, content = desk(ctx).mail.attachment(tn, attachment_id)
    if to_file == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    try:
        Path(to_file).write_bytes(content)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise UsageError(f"cannot write {to_file}: {getattr(exc, 'strerror', None) or exc}") from exc
    emit(ctx, {**record, "file": to_file}, kinds.ATTACHMENT)


# Verbs in modules of their own (commands/ticket.py is near the size limit), registered on this noun.
from tktctl.commands import (  # noqa: E402
    ticket_article,
    ticket_edit,
    ticket_fields,
    ticket_links,
    ticket_search,
)

for _verbs in (ticket_edit, ticket_links, ticket_search, ticket_article, ticket_fields, ticket_watch):
    app.registered_commands += _verbs.app.registered_commands

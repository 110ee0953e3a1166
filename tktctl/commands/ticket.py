"""`tktctl ticket ...`: the ticket lifecycle."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import (
    ContinueOpt,
    DryRunOpt,
    TicketRef,
    TicketRefs,
    TimeHelp,
    desk,
    emit,
    read_refs,
    read_text,
    run_bulk,
    with_output,
)
from tktctl.formats import kinds

app = typer.Typer(help="Create, find and change tickets.", no_args_is_help=True)

ToQueue = Annotated[str, typer.Option("--to", help="Target queue.")]
Steal = Annotated[bool, typer.Option("--steal", help="Take over a ticket locked by another agent (needs rw).")]


@app.command("create")
@with_output
def create(
    ctx: typer.Context,
    title: Annotated[str, typer.Option("--title", help="Ticket title (at most 255 characters).")],
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
) -> None:
    """Open a ticket and print it."""
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
        ),
        kinds.CREATED_TICKET,
    )


@app.command("show")
@with_output
def show(ctx: typer.Context, tn: TicketRef) -> None:
    """Show a ticket with its articles."""
    emit(ctx, desk(ctx).tickets.show(tn), kinds.TICKET_DETAIL)


@app.command("list")
@with_output
def list_(
    ctx: typer.Context,
    queue: Annotated[list[str] | None, typer.Option("--queue", help="Queue (repeatable).")] = None,
    state: Annotated[list[str] | None, typer.Option("--state", help="State (repeatable).")] = None,
    state_type: Annotated[
        list[str] | None, typer.Option("--state-type", help="State type: new, open, closed, ... (repeatable).")
    ] = None,
    priority: Annotated[list[str] | None, typer.Option("--priority", help="Priority (repeatable).")] = None,
    owner: Annotated[list[str] | None, typer.Option("--owner", help="Owner login (repeatable).")] = None,
    lock: Annotated[str | None, typer.Option("--lock", help="locked or unlocked.")] = None,
    customer: Annotated[list[str] | None, typer.Option("--customer", help="Customer (repeatable).")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Text the title contains.")] = None,
    created_before: Annotated[str | None, typer.Option("--created-before", help=TimeHelp)] = None,
    created_after: Annotated[str | None, typer.Option("--created-after", help=TimeHelp)] = None,
    changed_before: Annotated[str | None, typer.Option("--changed-before", help=TimeHelp)] = None,
    changed_after: Annotated[str | None, typer.Option("--changed-after", help=TimeHelp)] = None,
    sort: Annotated[
        str | None, typer.Option("--sort", help="Keys, comma-separated, - for descending: -priority,created.")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many tickets.")] = None,
) -> None:
    """List tickets matching every filter given."""
    from tktctl.services.tickets import TicketFilter

    selection = TicketFilter(
        queue=queue or (),
        state=state or (),
        state_type=state_type or (),
        priority=priority or (),
        owner=owner or (),
        lock=lock,
        customer=customer or (),
        title=title,
        created_before=created_before,
        created_after=created_after,
        changed_before=changed_before,
        changed_after=changed_after,
    )
    emit(ctx, desk(ctx).tickets.list(selection, sort=sort, limit=limit), kinds.TICKET)


@app.command("move")
@with_output
def move(
    ctx: typer.Context, tns: TicketRefs, to: ToQueue, dry_run: DryRunOpt = False, keep_going: ContinueOpt = False
) -> None:
    """Move tickets to another queue."""
    refs = read_refs(tns)
    run_bulk(ctx, desk(ctx).tickets.move, refs, to, dry_run=dry_run, continue_on_error=keep_going)


@app.command("lock")
@with_output
def lock(
    ctx: typer.Context,
    tns: TicketRefs,
    steal: Steal = False,
    dry_run: DryRunOpt = False,
    keep_going: ContinueOpt = False,
) -> None:
    """Lock tickets for the acting agent (exit 5 if another agent holds the lock)."""
    refs = read_refs(tns)
    run_bulk(ctx, desk(ctx).tickets.lock, refs, steal=steal, dry_run=dry_run, continue_on_error=keep_going)


@app.command("unlock")
@with_output
def unlock(
    ctx: typer.Context,
    tns: TicketRefs,
    steal: Steal = False,
    dry_run: DryRunOpt = False,
    keep_going: ContinueOpt = False,
) -> None:
    """Unlock tickets (another agent's lock only with --steal)."""
    refs = read_refs(tns)
    run_bulk(ctx, desk(ctx).tickets.unlock, refs, steal=steal, dry_run=dry_run, continue_on_error=keep_going)


@app.command("prioritize")
@with_output
def prioritize(
    ctx: typer.Context,
    tns: TicketRefs,
    to: Annotated[str | None, typer.Option("--to", help="New priority: 1-5 or a name.")] = None,
    raise_by: Annotated[int, typer.Option("--raise", help="Raise by N steps (capped at 5).")] = 0,
    lower_by: Annotated[int, typer.Option("--lower", help="Lower by N steps (capped at 1).")] = 0,
    dry_run: DryRunOpt = False,
    keep_going: ContinueOpt = False,
) -> None:
    """Set, raise or lower the priority of tickets."""
    refs = read_refs(tns)
    run_bulk(
        ctx,
        desk(ctx).tickets.prioritize,
        refs,
        to=to,
        raise_by=raise_by,
        lower_by=lower_by,
        dry_run=dry_run,
        continue_on_error=keep_going,
    )


@app.command("close")
@with_output
def close(
    ctx: typer.Context,
    tns: TicketRefs,
    to: Annotated[str, typer.Option("--to", help="A closed state.")] = "closed successful",
    note: Annotated[str | None, typer.Option("--note", help="Internal note saying why; - reads stdin.")] = None,
    dry_run: DryRunOpt = False,
    keep_going: ContinueOpt = False,
) -> None:
    """Close tickets (and unlock them)."""
    refs, text = read_refs(tns), read_text(note)
    run_bulk(ctx, desk(ctx).tickets.close, refs, to=to, note=text, dry_run=dry_run, continue_on_error=keep_going)


@app.command("reopen")
@with_output
def reopen(
    ctx: typer.Context,
    tns: TicketRefs,
    to: Annotated[str, typer.Option("--to", help="State to reopen into.")] = "open",
    dry_run: DryRunOpt = False,
    keep_going: ContinueOpt = False,
) -> None:
    """Reopen closed tickets."""
    refs = read_refs(tns)
    run_bulk(ctx, desk(ctx).tickets.reopen, refs, to=to, dry_run=dry_run, continue_on_error=keep_going)


@app.command("state")
@with_output
def state(
    ctx: typer.Context,
    tns: TicketRefs,
    to: Annotated[str, typer.Option("--to", help="New state.")],
    pending_until: Annotated[
        str | None, typer.Option("--pending-until", help="For pending states. " + TimeHelp)
    ] = None,
    dry_run: DryRunOpt = False,
    keep_going: ContinueOpt = False,
) -> None:
    """Set the state of tickets."""
    refs = read_refs(tns)
    run_bulk(
        ctx,
        desk(ctx).tickets.set_state,
        refs,
        to=to,
        pending_until=pending_until,
        dry_run=dry_run,
        continue_on_error=keep_going,
    )


@app.command("assign")
@with_output
def assign(
    ctx: typer.Context,
    tns: TicketRefs,
    to: Annotated[str, typer.Option("--to", help="Agent login.")],
    responsible: Annotated[
        bool, typer.Option("--responsible", help="Set the responsible agent, not the owner.")
    ] = False,
    dry_run: DryRunOpt = False,
    keep_going: ContinueOpt = False,
) -> None:
    """Set the owner (or responsible agent) of tickets."""
    refs = read_refs(tns)
    run_bulk(
        ctx,
        desk(ctx).tickets.assign,
        refs,
        to=to,
        responsible=responsible,
        dry_run=dry_run,
        continue_on_error=keep_going,
    )


@app.command("note")
@with_output
def note(
    ctx: typer.Context,
    tn: TicketRef,
    body: Annotated[str, typer.Option("--body", help="Note text; - reads stdin.")],
    subject: Annotated[str | None, typer.Option("--subject", help="Subject [default: Note].")] = None,
    internal: Annotated[bool, typer.Option("--internal", help="Hide the note from the customer.")] = False,
) -> None:
    """Add a note to a ticket."""
    text = read_text(body) or ""
    emit(ctx, desk(ctx).tickets.note(tn, body=text, subject=subject, internal=internal), kinds.TICKET)


@app.command("history")
@with_output
def history(ctx: typer.Context, tn: TicketRef) -> None:
    """A ticket's history, oldest first."""
    emit(ctx, desk(ctx).tickets.history(tn), kinds.HISTORY)


@app.command("reply")
@with_output
def reply(
    ctx: typer.Context,
    tn: TicketRef,
    body: Annotated[str, typer.Option("--body", help="Answer text; - reads stdin.")],
    subject: Annotated[
        str | None, typer.Option("--subject", help="Subject [default: Re: the customer's last subject].")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Recipient [default: the customer's last email address].")
    ] = None,
) -> None:
    """Answer the customer by email (queued in the outbox; `mail send` delivers it)."""
    text = read_text(body) or ""
    emit(ctx, desk(ctx).mail.reply(tn, body=text, subject=subject, to=to), kinds.ARTICLE)


@app.command("attachments")
@with_output
def attachments(ctx: typer.Context, tn: TicketRef) -> None:
    """List the attachments of a ticket's articles."""
    emit(ctx, desk(ctx).mail.attachments(tn), kinds.ATTACHMENT)


@app.command("attachment")
@with_output
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
    except OSError as exc:
        raise UsageError(f"cannot write {to_file}: {exc.strerror}") from exc
    emit(ctx, {**record, "file": to_file}, kinds.ATTACHMENT)

"""`tktctl queue ...`: queues and their SLA settings."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tktctl.commands._common import DryRunOpt, apply_kind, apply_records, desk, emit, with_output
from tktctl.commands._input import FileOpt
from tktctl.formats import kinds

app = typer.Typer(help="Manage queues.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="Queue name.")]
Clear = Annotated[
    list[str] | None,
    typer.Option(
        "--clear",
        help="Clear a setting: unlock-timeout, first-response-time, update-time, solution-time, "
        "calendar, comment, language, address, salutation, signature, ... (repeatable).",
    ),
]
CLEARABLE = (
    "unlock-timeout",
    "first-response-time",
    "update-time",
    "solution-time",
    "calendar",
    "comment",
    "first-response-notify",
    "update-notify",
    "solution-notify",
    "escalate-raise",
    "escalate-to",
    "escalation-decay",
    "language",
    "address",
    "salutation",
    "signature",
)
Minutes = "Minutes."
UnlockTimeout = Annotated[int | None, typer.Option("--unlock-timeout", min=0, help=Minutes)]
FirstResponseTime = Annotated[int | None, typer.Option("--first-response-time", min=0, help=Minutes)]
UpdateTime = Annotated[int | None, typer.Option("--update-time", min=0, help=Minutes)]
SolutionTime = Annotated[int | None, typer.Option("--solution-time", min=0, help=Minutes)]
CalendarOpt = Annotated[str | None, typer.Option("--calendar", help="Business calendar name.")]
FollowUp = Annotated[str | None, typer.Option("--follow-up", help="possible, reject or new_ticket.")]
Comment = Annotated[str | None, typer.Option("--comment", help="Free text for admins.")]
Percent = "Warn (EscalationXNotifyBefore) at this percentage of the time."
FirstResponseNotify = Annotated[int | None, typer.Option("--first-response-notify", help=Percent)]
UpdateNotify = Annotated[int | None, typer.Option("--update-notify", help=Percent)]
SolutionNotify = Annotated[int | None, typer.Option("--solution-notify", help=Percent)]
EscalateRaise = Annotated[
    int | None, typer.Option("--escalate-raise", help="On escalation, raise the priority by N steps.")
]
EscalateTo = Annotated[str | None, typer.Option("--escalate-to", help="On escalation, move to this queue.")]
EscalateNotify = Annotated[
    bool | None,
    typer.Option("--escalate-notify/--no-escalate-notify", help="On escalation, queue a notification for mail."),
]
EscalationDecay = Annotated[
    int | None,
    typer.Option("--escalation-decay", help="Minutes before a breached escalation fires again [default: 1440]."),
]

LanguageOpt = Annotated[
    str | None,
    typer.Option("--language", help="Language of its tickets' mail when neither customer nor message says (es)."),
]
AddressOpt = Annotated[str | None, typer.Option("--address", help="System address its mail is from (`address list`).")]
SalutationOpt = Annotated[str | None, typer.Option("--salutation", help="Salutation its answers start with.")]
SignatureOpt = Annotated[str | None, typer.Option("--signature", help="Signature its answers end with.")]


# Every queue setting a command takes: the record's keys but the identity ones.
SETTINGS = tuple(k for k in kinds.QUEUE.keys if k not in ("id", "name", "group", "valid"))


def _settings(given: dict[str, Any]) -> dict[str, Any]:
    """The queue settings among a command's parameters (``locals()``) that were given."""
    return {k: given[k] for k in SETTINGS if given[k] is not None}


@app.command("create")
@with_output(kinds.QUEUE)
def create(
    ctx: typer.Context,
    name: Name,
    group: Annotated[str, typer.Option("--group", help="Group whose permissions apply.")] = "users",
    unlock_timeout: UnlockTimeout = None,
    first_response_time: FirstResponseTime = None,
    update_time: UpdateTime = None,
    solution_time: SolutionTime = None,
    calendar: CalendarOpt = None,
    follow_up: FollowUp = None,
    comment: Comment = None,
    first_response_notify: FirstResponseNotify = None,
    update_notify: UpdateNotify = None,
    solution_notify: SolutionNotify = None,
    escalate_raise: EscalateRaise = None,
    escalate_to: EscalateTo = None,
    escalate_notify: EscalateNotify = None,
    escalation_decay: EscalationDecay = None,
    language: LanguageOpt = None,
    address: AddressOpt = None,
    salutation: SalutationOpt = None,
    signature: SignatureOpt = None,
    if_not_exists: Annotated[bool, typer.Option("--if-not-exists", help="Print an existing queue; no error.")] = False,
) -> None:
    """Create a queue."""
    settings = _settings(locals())
    emit(ctx, desk(ctx).queues.create(name, group=group, if_not_exists=if_not_exists, **settings), kinds.QUEUE)


@app.command("list")
@with_output(kinds.QUEUE)
def list_(ctx: typer.Context) -> None:
    """List queues."""
    emit(ctx, desk(ctx).queues.list(), kinds.QUEUE)


@app.command("show")
@with_output(kinds.QUEUE)
def show(ctx: typer.Context, name: Name) -> None:
    """Show a queue."""
    emit(ctx, desk(ctx).queues.show(name), kinds.QUEUE)


@app.command("update")
@with_output(kinds.QUEUE)
def update(
    ctx: typer.Context,
    name: Name,
    group: Annotated[str | None, typer.Option("--group", help="Group whose permissions apply.")] = None,
    unlock_timeout: UnlockTimeout = None,
    first_response_time: FirstResponseTime = None,
    update_time: UpdateTime = None,
    solution_time: SolutionTime = None,
    calendar: CalendarOpt = None,
    follow_up: FollowUp = None,
    comment: Comment = None,
    first_response_notify: FirstResponseNotify = None,
    update_notify: UpdateNotify = None,
    solution_notify: SolutionNotify = None,
    escalate_raise: EscalateRaise = None,
    escalate_to: EscalateTo = None,
    escalate_notify: EscalateNotify = None,
    escalation_decay: EscalationDecay = None,
    language: LanguageOpt = None,
    address: AddressOpt = None,
    salutation: SalutationOpt = None,
    signature: SignatureOpt = None,
    clear: Clear = None,
    auto_response: Annotated[
        list[str] | None,
        typer.Option("--auto-response", help="Auto-response the queue sends for its type (repeatable)."),
    ] = None,
    no_auto_response: Annotated[
        list[str] | None,
        typer.Option("--no-auto-response", help="Stop sending this type: auto-reply, auto-reject, ... (repeatable)."),
    ] = None,
) -> None:
    """Change a queue's settings; --clear removes one."""
    from tktctl.errors import UsageError

    settings = _settings(locals())
    for item in clear or []:
        if item not in CLEARABLE:
            raise UsageError(f"cannot clear {item!r}; clearable: {', '.join(CLEARABLE)}")
        settings[item.replace("-", "_")] = None
    emit(
        ctx,
        desk(ctx).queues.update(
            name,
            group=group,
            auto_responses=auto_response or (),
            no_auto_responses=no_auto_response or (),
            **settings,
        ),
        kinds.QUEUE,
    )


@app.command("apply")
@with_output(apply_kind(kinds.QUEUE))
def apply(ctx: typer.Context, file: FileOpt, dry_run: DryRunOpt = False) -> None:
    """Create or update queues from YAML as `queue list -o yaml` prints it (or any part); rerunnable."""
    apply_records(ctx, "queues", file, dry_run, desk(ctx).queues.show, kinds.QUEUE)


@app.command("rename")
@with_output(kinds.QUEUE)
def rename(ctx: typer.Context, name: Name, new_name: Annotated[str, typer.Argument(help="New name.")]) -> None:
    """Rename a queue (its tickets and history follow)."""
    emit(ctx, desk(ctx).queues.rename(name, new_name), kinds.QUEUE)


@app.command("disable")
@with_output(kinds.QUEUE)
def disable(ctx: typer.Context, name: Name) -> None:
    """Disable a queue: it keeps its tickets but takes no new ones."""
    emit(ctx, desk(ctx).queues.set_valid(name, False), kinds.QUEUE)


@app.command("enable")
@with_output(kinds.QUEUE)
def enable(ctx: typer.Context, name: Name) -> None:
    """Enable a disabled queue."""
    emit(ctx, desk(ctx).queues.set_valid(name, True), kinds.QUEUE)


@app.command("delete")
@with_output(kinds.QUEUE)
def delete(ctx: typer.Context, name: Name) -> None:
    """Delete a queue that has never held a ticket (others: disable)."""
    emit(ctx, desk(ctx).queues.delete(name), kinds.QUEUE)

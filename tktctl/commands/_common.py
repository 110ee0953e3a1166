"""What every command shares: its settings, the output options, reading stdin, rendering.

Commands stay thin: parse, call one service method, hand the result to :func:`emit`.
Nothing here imports the database layer at module level, so ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from tktctl.commands._input import read_refs, read_yaml
from tktctl.commands._wrap import extend
from tktctl.config import Settings
from tktctl.errors import PartialFailure, UsageError
from tktctl.formats import check_format, kinds, select_fields
from tktctl.gcpause import collector_paused
from tktctl.text import plural

if TYPE_CHECKING:
    from tktctl.desk import Desk
    from tktctl.formats.kinds import Kind

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
# On a terminal, a change to more tickets than this asks first (--yes skips the question).
CONFIRM_OVER = 20


@dataclass
class Invocation:
    """Per-run state on ``ctx.obj``: the resolved settings (set by the root callback)."""

    settings: Settings | None = None
    desk: Desk | None = None
    # `tktctl batch` shares desks (engines, pools) across its lines, keyed by what builds them.
    desks: dict[tuple[Any, ...], Desk] | None = None
    # The error the run reported (``{"code": ..., "message": ...}``), whatever the output format.
    error: dict[str, Any] | None = None
    # `tktctl batch`: the settings resolved for each set of global options (a line's own, or none),
    # so that its lines read the config file once per set.
    resolved: dict[tuple[Any, ...], Settings] | None = None
    # `tktctl batch`: a line's one JSON record, taken as data for its result line (see :func:`emit`);
    # None where records are written as text.
    held: list[Mapping[str, Any]] | None = None


OutputOpt = Annotated[
    str | None,
    typer.Option("--output", "-o", help="table, json, jsonl, yaml, csv, tsv or ids.", show_default=False),
]
FieldsOpt = Annotated[str | None, typer.Option("--fields", help="Comma-separated keys/columns to emit, in that order.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print identifiers only (same as -o ids).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Check and show what would change; write nothing.")]
ContinueOpt = Annotated[
    bool,
    typer.Option("--continue-on-error", help="One transaction per ticket; report each; exit 7 if any failed."),
]
TicketRef = Annotated[str, typer.Argument(help="Ticket number.")]
TimeHelp = "A time: 2026-11-27, '2026-11-27 14:00', 3d (ago), +2h (from now), now, today, yesterday."


def invocation(ctx: typer.Context) -> Invocation:
    root = ctx.find_root()
    if not isinstance(root.obj, Invocation):
        root.obj = Invocation()
    return root.obj


def settings(ctx: typer.Context) -> Settings:
    current = invocation(ctx).settings
    assert current is not None, "the root callback resolves settings before any command runs"
    return current


def _options(*specs: tuple[str, Any, Any]) -> list[inspect.Parameter]:
    return [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a) for name, a, d in specs]


# A command's record kind, or how its options choose one (``ctx.params``: every parsed option).
KindRule = Callable[[dict[str, Any]], "Kind"]


def with_output(kind: Kind | KindRule | F) -> Any:
    """Add ``-o/--output``, ``--fields`` and ``-q`` after the verb, as kubectl and gh accept them.

    ``@with_output(kinds.TICKET)`` names what the command prints, so that the output options,
    wherever given, are checked against it before the command runs: a bad ``--fields`` fails
    before anything is written. A bare ``@with_output`` checks only the format up front
    (tests/test_output_contract.py requires every command to name its kind).
    """
    if inspect.isfunction(kind) and "ctx" in inspect.signature(kind).parameters:
        return _with_output(kind, None)
    return functools.partial(_with_output, kind=kind)


def _with_output(function: F, kind: Kind | KindRule | None) -> F:
    def prepare(ctx: typer.Context | None, taken: dict[str, Any]) -> dict[str, Any]:
        if ctx is None:
            return {}
        state = invocation(ctx)
        assert state.settings is not None
        if any(taken.values()):
            state.settings = state.settings.with_output(taken["output"], taken["fields"], bool(taken["quiet"]))
        fmt = check_format(state.settings.output)
        if kind is not None:
            select_fields(kind if isinstance(kind, kinds.Kind) else kind(ctx.params), state.settings.fields, fmt)
        return {}

    extra = _options(("output", OutputOpt, None), ("fields", FieldsOpt, None), ("quiet", QuietOpt, False))
    wrapper = extend(function, extra, prepare)
    wrapper.output_kind = kind  # type: ignore[attr-defined]
    return wrapper


def bulk_kind(params: dict[str, Any]) -> Kind:
    """What a verb over many tickets prints: the tickets, or with --continue-on-error each one's outcome."""
    return kinds.OUTCOME if params.get("continue_on_error") else kinds.TICKET


# The filters of `ticket list`, shared by every verb that selects tickets: (name, type, flag, help).
FILTERS: tuple[tuple[str, Any, str, str], ...] = (
    ("queue", list[str] | None, "--queue", "Queue (repeatable)."),
    ("state", list[str] | None, "--state", "State (repeatable, or comma-separated)."),
    ("state_type", list[str] | None, "--state-type", "State type: new, open, closed, ... (repeatable, or a,b)."),
    ("priority", list[str] | None, "--priority", "Priority (repeatable, or comma-separated)."),
    ("owner", list[str] | None, "--owner", "Owner login (repeatable)."),
    ("lock", list[str] | None, "--lock", "locked or unlocked (repeatable, or comma-separated)."),
    ("customer", list[str] | None, "--customer", "Customer (repeatable)."),
    ("title", str | None, "--title", "Text the title contains."),
    ("text", str | None, "--text", 'Full-text search in titles and articles: words, "phrases", AND, OR, NOT.'),
    ("created_before", str | None, "--created-before", "Created before this time. " + TimeHelp),
    ("created_after", str | None, "--created-after", "Created at or after this time."),
    ("changed_before", str | None, "--changed-before", "Last changed before this time."),
    ("changed_after", str | None, "--changed-after", "Last changed at or after this time."),
    # Issue 12, part A (t12a):
    ("responsible", list[str] | None, "--responsible", "Responsible agent login (repeatable)."),
    ("type", list[str] | None, "--type", "Ticket type (repeatable)."),
    ("external_id", list[str] | None, "--external-id", "External id (repeatable)."),
    ("pending_before", str | None, "--pending-before", "Pending until before this time."),
    ("pending_after", str | None, "--pending-after", "Pending until at or after this time."),
    ("escalation_before", str | None, "--escalation-before", "An escalation deadline before this time (+1h)."),
    ("breached", bool | None, "--breached/--not-breached", "An escalation deadline has passed (or not)."),
    # Links (issue 12).
    ("linked_to", list[str] | None, "--linked-to", "Linked to this ticket, any link type (repeatable)."),
    ("field", list[str] | None, "--field", "Custom field NAME=VALUE, NAME>VALUE, NAME<VALUE (repeatable; all hold)."),
)
FILTER_PARAMS = _options(
    *((name, Annotated[kind, typer.Option(flag, help=text)], None) for name, kind, flag, text in FILTERS)
)
AllOpt = Annotated[bool, typer.Option("--all", help="Select every ticket (needed when no ticket or filter is given).")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help=f"Do not ask before changing over {CONFIRM_OVER} tickets.")]
SelectRefs = Annotated[
    list[str] | None,
    typer.Argument(help="Ticket numbers; - reads them from stdin (one per line, or JSON with tn). Or use filters."),
]


def _ticket_filter(taken: dict[str, Any]) -> Any:
    from tktctl.tickets.selection import TicketFilter

    return TicketFilter(**{name: taken[name] for name, *_ in FILTERS if taken.get(name) not in (None, [], "")})


def with_filter(function: F) -> F:
    """Add the filters of ``ticket list``; the command gets them as ``selection`` (a TicketFilter)."""

    def prepare(ctx: typer.Context | None, taken: dict[str, Any]) -> dict[str, Any]:
        return {"selection": _ticket_filter(taken)}

    return extend(function, FILTER_PARAMS, prepare, drop="selection")


@dataclass(frozen=True)
class Chosen:
    """What a mutating verb works on and how: the tickets (numbers or a TicketFilter), and the run's flags."""

    tickets: Any
    yes: bool
    dry_run: bool
    continue_on_error: bool


def with_selection(function: F, without: tuple[str, ...] = ()) -> F:
    """Ticket numbers (``-`` = stdin) or the filters of ``ticket list`` (or ``--all``), as ``selection``.

    Also ``--dry-run`` and ``--continue-on-error``, so that each verb names only its own options
    and hands the ``Chosen`` to :func:`run_bulk`. ``without`` names filters the verb does not
    offer because it sets a value of that name (`ticket update --title`: contract §5).
    """

    def prepare(ctx: typer.Context | None, taken: dict[str, Any]) -> dict[str, Any]:
        refs = read_refs(taken["tns"] or [])
        selection = _ticket_filter(taken)
        if refs and not selection.is_empty():
            raise UsageError("give ticket numbers or filters, not both")
        if taken["tns"] and not refs:
            raise UsageError("no tickets given")
        if not refs and selection.is_empty() and not taken["select_all"]:
            raise UsageError("no tickets given: name ticket numbers (- reads stdin), give filters, or --all")
        return {
            "selection": Chosen(
                refs or selection,
                yes=bool(taken["yes"]),
                dry_run=bool(taken["dry_run"]),
                continue_on_error=bool(taken["continue_on_error"]),
            )
        }

    extra = [
        *_options(("tns", SelectRefs, None), ("dry_run", DryRunOpt, False), ("continue_on_error", ContinueOpt, False)),
        *(p for p in FILTER_PARAMS if p.name not in without),
        *_options(("select_all", AllOpt, False), ("yes", YesOpt, False)),
    ]
    return extend(function, extra, prepare, drop="selection")


def with_selection_without(*names: str) -> Callable[[F], F]:
    """:func:`with_selection` without the filters ``names`` (the verb's own flags of the same names)."""
    return lambda function: with_selection(function, names)


def load_database_layer() -> None:
    """Import the database layer (SQLAlchemy, the models, the facade) with the collector paused.

    The import leaves ~40,000 long-lived objects that the collector would scan ~140 times on the
    way and again at exit, freeing nothing (~130 ms of a `ticket create`, docs/benchmarks.md);
    frozen, they are never scanned again. A command calls this before its first import of the
    layer, wherever that is (`--attach` reads files before the desk is built). Only when this call
    does the import: a process that already has the layer keeps its collector as it is.
    """
    if "tktctl.core.unit" in sys.modules:
        return
    with collector_paused(freeze=True):
        import tktctl.desk  # noqa: F401


def desk(ctx: typer.Context) -> Desk:
    """The desk for this run, built once from the settings."""
    state = invocation(ctx)
    if state.desk is None:
        load_database_layer()
        from tktctl.core.vocabulary import BODY_MAX_BYTES
        from tktctl.desk import Desk, NumberSettings

        current = settings(ctx)
        numbering = current.profile.get("ticket_number") or {}  # type-checked by config.load_profile
        numbers = NumberSettings(
            generator=str(numbering.get("generator", "DateChecksum")),
            system_id=str(numbering.get("system_id", "10")),
        )
        zone = current.profile.get("timezone")
        mail, smtp = current.profile.get("mail"), current.profile.get("smtp")
        body_max = current.profile.get("max_body_bytes", BODY_MAX_BYTES)
        if not isinstance(body_max, int) or isinstance(body_max, bool) or body_max < 1:
            raise UsageError("profile key 'max_body_bytes' must be a positive whole number")
        key = (
            current.db,
            current.agent,
            numbers,
            zone,
            body_max,
            json.dumps([mail, smtp], sort_keys=True, default=str),
        )
        made = functools.partial(
            Desk,
            current.db,
            actor=current.agent,
            numbers=numbers,
            timezone_name=zone,
            mail=mail,
            smtp=smtp,
            max_body_bytes=body_max,
        )
        state.desk = kept(state.desks, key, made)
    return state.desk


def kept(shared: dict[Any, T] | None, key: Any, make: Callable[[], T]) -> T:
    """``shared[key]``, made by ``make`` when missing; made afresh where nothing is shared (not a batch)."""
    if shared is None:
        return make()
    if key not in shared:
        shared[key] = make()
    return shared[key]


def emit(ctx: typer.Context, data: Any, kind: Kind) -> None:
    """Render records on stdout in the chosen format.

    A `tktctl batch` line's single record in JSON, printed first, is held as data instead: the batch
    writes it inside the line's result, without writing it as text and parsing it back.
    """
    from tktctl.formats import record, render

    current = settings(ctx)
    held = invocation(ctx).held
    if held == [] and current.output == "json" and isinstance(data, Mapping) and not sys.stdout.tell():
        held.append(record(data, kind=kind, fmt="json", fields=current.fields))
        return
    zone = None
    if current.output == "table" and current.profile.get("timezone") not in (None, "local"):
        zone = desk(ctx).tz  # the profile's zone, checked when the desk was made
    render(data, kind=kind, fmt=current.output, fields=current.fields, out=sys.stdout, zone=zone)
    sys.stdout.flush()


def done(dry_run: bool) -> None:
    if dry_run:
        typer.echo("dry run: nothing was written", err=True)


def report_changes(ctx: typer.Context, changes: list[Any], kind: Kind, dry_run: bool) -> None:
    """A declarative apply's changes on stdout; on stderr, none, or that a dry run wrote nothing."""
    emit(ctx, changes, kind)
    if not changes:
        typer.echo("nothing to do", err=True)
    elif dry_run:
        typer.echo(f"dry run: {plural(len(changes), 'change')}, nothing was written", err=True)


def print_document(ctx: typer.Context, document: Any, kind: Kind, what: str) -> None:
    """A configuration document (``desk dump``, ``mail filter dump``): YAML unless ``-o json`` asks for JSON."""
    from tktctl.formats import render

    fmt = settings(ctx).output
    if fmt not in ("table", "yaml", "json"):
        raise UsageError(f"{what} writes yaml or json, not {fmt}")
    render(document, kind=kind, fmt="json" if fmt == "json" else "yaml", out=sys.stdout, fields=settings(ctx).fields)
    sys.stdout.flush()


def apply_kind(kind: Kind) -> Callable[[dict[str, Any]], Kind]:
    """What an ``apply -f`` prints: the objects, or with ``--dry-run`` the diff."""
    return lambda params: kinds.DIFF if params.get("dry_run") else kind


def apply_records(
    ctx: typer.Context,
    section: str,
    file: str,
    dry_run: bool,
    show: Callable[[str], Any],
    kind: Kind,
    identity: str = "name",
) -> None:
    """``NOUN apply -f FILE``: records as ``NOUN list -o yaml`` prints them (one, or a list), through
    the same path as ``desk apply``; prints the objects, or with ``dry_run`` what would change."""
    document = read_yaml(file)
    items = document if isinstance(document, list) else [document]
    changes = desk(ctx).config.apply({section: items}, dry_run=dry_run)
    if dry_run:
        report_changes(ctx, changes, kinds.DIFF, dry_run)
    else:
        emit(ctx, [show(item[identity]) for item in items], kind)


def run_bulk(
    ctx: typer.Context,
    call: Callable[..., Any],
    selection: Chosen,
    *args: Any,
    output: Kind | None = None,
    **kwargs: Any,
) -> None:
    """Run a bulk change: ask on a terminal when it is big, show progress, print, summarise on stderr.

    ``call`` is the service method; ``args`` and ``kwargs`` are the verb's own options.
    Prints the tickets after the change (or records of ``output``), or each ticket's outcome
    with --continue-on-error.
    """
    dry_run, continue_on_error = selection.dry_run, selection.continue_on_error
    terminal = sys.stderr.isatty()
    total = 0
    if terminal:
        tickets = selection.tickets
        total = len(tickets) if isinstance(tickets, list) else desk(ctx).tickets.count(tickets)
        if sys.stdin.isatty() and not (selection.yes or dry_run) and total > CONFIRM_OVER:
            typer.confirm(f"change {total} tickets?", abort=True, err=True)
    with progress_bar(total) as step:
        try:
            result = call(
                selection.tickets, *args, dry_run=dry_run, continue_on_error=continue_on_error, progress=step, **kwargs
            )
        except PartialFailure as failure:
            emit(ctx, failure.results, kinds.OUTCOME)
            outcomes = failure.results
            changed = sum(bool(o["changed"]) for o in outcomes)
            _bulk_summary(ctx, len(outcomes), changed, sum(not o["ok"] for o in outcomes), dry_run)
            raise
    kind = bulk_kind(ctx.params) if output is None or continue_on_error else output
    records: Any = result
    if kind is kinds.TICKET and settings(ctx).output == "ids":  # the numbers alone: no records built
        records = ({"tn": tn} for tn in result.numbers())
    emit(ctx, records, kind)
    _bulk_summary(ctx, result.matched, result.changed, 0, dry_run)


def _bulk_summary(ctx: typer.Context, matched: int, changed: int, failed: int, dry_run: bool) -> None:
    """The totals of a bulk run; with --continue-on-error they count the failed tickets too."""
    totals = {"matched": matched, "changed": changed, "failed": failed, "dry_run": dry_run}
    text = f"{plural(matched, 'ticket')} matched, {changed} changed" + (f", {failed} failed" if failed else "")
    summary(ctx, totals, text)


def summary(ctx: typer.Context, totals: dict[str, Any], text: str) -> None:
    """The totals of a bulk run on stderr: one JSON object in machine formats, else one line."""
    if settings(ctx).output in ("json", "jsonl", "yaml"):
        typer.echo(json.dumps({"summary": totals}), err=True)
    else:
        typer.echo(text + (" (dry run: nothing was written)" if totals.get("dry_run") else ""), err=True)


def warn(text: str) -> None:
    """A warning on stderr: the command succeeded, but something beside it did not."""
    typer.echo(f"tktctl: warning: {text}", err=True)


@contextlib.contextmanager
def progress_bar(total: int | None = None) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr, only when stderr is a terminal (``total`` None: unknown length)."""
    if not sys.stderr.isatty():
        yield None
        return
    with typer.progressbar(length=total, label="tickets", file=sys.stderr) as bar:
        yield bar.update

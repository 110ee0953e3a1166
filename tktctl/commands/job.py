"""`tktctl job ...`: saved jobs (a ticket filter plus actions), after OTRS's Generic Agent."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import DryRunOpt, apply_kind, apply_records, desk, done, emit, with_output
from tktctl.commands._input import FileOpt, read_yaml
from tktctl.formats import kinds

app = typer.Typer(help="Saved jobs: a ticket filter and actions, from YAML.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="Job name.")]


def _is_file(ref: str) -> bool:
    return ref == "-" or "/" in ref or ref.endswith((".yaml", ".yml"))


@app.command("run")
@with_output(kinds.JOB_RESULT)
def run(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="A saved job's name, or a YAML file (has / or .yaml; - = stdin).")],
    dry_run: DryRunOpt = False,
) -> None:
    """Run a job: one transaction; a second run of the same job waits for the first."""
    jobs = desk(ctx).jobs
    result = jobs.run(document=read_yaml(job), dry_run=dry_run) if _is_file(job) else jobs.run(job, dry_run=dry_run)
    emit(ctx, result, kinds.JOB_RESULT)
    done(dry_run)


@app.command("apply")
@with_output(apply_kind(kinds.JOB))
def apply(ctx: typer.Context, file: FileOpt, dry_run: DryRunOpt = False) -> None:
    """Save jobs from YAML as `job list -o yaml` prints it; a job of the same name is replaced."""
    apply_records(ctx, "jobs", file, dry_run, desk(ctx).jobs.show, kinds.JOB)


@app.command("list")
@with_output(kinds.JOB)
def list_(ctx: typer.Context) -> None:
    """List saved jobs."""
    emit(ctx, desk(ctx).jobs.list(), kinds.JOB)


@app.command("show")
@with_output(kinds.JOB)
def show(ctx: typer.Context, name: Name) -> None:
    """Show a saved job."""
    emit(ctx, desk(ctx).jobs.show(name), kinds.JOB)


@app.command("delete")
@with_output(kinds.JOB)
def delete(ctx: typer.Context, name: Name) -> None:
    """Delete a saved job."""
    emit(ctx, desk(ctx).jobs.delete(name), kinds.JOB)

"""`tktctl acl ...`: who holds which permission type on which group."""

from __future__ import annotations

from typing import Annotated

import typer

from tktctl.commands._common import DryRunOpt, desk, emit, report_changes, with_output
from tktctl.commands._input import read_yaml
from tktctl.formats import kinds

app = typer.Typer(
    help="Grant and revoke permissions (ro, move_into, create, note, owner, priority, rw), check and apply them.",
    no_args_is_help=True,
)

Perms = Annotated[str, typer.Argument(help="Permission types, comma-separated: ro,note (rw implies all).")]
GroupOpt = Annotated[str, typer.Option("--group", help="Group name.")]
AgentOpt = Annotated[str | None, typer.Option("--agent", help="Agent login.")]
RoleOpt = Annotated[str | None, typer.Option("--role", help="Role name.")]


@app.command("grant")
@with_output(kinds.GRANT)
def grant(ctx: typer.Context, perms: Perms, group: GroupOpt, agent: AgentOpt = None, role: RoleOpt = None) -> None:
    """Give an agent or a role permission types on a group (held ones stay; rerunnable)."""
    emit(ctx, desk(ctx).acl.grant(perms, group=group, agent=agent, role=role), kinds.GRANT)


@app.command("revoke")
@with_output(kinds.GRANT)
def revoke(ctx: typer.Context, perms: Perms, group: GroupOpt, agent: AgentOpt = None, role: RoleOpt = None) -> None:
    """Take permission types on a group from an agent or a role (rerunnable); prints what remains."""
    emit(ctx, desk(ctx).acl.revoke(perms, group=group, agent=agent, role=role), kinds.GRANT)


@app.command("list")
@with_output(kinds.GRANT)
def list_(
    ctx: typer.Context,
    agent: AgentOpt = None,
    group: Annotated[str | None, typer.Option("--group", help="Group name.")] = None,
    role: RoleOpt = None,
) -> None:
    """Effective rights, each with where it comes from (direct or a role); --role: the role's grants."""
    emit(ctx, desk(ctx).acl.list(agent=agent, group=group, role=role), kinds.GRANT)


@app.command("check")
@with_output(kinds.ACL_CHECK)
def check(
    ctx: typer.Context,
    perm: Annotated[str, typer.Option("--perm", help="Permission type to check.")],
    agent: Annotated[str | None, typer.Option("--agent", help="Agent login [default: the acting agent].")] = None,
    ticket: Annotated[str | None, typer.Option("--ticket", help="Ticket number.")] = None,
    queue: Annotated[str | None, typer.Option("--queue", help="Queue name.")] = None,
    group: Annotated[str | None, typer.Option("--group", help="Group name.")] = None,
) -> None:
    """Exit 0 if the agent holds the permission on the ticket, queue or group, else 4; prints why."""
    from tktctl.errors import PermissionDeniedError

    result = desk(ctx).acl.check(perm, agent=agent, ticket=ticket, queue=queue, group=group)
    emit(ctx, result, kinds.ACL_CHECK)
    if not result["allowed"]:
        raise PermissionDeniedError(f"denied: {result['reason']}", ref=result["group"])


@app.command("apply")
@with_output(kinds.CHANGE)
def apply(
    ctx: typer.Context,
    file: Annotated[
        str, typer.Option("--file", "-f", help="YAML desk file (as `acl dump -o yaml` writes); - is stdin.")
    ],
    dry_run: DryRunOpt = False,
) -> None:
    """Bring groups, roles, role members and grants to a YAML description; prints the changes."""
    report_changes(ctx, desk(ctx).acl.apply(read_yaml(file), dry_run=dry_run), kinds.CHANGE, dry_run)


@app.command("dump")
@with_output(kinds.DESK)
def dump(ctx: typer.Context) -> None:
    """Print groups, roles and grants as `acl apply` reads them (use -o yaml)."""
    emit(ctx, desk(ctx).acl.dump(), kinds.DESK)

"""`tktctl group ...`: the permission groups that queues belong to."""

from __future__ import annotations

import typer

from tktctl.commands._named import add_named_commands
from tktctl.formats import kinds

app = typer.Typer(help="Manage permission groups (each queue belongs to one).", no_args_is_help=True)
add_named_commands(app, "group", "groups", kinds.GROUP, disabled_means="its grants give nothing until enabled.")

"""`tktctl salutation ...`: what a queue's answers start with, as OTRS's Admin::Salutation."""

from __future__ import annotations

import typer

from tktctl.commands._texts import add_text_commands
from tktctl.formats import kinds

app = typer.Typer(help="Manage salutations: what a queue's answers start with.", no_args_is_help=True)
add_text_commands(app, "salutation", "salutations", kinds.SALUTATION)

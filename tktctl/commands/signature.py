"""`tktctl signature ...`: what a queue's answers end with, as OTRS's Admin::Signature."""

from __future__ import annotations

import typer

from tktctl.commands._texts import add_text_commands
from tktctl.formats import kinds

app = typer.Typer(help="Manage signatures: what a queue's answers end with.", no_args_is_help=True)
add_text_commands(app, "signature", "signatures", kinds.SIGNATURE)

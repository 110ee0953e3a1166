"""Each command's option parser built once per process, not once per command line.

Click builds a command's parser anew for every context: one parser object and one option object
per parameter (~30 for `ticket create`), then throws them away. A `tktctl batch` line and a warm
server's request parse again with the same command objects, so the parser is kept with its command
and only its context is swapped in; parsing itself keeps its state in a per-call object.
"""

from __future__ import annotations

from typing import Any

from typer._click import Command, Context


def keep_parser(command: Command) -> Command:
    """Give ``command`` a ``make_parser`` that builds once per kind of context and reuses the parser."""
    build = command.make_parser
    kept: dict[tuple[Any, ...], Any] = {}

    def make_parser(ctx: Context) -> Any:
        # What the parser reads from its context when built (and its help option's names).
        key = (ctx.allow_interspersed_args, ctx.ignore_unknown_options, ctx.token_normalize_func)
        key += (tuple(ctx.help_option_names),)
        parser = kept.get(key)
        if parser is None:
            parser = kept[key] = build(ctx)
        parser.ctx = ctx  # errors name this context; resilient parsing (completion) is read from it
        return parser

    command.make_parser = make_parser  # type: ignore[method-assign]
    return command

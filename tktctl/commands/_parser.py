"""Each command's option parser and its options' defaults made once per process, not per command line.

Click builds a command's parser anew for every context (a parser and an option object per parameter,
~30 for `ticket create`) and runs every parameter the line did not give through the whole of
``handle_parse_result`` (environment, default map, default, type conversion) to reach the same default
again. A `tktctl batch` line and a warm server's request parse with the same command objects, so the
parser is kept with its command (only its context swapped in: parsing keeps its state per call), and
a plain option's processed default is kept after its first use.
"""

from __future__ import annotations

from typing import Any

from typer._click import Command, Context, Parameter
from typer._click.core import ParameterSource


def keep_parser(command: Command) -> Command:
    """Give ``command`` a ``make_parser`` that builds once per kind of context and reuses the parser,
    and its plain parameters a kept default (see :func:`_keep_default`)."""
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
    for param in command.params:
        _keep_default(param)
    return command


def _keep_default(param: Parameter) -> None:
    """A parameter whose value, when the line does not give it, can only be its default (no environment
    variable, callback, prompt or requirement) processes that default once; the value is kept when it is
    immutable (None, a number, a string, a bool, an empty tuple), else processed each time as before."""
    if param.envvar or param.callback or getattr(param, "prompt", None) or param.required or not param.expose_value:
        return
    handle = param.handle_parse_result
    name = param.name
    kept: list[Any] = []  # [value, source] once known

    def handle_parse_result(ctx: Context, opts: Any, args: list[str]) -> tuple[Any, list[str]]:
        plain = opts.get(name) is None and ctx.default_map is None and ctx.auto_envvar_prefix is None
        if plain and kept:
            ctx.set_parameter_source(name, kept[1])  # type: ignore[arg-type]
            ctx.params[name] = kept[0]  # type: ignore[index]
            return kept[0], args
        value, args = handle(ctx, opts, args)
        source = ctx.get_parameter_source(name)  # type: ignore[arg-type]
        if plain and source is ParameterSource.DEFAULT and (value is None or value == () or _scalar(value)):
            kept[:] = [value, source]
        return value, args

    param.handle_parse_result = handle_parse_result  # type: ignore[method-assign]


def _scalar(value: Any) -> bool:
    return type(value) in (bool, int, float, str)

"""Commands with more keyword options than their functions declare (the output, filter and selection options)."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])
Prepare = Callable[["typer.Context | None", dict[str, Any]], dict[str, Any]]


def extend(function: F, extra: list[inspect.Parameter], prepare: Prepare, drop: str | None = None) -> F:
    """Give a command more keyword options; ``prepare`` turns their values into the command's kwargs.

    ``drop`` names a parameter of the command that ``prepare`` supplies instead of the user.
    """
    return _Extended(function, extra, prepare, drop)  # type: ignore[return-value]


class _Extended:
    """A command with more keyword options (see :func:`extend`), as Typer reads a function.

    Typer reads the signature and the resolved annotations (``__signature__``, ``__annotations__``)
    from this wrapper, not from the function. They are resolved on first read: Typer
    reads them only for the verb it builds, and resolving every verb's annotations when its module
    is imported cost ~5 ms of a cold `ticket create` (53 verbs and helpers, most never built).
    """

    def __init__(
        self, function: Callable[..., Any], extra: list[inspect.Parameter], prepare: Prepare, drop: str | None
    ):
        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(self, name, getattr(function, name))
        self.__wrapped__ = function
        self._extra, self._prepare, self._drop = extra, prepare, drop
        self._names = [p.name for p in extra]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        taken = {name: kwargs.pop(name, None) for name in self._names}
        kwargs.update(self._prepare(kwargs.get("ctx"), taken))  # every command names its context `ctx`
        return self.__wrapped__(*args, **kwargs)

    @functools.cached_property
    def _resolved(self) -> tuple[inspect.Signature, dict[str, Any]]:
        hints = typing.get_type_hints(self.__wrapped__, include_extras=True)
        signature = inspect.signature(self.__wrapped__)
        params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()]
        params = [p for p in params if p.name != self._drop]
        annotations = {k: v for k, v in hints.items() if k != self._drop}
        annotations.update({p.name: p.annotation for p in self._extra})
        return signature.replace(parameters=[*params, *self._extra]), annotations

    @property
    def __signature__(self) -> inspect.Signature:
        return self._resolved[0]

    @property
    def __annotations__(self) -> dict[str, Any]:  # type: ignore[override]
        return self._resolved[1]

"""The one YAML reader: every document the tool reads (config, acl, jobs, queues, calendars,
auto-responses, imports, stdin) is parsed here, safely and with a bounded cost.

PyYAML's safe loader shares an aliased node instead of copying it, so a few hundred bytes of
nested aliases ("billion laughs") parse quickly into a graph that expands to billions of nodes
as soon as anything walks it (a 342-byte job took 19 s and 1.4 GB). The composer here counts
the nodes each alias stands for and refuses a document whose aliases expand beyond
``ALIAS_BUDGET`` nodes, before anything is built. Errors are one-line usage errors (exit 2).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tktctl.errors import UsageError

# Nodes that aliases may add to a document: plenty for shared defaults (``<<: *defaults``),
# nothing like an exponential bomb.
ALIAS_BUDGET = 10_000


@cache
def _loader() -> type:
    """A SafeLoader whose composer charges every alias for the size of the node it repeats."""
    import yaml

    class BudgetLoader(yaml.SafeLoader):
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.sizes: dict[int, int] = {}
            self.expanded = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            alias = self.check_event(yaml.AliasEvent)
            node = super().compose_node(parent, index)
            if alias:
                self.expanded += self.sizes.get(id(node), 1)
                if self.expanded > ALIAS_BUDGET:
                    line = node.start_mark.line + 1
                    raise yaml.YAMLError(f"line {line}: too many aliases (more than {ALIAS_BUDGET} nodes expanded)")
            elif id(node) not in self.sizes:
                children = node.value if isinstance(node, yaml.CollectionNode) else ()
                nested = (n for child in children for n in (child if isinstance(child, tuple) else (child,)))
                self.sizes[id(node)] = 1 + sum(self.sizes.get(id(n), 1) for n in nested)
            return node

    return BudgetLoader


def _one_line(message: str) -> str:
    return " ".join(message.split())


def load(text: str, source: str) -> Any:
    """The document in ``text`` (read from ``source``, ``-`` for stdin); a usage error naming the
    source and line when it is not valid YAML, expands too far or nests too deeply."""
    import yaml

    name = "stdin" if source == "-" else source
    loader = None
    try:
        loader = _loader()(text)  # checks the characters already
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = "; ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise UsageError(f"{name}: {where}{_one_line(problem)}") from exc
    except yaml.YAMLError as exc:
        raise UsageError(f"{name}: {_one_line(str(exc))}") from exc
    except RecursionError as exc:
        raise UsageError(f"{name}: the document is nested too deeply") from exc
    finally:
        if loader is not None:
            loader.dispose()

"""The query language of full-text search, parsed once into a tree that each engine compiles.

Words, ``"quoted phrases"``, ``AND``, ``OR``, ``NOT`` (upper case: lower-case ``and`` is a word),
parentheses, and implicit AND between neighbours: ``printer "out of toner" NOT (laser OR inkjet)``.
OR binds loosest, then AND, then NOT. A word is a run of letters and digits, in lower case; a bare
token with other characters in it (``alice@example.com``, ``e-mail``) is the phrase of its words,
as every engine's tokenizer splits it. NOT only excludes: it is a part of an AND that has a part
which can match on its own (``printer NOT toner``); ``NOT toner`` alone or ``a OR NOT b`` would
select nearly every document, and no engine's index can serve that, so they are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tktctl.errors import UsageError

MAX_QUERY = 1000
MAX_TERMS = 64
OPERATORS = ("AND", "OR", "NOT")
_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r'\s*(?:(")|(\()|(\))|([^\s"()]+))')


@dataclass(frozen=True)
class Term:
    """One word, or a phrase: words that follow each other."""

    words: tuple[str, ...]


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


Node = Term | And | Or | Not


def words_of(text: str) -> tuple[str, ...]:
    """The words of a text as the engines index them: runs of letters and digits, lower case."""
    return tuple(w.lower() for w in _WORD.findall(text))


def parse(query: str) -> Node:
    """The tree of a query; a mistake is a UsageError naming it."""
    if len(query) > MAX_QUERY:
        raise UsageError(f"search query is longer than {MAX_QUERY} characters")
    tokens = _tokens(query)
    if not tokens:
        raise UsageError("empty search query: give words to search for")
    parser = _Parser(tokens)
    node = parser.expression()
    if parser.at < len(tokens):
        raise UsageError(f"search query: unexpected {_shown(tokens[parser.at])} (a ')' without its '('?)")
    if sum(1 for _ in terms(node)) > MAX_TERMS:
        raise UsageError(f"search query has more than {MAX_TERMS} words and phrases")
    _check_positive(node)
    return node


def terms(node: Node, *, negated: bool = False) -> list[Term]:
    """The words and phrases of a tree; with ``negated=False``, only those outside NOT."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return terms(node.part, negated=negated) if negated else []
    return [t for part in node.parts for t in terms(part, negated=negated)]


def render(node: Node) -> str:
    """The query text of a tree (``parse(render(tree)) == tree``)."""
    if isinstance(node, Term):
        return '"' + " ".join(node.words) + '"' if len(node.words) > 1 else node.words[0]
    if isinstance(node, Not):
        return "NOT " + _grouped(node.part, Not)
    if isinstance(node, And):
        return " AND ".join(_grouped(p, And) for p in node.parts)
    return " OR ".join(_grouped(p, Or) for p in node.parts)


def _grouped(node: Node, parent: type) -> str:
    tighter = {Or: (Term, And, Not), And: (Term, Not), Not: (Term,)}[parent]
    return render(node) if isinstance(node, tighter) else f"({render(node)})"


# Tokens: ("word", text), ("phrase", words), ("(", ""), (")", ""), ("op", AND|OR|NOT).
Token = tuple[str, object]


def _tokens(query: str) -> list[Token]:
    tokens: list[Token] = []
    at = 0
    while at < len(query):
        if query[at:].strip() == "":
            break
        match = _TOKEN.match(query, at)
        assert match is not None  # every non-space character starts one of the alternatives
        quote, opening, closing, bare = match.groups()
        at = match.end()
        if quote:
            end = query.find('"', at)
            if end < 0:
                raise UsageError('search query: a phrase has no closing quote (")')
            tokens.append(("phrase", _words_or_fail(query[at:end], f'"{query[at:end]}"')))
            at = end + 1
        elif opening or closing:
            tokens.append((opening or closing, ""))
        elif bare in OPERATORS:
            tokens.append(("op", bare))
        else:
            tokens.append(("phrase", _words_or_fail(bare, bare)))
    return tokens


def _words_or_fail(text: str, shown: str) -> tuple[str, ...]:
    words = words_of(text)
    if not words:
        raise UsageError(f"search query: {shown} has no letters or digits to search for")
    return words


def _shown(token: Token) -> str:
    kind, value = token
    return str(value) if kind == "op" else repr(kind) if kind in "()" else repr(" ".join(value))  # type: ignore[arg-type]


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def expression(self) -> Node:
        parts = [self.conjunction()]
        while self.peek() == ("op", "OR"):
            self.at += 1
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.negation()]
        while (token := self.peek()) is not None and token not in (("op", "OR"), (")", "")):
            if token == ("op", "AND"):
                self.at += 1
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def negation(self) -> Node:
        if self.peek() == ("op", "NOT"):
            self.at += 1
            return Not(self.negation())
        return self.operand()

    def operand(self) -> Node:
        token = self.peek()
        if token is None:
            raise UsageError("search query ends where a word was expected (after AND, OR, NOT or '(')")
        self.at += 1
        kind, value = token
        if kind == "phrase":
            return Term(value)  # type: ignore[arg-type]
        if kind == "(":
            node = self.expression()
            if self.peek() != (")", ""):
                raise UsageError("search query: a '(' has no closing ')'")
            self.at += 1
            return node
        raise UsageError(f"search query: {_shown(token)} where a word was expected")


def _check_positive(node: Node) -> None:
    """Every OR part, NOT operand and the query itself can match on its own; every AND has such a part."""
    if isinstance(node, Not) or not _positive(node):
        raise UsageError(
            "search query: NOT only excludes; combine it with words that must match (printer NOT toner), "
            "not alone or in an OR"
        )


def _positive(node: Node) -> bool:
    if isinstance(node, Term):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, Or):
        for part in node.parts:
            _check_positive(part)
        return True
    for part in node.parts:
        if isinstance(part, Not):
            _check_positive(part.part)
        else:
            _check_positive(part)
    return any(not isinstance(part, Not) for part in node.parts)

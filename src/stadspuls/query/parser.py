"""Parsing monitor queries: text → `Query`, or a `QuerySyntaxError` that points at a column.

Grammar (operators are upper case, as in Brandwatch and Talkwalker; lower-case "and", "or",
"not" and "near" are ordinary words, so an English post can still be searched for "or"):

    query   := or? EOF                      (empty query: every post)
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*       (adjacent terms are ANDed; AND binds tighter)
    unary   := ("NOT" | "-") unary | near   ("-" only directly before a term or "(")
    near    := primary ("NEAR/" n primary)*
    primary := "(" or ")" | word | word* | "phrase" | "phrase*" | #tag | @handle | key:value

Filters: lang:nl,en  source:bluesky,rss  place:Groningen  place:"Den Bosch"  has:media
has:link. A comma inside a filter value means OR.

Size limits, the same wherever a query is parsed (API, command line, the live linker), so that a
query accepted at one door runs at every other and no query can make the matcher or a database
work without bound: at most MAX_QUERY_CHARS characters, MAX_TERMS terms (each filter value counts
as one), MAX_PHRASE words in one phrase, MAX_TOKEN characters in one word, MAX_DEPTH levels of
nesting and a NEAR distance of at most MAX_NEAR.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from stadspuls.query.ast import (
    All,
    And,
    Has,
    Lang,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    PlaceFilter,
    Query,
    SourceFilter,
    Tag,
)
from stadspuls.query.text import fold, tokens

__all__ = [
    "MAX_DEPTH",
    "MAX_NEAR",
    "MAX_PHRASE",
    "MAX_QUERY_CHARS",
    "MAX_TERMS",
    "MAX_TOKEN",
    "Pseudonymise",
    "QuerySyntaxError",
    "parse",
    "resolve_mentions",
]

Pseudonymise = Callable[[str], str]

MAX_NEAR = 100
MAX_DEPTH = 50  # parentheses and NOTs; keeps every engine's expression depth limit far away
MAX_TOKEN = 200  # characters; PostgreSQL refuses lexemes over 2047 bytes
# A 25,000-word phrase cost FTS5 19 s of CPU. Real monitor queries (Brandwatch, Talkwalker and
# our own) stay under a few hundred terms and a few thousand characters; these leave room for
# long keyword lists and a monitor's place list while bounding the work per query.
MAX_QUERY_CHARS = 10_000
MAX_TERMS = 500
MAX_PHRASE = 32  # words; longer "phrases" are pasted text, not something to watch for
FILTER_KEYS = ("lang", "source", "place", "has")
HAS_VALUES = {"media": "media", "link": "link", "links": "link", "url": "link"}
_NEAR = re.compile(r"NEAR/(\d+)")
_SPECIAL = '()"'


class QuerySyntaxError(ValueError):
    """A query that cannot be parsed; `column` is 1-based."""

    def __init__(self, message: str, column: int, detail: str = "") -> None:
        super().__init__(message, column)
        self.message = message
        self.column = column
        self.detail = detail

    def __str__(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.message} at column {self.column}{detail}"


Kind = Literal["(", ")", "OR", "AND", "NOT", "-", "NEAR", "WORD", "PHRASE", "FILTER", "EOF"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Kind
    text: str  # the source text (for a phrase: its inside; for a filter: the value)
    column: int
    key: str = ""  # filter key
    number: int = 0  # NEAR distance


def _lex(query: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
            continue
        column = i + 1
        if c in "()":
            out.append(_Token(c, c, column))  # type: ignore[arg-type]
            i += 1
            continue
        if c == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError("unterminated phrase, missing closing '\"'", column)
            out.append(_Token("PHRASE", query[i + 1 : end], column))
            i = end + 1
            if i < n and query[i] == "*":
                out.append(_Token("WORD", "*", i + 1))  # marks the phrase as prefix
                i += 1
            continue
        if c == "-" and i + 1 < n and not query[i + 1].isspace():
            out.append(_Token("-", c, column))
            i += 1
            continue
        j = i
        while j < n and not query[j].isspace() and query[j] not in _SPECIAL:
            j += 1
        word = query[i:j]
        key, sep, value = word.partition(":")
        if sep and key.lower() in FILTER_KEYS:
            if not value and j < n and query[j] == '"':
                end = query.find('"', j + 1)
                if end < 0:
                    raise QuerySyntaxError("unterminated phrase, missing closing '\"'", j + 1)
                value = query[j + 1 : end]
                j = end + 1
            out.append(_Token("FILTER", value, column, key=key.lower()))
            i = j
            continue
        if word in ("OR", "AND", "NOT"):
            out.append(_Token(word, word, column))  # type: ignore[arg-type]
        elif word.startswith("NEAR"):
            match = _NEAR.fullmatch(word)
            if match is None:
                raise QuerySyntaxError("expected NEAR/n with a number of words n", column)
            distance = int(match.group(1))
            if distance > MAX_NEAR:
                raise QuerySyntaxError(f"NEAR distance must be at most {MAX_NEAR}", column)
            out.append(_Token("NEAR", word, column, number=distance))
        else:
            out.append(_Token("WORD", word, column))
        i = j
    out.append(_Token("EOF", "", n + 1))
    return out


def _describe(token: _Token) -> str:
    if token.kind == "EOF":
        return "end of query"
    if token.kind == "PHRASE":
        return f'"{token.text}"'
    if token.kind == "FILTER":
        return f"'{token.key}:{token.text}'"
    return f"'{token.text}'"


class _Parser:
    def __init__(self, query: str) -> None:
        if len(query) > MAX_QUERY_CHARS:
            raise QuerySyntaxError(
                f"query longer than {MAX_QUERY_CHARS:,} characters", MAX_QUERY_CHARS + 1
            )
        self.tokens = _lex(query)
        self.pos = 0
        self.depth = 0
        self.terms = 0

    def count(self, token: _Token, terms: int = 1) -> None:
        self.terms += terms
        if self.terms > MAX_TERMS:
            raise QuerySyntaxError(f"query has more than {MAX_TERMS} terms", token.column)

    @property
    def current(self) -> _Token:
        return self.tokens[self.pos]

    def peek_kind(self) -> Kind:
        return self.tokens[self.pos].kind

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node:
        if self.current.kind == "EOF":
            return All()
        node = self.parse_or()
        rest = self.current  # every token but ')' and the end would have continued the query
        if rest.kind != "EOF":
            raise QuerySyntaxError("unexpected ')' without matching '('", rest.column)
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.current.kind == "OR":
            self.advance()
            items.append(self.parse_and())
        return _flatten(Or, items)

    def starts_unary(self) -> bool:
        return self.current.kind in ("(", "NOT", "-", "WORD", "PHRASE", "FILTER")

    def parse_and(self) -> Node:
        items = [self.parse_unary()]
        while True:
            if self.current.kind == "AND":
                self.advance()
            elif not self.starts_unary():
                break
            items.append(self.parse_unary())
        return _flatten(And, items)

    def parse_unary(self) -> Node:
        token = self.current
        if token.kind in ("NOT", "-"):
            self.advance()
            self.enter(token)
            node = Not(self.parse_unary())
            self.depth -= 1
            return node
        return self.parse_near()

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(f"nested more than {MAX_DEPTH} levels deep", token.column)

    def parse_near(self) -> Node:
        left = self.parse_primary()
        while self.current.kind == "NEAR":
            near = self.advance()
            right = self.parse_primary()
            for side, column in ((left, near.column), (right, self.tokens[self.pos - 1].column)):
                if not _near_operand(side):
                    raise QuerySyntaxError(
                        "NEAR joins words, phrases, tags or OR-groups of them", column
                    )
            if isinstance(left, Near):  # pragma: no cover - rejected above
                raise QuerySyntaxError("NEAR cannot be chained", near.column)
            left = Near(left, right, near.number)
        return left

    def parse_primary(self) -> Node:
        token = self.current
        if token.kind == "(":
            self.advance()
            if self.peek_kind() == ")":
                raise QuerySyntaxError("empty parentheses", token.column)
            self.enter(token)
            node = self.parse_or()
            self.depth -= 1
            close = self.current
            if close.kind != ")":
                raise QuerySyntaxError(
                    "expected ')'",
                    close.column,
                    f"found {_describe(close)}; '(' opened at column {token.column}",
                )
            self.advance()
            return node
        if token.kind == "WORD":
            self.advance()
            self.count(token)
            return _word(token)
        if token.kind == "PHRASE":
            self.advance()
            self.count(token)
            prefix = False
            if self.current.kind == "WORD" and self.current.text == "*":
                self.advance()
                prefix = True
            text = token.text.rstrip()
            if text.endswith("*"):
                prefix, text = True, text[:-1]
            folded = tokens(fold(text))
            _check_length(folded, token.column)
            if not folded:
                raise QuerySyntaxError("phrase without letters or digits", token.column)
            return Phrase(tuple(folded), prefix)
        if token.kind == "FILTER":
            self.advance()
            self.count(token, token.text.count(",") + 1)
            return _filter(token)
        if token.kind == "EOF":
            raise QuerySyntaxError("expected a term, found end of query", token.column)
        raise QuerySyntaxError(f"expected a term, found {_describe(token)}", token.column)


def _word(token: _Token) -> Node:
    text = token.text
    if text[0] in "#@":
        kind: Literal["hashtag", "mention"] = "hashtag" if text[0] == "#" else "mention"
        value = fold(text[1:])
        folded = tokens(value)
        _check_length(folded, token.column)
        if not folded:
            raise QuerySyntaxError(f"{kind} without letters or digits", token.column)
        return Tag(kind, value, tuple(folded), text[1:])
    prefix = text.endswith("*")
    if prefix:
        text = text.rstrip("*")
    folded = tokens(fold(text))
    _check_length(folded, token.column)
    if not folded:
        what = "prefix" if prefix else "term"
        raise QuerySyntaxError(f"{what} {token.text!r} has no letters or digits", token.column)
    return Phrase(tuple(folded), prefix)


def _filter(token: _Token) -> Node:
    values = tuple(v.strip() for v in token.text.split(",") if v.strip())
    if not values:
        raise QuerySyntaxError(f"'{token.key}:' needs a value", token.column)
    if token.key == "lang":
        return Lang(tuple(v.lower() for v in values))
    if token.key == "source":
        return SourceFilter(tuple(v.lower() for v in values))
    if token.key == "has":
        items: list[Node] = []
        for value in values:
            feature = HAS_VALUES.get(value.lower())
            if feature is None:
                raise QuerySyntaxError(
                    f"unknown has:{value}, expected has:media or has:link", token.column
                )
            items.append(Has(feature))  # type: ignore[arg-type]
        return _flatten(Or, items)
    places: list[Node] = []
    for value in values:
        name = fold(value)
        folded = tokens(name)
        _check_length(folded, token.column)
        if not folded:
            raise QuerySyntaxError("place without letters or digits", token.column)
        places.append(PlaceFilter(" ".join(folded), tuple(folded)))
    return _flatten(Or, places)


def _check_length(words: list[str], column: int) -> None:
    if len(words) > MAX_PHRASE:
        raise QuerySyntaxError(f"phrase longer than {MAX_PHRASE} words", column)
    if any(len(word) > MAX_TOKEN for word in words):
        raise QuerySyntaxError(f"word longer than {MAX_TOKEN} characters", column)


def _near_operand(node: Node) -> bool:
    if isinstance(node, Phrase | Tag):
        return True
    return isinstance(node, Or) and all(_near_operand(item) for item in node.items)


def _flatten(cls: type[And] | type[Or], items: list[Node]) -> Node:
    flat: list[Node] = []
    for item in items:
        if isinstance(item, cls):
            flat.extend(item.items)
        else:
            flat.append(item)
    if len(flat) == 1:
        return flat[0]
    return cls(tuple(flat))


def parse(query: str, *, pseudonymise: Pseudonymise | None = None) -> Query:
    """Parse a monitor query. Raises `QuerySyntaxError` (one line, with a column).

    With `pseudonymise`, `@handle` terms are replaced by the handle's pseudonym, as posts carry
    it (see `resolve_mentions`).
    """
    parsed = Query(query, _Parser(query).parse())
    return parsed if pseudonymise is None else resolve_mentions(parsed, pseudonymise)


def resolve_mentions(query: Query, pseudonymise: Pseudonymise) -> Query:
    """Replace every `@handle` by `@pseudonymise(handle)`: posts only carry pseudonyms.

    Without it a mention matches the handle as written (for stores where pseudonymisation of
    mentions is switched off). A query already resolved is returned as it is.
    """
    if query.pseudonymised:
        return query

    def walk(node: Node) -> Node:
        if isinstance(node, Tag) and node.kind == "mention":
            pseudonym = pseudonymise(node.written)
            value = fold(pseudonym)
            return Tag("mention", value, tuple(tokens(value)) or node.tokens, pseudonym)
        if isinstance(node, And | Or):
            return replace(node, items=tuple(walk(item) for item in node.items))
        if isinstance(node, Not):
            return Not(walk(node.item))
        if isinstance(node, Near):
            return Near(walk(node.left), walk(node.right), node.distance)
        return node

    return Query(query.text, walk(query.root), pseudonymised=True)

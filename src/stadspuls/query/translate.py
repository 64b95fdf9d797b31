"""Translating a query to archive search: a WHERE clause over `posts` for SQLite or PostgreSQL.

Text conditions become an FTS5 MATCH expression (SQLite, over `posts_fts`) or a tsquery
(PostgreSQL, over `posts.tsv`); lang:, source: and has: become plain SQL. Both full-text indexes
hold `index_text(text)`, exactly the matcher's tokens (plus sigil tokens after them), so words,
phrases, prefixes, AND, OR and NOT translate exactly, and NEAR too on SQLite (the matcher counts
the gap as FTS5 does).

Where an engine cannot say what the matcher means, the translation over-selects and is marked
inexact; the caller then filters the candidates with the matcher, so the answers agree exactly:

- a #hashtag or @mention becomes its words AND (the index's sigil token "hashtag0word" /
  "mention0word" OR metadata that can hold it: the raw JSON has "word" ignoring ASCII case, or is
  not plain ASCII); words that could hit the sigil tokens ("hashtag0x", "hash*") are inexact;
- NEAR on PostgreSQL becomes AND (tsquery's <n> is one distance in one order);
- place: becomes "recognised places whose JSON holds every word of the name (or is not plain
  ASCII) OR the name as a phrase";
- NOT of anything inexact becomes "every post" (negating an over-selection would under-select).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

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
from stadspuls.query.text import MARKS
from stadspuls.store.schema import posts

__all__ = [
    "FTS_HIGHEST",
    "FTS_LOWEST",
    "Dialect",
    "Translation",
    "text_condition",
    "to_fts5",
    "to_tsquery",
    "translate",
]

Dialect = Literal["sqlite", "postgresql"]

_EMPTY_JSON = ("", "[]", "null")

# On SQLite every full-text lookup is bounded by these rowids (posts.pk), bound parameters that
# default to every row: a search over a time window sets them to the window's pk range, so FTS5
# reads only that stretch of each term's list (it seeks by rowid) instead of all of it.
FTS_LOWEST = sa.bindparam("fts_lowest", -(2**63), type_=sa.BigInteger, literal_execute=False)
FTS_HIGHEST = sa.bindparam("fts_highest", 2**63 - 1, type_=sa.BigInteger, literal_execute=False)


@dataclass(frozen=True)
class Translation:
    """`where` selects a superset of the matching posts (None: every post); when `exact` it
    selects exactly them. `text` is a full-text expression that every post `where` selects
    satisfies (None when there is none); `estimate` a sharper one that leaves rare metadata
    alternatives out, to guess how many posts `where` selects when planning."""

    where: sa.ColumnElement[bool] | None
    exact: bool
    text: str | None = None
    estimate: str | None = None


# Conditions: an intermediate form that keeps full-text parts together as long as possible.


@dataclass(frozen=True)
class _Text:
    expr: str  # an engine expression, already parenthesised where needed
    negated: bool = False


@dataclass(frozen=True)
class _Sql:
    clause: sa.ColumnElement[bool]


@dataclass(frozen=True)
class _True:
    pass


@dataclass(frozen=True)
class _Bool:
    op: Literal["and", "or"]
    items: tuple[_Cond, ...]


_Cond = _Text | _Sql | _True | _Bool


def _bool(op: Literal["and", "or"], items: list[_Cond]) -> _Cond:
    flat: list[_Cond] = []
    for item in items:
        if isinstance(item, _Bool) and item.op == op:
            flat.extend(item.items)
        else:
            flat.append(item)
    return flat[0] if len(flat) == 1 else _Bool(op, tuple(flat))


# FTS5 and tsquery syntax for single terms. Tokens are runs of letters and digits, so they never
# need escaping inside "..." or '...'.


def _fts5_phrase(words: tuple[str, ...], prefix: bool) -> str:
    return '"' + " ".join(words) + '"' + ("*" if prefix else "")


def _ts_phrase(words: tuple[str, ...], prefix: bool) -> str:
    lexemes = [f"'{w}'" for w in words]
    if prefix:
        lexemes[-1] += ":*"
    return lexemes[0] if len(lexemes) == 1 else "(" + " <-> ".join(lexemes) + ")"


def _phrase_parts(node: Node) -> list[Phrase | Tag]:
    if isinstance(node, Phrase | Tag):
        return [node]
    if isinstance(node, Or):
        return [part for item in node.items for part in _phrase_parts(item)]
    raise TypeError(f"not a NEAR operand: {node!r}")  # the parser rejects these


def _hits_marks(words: tuple[str, ...], prefix: bool) -> bool:
    """Whether the index's sigil tokens ("hashtag0x") could match this phrase though the text
    has no such word."""
    last = words[-1]
    return any(w.startswith(m) for w in words for m in MARKS.values()) or (
        prefix and any(m.startswith(last) for m in MARKS.values())
    )


def _words(term: Phrase | Tag) -> tuple[tuple[str, ...], bool]:
    return (term.tokens, term.prefix) if isinstance(term, Phrase) else (term.tokens, False)


class _Translator:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    def phrase(self, words: tuple[str, ...], prefix: bool) -> str:
        if self.dialect == "sqlite":
            return _fts5_phrase(words, prefix)
        return _ts_phrase(words, prefix)

    def join(self, op: Literal["and", "or"], exprs: list[str]) -> str:
        if len(exprs) == 1:
            return exprs[0]
        if self.dialect == "sqlite":
            return "(" + (" AND " if op == "and" else " OR ").join(exprs) + ")"
        return "(" + (" & " if op == "and" else " | ").join(exprs) + ")"

    # node → (condition, exact)

    def node(self, node: Node) -> tuple[_Cond, bool]:
        if isinstance(node, Phrase):
            exact = not _hits_marks(node.tokens, node.prefix)
            return _Text(self.phrase(node.tokens, node.prefix)), exact
        if isinstance(node, Tag):
            marked = _Text(self.phrase((MARKS[node.sigil] + node.tokens[0],), False))
            sigil = _bool("or", [marked, self.in_metadata(node)])
            return _bool("and", [_Text(self.phrase(node.tokens, False)), sigil]), False
        if isinstance(node, Near):
            return self.near(node)
        if isinstance(node, Lang):
            lang = sa.func.coalesce(sa.func.lower(posts.c.lang), "")
            return _Sql(lang.in_(list(node.codes))), True
        if isinstance(node, SourceFilter):
            return _Sql(posts.c.source.in_(list(node.names))), True
        if isinstance(node, Has):
            column = posts.c.media if node.feature == "media" else posts.c.links
            return _Sql(sa.and_(column.is_not(None), column.not_in(_EMPTY_JSON))), True
        if isinstance(node, PlaceFilter):
            places = posts.c.places
            named = sa.and_(*[self.contains(places, token) for token in node.tokens])
            has_places = _Sql(
                sa.and_(
                    places.is_not(None),
                    places.not_in(_EMPTY_JSON),
                    sa.or_(named, self.non_ascii(places)),
                )
            )
            return _Bool("or", (has_places, _Text(self.phrase(node.tokens, False)))), False
        if isinstance(node, Not):
            inner, exact = self.node(node.item)
            if not exact:
                return _True(), False
            return self.negate(inner), True
        if isinstance(node, And | Or):
            op: Literal["and", "or"] = "and" if isinstance(node, And) else "or"
            results = [self.node(item) for item in node.items]
            return _bool(op, [c for c, _ in results]), all(e for _, e in results)
        if isinstance(node, All):
            return _True(), True
        raise TypeError(f"unknown query node {node!r}")  # pragma: no cover

    # Sound SQL pre-checks on raw JSON columns. On a value that is plain ASCII, folding is
    # lower-casing, so a folded "now" is a case-insensitive "now" in the raw value; any other
    # value is let through for the matcher to decide.

    def non_ascii(self, column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
        if self.dialect == "sqlite":
            return column.op("GLOB")("*[^\x01-\x7f]*")
        return column.op("~")("[^\x01-\x7f]")

    def contains(self, column: sa.ColumnElement[str], needle: str) -> sa.ColumnElement[bool]:
        """Case-insensitive (ASCII) substring test; `needle` is a lower-case token."""
        if self.dialect == "sqlite":
            return column.like(f"%{needle}%")  # SQLite's LIKE ignores ASCII case
        return sa.func.lower(column).like(f"%{needle}%")

    def in_metadata(self, tag: Tag) -> _Sql:
        """Posts whose hashtags (mentions) can hold `tag`."""
        meta = posts.c.hashtags if tag.kind == "hashtag" else posts.c.mentions
        first = tag.tokens[0]
        return _Sql(
            sa.and_(meta.is_not(None), sa.or_(self.contains(meta, first), self.non_ascii(meta)))
        )

    def near(self, node: Near) -> tuple[_Cond, bool]:
        left, right = _phrase_parts(node.left), _phrase_parts(node.right)
        exact = all(
            isinstance(t, Phrase) and not _hits_marks(t.tokens, t.prefix) for t in (*left, *right)
        )
        if self.dialect == "sqlite":
            alternatives = []
            for a in left:
                for b in right:
                    pa, pb = _fts5_phrase(*_words(a)), _fts5_phrase(*_words(b))
                    alternatives.append(f"NEAR({pa} {pb}, {node.distance})")
            return _Text(self.join("or", alternatives)), exact
        # tsquery's <n> means "exactly n positions later": over-select with AND.
        left_expr = self.join("or", [_ts_phrase(*_words(t)) for t in left])
        right_expr = self.join("or", [_ts_phrase(*_words(t)) for t in right])
        return _Text(self.join("and", [left_expr, right_expr])), False

    def negate(self, cond: _Cond) -> _Cond:
        if isinstance(cond, _Text):
            return _Text(cond.expr, not cond.negated)
        if isinstance(cond, _Sql):
            return _Sql(sa.not_(cond.clause))
        if isinstance(cond, _True):
            return _Sql(sa.false())
        # De Morgan keeps negated full-text parts next to positive ones (FTS5's binary NOT).
        flipped: Literal["and", "or"] = "or" if cond.op == "and" else "and"
        return _bool(flipped, [self.negate(item) for item in cond.items])

    # condition → (full-text expression of a pure-text condition | None)

    def pure_text(self, cond: _Cond) -> str | None:
        """The engine expression of a condition made only of full-text parts, if it has one."""
        if isinstance(cond, _Text):
            if not cond.negated:
                return cond.expr
            return None if self.dialect == "sqlite" else f"!{cond.expr}"
        if isinstance(cond, _Bool):
            if cond.op == "or":
                parts = [self.pure_text(item) for item in cond.items]
                if any(p is None for p in parts):
                    return None
                return self.join("or", [p for p in parts if p is not None])
            positives: list[str] = []
            negatives: list[str] = []
            for item in cond.items:
                if isinstance(item, _Text) and item.negated:
                    negatives.append(item.expr)
                    continue
                part = self.pure_text(item)
                if part is None:
                    return None
                positives.append(part)
            if self.dialect == "sqlite":
                if not positives:
                    return None
                expr = self.join("and", positives)
                if negatives:  # one NOT: FTS5's expression depth is limited (256)
                    expr = f"({expr} NOT {self.join('or', negatives)})"
                return expr
            return self.join("and", positives + [f"!{n}" for n in negatives])
        return None

    def clause(self, cond: _Cond) -> sa.ColumnElement[bool] | None:
        """SQL for a condition; None means true."""
        text = self.pure_text(cond)
        if text is not None:
            return self.text_clause(text)
        if isinstance(cond, _Text):  # a negated term on SQLite
            return sa.not_(self.text_clause(cond.expr))
        if isinstance(cond, _Sql):
            return cond.clause
        if isinstance(cond, _True):
            return None
        if cond.op == "and":
            # Keep the full-text parts together: one MATCH instead of one per term.
            texts = [item for item in cond.items if self.pure_text(item) is not None]
            rest = [item for item in cond.items if self.pure_text(item) is None]
            if self.dialect == "sqlite":
                negated = [i for i in rest if isinstance(i, _Text)]
                if texts and negated:
                    texts += negated
                    rest = [i for i in rest if not isinstance(i, _Text)]
            clauses: list[sa.ColumnElement[bool]] = []
            if texts:
                combined = self.pure_text(_Bool("and", tuple(texts)))
                assert combined is not None
                clauses.append(self.text_clause(combined))
            for item in rest:
                clause = self.clause(item)
                if clause is not None:
                    clauses.append(clause)
            if not clauses:
                return None
            return clauses[0] if len(clauses) == 1 else sa.and_(*clauses)
        # OR: full-text alternatives together, then the rest.
        texts = [item for item in cond.items if self.pure_text(item) is not None]
        rest = [item for item in cond.items if self.pure_text(item) is None]
        alternatives: list[sa.ColumnElement[bool]] = []
        if texts:
            combined = self.pure_text(_Bool("or", tuple(texts)))
            assert combined is not None
            alternatives.append(self.text_clause(combined))
        for item in rest:
            clause = self.clause(item)
            if clause is None:
                return None
            alternatives.append(clause)
        return alternatives[0] if len(alternatives) == 1 else sa.or_(*alternatives)

    def text_clause(self, expr: str) -> sa.ColumnElement[bool]:
        if self.dialect == "sqlite":
            rowid: sa.ColumnClause[int] = sa.literal_column("rowid", sa.BigInteger)
            matching: sa.Select[int] = (
                sa.select(rowid)
                .select_from(sa.table("posts_fts"))
                .where(
                    sa.literal_column("posts_fts").op("MATCH")(expr),
                    rowid >= FTS_LOWEST,
                    rowid <= FTS_HIGHEST,
                )
            )
            return posts.c.pk.in_(matching.scalar_subquery())
        tsv: sa.ColumnElement[object] = sa.literal_column("posts.tsv")
        return tsv.bool_op("@@")(sa.cast(sa.literal(expr), postgresql.TSQUERY))

    def top_text(self, cond: _Cond, *, estimate: bool = False) -> str | None:
        """A full-text expression every selected post satisfies, or None when there is none.

        With `estimate`, alternatives in plain SQL (metadata checks) are left out of ORs:
        not a bound any more, but a closer guess of how many posts the query selects."""
        if isinstance(cond, _Text):
            return None if cond.negated else cond.expr
        if isinstance(cond, _Bool):
            items = cond.items
            if estimate and cond.op == "or":
                items = tuple(item for item in items if not isinstance(item, _Sql)) or items
            parts = [self.top_text(item, estimate=estimate) for item in items]
            if cond.op == "or":
                if any(part is None for part in parts):
                    return None
                return self.join("or", [p for p in parts if p is not None])
            known = [p for p in parts if p is not None]
            return self.join("and", known) if known else None
        return None


def translate(query: Query, dialect: Dialect) -> Translation:
    """The WHERE clause over `posts` that selects (a superset of) the posts the query matches."""
    translator = _Translator(dialect)
    cond, exact = translator.node(query.root)
    return Translation(
        translator.clause(cond),
        exact,
        translator.top_text(cond),
        translator.top_text(cond, estimate=True),
    )


def text_condition(expr: str, dialect: Dialect) -> sa.ColumnElement[bool]:
    """The WHERE clause selecting the posts that satisfy one full-text expression (a
    `Translation.text`), bounded on SQLite by `FTS_LOWEST`/`FTS_HIGHEST` as the others are."""
    return _Translator(dialect).text_clause(expr)


def to_fts5(query: Query) -> str | None:
    """The FTS5 MATCH expression that drives the search (see `Translation.text`)."""
    return translate(query, "sqlite").text


def to_tsquery(query: Query) -> str | None:
    """The tsquery that drives the search (see `Translation.text`)."""
    return translate(query, "postgresql").text

"""A query's syntax error as the pages show it: the query, a caret under the column the parser
names, and the message."""

from __future__ import annotations

from dataclasses import dataclass

from stadspuls.query.parser import QuerySyntaxError


@dataclass(frozen=True, slots=True)
class QueryProblem:
    query: str  # the line of the query that holds the error
    column: int  # 1-based, within `query`
    message: str


def problem_at(query: str, error: QuerySyntaxError) -> QueryProblem:
    """Point at the error's line when the query spans several (the caret must sit under it)."""
    column = max(error.column, 1)
    start = 0
    for line in query.splitlines(keepends=True):
        if column <= len(line.rstrip("\r\n")) + 1 or start + len(line) >= len(query):
            detail = f" ({error.detail})" if error.detail else ""
            return QueryProblem(line.rstrip("\r\n"), column, error.message + detail)
        column -= len(line)
        start += len(line)
    return QueryProblem(query, max(error.column, 1), error.message)

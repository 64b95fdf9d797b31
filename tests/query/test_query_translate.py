from __future__ import annotations

import pytest

from stadspuls.query.parser import parse
from stadspuls.query.translate import FTS_HIGHEST, FTS_LOWEST, to_fts5, to_tsquery, translate


@pytest.mark.parametrize(
    ("query", "fts5", "tsquery"),
    [
        ("brand", '"brand"', "'brand'"),
        ("Café loods", '("cafe" AND "loods")', "('cafe' & 'loods')"),
        ('"stratum seind" OR stratumseind', '("stratum seind" OR "stratumseind")',
         "(('stratum' <-> 'seind') | 'stratumseind')"),
        ("brand* -oefening", '"brand"*', "'brand':*"),  # what drives: the positive part
        ('"stratum sei*"', '"stratum sei"*', "('stratum' <-> 'sei':*)"),
        ("brand lang:nl", '"brand"', "'brand'"),
        ("brand* NEAR/3 (fabriek OR loods)",
         '(NEAR("brand"* "fabriek", 3) OR NEAR("brand"* "loods", 3))',
         "('brand':* & ('fabriek' | 'loods'))"),
    ],
)  # fmt: skip
def test_text_expressions(query: str, fts5: str, tsquery: str) -> None:
    assert to_fts5(parse(query)) == fts5
    assert to_tsquery(parse(query)) == tsquery


@pytest.mark.parametrize(
    ("query", "sqlite_exact", "postgresql_exact"),
    [
        ("brand OR loods", True, True),
        ("brand NEAR/2 loods", True, False),
        ("#brand", False, False),
        ("@politie", False, False),
        ("NOT #brand", False, False),
        ("NOT brand", True, True),
        ("place:Groningen", False, False),
        ("lang:nl source:rss has:media", True, True),
        ("", True, True),
    ],
)
def test_exactness(query: str, sqlite_exact: bool, postgresql_exact: bool) -> None:
    assert translate(parse(query), "sqlite").exact is sqlite_exact
    assert translate(parse(query), "postgresql").exact is postgresql_exact


def test_empty_and_negative_queries_have_no_driving_text() -> None:
    assert translate(parse(""), "sqlite").where is None
    assert to_fts5(parse("NOT brand")) is None  # FTS5 has no unary NOT: a NOT IN subquery
    assert to_tsquery(parse("NOT brand")) is None
    assert translate(parse("NOT brand"), "sqlite").where is not None


def test_sql_is_compiled_with_bound_parameters() -> None:
    where = translate(parse('brand lang:nl OR "x\'; DROP TABLE posts; --"'), "sqlite").where
    assert where is not None
    sql = str(where.compile())
    assert "DROP" not in sql


def _match_parameters(query: str) -> list[object]:
    where = translate(parse(query), "sqlite").where
    assert where is not None
    bounds = {FTS_LOWEST.key, FTS_HIGHEST.key}  # every lookup's rowid range
    return [value for key, value in where.compile().params.items() if key not in bounds]


def test_negation_stays_inside_one_fts5_expression() -> None:
    assert _match_parameters("brand* -oefening lang:nl") == [
        '("brand"* NOT "oefening")',
        "",
        ["nl"],
    ]


def test_tags_use_the_sigil_tokens_of_the_index() -> None:
    params = _match_parameters("#Brand")
    assert '"brand"' in params
    assert '"hashtag0brand"' in params
    # Words that could hit the sigil tokens are checked by the matcher.
    assert not translate(parse("hash*"), "sqlite").exact
    assert not translate(parse("hashtag0brand"), "sqlite").exact
    assert translate(parse("hashtags"), "sqlite").exact

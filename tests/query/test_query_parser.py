from __future__ import annotations

import pytest

from stadspuls.query.ast import (
    All,
    And,
    Has,
    Lang,
    Near,
    Not,
    Or,
    Phrase,
    PlaceFilter,
    SourceFilter,
    Tag,
)
from stadspuls.query.parser import QuerySyntaxError, parse


def w(*tokens: str, prefix: bool = False) -> Phrase:
    return Phrase(tokens, prefix)


def test_the_three_examples() -> None:
    first = parse(
        '(stratumseind OR "stratum seind" OR #stratumseind) AND NOT (voetbal OR psv) lang:nl'
    )
    assert first.root == And(
        (
            Or(
                (
                    w("stratumseind"),
                    w("stratum", "seind"),
                    Tag("hashtag", "stratumseind", ("stratumseind",)),
                )
            ),
            Not(Or((w("voetbal"), w("psv")))),
            Lang(("nl",)),
        )
    )
    second = parse("brand* NEAR/3 (fabriek OR loods) source:bluesky,rss")
    assert second.root == And(
        (
            Near(w("brand", prefix=True), Or((w("fabriek"), w("loods"))), 3),
            SourceFilter(("bluesky", "rss")),
        )
    )
    third = parse('#bommenberend OR ("groningen" AND (stroomstoring OR vuurwerk)) place:Groningen')
    # AND binds tighter than OR: the place filter belongs to the right-hand alternative.
    assert third.root == Or(
        (
            Tag("hashtag", "bommenberend", ("bommenberend",)),
            And(
                (
                    w("groningen"),
                    Or((w("stroomstoring"), w("vuurwerk"))),
                    PlaceFilter("groningen", ("groningen",)),
                )
            ),
        )
    )


def test_precedence_and_implicit_and() -> None:
    assert parse("a b OR c").root == Or((And((w("a"), w("b"))), w("c")))
    assert parse("a OR b c").root == Or((w("a"), And((w("b"), w("c")))))
    assert parse("a AND b OR c AND d").root == Or((And((w("a"), w("b"))), And((w("c"), w("d")))))
    assert parse("NOT a b").root == And((Not(w("a")), w("b")))
    assert parse("NOT a NEAR/2 b").root == Not(Near(w("a"), w("b"), 2))
    assert parse("((a))").root == w("a")


def test_minus_is_not_but_hyphens_inside_words_are_not() -> None:
    assert parse("brand -oefening").root == And((w("brand"), Not(w("oefening"))))
    assert parse("-(psv OR ajax)").root == Not(Or((w("psv"), w("ajax"))))
    assert parse("covid-19").root == w("covid", "19")
    assert parse("wi-fi*").root == w("wi", "fi", prefix=True)


def test_lowercase_operators_are_words() -> None:
    assert parse("brand or vuur and not rook").root == And(
        tuple(w(x) for x in ("brand", "or", "vuur", "and", "not", "rook"))
    )


def test_folding_of_terms() -> None:
    assert parse("Café ÜMIT").root == And((w("cafe"), w("umit")))
    assert parse('"Stratum  SEIND"*').root == w("stratum", "seind", prefix=True)
    assert parse('"stratum sei*"').root == w("stratum", "sei", prefix=True)


def test_filters() -> None:
    assert parse("lang:NL,en").root == Lang(("nl", "en"))
    assert parse("has:media").root == Has("media")
    assert parse("has:media,link").root == Or((Has("media"), Has("link")))
    assert parse('place:"Den Bosch"').root == PlaceFilter("den bosch", ("den", "bosch"))
    assert parse("place:'s-Hertogenbosch").root == PlaceFilter(
        "s hertogenbosch", ("s", "hertogenbosch")
    )
    assert parse("place:Groningen,Assen").root == Or(
        (PlaceFilter("groningen", ("groningen",)), PlaceFilter("assen", ("assen",)))
    )
    # Not a filter key: an ordinary word with a colon (two tokens).
    assert parse("https://politie.nl").root == w("https", "politie", "nl")


def test_mentions_resolve_to_pseudonyms() -> None:
    seen: list[str] = []

    def pseudonymise(handle: str) -> str:
        seen.append(handle)
        return "U0123456789ABCDEF"

    query = parse("@Politie_Rdam brand", pseudonymise=pseudonymise)
    pseudonym = "u0123456789abcdef"
    assert query.root == And((Tag("mention", pseudonym, (pseudonym,)), w("brand")))
    assert seen == ["Politie_Rdam"]  # the handle as written; the door canonicalises it
    assert parse("@politie").root == Tag("mention", "politie", ("politie",))


def test_empty_query_matches_everything() -> None:
    assert parse("").root == All()
    assert parse("   ").root == All()


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ('(stratumseind OR "stratum seind" lang:nl', "expected ')'", 41),
        ("(a OR b", "expected ')'", 8),
        ("a AND", "expected a term, found end of query", 6),
        ("a OR OR b", "expected a term, found 'OR'", 6),
        ("a)", "unexpected ')' without matching '('", 2),
        ('brand "stratum', "unterminated phrase, missing closing '\"'", 7),
        ("NEAR/3 a", "expected a term, found 'NEAR/3'", 1),
        ("a NEAR b", "expected NEAR/n with a number of words n", 3),
        ("a NEAR/500 b", "NEAR distance must be at most 100", 3),
        ("(a AND b) NEAR/2 c", "NEAR joins words, phrases, tags or OR-groups of them", 11),
        ("a NEAR/2 lang:nl", "NEAR joins words, phrases, tags or OR-groups of them", 10),
        ("()", "empty parentheses", 1),
        ("brand !!!", "term '!!!' has no letters or digits", 7),
        ("# brand", "hashtag without letters or digits", 1),
        ("has:video", "unknown has:video, expected has:media or has:link", 1),
        ("lang:", "'lang:' needs a value", 1),
    ],
)
def test_errors_point_at_a_column(query: str, message: str, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert caught.value.message == message
    assert caught.value.column == column
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"{message} at column {column}")


def test_error_message_names_the_open_parenthesis() -> None:
    with pytest.raises(
        QuerySyntaxError,
        match=r"^expected '\)' at column 8 \(found end of query; '\(' opened at column 1\)$",
    ):
        parse("(a OR b")


def test_limits_give_errors_not_crashes() -> None:
    with pytest.raises(QuerySyntaxError, match="nested more than 50 levels deep at column 51"):
        parse("(" * 60 + "a" + ")" * 60)
    with pytest.raises(QuerySyntaxError, match="nested more than 50 levels deep"):
        parse("NOT " * 60 + "a")
    with pytest.raises(QuerySyntaxError, match="word longer than 200 characters at column 7"):
        parse("brand " + "x" * 201)
    assert parse("(" * 50 + "a" + ")" * 50).root == w("a")


def test_many_negatives_stay_shallow() -> None:
    from stadspuls.query.translate import translate

    query = "brand " + " ".join(f"-w{i}" for i in range(300))
    where = translate(parse(query), "sqlite").where
    assert where is not None
    (expr,) = [v for v in where.compile().params.values() if isinstance(v, str) and "NOT" in v]
    assert expr.startswith('("brand" NOT ("w0" OR "w1"')


def test_mentions_are_pseudonymised_once() -> None:
    from stadspuls.query.parser import resolve_mentions

    def pseudonymise(handle: str) -> str:
        return "u" + handle.lower().ljust(16, "0")[:16]

    once = parse("@Politie", pseudonymise=pseudonymise)
    assert once.pseudonymised
    assert resolve_mentions(once, pseudonymise) == once
    tag = once.root
    assert isinstance(tag, Tag)
    assert tag.value == "upolitie000000000"


def test_size_limits_bound_the_work_of_every_query() -> None:
    """A 25,000-word phrase cost 19 s of CPU per search (issue 7); no query that large parses."""
    from stadspuls.query.parser import MAX_PHRASE, MAX_QUERY_CHARS, MAX_TERMS

    huge = '"' + " ".join(f"w{i}" for i in range(25_000)) + '"'
    with pytest.raises(QuerySyntaxError, match=r"^query longer than 10,000 characters at column"):
        parse(huge)
    with pytest.raises(QuerySyntaxError, match="phrase longer than 32 words at column 7"):
        parse('brand "' + " ".join(["rook"] * (MAX_PHRASE + 1)) + '"')
    with pytest.raises(QuerySyntaxError, match="phrase longer than 32 words"):
        parse("-".join(["wi"] * (MAX_PHRASE + 1)))  # a hyphenated word is a phrase too
    many = " OR ".join(f"w{i}" for i in range(MAX_TERMS + 1))
    with pytest.raises(QuerySyntaxError, match=f"more than {MAX_TERMS} terms at column"):
        parse(many)
    values = ",".join(f"p{i}" for i in range(MAX_TERMS + 1))
    with pytest.raises(QuerySyntaxError, match=f"more than {MAX_TERMS} terms at column 1$"):
        parse(f"place:{values}")
    # Right at the limits, queries parse.
    assert parse(" OR ".join(f"w{i}" for i in range(MAX_TERMS))).root is not None
    assert parse('"' + " ".join(["rook"] * MAX_PHRASE) + '"').root == w(*["rook"] * MAX_PHRASE)
    assert len(many) < MAX_QUERY_CHARS

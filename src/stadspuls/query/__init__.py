"""The monitor query language: one syntax tree, a streaming matcher and archive search.

    (stratumseind OR "stratum seind" OR #stratumseind) AND NOT (voetbal OR psv) lang:nl
    brand* NEAR/3 (fabriek OR loods) source:bluesky,rss
    #bommenberend OR ("groningen" AND (stroomstoring OR vuurwerk)) place:Groningen

Terms
    word        a token, case- and accent-insensitive ("Café" = "cafe"); a word with inner
                punctuation is a phrase of its parts ("wi-fi" = "wi fi", "covid-19")
    word*       a token starting with word
    "a b c"     consecutive tokens; "a b c*" (or "a b c"*) makes the last one a prefix
    #tag        the tag's tokens in the text, directly after '#', or anywhere in the text when the
                post's hashtags (metadata) hold the tag; a tag only in the metadata and not in the
                text does not match
    @handle     the same for mentions, on the pseudonym: pass `pseudonymise` and the handle is
                replaced by its pseudonym, as stored posts carry it (@u0123456789abcdef)
Operators (upper case only; "and", "or", "not", "near" are ordinary words)
    a b, a AND b    both (adjacent terms are ANDed; AND binds tighter than OR)
    a OR b          either
    NOT a, -a       not ("-" directly before a term or a parenthesis)
    a NEAR/n b      at most n tokens between them, either order (as FTS5 counts: from the end of
                    the occurrence that starts first); each side a term or an OR-group of terms
    ( )             grouping
Filters (a comma means OR)
    lang:nl,en            the language identified at the door (Post.lang)
    source:bluesky,rss    Post.source
    place:Groningen       a recognised place (municipality or matched name, folded); for a post
                          without recognised places, the name as a phrase in the text
    has:media, has:link   Post.media / Post.links not empty
The empty query matches every post.

Text semantics (folding, tokens, what the full-text indexes store) are defined once in
`stadspuls.query.text`.
"""

from stadspuls.query.ast import Query
from stadspuls.query.matcher import CompiledQuery, MonitorMatcher, compile_query
from stadspuls.query.parser import QuerySyntaxError, parse

__all__ = [
    "CompiledQuery",
    "MonitorMatcher",
    "Query",
    "QuerySyntaxError",
    "compile_query",
    "parse",
]

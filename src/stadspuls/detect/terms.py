"""Why a detector fired, in words: the top terms of a window's posts and the posts that show
them best. Shared by the detectors that explain a window of posts (burst, turn to negative)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from stadspuls.query.text import fold, tokens

# Function words of Dutch and English that say nothing about what happens; the rest of a short
# post's words are what a duty officer reads first. A small list on purpose: a term that is
# frequent in the window but not a function word is worth showing.
STOPWORDS = frozenset(
    [
        "de",
        "het",
        "een",
        "en",
        "van",
        "in",
        "op",
        "te",
        "dat",
        "die",
        "is",
        "niet",
        "met",
        "voor",
        "zijn",
        "er",
        "aan",
        "ook",
        "als",
        "bij",
        "om",
        "maar",
        "dan",
        "nog",
        "wel",
        "naar",
        "uit",
        "door",
        "over",
        "tot",
        "ze",
        "zo",
        "wat",
        "je",
        "jij",
        "ik",
        "we",
        "wij",
        "hij",
        "zij",
        "u",
        "mijn",
        "me",
        "mij",
        "ons",
        "onze",
        "jullie",
        "hun",
        "hem",
        "haar",
        "was",
        "waren",
        "wordt",
        "worden",
        "werd",
        "kan",
        "kunnen",
        "zal",
        "zou",
        "moet",
        "heb",
        "hebt",
        "heeft",
        "hebben",
        "had",
        "nu",
        "al",
        "geen",
        "meer",
        "of",
        "toch",
        "hier",
        "daar",
        "deze",
        "dit",
        "wie",
        "waar",
        "hoe",
        "omdat",
        "want",
        "weer",
        "even",
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "as",
        "not",
        "no",
        "but",
        "if",
        "then",
        "so",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "my",
        "your",
        "our",
        "their",
        "me",
        "him",
        "her",
        "us",
        "them",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "will",
        "would",
        "can",
        "could",
        "should",
        "just",
        "about",
        "into",
        "than",
        "too",
        "very",
        "rt",
        "via",
        "amp",
        "http",
        "https",
        "www",
        "com",
        "nl",
        "t",
        "co",
        "hashtag0",
        "mention0",
    ]
)
MIN_LENGTH = 3  # two-letter words are mostly particles and abbreviations


def content_terms(text: str) -> tuple[str, ...]:
    """The distinct content words of a text, folded as the matcher folds them."""
    seen: dict[str, None] = {}
    for token in tokens(fold(text)):
        if len(token) >= MIN_LENGTH and token not in STOPWORDS and not token.isdigit():
            seen.setdefault(token, None)
    return tuple(seen)


def top_terms(documents: Iterable[Sequence[str]], n: int = 5) -> tuple[str, ...]:
    """The terms in most documents (each document's terms are distinct); ties by first seen."""
    counts: Counter[str] = Counter()
    for terms in documents:
        counts.update(terms)
    return tuple(term for term, count in counts.most_common(n) if count > 1 or len(counts) <= n)


def representative(
    posts: Sequence[tuple[str, Sequence[str], bool]], terms: Sequence[str], n: int = 5
) -> tuple[str, ...]:
    """Up to `n` post ids (given as (id, terms, is_duplicate), oldest first): non-duplicates
    that carry most of the top terms, newest first among equals."""
    wanted = set(terms)
    scored = [
        (len(wanted.intersection(post_terms)), index, post_id)
        for index, (post_id, post_terms, duplicate) in enumerate(posts)
        if not duplicate
    ]
    scored.sort(reverse=True)
    return tuple(post_id for _, _, post_id in scored[:n])

"""The content terms of a post, as the story detectors compare them: folded tokens without
links, mentions, numbers and the most common Dutch and English function words."""

from __future__ import annotations

import re
import sys

from stadspuls.query.text import fold, tokens

# Links and @mentions say who or where, not what happened; mentions are pseudonyms anyway.
_NOISE = re.compile(r"https?://\S+|www\.\S+|@\w[\w.@-]*")
MIN_LENGTH = 3
MAX_TERMS = 32  # a post's first 32 terms: enough for any post, bounded work for a long article

# Function words of Dutch and English (the languages Stadspuls reads most), plus the
# platform words ("rt", "via") that every post may carry. Short words (< MIN_LENGTH) are
# dropped anyway and not listed.
_STOPWORDS_TEXT = """
    aan achter alle alleen alles als ben bij dan dat deze die dit doch doen door dus een eens
    geen had heb hebben heeft hem het hier hij hoe hun iets ik jij jou jouw kan kon kunnen maar
    meer met mij mijn naar niet niets nog noch ons onze ook over reeds tegen toch toen tot uit
    van veel voor want waren was wat wel werd wie wij wil worden wordt zal zei zelf zich zij zijn
    zo zou zonder nou even gaat gaan echt heel weer waar daar erg komt moet moeten
    about after all also and any are been before being but can could did does doing down each
    for from had has have having her here hers him his how into its just more most not now off
    once only other our ours out over own same she should some such than that the their theirs
    them then there these they this those through too under until very was were what when where
    which while who whom why will with would you your yours amp via http https com www
    """
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def post_terms(text: str) -> list[str]:
    """Distinct content terms of `text`, in order of first appearance (at most MAX_TERMS).

    The terms are interned: the story detectors keep them in every monitor's document
    frequencies, index and story vectors, and one object per word instead of one per post
    that brought it is a third of their memory after a busy day (bench/memory.py)."""
    if "http" in text or "@" in text or "www." in text:
        text = _NOISE.sub(" ", text)
    seen: dict[str, None] = {}
    for token in tokens(fold(text)):
        if len(token) < MIN_LENGTH or token in STOPWORDS or token.isdigit():
            continue
        seen[sys.intern(token)] = None
        if len(seen) >= MAX_TERMS:
            break
    return list(seen)

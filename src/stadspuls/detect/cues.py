"""Unverified-claim and denial cues in Dutch and English: the words with which people pass on
what they have not checked ("klopt dit?", "naar verluidt", "reportedly") or deny it
("nepnieuws", "is niet waar", "hoax").

Curated by hand. The English hedges were checked on the PHEME source tweets
(`../shared/data/rumours_pheme/dev.csv`): "reports", "reportedly", "believed", "according to",
"sources" and "unconfirmed" occur 3-10 times as often in rumour threads as in the others
(tests/detect/test_rumour.py measures the list as a whole). The Dutch list mirrors them; there is
no Dutch rumour corpus here to check it on.
"""

from __future__ import annotations

import re

from stadspuls.query.text import fold, tokens

# Phrases as folded tokens joined by single spaces (punctuation is not part of a cue).
DUTCH = (
    "klopt dit", "klopt dat", "klopt het", "klopt het dat", "is dit waar", "is het waar",
    "is niet waar", "niet waar", "nepnieuws", "fake nieuws", "onbevestigd", "onbevestigde",
    "niet bevestigd", "nog niet bevestigd", "naar verluidt", "volgens geruchten", "gerucht",
    "geruchten", "broodje aap", "weet iemand", "weet iemand meer", "iemand meer info",
    "ik hoor dat", "ik hoorde dat", "zou het gaan om", "ontkent", "ontkend", "ontkennen",
    "misinformatie", "desinformatie", "hoax",
)  # fmt: skip
ENGLISH = (
    "unconfirmed", "unverified", "reportedly", "reports of", "reports say", "reports that",
    "unconfirmed reports", "allegedly", "alleged", "rumour", "rumours", "rumor", "rumors",
    "hoax", "fake news", "not true", "is this true", "is it true", "can anyone confirm",
    "can someone confirm", "anyone confirm", "believed to", "according to", "sources say",
    "sources tell", "denies", "denied", "debunked", "false claim", "misinformation",
    "apparently",
)  # fmt: skip
CUES = tuple(sorted(set(DUTCH + ENGLISH), key=len, reverse=True))

_PATTERN = re.compile(r"(?<![^ ])(?:" + "|".join(re.escape(c) for c in CUES) + r")(?![^ ])")


def cues_in(text: str) -> list[str]:
    """The cues `text` contains (folded, longest first where two overlap)."""
    return _PATTERN.findall(" ".join(tokens(fold(text))))


def has_cue(text: str) -> bool:
    return _PATTERN.search(" ".join(tokens(fold(text)))) is not None

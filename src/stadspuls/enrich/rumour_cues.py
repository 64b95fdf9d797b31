"""Language-light cue features that transfer across events, for rumour and informativeness.

A model that learns the words of the events it was trained on (a hashtag, a city, a gunman's
name) fails on the next event (issue 12). What carries over is *how* people write: a question
("is this true?"), a hedge ("reportedly", "naar verluidt", "zou hebben"), a denial ("fake",
"klopt niet"), a call to share, "BREAKING", an attribution to a source ("according to",
"volgens"), first-person witness language, and for informativeness casualties, damage, needs and
advice. `cue_matrix(texts)` gives one column per cue family (`CUE_NAMES`), in [0, 1]: cheap
(regular expressions on the folded text) and Dutch and English alike.

The Dutch phrases mirror the English ones: there is no labelled Dutch rumour or informativeness
data here, so the Dutch columns are not measured by a number; they share the columns of their
English counterparts, which is how a model trained on English reads them in Dutch.

`mask(text)` replaces what is specific to one event (links, handles, hashtags, numbers,
capitalised names) by placeholders, for n-gram models that should learn the writing, not the
event.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from stadspuls.enrich.textclf import MENTION, URL, FeatureSpec, Featurizer
from stadspuls.query.text import fold


def _words(*phrases: str) -> re.Pattern[str]:
    """Folded phrases as whole words; a trailing `*` allows any ending ("confirm*")."""
    parts = []
    for phrase in phrases:
        stem = phrase.rstrip("*")
        body = r"\s+".join(re.escape(w) for w in stem.split())
        parts.append(body + (r"\w*" if phrase.endswith("*") else ""))
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")


# Each family: English and Dutch phrases (folded: lower case, no accents).
_HEDGE = (
    "reportedly", "unconfirmed", "unverified", "apparently", "allegedly", "alleged",
    "believed to", "thought to", "said to be", "rumour*", "rumor*", "reports of",
    "reports say", "reports that", "reports suggest", "claims", "claimed", "possibly",
    "may have", "might have", "could be", "appears to", "suspected", "unclear",
    "naar verluidt", "onbevestigd*", "niet bevestigd", "zou hebben", "zou zijn",
    "zouden hebben", "zouden zijn", "zou het gaan om", "zou er", "zouden er", "zou de",
    "zou een", "vermoedelijk", "mogelijk",
    "gerucht*", "schijnbaar", "blijkbaar", "zogenaamd", "lijkt erop", "onduidelijk",
)  # fmt: skip
_DENIAL = (
    "not true", "untrue", "false", "fake", "hoax", "denies", "denied", "deny", "debunk*",
    "no truth", "misinformation", "myth", "not confirmed", "no evidence",
    "niet waar", "klopt niet", "nep", "nepnieuws", "fake nieuws", "ontkent", "ontkend",
    "ontkennen", "onzin", "misinformatie", "desinformatie", "geen bewijs",
)  # fmt: skip
_ASK_CONFIRM = (
    "is this true", "is it true", "can anyone confirm", "can someone confirm",
    "anyone confirm", "confirm?", "any news", "does anyone know", "anyone know",
    "what happened", "klopt dit", "klopt dat", "klopt het", "is dit waar", "is het waar",
    "weet iemand", "iemand meer info", "wat is er gebeurd", "wat gebeurt er",
)  # fmt: skip
_SHARE = (
    "please share", "pls share", "please rt", "pls rt", "please retweet", "retweet",
    "spread the word", "share this", "pass it on", "graag delen", "deel dit", "delen aub",
    "delen a.u.b", "verspreid", "verspreiden", "rt aub", "doorsturen",
)  # fmt: skip
_BREAKING = (
    "breaking", "just in", "developing", "update", "updated", "urgent", "alert",
    "happening now", "live", "latest", "net binnen", "eerste beelden", "nu live",
    "liveblog", "laatste nieuws", "spoed",
)  # fmt: skip
_ATTRIBUTION = (
    "according to", "via", "sources", "source", "officials", "official", "spokesman",
    "spokeswoman", "spokesperson", "police say", "police said", "police says",
    "says", "said", "told", "reports", "reported", "reuters", "ap", "afp", "bbc",
    "volgens", "bron", "bronnen", "meldt", "melden", "zegt", "zeggen", "aldus",
    "woordvoerder", "politie meldt", "anp", "nos",
)  # fmt: skip
_CONFIRMED = (
    "confirmed", "confirms", "confirm", "officially", "statement", "announced",
    "bevestigd", "bevestigt", "officieel", "verklaring", "maakt bekend",
)  # fmt: skip
_WITNESS = (
    "i", "i'm", "im", "i've", "we", "we're", "my", "our", "me", "i saw", "i heard",
    "just heard", "just saw", "right now", "outside", "here", "ik", "wij", "we", "mijn",
    "ons", "onze", "ik zag", "ik hoor", "ik hoorde", "net gehoord", "net gezien", "hier",
    "bij ons",
)  # fmt: skip
_SYMPATHY = (
    "pray*", "thoughts", "rip", "condolences", "heartbroken", "sad", "terrible",
    "horrible", "god bless", "stay safe", "sterkte", "condoleances", "verschrikkelijk",
    "vreselijk", "bidden", "rust zacht", "triest",
)  # fmt: skip
_OPINION = (
    "lol", "haha*", "omg", "wtf", "smh", "lmao", "ugh", "think", "feel", "hate", "love",
    "vind", "denk", "jezus", "pff*", "lekker",
)  # fmt: skip
_CASUALTIES = (
    "dead", "death*", "died", "dies", "killed", "kills", "injured", "injuries", "hurt",
    "wounded", "casualt*", "victim*", "missing", "toll", "bodies", "hostage*", "survivor*",
    "doden", "dode", "dood", "gewond*", "vermist*", "slachtoffer*", "overleden",
    "omgekomen", "gijzel*", "overlevende*",
)  # fmt: skip
_DAMAGE = (
    "damage*", "destroyed", "collapsed", "flooded", "burned", "burning", "evacuat*",
    "power out*", "without power", "closed", "blocked", "destroy*",
    "schade", "verwoest", "ingestort", "overstroomd", "afgebrand", "geevacueerd",
    "evacu*", "stroomstoring", "gesloten", "afgesloten",
)  # fmt: skip
_NEEDS = (
    "donate", "donation*", "volunteer*", "shelter*", "relief", "supplies", "aid",
    "need help", "needs help", "in need", "food", "water", "blood", "fund*", "help",
    "doneer", "doneren", "donatie*", "vrijwilliger*", "opvang", "noodhulp", "hulp",
    "voedsel", "nodig",
)  # fmt: skip
_ADVICE = (
    "stay", "avoid", "warning", "warn*", "advis*", "be careful", "take care",
    "shelter in place", "stay indoors", "hotline", "call", "emergency number",
    "blijf", "vermijd", "waarschuw*", "advies", "pas op", "ramen en deuren",
    "blijf binnen", "bel", "voorzichtig",
)  # fmt: skip
FAMILIES: dict[str, re.Pattern[str]] = {
    "hedge": _words(*_HEDGE),
    "denial": _words(*_DENIAL),
    "ask_confirm": _words(*_ASK_CONFIRM),
    "share": _words(*_SHARE),
    "breaking": _words(*_BREAKING),
    "attribution": _words(*_ATTRIBUTION),
    "confirmed": _words(*_CONFIRMED),
    "witness": _words(*_WITNESS),
    "sympathy": _words(*_SYMPATHY),
    "opinion": _words(*_OPINION),
    "casualties": _words(*_CASUALTIES),
    "damage": _words(*_DAMAGE),
    "needs": _words(*_NEEDS),
    "advice": _words(*_ADVICE),
}
_QUESTION_START = _words(
    "is", "are", "was", "were", "can", "could", "does", "did", "do", "has", "have", "anyone",
    "why", "what", "who", "how", "where", "klopt", "weet", "heeft", "zijn", "waarom", "wat",
    "wie", "hoe", "waar", "iemand",
)  # fmt: skip
_HASHTAG = re.compile(r"#\w+")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_CAPS_WORD = re.compile(r"\b[A-Z]{3,}\b")
_RT = re.compile(r"^\s*rt\b|\brt @", re.IGNORECASE)

CUE_NAMES: tuple[str, ...] = (
    *FAMILIES,
    "question",
    "question_start",
    "exclamation",
    "caps",
    "retweet",
    "link",
    "mention",
    "hashtag",
    "number",
    "short",
    "long",
)


def _row(text: str) -> list[float]:
    folded = fold(text)
    plain = URL.sub(" ", folded)
    row = [min(len(pattern.findall(plain)), 2) / 2 for pattern in FAMILIES.values()]
    words = plain.split()
    length = len(words)
    row += [
        float("?" in plain),
        float(bool(words) and _QUESTION_START.fullmatch(words[0].strip("\"'.:")) is not None),
        float("!" in plain),
        float(_CAPS_WORD.search(URL.sub(" ", text)) is not None),
        float(_RT.search(text) is not None),
        float(URL.search(text) is not None),
        float(MENTION.search(text) is not None),
        min(len(_HASHTAG.findall(text)), 3) / 3,
        float(_NUMBER.search(plain) is not None),
        float(length <= 6),
        float(length >= 20),
    ]
    return row


def cue_matrix(texts: Sequence[str]) -> np.ndarray:
    """n × len(CUE_NAMES) float32 cue features, each in [0, 1]."""
    out = np.zeros((len(texts), len(CUE_NAMES)), dtype=np.float32)
    for i, text in enumerate(texts):
        out[i] = _row(text)
    return out


def cues_of(text: str) -> dict[str, float]:
    """The non-zero cue features of one text, by name (for explanations and tests)."""
    return {name: value for name, value in zip(CUE_NAMES, _row(text), strict=True) if value}


_NAME = re.compile(r"(?<=[^\s.!?:\"'(])(\s+)([A-Z][\w'-]*)")


def mask(text: str) -> str:
    """`text` with links, handles, hashtags, numbers and capitalised names (not at the start of
    a sentence) replaced by placeholders, lower-cased: the writing without the event."""
    text = URL.sub(" xurl ", text)
    text = MENTION.sub(" xuser ", text)
    text = _HASHTAG.sub(" xtag ", text)
    text = _NUMBER.sub(" xnum ", text)
    text = _NAME.sub(lambda m: m.group(1) + ("xname" if not m.group(2).isupper() else m.group(2)),
                     text)  # fmt: skip
    return " ".join(text.lower().split())


_MASKED_SPEC = FeatureSpec()


def masked_ngrams(texts: Sequence[str]) -> sp.csr_matrix:
    """The door's n-gram features (word 1-2, char_wb 3-4, hashed) of the masked texts."""
    return Featurizer(_MASKED_SPEC).transform([mask(t) for t in texts])


__all__ = ["CUE_NAMES", "FAMILIES", "cue_matrix", "cues_of", "mask", "masked_ngrams"]

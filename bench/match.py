"""Monitor matching and archive search benchmark, on real texts from ../shared/data.

1. Streaming: 1,000 monitors (queries generated from the real vocabulary: OR-lists, phrases,
   prefixes, NEAR, NOT, hashtags, filters) against N posts (real texts, repeated as needed), on
   one core. Compared with Aho-Corasick alone over the same terms (fold + automaton scan only).
2. Archive: the same posts written to a fresh SQLite file (scaled to --archive posts), then
   `search_posts` (newest 50) for monitor queries: median, p95 and max latency, and the five
   slowest queries. `--db` runs this part on PostgreSQL.

    python bench/match.py [--posts 200000] [--monitors 1000] [--archive 1000000] [--searches 300]
        [--archive-db PATH | --db postgresql://…] [--skip-streaming]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ahocorasick
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import real_texts
from stadspuls.query.matcher import MonitorMatcher, compile_query
from stadspuls.query.text import fold, tokens
from stadspuls.records import Post
from stadspuls.sealed import Sealer
from stadspuls.store.database import open_store
from stadspuls.store.search import search_posts
from stadspuls.store.writer import Batch, PostWriter

T0 = datetime(2025, 1, 1, tzinfo=UTC)
HASHTAG = re.compile(r"#(\w+)")
# The store keeps links and media URLs only sealed (see stadspuls.sealed); the benchmark's posts
# carry one sealed value each, made once under a throwaway key.
SEALED_LINK = Sealer(os.urandom(32)).seal("https://example.org", "bench")
SEALED_MEDIA = Sealer(os.urandom(32)).seal("https://example.org/x.jpg", "bench")
SOURCES = ("bluesky", "mastodon", "rss", "p2000")
PLACES = ("Rotterdam", "Amsterdam", "Utrecht", "Den Haag", "Eindhoven", "Groningen")


def make_posts(texts: list[tuple[str, str | None]], n: int) -> list[Post]:
    rng = random.Random(1)
    out = []
    for i in range(n):
        text, lang = texts[i % len(texts)]
        out.append(
            Post(
                id=f"bench:{i}",
                source=SOURCES[i % len(SOURCES)],
                native_id=str(i),
                created_at=T0 + timedelta(seconds=i * 3 + rng.randrange(3)),
                text=text,
                lang=lang,
                hashtags=tuple(HASHTAG.findall(text)),
                links=(SEALED_LINK,) if i % 7 == 0 else (),
                media=(SEALED_MEDIA,) if i % 11 == 0 else (),
            )
        )
    return out


def vocabulary(texts: list[tuple[str, str | None]]) -> tuple[list[str], list[str], list[str]]:
    """Monitor-worthy words (neither stop words nor hapaxes), bigrams and hashtags."""
    df: Counter[str] = Counter()
    bigrams: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    for text, _ in texts:
        toks = tokens(fold(text))
        df.update(set(toks))
        bigrams.update(f"{a} {b}" for a, b in itertools.pairwise(toks))
        tags.update(t.lower() for t in HASHTAG.findall(text))
    n = len(texts)
    words = [w for w, c in df.items() if 3 <= c <= n * 0.01 and len(w) >= 4 and not w.isdigit()]
    pairs = [b for b, c in bigrams.items() if 3 <= c <= n * 0.005 and min(map(len, b.split())) >= 3]
    hashtags = [t for t, c in tags.items() if c >= 2]
    return sorted(words), sorted(pairs), sorted(hashtags)


def make_monitors(words: list[str], pairs: list[str], tags: list[str], n: int) -> list[str]:
    rng = random.Random(2)

    def term() -> str:
        roll = rng.random()
        if roll < 0.6:
            return rng.choice(words)
        if roll < 0.75:
            return f'"{rng.choice(pairs)}"'
        if roll < 0.9:
            return rng.choice(words)[:5] + "*"
        return "#" + rng.choice(tags)

    def alternatives(k: int) -> str:
        return "(" + " OR ".join(term() for _ in range(k)) + ")"

    templates = [
        lambda: " OR ".join(term() for _ in range(rng.randint(2, 6))),
        lambda: f"{alternatives(rng.randint(2, 5))} AND NOT {alternatives(2)}",
        lambda: f"{alternatives(rng.randint(1, 3))} {alternatives(rng.randint(1, 3))}",
        lambda: f"{rng.choice(words)[:5]}* NEAR/{rng.randint(1, 5)} {alternatives(2)}",
        lambda: f"{alternatives(rng.randint(2, 4))} lang:nl",
        lambda: f"{alternatives(rng.randint(2, 4))} source:{rng.choice(SOURCES)},rss",
        lambda: f"#{rng.choice(tags)} OR ({term()} AND {term()})",
        lambda: f'{alternatives(rng.randint(1, 3))} place:"{rng.choice(PLACES)}"',
        lambda: f"{alternatives(3)} -{term()} has:link",
    ]
    return [rng.choice(templates)() for _ in range(n)]


def bench_streaming(monitors: list[str], posts: list[Post]) -> tuple[float, float, float]:
    """Posts/s of the matcher and of Aho-Corasick alone (fold + one automaton scan over the same
    keys), in CPU seconds of this process, alternating slices so both see the same machine."""
    matcher = MonitorMatcher(dict(enumerate(monitors)))
    keys = sorted({k for c in matcher.compiled for k in (c.keys or ())})
    automaton = ahocorasick.Automaton()
    for i, key in enumerate(keys):
        automaton.add_word(key.strip(), i)
    automaton.make_automaton()

    def aho_corasick_alone(chunk: list[Post]) -> None:
        for post in chunk:
            hits = set()
            for _, value in automaton.iter(fold(post.text)):
                hits.add(value)

    matched = 0

    def monitors_matched(chunk: list[Post]) -> None:
        nonlocal matched
        match = matcher.match
        for post in chunk:
            matched += len(match(post))

    spent = {"ac": 0.0, "matcher": 0.0}
    for start in range(0, len(posts), 10_000):
        chunk = posts[start : start + 10_000]
        for name, run in (("ac", aho_corasick_alone), ("matcher", monitors_matched)):
            began = time.process_time()
            run(chunk)
            spent[name] += time.process_time() - began
    return len(posts) / spent["matcher"], len(posts) / spent["ac"], matched / len(posts)


def build_archive(url: str, posts: list[Post], n: int) -> None:
    engine = open_store(url)
    with PostWriter(engine) as writer:
        for start in range(0, n, 10_000):
            batch = Batch()
            for i in range(start, min(n, start + 10_000)):
                base = posts[i % len(posts)]
                batch.add(
                    Post(
                        id=f"archive:{i}",
                        source=base.source,
                        native_id=str(i),
                        created_at=T0 + timedelta(seconds=i * 2),
                        text=base.text,
                        lang=base.lang,
                        hashtags=base.hashtags,
                        links=base.links,
                        media=base.media,
                    )
                )
            writer.write(batch)
    engine.dispose()


def archive_size(url: str) -> int:
    """How many posts the archive at `url` holds (0 when it does not exist yet)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return 0
    engine = open_store(url)
    with engine.connect() as conn:
        (held,) = conn.execute(sa.text("SELECT count(*) FROM posts")).one()
    engine.dispose()
    return int(held)


def bench_search(
    url: str, monitors: list[str], n: int, *, windowed: bool = True, compare: bool = False
) -> tuple[list[float], list[float], int]:
    """Milliseconds per search (newest 50) with the given plan; with `compare`, also with
    `windowed=False` (alternating, query by query) and how many pages differ between the two."""
    engine = open_store(url, migrate=False)
    rng = random.Random(3)
    queries = rng.sample(monitors, min(n, len(monitors)))
    for query in queries[:5]:  # warm the page cache
        search_posts(engine, query)
    timings, unbounded, differ = [], [], 0
    for i, query in enumerate(queries):
        # Compared, each plan goes first for every other query: the second finds the pages
        # the first read in the cache.
        order = [windowed, False][:: 1 if i % 2 else -1] if compare else [windowed]
        pages = {}
        for plan in order:
            start = time.perf_counter()
            pages[plan] = [p.id for p in search_posts(engine, query, limit=50, windowed=plan)]
            elapsed = (time.perf_counter() - start) * 1000
            (timings if plan == windowed else unbounded).append(elapsed)
        if compare and pages[windowed] != pages[False]:
            differ += 1
            print(f"    DIFFERENT PAGE: {query}")
    engine.dispose()
    slowest = sorted(zip(timings, queries, strict=True), reverse=True)[:5]
    print("slowest searches:")
    for elapsed, query in slowest:
        print(f"    {elapsed:8.1f} ms  {query}")
    return timings, unbounded, differ


def _stats(timings: list[float]) -> tuple[float, float, float]:
    """Median, p95 and max."""
    ordered = sorted(timings)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return statistics.median(ordered), p95, ordered[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--archive", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument(
        "--archive-db", type=Path, help="keep the archive in this SQLite file (reused if present)"
    )
    parser.add_argument(
        "--db",
        help="run the archive part on this database instead (postgresql://…); the archive is "
        "written there when it holds no posts, and reused otherwise",
    )
    parser.add_argument("--skip-streaming", action="store_true")
    parser.add_argument(
        "--unwindowed",
        action="store_true",
        help="search each query in one go (windowed=False), as before time windows",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also run every search unwindowed: both timings, and how many pages differ",
    )
    args = parser.parse_args()
    if args.compare and args.unwindowed:
        parser.error("--compare already runs every search unwindowed beside the windowed one")
    if args.db and args.archive_db:
        parser.error("--db and --archive-db name two archives; give one")

    texts = real_texts()
    # Monitors are written in Dutch; the stream carries every language.
    words, pairs, tags = vocabulary([t for t in texts if t[1] == "nl"])
    monitors = make_monitors(words, pairs, tags, args.monitors)
    for query in monitors:
        compile_query(query)  # every generated monitor parses
    posts = make_posts(texts, args.posts)
    print(f"{len(texts)} real texts, {len(words)} words, {len(monitors)} monitors, e.g.:")
    for query in monitors[:5]:
        print("   ", query)

    rate, ac_rate = 0.0, 1.0
    if not args.skip_streaming:
        rate, ac_rate, per_post = bench_streaming(monitors, posts)
        print(
            f"streaming: {rate:,.0f} posts/s matched ({per_post:.2f} monitor hits per post); "
            f"Aho-Corasick alone {ac_rate:,.0f} posts/s; ratio {rate / ac_rate:.2f}"
        )

    with tempfile.TemporaryDirectory() as tmp:
        path = args.archive_db or Path(tmp) / "archive.db"
        url = args.db or f"sqlite:///{path}"
        held = archive_size(url)
        if held == 0:
            start = time.perf_counter()
            build_archive(url, posts, args.archive)
            elapsed = time.perf_counter() - start
            print(f"archive: {args.archive:,} posts written in {elapsed:.0f} s")
        elif held != args.archive:
            print(f"archive: reusing {held:,} posts (not --archive {args.archive:,})")
        timings, unbounded, differ = bench_search(
            url, monitors, args.searches, windowed=not args.unwindowed, compare=args.compare
        )
    median, p95, worst = _stats(timings)
    print(
        f"search: {len(timings)} queries, median {median:.1f} ms, "
        f"p95 {p95:.1f} ms, max {worst:.1f} ms"
    )
    result = {
        "posts_per_s": round(rate),
        "ratio_to_aho_corasick": round(rate / ac_rate, 3),
        "archive_posts": held or args.archive,
        "engine": url.split(":", 1)[0].split("+", 1)[0],
        "search_median_ms": round(median, 1),
        "search_p95_ms": round(p95, 1),
        "search_max_ms": round(worst, 1),
    }
    if args.compare:
        median, p95, worst = _stats(unbounded)
        print(
            f"unwindowed: median {median:.1f} ms, p95 {p95:.1f} ms, max {worst:.1f} ms; "
            f"{differ} of {len(timings)} pages differ"
        )
        result |= {
            "unwindowed_median_ms": round(median, 1),
            "unwindowed_p95_ms": round(p95, 1),
            "unwindowed_max_ms": round(worst, 1),
            "pages_differing": differ,
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

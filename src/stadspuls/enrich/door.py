"""The door: the ordered enrichers every post passes before it is stored.

Built-in enrichers are registered here explicitly, in the order they must run; third-party
enrichers come from the entry-point group `stadspuls.enrichers` (a factory taking Settings) and
run after the built-ins. An import error is raised, never swallowed.

The optional enrichers (places, sentiment, crisis) are imported and built when their first
non-empty batch arrives (`LazyEnricher`): a door configured without them never imports their
modules (numpy/scipy/scikit-learn, the model files), and one with them starts at once and
loads each model when it is first needed. `Door.warm_up()` loads everything now instead.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

import msgspec

from stadspuls.enrich.base import Enricher
from stadspuls.enrich.dedup import Deduplicator
from stadspuls.enrich.forms import TextForms
from stadspuls.enrich.language import LanguageIdentifier
from stadspuls.enrich.normalize import Normaliser
from stadspuls.enrich.pseudonymise import Pseudonymiser, load_or_create_key
from stadspuls.enrich.worker import DoorProcess
from stadspuls.records import Deletion, Post
from stadspuls.sealed import Sealer
from stadspuls.settings import Settings

ENTRY_POINT_GROUP = "stadspuls.enrichers"


class LazyEnricher:
    """An enricher imported and built on its first non-empty batch."""

    def __init__(self, name: str, build: Callable[[], Enricher]) -> None:
        self.name = name
        self._build = build
        self._enricher: Enricher | None = None

    @property
    def loaded(self) -> bool:
        return self._enricher is not None

    def load(self) -> Enricher:
        if self._enricher is None:
            self._enricher = self._build()
        return self._enricher

    def warm_up(self) -> None:
        warm_up = getattr(self.load(), "warm_up", None)
        if callable(warm_up):
            warm_up()

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        if not posts:
            return []
        return self.load()(posts)


class Door:
    """The enrichers in order; then the full-text index body of each post (`Post.index_body`),
    from the folded text the enrichers shared through `forms`, so the writer only writes."""

    def __init__(self, enrichers: Sequence[Enricher], *, forms: TextForms | None = None) -> None:
        self.enrichers = list(enrichers)
        self.forms = forms if forms is not None else TextForms()
        # Wall and CPU seconds per stage ("index": the full-text body); on a loaded machine the
        # CPU seconds say what a stage costs, the wall seconds what it waited too.
        self.seconds: dict[str, float] = dict.fromkeys([*self.names(), "index"], 0.0)
        self.cpu_seconds = dict(self.seconds)
        self.posts = 0

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        batch = list(posts)
        try:
            for enricher in self.enrichers:
                batch = self._timed(enricher.name, enricher, batch)
            batch = self._timed("index", self._index, batch)
        finally:
            self.forms.clear()
        self.posts += len(batch)
        return batch

    def names(self) -> list[str]:
        return [enricher.name for enricher in self.enrichers]

    def _timed(
        self, name: str, stage: Callable[[list[Post]], list[Post]], batch: list[Post]
    ) -> list[Post]:
        started, cpu = time.perf_counter(), time.process_time()
        batch = stage(batch)
        self.seconds[name] += time.perf_counter() - started
        self.cpu_seconds[name] += time.process_time() - cpu
        return batch

    def _index(self, posts: list[Post]) -> list[Post]:
        body = self.forms.index_body
        return [msgspec.structs.replace(post, index_body=body(post.text)) for post in posts]

    def deletions(self, deletions: Sequence[Deletion]) -> list[Deletion]:
        """Deletions with the stored ids of the posts they delete (see `Pseudonymiser`)."""
        for enricher in self.enrichers:
            if isinstance(enricher, Pseudonymiser):
                return enricher.deletions(deletions)
        return list(deletions)

    def warm_up(self) -> None:
        """Load what enrichers would otherwise load on their first batch."""
        for enricher in self.enrichers:
            warm_up = getattr(enricher, "warm_up", None)
            if callable(warm_up):
                warm_up()

    def get(self, name: str) -> Enricher:
        for enricher in self.enrichers:
            if enricher.name == name:
                return enricher
        raise KeyError(name)


def start_door(settings: Settings) -> Door | DoorProcess:
    """The door as configured: in a child process (`door_process`) or in this one. Models load
    when the first batch needs them."""
    if settings.door_process:
        return DoorProcess(settings)
    return build_door(settings)


# name → (module, class) of the optional enrichers, in the order `Settings.enrichers` allows.
OPTIONAL: dict[str, tuple[str, str]] = {
    "places": ("stadspuls.enrich.places", "PlaceRecognizer"),
    "sentiment": ("stadspuls.enrich.sentiment", "SentimentClassifier"),
    "crisis": ("stadspuls.enrich.crisis", "CrisisEnricher"),
}


def _optional(settings: Settings) -> list[Enricher]:
    def factory(name: str) -> Callable[[], Enricher]:
        module, attribute = OPTIONAL[name]

        def build() -> Enricher:
            cls = getattr(importlib.import_module(module), attribute)
            if name == "sentiment":
                return cls(accurate=settings.sentiment_accurate)  # type: ignore[no-any-return]
            return cls()  # type: ignore[no-any-return]

        return build

    return [LazyEnricher(name, factory(name)) for name in settings.enrichers]


def build_pseudonymiser(settings: Settings) -> Pseudonymiser:
    key = load_or_create_key(settings.key_file)
    sealer = Sealer(load_or_create_key(settings.seal_key_path, "sealing"))
    return Pseudonymiser(key, sealer, mentions=settings.pseudonymise_mentions)


def build_door(
    settings: Settings, *, extra: Sequence[Enricher] = (), mark_duplicates: bool = True
) -> Door:
    """The door of `settings`. `mark_duplicates=False` (a cluster door worker): posts are
    fingerprinted here, and the one writer marks near-duplicates (docs/cluster.md)."""
    forms = TextForms()  # the batch's folded texts, shared by dedup and the index body
    enrichers: list[Enricher] = [
        Normaliser(),
        build_pseudonymiser(settings),
        LanguageIdentifier(settings.languages),
        Deduplicator(window=settings.dedup_window, marks=mark_duplicates, forms=forms),
        *_optional(settings),
    ]
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        factory: Callable[[Settings], Enricher] = entry.load()
        enrichers.append(factory(settings))
    enrichers.extend(extra)
    return Door(enrichers, forms=forms)

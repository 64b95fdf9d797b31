"""The door: the ordered enrichers every post passes before it is stored.

Built-in enrichers are registered here explicitly, in the order they must run; third-party
enrichers come from the entry-point group `stadspuls.enrichers` (a factory taking Settings) and
run after the built-ins. An import error is raised, never swallowed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

from stadspuls.enrich.base import Enricher
from stadspuls.enrich.dedup import Deduplicator
from stadspuls.enrich.language import LanguageIdentifier
from stadspuls.enrich.normalize import Normaliser
from stadspuls.enrich.pseudonymise import Pseudonymiser, load_or_create_key
from stadspuls.enrich.worker import DoorProcess
from stadspuls.records import Deletion, Post
from stadspuls.sealed import Sealer
from stadspuls.settings import Settings

ENTRY_POINT_GROUP = "stadspuls.enrichers"


class Door:
    def __init__(self, enrichers: Sequence[Enricher]) -> None:
        self.enrichers = list(enrichers)
        self.seconds: dict[str, float] = {e.name: 0.0 for e in self.enrichers}
        self.posts = 0

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        batch = list(posts)
        for enricher in self.enrichers:
            started = time.perf_counter()
            batch = enricher(batch)
            self.seconds[enricher.name] += time.perf_counter() - started
        self.posts += len(batch)
        return batch

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
    """The door as configured: in a child process (`door_process`) or in this one."""
    if settings.door_process:
        return DoorProcess(settings)
    door = build_door(settings)
    door.warm_up()
    return door


def _optional(settings: Settings) -> list[Enricher]:
    # Imported here: the models load lazily, and a door without them starts faster.
    from stadspuls.enrich.crisis import CrisisEnricher
    from stadspuls.enrich.places import PlaceRecognizer
    from stadspuls.enrich.sentiment import SentimentClassifier

    factories: dict[str, Callable[[], Enricher]] = {
        "places": PlaceRecognizer,
        "sentiment": lambda: SentimentClassifier(accurate=settings.sentiment_accurate),
        "crisis": CrisisEnricher,
    }
    return [factories[name]() for name in settings.enrichers]


def build_pseudonymiser(settings: Settings) -> Pseudonymiser:
    key = load_or_create_key(settings.key_file)
    sealer = Sealer(load_or_create_key(settings.seal_key_path, "sealing"))
    return Pseudonymiser(key, sealer, mentions=settings.pseudonymise_mentions)


def build_door(settings: Settings, *, extra: Sequence[Enricher] = ()) -> Door:
    enrichers: list[Enricher] = [
        Normaliser(),
        build_pseudonymiser(settings),
        LanguageIdentifier(settings.languages),
        Deduplicator(window=settings.dedup_window),
        *_optional(settings),
    ]
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        factory: Callable[[Settings], Enricher] = entry.load()
        enrichers.append(factory(settings))
    enrichers.extend(extra)
    return Door(enrichers)

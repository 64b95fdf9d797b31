"""The one door through which sources are built: the built-ins, explicitly, and third-party
sources from the entry-point group "stadspuls.sources".

An entry point names a callable `factory(settings) -> Source | Iterable[Source]`. A plugin that
fails to import or to build raises here, at start-up: a typo must not silently remove a source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Any

from stadspuls.settings import Settings
from stadspuls.sources.base import Source
from stadspuls.sources.feeds import FeedSource
from stadspuls.sources.jetstream import JetstreamSource
from stadspuls.sources.mastodon import MastodonSource

ENTRY_POINT_GROUP = "stadspuls.sources"


def builtin_sources(settings: Settings) -> list[Source]:
    sources: list[Source] = []
    if settings.bluesky.enabled:
        sources.append(JetstreamSource(settings.bluesky))
    if settings.mastodon:
        sources.append(MastodonSource(settings.mastodon))
    if settings.feeds:
        sources.append(FeedSource(settings.feeds))
    return sources


def plugin_sources(settings: Settings) -> list[Source]:
    sources: list[Source] = []
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        factory: Callable[[Settings], Any] = entry_point.load()
        built = factory(settings)
        for source in built if isinstance(built, Iterable) else [built]:
            if not isinstance(source, Source):
                raise TypeError(
                    f"entry point {entry_point.name!r} ({entry_point.value}) built "
                    f"{type(source).__name__}, which is not a Source"
                )
            sources.append(source)
    return sources


def build_sources(settings: Settings) -> list[Source]:
    """The configured live sources: built-ins first, then plugins; names must be unique."""
    sources = builtin_sources(settings) + plugin_sources(settings)
    names = [source.name for source in sources]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"two sources share the name(s) {duplicates}")
    return sources

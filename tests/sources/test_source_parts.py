"""The small pure parts of the sources: HTML to text, P2000 parsing, language codes, back-off,
the registry of sources."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest

from stadspuls.settings import BlueskySettings, FeedSettings, MastodonInstance, Settings
from stadspuls.sources import registry
from stadspuls.sources.base import Backoff, Source, declared_lang, native_id
from stadspuls.sources.feeds import FeedSource
from stadspuls.sources.jetstream import JetstreamSource
from stadspuls.sources.markup import html_to_text
from stadspuls.sources.mastodon import MastodonSource
from stadspuls.sources.p2000 import parse_p2000


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>Een</p><p>Twee &amp; drie</p>", "Een\n\nTwee & drie"),
        ("regel<br>volgende<br/>laatste", "regel\nvolgende\nlaatste"),
        ("<p>veel    ruimte\n in   tekst</p>", "veel ruimte in tekst"),
        ("<script>alert(1)</script><p>zichtbaar</p>", "zichtbaar"),
        ("geen html", "geen html"),
        ("", ""),
    ],
)
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


@pytest.mark.parametrize(
    ("message", "text", "priority", "region", "capcodes"),
    [
        (
            "P 1 BDH-01 Voertuigbrand Voorbeeldpad ZOETMR 155330",
            "P 1 BDH-01 Voertuigbrand Voorbeeldpad ZOETMR",
            "P1",
            "BDH",
            ("155330",),
        ),
        (
            "P 1 Persoon te water (INCI-04) N498 Re 34,0 Ooltgensplaat 174831 171111 185451",
            "P 1 Persoon te water (INCI-04) N498 Re 34,0 Ooltgensplaat",
            "P1",
            None,
            ("174831", "171111", "185451"),
        ),
        ("A2 Rit 12345 Utrecht 1121999", "A2 Rit 12345 Utrecht", "A2", None, ("1121999",)),
        (
            "Wekelijks proefalarm Veiligheidsregio Haaglanden",
            "Wekelijks proefalarm Veiligheidsregio Haaglanden",
            None,
            None,
            (),
        ),
        (
            "PRIO 2 Buitenbrand Kerkstraat Utrecht",
            "PRIO 2 Buitenbrand Kerkstraat Utrecht",
            "P2",
            None,
            (),
        ),
    ],
)
def test_parse_p2000(
    message: str, text: str, priority: str | None, region: str | None, capcodes: tuple[str, ...]
) -> None:
    parsed = parse_p2000(message)
    assert (parsed.text, parsed.priority, parsed.region_code, parsed.capcodes) == (
        text,
        priority,
        region,
        capcodes,
    )
    assert parse_p2000("A1 Ambulance Stationsplein").service == "ambulance"


@pytest.mark.parametrize(
    ("code", "lang"),
    [("nl", "nl"), ("nl-NL", "nl"), ("NL_be", "nl"), ("und", None), ("", None), (None, None)],
)
def test_declared_lang(code: object, lang: str | None) -> None:
    assert declared_lang(code) == lang


def test_native_id_hashes_only_long_ids() -> None:
    assert native_id("abc") == "abc"
    long = "x" * 500
    assert len(native_id(long)) == 64
    assert native_id(long) == native_id(long)


def test_backoff_is_full_jitter_with_cap() -> None:
    backoff = Backoff(base=1.0, cap=60.0)
    delays = [backoff.next_delay() for _ in range(12)]
    assert all(0.0 <= d <= 60.0 for d in delays)
    assert delays[0] <= 1.0
    assert delays[1] <= 2.0
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_registry_builds_the_configured_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "entry_points", lambda group: [])
    settings = Settings(
        bluesky=BlueskySettings(enabled=True),
        mastodon=[MastodonInstance(base_url="https://mastodon.test")],
        feeds=[
            FeedSettings(url="https://feeds.test/a"),
            FeedSettings(url="https://p.test", kind="p2000"),
        ],
    )
    sources = registry.build_sources(settings)
    assert [type(s) for s in sources] == [JetstreamSource, MastodonSource, FeedSource]
    assert all(isinstance(s, Source) for s in sources)
    quiet = Settings(bluesky=BlueskySettings(enabled=False), mastodon=[], feeds=[])
    assert registry.build_sources(quiet) == []


class _PluginSource:
    name = "plugin"

    def __init__(self) -> None:
        from stadspuls.sources.base import SourceStats

        self.stats = SourceStats()

    async def stream(self, cursors: Any) -> Any:  # pragma: no cover - not run
        yield None


def test_registry_loads_plugins_and_raises_their_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    quiet = Settings(bluesky=BlueskySettings(enabled=False), mastodon=[], feeds=[])
    good = EntryPoint("plugin", f"{__name__}:_PluginSource", registry.ENTRY_POINT_GROUP)
    good_factory = EntryPoint("plugin", f"{__name__}:_plugin_factory", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [good_factory])
    assert [s.name for s in registry.build_sources(quiet)] == ["plugin"]
    del good
    broken = EntryPoint("broken", "stadspuls_no_such_module:factory", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [broken])
    with pytest.raises(ModuleNotFoundError):
        registry.build_sources(quiet)
    wrong = EntryPoint("wrong", f"{__name__}:_not_a_source", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [wrong])
    with pytest.raises(TypeError, match="not a Source"):
        registry.build_sources(quiet)


def _plugin_factory(settings: Settings) -> list[_PluginSource]:
    return [_PluginSource()]


def _not_a_source(settings: Settings) -> object:
    return object()

"""P2000: message parsing shared by the live feed and the CSV import; the CSV import with its
local times around the DST changes; the door keeping every message, in Dutch, apart."""

from __future__ import annotations

import csv
import gzip
import logging
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from stadspuls.cli.main import main
from stadspuls.enrich.base import Enricher
from stadspuls.enrich.dedup import Deduplicator
from stadspuls.enrich.language import LanguageIdentifier
from stadspuls.enrich.normalize import Normaliser
from stadspuls.enrich.places import PlaceRecognizer
from stadspuls.query.matcher import compile_query
from stadspuls.records import Post
from stadspuls.sources.base import SourceStats
from stadspuls.sources.files import FileFormatError, detect_format, iter_file
from stadspuls.sources.p2000 import map_p2000_item, parse_p2000
from stadspuls.sources.p2000_csv import local_to_utc
from stadspuls.sources.rss import parse_feed
from stadspuls.store.database import open_store
from stadspuls.store.posts import list_posts
from tests.factories import IMPORT

# An import needs a purpose, a legal basis and a retention period.

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"
LOG = FIXTURES / "p2000_log.csv"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("message", "text", "capcodes"),
    [
        # capcodes at the start (a unit asked to call in)
        ("171692 GZD graag tel contact |AC", "GZD graag tel contact |AC", ("171692",)),
        # 4-digit group codes inside a run of capcodes go with it
        (
            "P 1 BDH-02 Persoon te water Noordzee SGRAVH 159591 8802 8810 157140",
            "P 1 BDH-02 Persoon te water Noordzee SGRAVH",
            ("159591", "8802", "8810", "157140"),
        ),
        # a house number before the capcodes stays; a label of the run goes with it
        ("P 2 Brandgerucht Dorpsweg 1234 157630", "P 2 Brandgerucht Dorpsweg 1234", ("157630",)),
        (
            "PRIO 1 TS231 Stationsplein 1 Rotterdam OMS-Melding Vak: 5991320",
            "PRIO 1 TS231 Stationsplein 1 Rotterdam OMS-Melding",
            ("5991320",),
        ),
        (
            "P 2 DV Liftopsluiting Markt 64 Venlo 4141",
            "P 2 DV Liftopsluiting Markt 64 Venlo 4141",
            (),
        ),
        # masked capcodes
        (
            "P 1 Scheepsbrand Berghaven 156450 170XXX-XXXXXX",
            "P 1 Scheepsbrand Berghaven",
            ("156450", "170XXX-XXXXXX"),
        ),
    ],
)
def test_capcodes_leave_the_text(message: str, text: str, capcodes: tuple[str, ...]) -> None:
    parsed = parse_p2000(message)
    assert (parsed.text, parsed.capcodes) == (text, capcodes)


@pytest.mark.parametrize(
    ("message", "priority", "service"),
    [
        ("Prio: 1 Vechtpartij Stationsplein Amsterdam", "P1", None),
        ("Pr 1 Koningin Wilhelminalaan Naarden Letsel", "P1", None),
        ("OEFENING P 5 Ongeval wegvervoer (OEF-308) Langeweg Oostvoorne", "P5", None),
        ("B2 Besteld vervoer Utrecht", "B2", "ambulance"),
        ("A2 L 51,6 Almere Ongeval/Wegvervoer/Letsel", None, None),  # the A2 motorway
    ],
)
def test_priority_forms(message: str, priority: str | None, service: str | None) -> None:
    parsed = parse_p2000(message)
    assert (parsed.priority, parsed.service) == (priority, service)


def test_dispatch_codes_and_place() -> None:
    parsed = parse_p2000("P 1 BDH-01 Brandmelding OMS (VK: 4) Proefstraat 12 SGRAVH 157730")
    assert parsed.dispatch_codes == ("BDH-01", "OMS")
    assert parsed.place == "'s-Gravenhage"
    assert parsed.municipality is not None
    assert parsed.municipality.code == "GM0518"
    assert parse_p2000("2 BR woning Proefstraat VENR 1431").dispatch_codes == ("BR woning",)
    rotterdam = parse_p2000("P 2 Herbez./Kazern. Kazerne Coloradoweg Maasvlakte Rotterdam SK17")
    assert (rotterdam.place, rotterdam.meta()["municipality_code"]) == ("Rotterdam", "GM0599")
    # Capelle, not the street's "IJssel": the last place named is the place
    capelle = parse_p2000("P 2 Brandgerucht (INCI-06) IJsselweg Capelle aan den IJssel 171131")
    assert capelle.meta()["municipality"] == "Capelle aan den IJssel"
    assert parse_p2000("Wekelijks proefalarm").meta() == {}


def test_live_item_takes_capcodes_and_service_from_its_description() -> None:
    title, entries = parse_feed((FIXTURES / "p2000_feed.xml").read_bytes())
    post = map_p2000_item(entries[0], title)
    assert post.text == "P 1 BDH-01 Voertuigbrand Voorbeeldpad ZOETMR"
    assert post.meta == {
        "service": "brandweer",
        "priority": "P1",
        "capcodes": ["155330", "1551399"],
        "dispatch_code": ["BDH-01"],
        "place": "Zoetermeer",
        "municipality": "Zoetermeer",
        "municipality_code": "GM0637",
    }


def test_csv_log_is_detected_and_read_as_p2000(tmp_path: Path) -> None:
    assert detect_format(LOG) == "p2000"
    stats = SourceStats()
    posts = [p for p in iter_file(LOG, stats=stats) if isinstance(p, Post)]
    assert stats.posts == stats.received == len(posts) == 10
    assert stats.malformed == 0
    assert {p.source for p in posts} == {"p2000"}
    assert {p.lang_declared for p in posts} == {"nl"}
    # Europe/Amsterdam wall-clock times; 02:00-02:59 happens twice on 27 October 2024
    assert [p.created_at for p in posts] == [
        utc("2024-10-26T23:58:10"),  # 01:58 CEST
        utc("2024-10-27T00:14:03"),  # 02:14 CEST, the first pass
        utc("2024-10-27T00:40:55"),
        utc("2024-10-27T00:59:30"),
        *[utc("2024-10-27T01:05:12")] * 4,  # 02:05 CET, the second pass
        utc("2024-10-27T02:10:00"),
        utc("2024-10-27T02:12:41"),
    ]
    # one text at one time to other units and services: four messages, four ids
    assert len({p.id for p in posts}) == 10
    same = posts[4:8]
    assert len({p.text for p in same}) == 1
    assert [(p.meta or {}).get("service") for p in same] == [
        "brandweer",
        "brandweer",
        "politie",
        "ambulance",
    ]
    assert (same[3].meta or {})["priority"] == "A1"
    for post in posts:
        for capcode in (post.meta or {}).get("capcodes", []):
            assert capcode not in post.text
    assert (posts[8].text, (posts[8].meta or {})["capcodes"]) == (
        "Graag tel contact meldkamer",
        ["171692"],
    )
    # the same log gzipped, and imported again: the same posts, the same ids
    packed = tmp_path / "log.bin"
    packed.write_bytes(gzip.compress(LOG.read_bytes()))
    assert detect_format(packed) == "p2000"
    assert list(iter_file(packed)) == posts


def test_local_times_around_both_dst_changes() -> None:
    # spring: 02:30 on 31 March 2024 does not exist; it is read as standard time (01:30 UTC)
    assert local_to_utc(datetime(2024, 3, 31, 2, 30)) == utc("2024-03-31T01:30:00")
    assert local_to_utc(datetime(2024, 3, 31, 3, 0)) == utc("2024-03-31T01:00:00")
    # autumn, a log in reverse order: 02:10 after 03:05 CET is the second pass
    after = local_to_utc(datetime(2024, 10, 27, 3, 5))
    assert local_to_utc(datetime(2024, 10, 27, 2, 10), after) == utc("2024-10-27T01:10:00")
    first_pass = local_to_utc(datetime(2024, 10, 27, 1, 50))
    assert local_to_utc(datetime(2024, 10, 27, 2, 10), first_pass) == utc("2024-10-27T00:10:00")
    assert local_to_utc(datetime(2024, 7, 1, 12, 0)) == utc("2024-07-01T10:00:00")


def test_bad_rows_are_counted_and_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "created_at,service,priority,text\n"
        "2024-10-27T12:00:00+01:00,brandweer,P1,P 1 Buitenbrand Proefstraat Zoetermeer 155330\n"
        "gisteren,brandweer,P1,P 1 Brand\n"
        "2024-10-27T12:01:00,brandweer,P1,\n"
        "2024-10-27T12:02:00,brandweer,P1,157630 157640\n"
        "2024-10-27T12:03:00,brandweer,P1,P 1 Brand,extra\n"
        "2024-10-27T12:04:00,politie,,Graag contact meldkamer\n"
        "0001-01-01T00:10:00,brandweer,P1,P 1 Brand\n"
    )
    stats = SourceStats()
    with caplog.at_level(logging.WARNING):
        posts = list(iter_file(path, stats=stats))
    assert [p.created_at for p in posts if isinstance(p, Post)] == [
        utc("2024-10-27T11:00:00"),
        utc("2024-10-27T11:02:00"),  # a page of capcodes only
        utc("2024-10-27T11:04:00"),
    ]
    assert (stats.received, stats.posts, stats.malformed) == (7, 3, 4)
    tone_only = [p for p in posts if isinstance(p, Post)][1]
    assert (tone_only.text, (tone_only.meta or {})["capcodes"]) == (
        "(oproep zonder tekst)",
        ["157630", "157640"],
    )
    assert f"{path}:3:" in caplog.text
    assert "not a time: 'gisteren'" in caplog.text


def test_a_log_without_the_p2000_columns_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("created_at,text\n2024-10-27T12:00:00,P 1 Brand\n")
    with pytest.raises(FileFormatError, match="columns created_at, service, priority, text"):
        list(iter_file(path, "p2000"))


def test_the_door_keeps_p2000_dutch_and_apart() -> None:
    posts = [p for p in iter_file(LOG) if isinstance(p, Post)]
    door: list[Enricher] = [Normaliser(), LanguageIdentifier(), Deduplicator()]
    out = posts
    for enricher in door:
        out = enricher(out)
    assert {p.lang for p in out} == {"nl"}
    assert {p.lang_score for p in out} == {1.0}
    # four messages of one text to other units and services: none a duplicate of another
    assert [p.duplicate_kind for p in out[4:8]] == [None] * 4
    # the same dispatch text to the same units later is a repeat
    again = Deduplicator()
    first, repeat = again([posts[0], msgspec.structs.replace(posts[0], id="p2000:again")])
    assert (first.duplicate_kind, repeat.duplicate_kind) == (None, "exact")


@pytest.mark.slow  # the door loads its language models at start (~10 s)
def test_stadspuls_ingest_stores_a_p2000_log(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    env = {
        "STADSPULS_KEY_FILE": str(tmp_path / "key"),
        "STADSPULS_MASTODON": "[]",
        "STADSPULS_FEEDS": "[]",
        "STADSPULS_BLUESKY__ENABLED": "false",
        "STADSPULS_DOOR_PROCESS": "false",
        "STADSPULS_ENRICHERS": "[]",  # the core door only: language and dedup are what count here
    }
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", str(LOG), "--db", db, "-q", *IMPORT], env=env)
    assert result.exit_code == 0, result.output
    assert "stored 10 new posts" in result.output
    dutch = runner.invoke(main, ["search", "source:p2000 lang:nl", "--count", "--db", db], env=env)
    assert dutch.output.strip() == "10"
    water = runner.invoke(main, ["search", "schiedam", "--count", "--db", db], env=env)
    assert water.output.strip() == "4"
    engine = open_store(db)
    try:
        stored = list_posts(engine, limit=20)
    finally:
        engine.dispose()
    assert sorted((p.meta or {}).get("service", "") for p in stored).count("ambulance") == 2
    assert not any(c in p.text for p in stored for c in (p.meta or {}).get("capcodes", []))


def test_a_windows_1252_log_and_a_runaway_quote(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(
        (
            "created_at,service,priority,text\n"
            "2019-12-31T23:50:00,brandweer,P1,P 1 Buitenbrand Café ‘t Hoekje Zoetermeer 155330\n"
            '2019-12-31T23:51:00,brandweer,P1,"P 1 Buitenbrand Proefstraat Zoetermeer\n'
            + "x" * 3000
            + "\n"
        ).encode("cp1252")
    )
    stats = SourceStats()
    limit = csv.field_size_limit(1000)
    try:
        posts = [p for p in iter_file(path, stats=stats) if isinstance(p, Post)]
    finally:
        csv.field_size_limit(limit)
    assert [p.text for p in posts] == ["P 1 Buitenbrand Café ‘t Hoekje Zoetermeer"]
    assert (stats.received, stats.posts, stats.malformed) == (2, 1, 1)


def test_the_place_code_is_a_place_for_place_filters() -> None:
    posts = [p for p in iter_file(LOG) if isinstance(p, Post)]
    the_hague = posts[0]  # "… Proefstraat SGRAVH"
    assert [(p.code, p.name) for p in the_hague.places] == [("GM0518", "'s-Gravenhage")]
    (kept,) = PlaceRecognizer()([the_hague])
    assert kept.places == the_hague.places  # the text names no place the matcher knows
    query = compile_query('buitenbrand place:"\'s-Gravenhage"', pseudonymise=str)
    assert query.matches(kept)
    # a text that names the place itself adds nothing twice
    (rotterdam,) = PlaceRecognizer()([posts[2]])  # "A1 Voorbeeldpad 3011AB Rotterdam ROTTDM"
    assert [p.code for p in rotterdam.places] == ["GM0599"]
